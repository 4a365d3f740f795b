"""Batch runs: snb.run_batch and `socrates batch` write exports and a summary; bad files store nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import socrates_nb as snb
from socrates_nb.batch import load_answers
from socrates_nb.cli import cli
from socrates_nb.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent
ANSWERS = ROOT / "examples" / "payments_api_answers.yaml"


def test_run_batch_writes_exports_and_summary(ws: Workspace, tmp_path: Path) -> None:
    result = snb.run_batch(ws, "Payments API", ANSWERS, tmp_path / "out", template="web-api")
    assert result.answers >= 20 and result.items >= result.answers
    files = [Path(f) for f in result.files]
    assert [f.name for f in files] == ["payments_api.md", "payments_api.json", "payments_api.summary.json"]
    assert json.loads(files[1].read_text())["project"]["template"] == "web-api"
    assert files[0].read_text() == ws.project("Payments API").specification().to_markdown()
    summary = json.loads(files[2].read_text())
    assert summary == result.to_dict() and summary["maturity"] == result.maturity > 50
    again = snb.run_batch(ws, "Payments API", ANSWERS, tmp_path / "out")  # same project, a new session
    assert len(ws.project("Payments API").sessions()) == 2 and again.project == "Payments API"


def test_the_demo_script_answers_the_criteria_follow_ups(ws: Workspace, tmp_path: Path) -> None:
    snb.run_batch(ws, "Payments API", ANSWERS, tmp_path / "out", template="web-api")
    given = load_answers(ANSWERS)["criteria"]
    criteria = [c for i in ws.project("Payments API").specification().items for c in i.acceptance_criteria]
    assert criteria and all(any(c in answer for answer in given) for c in criteria)
    assert any("refund larger than the captured amount" in c for c in criteria)


def test_a_list_script_skips_the_criteria_follow_ups(ws: Workspace, tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    script = ["Shops sell spare parts.", "Mechanics buy parts.", "Clerks cancel an order.", "Parts have a price."]
    answers.write_text(json.dumps(script))
    result = snb.run_batch(ws, "Parts", answers, tmp_path, template="generic")
    spec = ws.project("Parts").specification()
    assert result.answers == 4 and [i.text for i in spec.items] == script
    assert all(i.acceptance_criteria == () for i in spec.items)


def test_run_batch_with_a_list_file(ws: Workspace, tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(["We sell concert tickets online.", "Fans buy up to 6 seats per order."]))
    result = snb.run_batch(ws, "Tickets", answers, tmp_path)
    assert result.answers == 2 and ws.project("Tickets").sessions()[0].status == "completed"


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such answers file"), ("[1, 2]", "expected a list of answers"), ("{bogus: ['x']}", "unknown categories"),
])
def test_bad_answers_file_stores_nothing(ws: Workspace, tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "answers.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(snb.ValidationError, match=message):
        snb.run_batch(ws, "Never", path, tmp_path / "out")
    assert ws.projects().total == 0 and not (tmp_path / "out").exists()


def test_cli_batch(db_url: str, tmp_path: Path) -> None:
    args = ["--db", db_url, "--user", "alice", "batch", "Payments API", "--answers", str(ANSWERS),
            "-o", str(tmp_path), "--template", "web-api"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["project"] == "Payments API" and (tmp_path / "payments_api.json").exists()
    bad = CliRunner().invoke(cli, [*args[:7], str(tmp_path / "missing.yaml")])
    assert bad.exit_code == 1 and "no such answers file" in bad.stderr
