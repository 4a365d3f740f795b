"""Exports: every JSON export validates against the shipped JSON Schema; HTML escapes user text."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from socrates_nb.export import spec_schema
from socrates_nb.workspace import Project, Workspace

ROOT = Path(__file__).resolve().parent.parent


def _validator() -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(spec_schema())
    return jsonschema.Draft202012Validator(spec_schema())


def _run_demo_answers(ws: Workspace, name: str) -> Project:
    script = yaml.safe_load((ROOT / "examples" / "payments_api_answers.yaml").read_text())
    p = ws.create_project(name, description="<b>Card</b> payments & more", template="web-api")
    s = p.start_session()
    q = s.next_question()
    while q is not None:
        answers = script.get(q.category) or []
        if not answers:
            q = s.skip() if any(script.values()) else None
            continue
        q = s.answer(answers.pop(0)).next_question
    return p


def test_schema_is_valid_and_rejects_a_broken_export(ws: Workspace) -> None:
    validator = _validator()
    data = json.loads(ws.create_project("Empty").specification().to_json())
    validator.validate(data)
    broken = {**data, "items": [{"ref": "nope"}]}
    assert not validator.is_valid(broken)
    assert not validator.is_valid({**data, "format_version": 1})


def test_every_export_of_a_full_session_validates(ws: Workspace) -> None:
    p = _run_demo_answers(ws, "Pay")
    s = p.sessions()[0]
    s.complete()
    p2 = ws.create_project("Conflicted")
    s2 = p2.start_session()
    for text in ("The p95 latency is under 200 ms.", "The p95 latency is under 2 s."):
        while (q := s2.next_question()) is not None and q.category != "performance":
            s2.skip()
        s2.answer(text)
    validator = _validator()
    for project in (p, p2):
        spec = project.specification()
        data = json.loads(spec.to_json())
        errors = sorted(validator.iter_errors(data), key=str)
        assert errors == [], errors[:3]
        assert data["items"], project.name
    assert json.loads(p2.specification().to_json())["conflicts"], "the conflicting limits must show"


def test_html_escapes_user_text_and_shows_maturity(ws: Workspace) -> None:
    p = ws.create_project("<script>alert(1)</script>", description="a & b")
    s = p.start_session()
    s.answer('Clerks type "<img src=x onerror=alert(1)>" into the search box.')
    page = p.specification()._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<img" not in page and "&lt;img" in page and "a &amp; b" in page
    assert "maturity <b>" in page and "<progress" in page and "Gaps" in page


@pytest.mark.parametrize("fmt", ["md", "json", "csv", "html"])
def test_cli_exports_every_format(ws: Workspace, db_url: str, fmt: str) -> None:
    from click.testing import CliRunner

    from socrates_nb.cli import cli

    _run_demo_answers(ws, "Pay")
    result = CliRunner().invoke(cli, ["--db", db_url, "--user", "alice", "spec", "export", "Pay", "--format", fmt])
    assert result.exit_code == 0
    assert result.stdout == {
        "md": lambda s: s.to_markdown(), "json": lambda s: s.to_json(),
        "csv": lambda s: s.to_csv(), "html": lambda s: s.to_html(),
    }[fmt](ws.project("Pay").specification())
