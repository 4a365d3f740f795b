"""The answer turn's phases on their own: triage (services/triage.py) and the write steps (services/turn.py)."""

from __future__ import annotations

from sqlalchemy import select

from socrates_nb.engine.base import ItemDraft, QuestionDraft
from socrates_nb.engine.offline.engine import OfflineEngine
from socrates_nb.services import turn
from socrates_nb.services.triage import Gap, answer_verdict, is_scope_item, triage
from socrates_nb.services.views import OpenQuestionView
from socrates_nb.storage import models
from socrates_nb.workspace import Workspace

QUESTION = QuestionDraft(key="integrations.systems", category="integrations", text="Which systems?", why="why")
PROBE = QuestionDraft(key="probe.performance.latency.1", category="performance", text="How fast?", why="why")


def draft(text: str, category: str = "integrations", key: str = "integrations.systems") -> ItemDraft:
    return ItemDraft(category=category, key=key, value={"text": text}, text=text, confidence=0.6)


def test_a_whole_non_answer_needs_no_engine() -> None:
    found = answer_verdict(QUESTION, "TBD")
    assert found is not None and found.items == [] and found.unanswered
    assert found.gaps == [Gap("integrations", "integrations.systems", "TBD")]
    assert answer_verdict(QUESTION, "Orders go to the ERP within 5 minutes.") is None
    assert answer_verdict(None, "TBD") is not None and answer_verdict(None, "TBD").gaps == []  # no question to hold


def test_not_applicable_is_a_scope_item_but_not_to_a_follow_up() -> None:
    scoped = answer_verdict(QUESTION, "Not applicable.")
    assert scoped is not None and [(i.key, i.value["scope"]) for i in scoped.items] == [("integrations.scope", "out")]
    assert is_scope_item(scoped.items[0].key) and not scoped.unanswered
    to_probe = answer_verdict(PROBE, "Not applicable.")
    assert to_probe is not None and to_probe.items == [] and to_probe.gaps[0].key == PROBE.key


def test_triage_keeps_requirements_and_turns_unknown_statements_into_gaps() -> None:
    kept, silent = draft("Orders go to the ERP."), draft("No retry policy is given.", key="integrations.retries")
    found = triage(QUESTION, "...", [kept, silent])
    assert found.items == [kept] and found.gaps == [Gap("integrations", "integrations.retries", "No retry policy is given.")]
    only_filler = triage(QUESTION, "Hmm, good question.", [])
    assert only_filler.gaps == [Gap("integrations", "integrations.systems", "Hmm, good question.")]


def test_probe_states_and_the_follow_up_queue_oldest_first(ws: Workspace) -> None:
    s = ws.create_project("Steps", template="web-api").start_session()
    s.answer("Search must be fast. Refunds are easy. Payouts run nightly at 02:00 UTC.")
    with ws.db.read() as orm:
        rows = orm.scalars(select(models.SpecItem).order_by(models.SpecItem.created_at, models.SpecItem.ref_seq)).all()
        states = {r.text: r.probe_state for r in rows}
    assert list(states.values()).count("asked") == 1 and list(states.values()).count("due") == 1
    assert [v for t, v in states.items() if "Payouts" in t] == ["none"]
    engine = OfflineEngine()

    def work(orm):  # noqa: ANN001, ANN202
        ctx = None  # the offline engine words follow-ups from the item alone
        probe = turn.next_probe(orm, engine, ctx, s.project_id)
        return (probe.item.probe_state, probe.depth, "easy" in probe.question.text) if probe else None

    assert ws.db.run_write(work) == ("asked", 1, True)  # the second vague item, now asked
    assert ws.db.run_write(work) is None  # the queue is empty


def test_open_questions_render_for_notebooks(ws: Workspace) -> None:
    s = ws.create_project("Shown").start_session()
    [gap] = s.answer("<i>?</i> <i>?</i>").open_questions  # nothing to build from, and markup
    assert isinstance(gap, OpenQuestionView)
    html = gap._repr_html_()
    assert "❓" in html and "&lt;i&gt;?&lt;/i&gt;" in html and "<i>?" not in html
    assert repr(gap).startswith("open [goals]")
