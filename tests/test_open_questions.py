"""Open questions and follow-ups in whole sessions: non-answers are gaps, every vague item is probed."""

from __future__ import annotations

from sqlalchemy import select

from socrates_nb.export import spec_schema
from socrates_nb.storage import models
from socrates_nb.workspace import Session, Workspace


def bank_question(s: Session, category: str | None = None):  # noqa: ANN201
    """Skip to the next bank question (of ``category``), answering follow-ups with real numbers."""
    for _ in range(40):
        q = s.next_question()
        assert q is not None
        if not q.is_probe and (category is None or q.category == category):
            return q
        s.skip()
    raise AssertionError(f"no {category} question")


def test_a_mixed_answer_keeps_its_requirement_and_records_the_gap(ws: Workspace) -> None:
    s = ws.create_project("Mixed", template="web-api").start_session()
    q = s.next_question()
    turn = s.answer("Checkout pages load within 2 s for 95% of requests. No availability number is given.")
    assert [i.value["text"] for i in turn.items] == ["Checkout pages load within 2 s for 95% of requests."]
    assert [(o.question, o.answer) for o in turn.open_questions] == [(q.text, "No availability number is given.")]


def test_a_non_answer_is_not_asked_again_unless_reopened(ws: Workspace) -> None:
    p = ws.create_project("Reopen", template="web-api")
    s = p.start_session()
    q = s.next_question()
    s.answer("TBD")
    assert p.specification().items == ()
    for _ in range(10):  # the question does not come back
        nxt = s.next_question()
        assert nxt is not None and nxt.key != q.key
        s.skip()
    [gap] = p.open_questions()
    assert gap.key == q.key and gap.status == "open" and "TBD" in repr(gap)
    reopened = p.reopen_question(gap)
    assert reopened.status == "reopened" and p.open_questions("reopened") == [reopened]
    s.complete()
    again = p.start_session()
    asked = [again.next_question()]
    while asked[-1].key != q.key:  # a reopened question is askable again
        again.skip()
        asked.append(again.next_question())
        assert len(asked) < 40
    again.answer("Clinics lose a third of their bookings because patients cannot book online.")
    assert p.open_questions() == [] and p.open_questions("resolved")[0].id == gap.id


def test_every_vague_item_of_an_answer_gets_its_follow_up(ws: Workspace) -> None:
    s = ws.create_project("Vague", template="web-api").start_session()
    turn = s.answer("Search must be fast. Users are notified immediately when an order ships.")
    assert len(turn.items) == 2
    first = turn.next_question
    assert first is not None and first.is_probe and "fast" in first.text
    second = s.answer("Not specified.").next_question  # the first item stays; the queue goes on
    assert second is not None and second.is_probe and "immediately" in second.text


def test_a_non_answer_to_a_follow_up_keeps_the_probed_item(ws: Workspace) -> None:
    p = ws.create_project("Keep", template="web-app")
    s = p.start_session()
    turn = s.answer("The app must be usable on desktops, smartphones and tablets and be user-friendly.")
    probe = turn.next_question
    assert probe is not None and probe.is_probe
    after = s.answer("We don't know yet.")
    assert after.items == () and [o.key for o in after.open_questions] == [turn.items[0].key]
    [item] = [i for i in p.specification().items if i.ref == turn.items[0].ref]
    assert "desktops" in item.text and any(f["rule"] == "still-vague" for f in item.findings)
    assert after.next_question is None or not after.next_question.is_probe  # not probed again
    with ws.db.read() as orm:
        assert orm.scalar(select(models.SpecItem.probe_state).where(models.SpecItem.id == item.id)) == "still_vague"


def test_not_applicable_closes_the_category(ws: Workspace) -> None:
    p = ws.create_project("Scope", template="web-api")
    s = p.start_session()
    bank_question(s, "integrations")
    turn = s.answer("Not applicable.")
    assert [(i.key, i.value.get("scope")) for i in turn.items] == [("integrations.scope", "out")]
    assert "integrations" not in turn.maturity.coverage and turn.maturity.out_of_scope == ("integrations",)
    for _ in range(30):
        q = s.next_question()
        if q is None:
            break
        assert q.category != "integrations"
        s.skip()


def test_two_non_answers_in_a_row_set_a_category_aside(ws: Workspace) -> None:
    p = ws.create_project("Aside", template="generic")
    s = p.start_session()
    q = bank_question(s, "goals")
    assert q.category == "goals"
    s.answer("Not specified.")
    q2 = s.next_question()
    assert q2.category == "goals"  # one non-answer: the category is asked again
    turn = s.answer("We don't know yet.")
    assert turn.next_question is not None and turn.next_question.category != "goals"
    assert "Goals: only open questions (2)" in turn.maturity.blockers()


def test_exports_carry_the_open_questions(ws: Workspace) -> None:
    import jsonschema

    p = ws.create_project("Exports", template="web-api")
    s = p.start_session()
    s.answer("Not specified.")
    spec = p.specification()
    data = spec.to_dict()
    jsonschema.Draft202012Validator(spec_schema()).validate(data)
    assert [q["answer"] for q in data["open_questions"]] == ["Not specified."]
    md = spec.to_markdown()
    assert "## Open questions" in md and "**OQ-001**" in md and "Not specified." in md
    assert "## Not ready because" in md
    assert spec.to_csv().splitlines()[-1].startswith('"OQ-001","goals"')
    assert "Open questions" in spec.to_html()


def test_answers_with_nothing_to_build_from_are_open_questions(ws: Workspace) -> None:
    p = ws.create_project("Junk", template="generic")
    s = p.start_session()
    for junk in ("?!?! ... ---", "the of and it", "word " * 3999, "Страница 页面 صفحة", "1 1 1 1 1 1 1"):
        turn = s.answer(junk)
        assert turn.items == () or junk.startswith("Страница"), junk
    assert len(p.open_questions()) >= 4 and p.specification().maturity.score < 10
