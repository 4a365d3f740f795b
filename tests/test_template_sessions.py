"""A scripted session per template: the bank's own example answers drive it to "ready" with no repeats."""

from __future__ import annotations

import pytest

import socrates_nb as snb
from socrates_nb.engine.offline.bank import load_bank
from socrates_nb.engine.offline.probing import EXAMPLES
from socrates_nb.workspace import Workspace

EXAMPLE_BY_KEY = {q.key: q.example for q in load_bank()}
MAX_TURNS = 150


@pytest.mark.parametrize("template", snb.TEMPLATES)
def test_template_session_reaches_ready_without_repeats(template: str, tmp_path) -> None:  # noqa: ANN001
    with snb.connect(f"sqlite:///{tmp_path / 'tpl.db'}", user="alice") as ws:
        p = ws.create_project(f"{template} project", template=template)
        s = p.start_session()
        asked: list[str] = []
        turns = 0
        q = s.next_question()
        while q is not None and turns < MAX_TURNS:
            asked.append(q.key)
            answer = EXAMPLES[q.category] if q.is_probe else EXAMPLE_BY_KEY[q.key]
            q = s.answer(answer).next_question
            turns += 1
        assert turns < MAX_TURNS, f"{template}: never converged"
        bank_keys = [k for k in asked if not k.startswith("probe.")]
        assert len(bank_keys) == len(set(bank_keys)), f"{template}: a question was asked twice"
        spec = p.specification()
        assert spec.maturity.ready or spec.gaps, template
        assert spec.maturity.ready, (template, spec.maturity.score, spec.gaps, [c.explanation for c in spec.conflicts])


def test_probe_follows_a_vague_answer_and_the_refinement_supersedes_it(ws: Workspace) -> None:
    p = ws.create_project("Shop", template="web-app")
    s = p.start_session()
    while (q := s.next_question()) is not None and q.category != "performance":
        s.skip()
    turn = s.answer("Pages must load fast and feel snappy.")
    vague = turn.items[0]
    probe = turn.next_question
    assert probe is not None and probe.is_probe and probe.category == "performance"
    assert "'fast'" in probe.text or '"fast"' in probe.text
    assert probe.to_dict()["kind"] == "probe"
    refined = s.answer("p95 page load under 2 s at 300 concurrent users.")
    spec = p.specification()
    current = {i.ref for i in spec.items}
    assert vague.ref not in current and refined.items[0].ref in current
    assert refined.next_question is None or not refined.next_question.is_probe


def test_at_most_two_probes_per_item(ws: Workspace) -> None:
    p = ws.create_project("Shop", template="web-app")
    s = p.start_session()
    while (q := s.next_question()) is not None and q.category != "performance":
        s.skip()
    turn = s.answer("It should be fast.")
    probes = 0
    while turn.next_question is not None and turn.next_question.is_probe:
        probes += 1
        turn = s.answer("Really quick, as fast as possible.")
    assert probes == 2
