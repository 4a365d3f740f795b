"""Acceptance criteria of functional capabilities: the follow-up, where its reply goes, the exports."""

from __future__ import annotations

import csv
import io
import json

import jsonschema
import pytest
from sqlalchemy import select

from socrates_nb.export import spec_schema
from socrates_nb.services.criteria import MAX_LISTED, assign, criteria_question
from socrates_nb.storage import models
from socrates_nb.workspace import Session, Workspace

FIVE = ("Clerks create an order. Clerks cancel an order. Managers approve refunds. "
        "Customers download invoices. Drivers scan parcels.")


def functional_question(s: Session):  # noqa: ANN201
    """Skip to the session's first functional bank question."""
    q = s.next_question()
    while q.category != "functional" or q.is_probe:
        q = s.skip()
    return q


# --- the pure parts ------------------------------------------------------------------------


def test_each_statement_goes_to_the_capability_it_shares_most_words_with() -> None:
    caps = ["Users share a list with a link.", "Owners revoke sharing at any time.", "Users create a grocery list."]
    got = assign(["A grocery list needs a name.", "After revoking, viewers lose access.", "A shared link expires."], caps)
    assert got == [["A shared link expires."], ["After revoking, viewers lose access."], ["A grocery list needs a name."]]


def test_statements_sharing_no_word_go_by_position() -> None:
    caps = ["Clerks create an order.", "Managers approve refunds."]
    assert assign(["Within 2 minutes.", "Only above 200 euros.", "Logged."], caps) == [
        ["Within 2 minutes."], ["Only above 200 euros.", "Logged."],
    ]


def test_criteria_need_a_capability() -> None:
    with pytest.raises(ValueError, match="at least one capability"):
        assign(["A rule."], [])


def test_the_follow_up_quotes_each_capability() -> None:
    one = criteria_question("functional.core_tasks", ["Clerks create an order."])
    assert one.key == "criteria.functional.core_tasks" and one.category == "functional"
    assert one.text == ('How will a tester know that this works: "Clerks create an order."? '
                        "Give a rule, an edge case or an acceptance criterion.")
    two = criteria_question("functional.x", ["A.", "B."])
    assert '(1) "A."; (2) "B."' in two.text and one.why and one.example
    for wrong in ([], ["x"] * (MAX_LISTED + 1)):
        with pytest.raises(ValueError, match="lists 1 to 4 capabilities"):
            criteria_question("functional.x", wrong)


# --- in sessions ---------------------------------------------------------------------------


def test_capabilities_get_criteria_follow_ups_four_at_a_time(ws: Workspace) -> None:
    p = ws.create_project("Orders", template="web-api")
    s = p.start_session()
    q = functional_question(s)
    turn = s.answer(FIVE)
    assert [i.category for i in turn.items] == ["functional"] * 5
    first = turn.next_question
    assert first.key == f"criteria.{turn.items[0].key}" and first.is_probe and first.category == "functional"
    assert all(f'"{i.text}"' in first.text for i in turn.items[:4]) and turn.items[4].text not in first.text
    reply = s.answer("An order without lines cannot be created. Refunds above 200 euros need a manager. "
                     "A cancelled order cannot be cancelled twice.")
    assert reply.items == () and reply.open_questions == ()
    refs = [i.ref for i in turn.items]
    assert reply.criteria == (
        (refs[0], "An order without lines cannot be created."),
        (refs[1], "A cancelled order cannot be cancelled twice."),
        (refs[2], "Refunds above 200 euros need a manager."),
    )
    assert f"{refs[2]} acceptance criterion: Refunds above 200 euros need a manager." in repr(reply)
    assert "acceptance criterion: An order without lines" in reply._repr_html_()
    assert reply.to_dict()["criteria"][0] == {"ref": refs[0], "criterion": "An order without lines cannot be created."}
    second = reply.next_question
    assert second.key == f"criteria.{turn.items[4].key}" and f'"{turn.items[4].text}"' in second.text
    s.skip()
    assert not s.next_question().key.startswith("criteria.")  # each capability is asked about once
    spec = {i.ref: i for i in p.specification().items}
    assert spec[refs[0]].acceptance_criteria == ("An order without lines cannot be created.",)
    assert spec[refs[1]].acceptance_criteria == ("A cancelled order cannot be cancelled twice.",)
    assert spec[refs[2]].acceptance_criteria == ("Refunds above 200 euros need a manager.",)
    assert spec[refs[3]].acceptance_criteria == () and spec[refs[4]].acceptance_criteria == ()
    assert q.key == "functional.core_tasks"


def test_criteria_reach_every_export(ws: Workspace) -> None:
    p = ws.create_project("Exports", template="web-api")
    s = p.start_session()
    functional_question(s)
    [item] = s.answer("Clerks cancel an order.").items
    s.answer("A shipped order cannot be cancelled.")
    spec = p.specification()
    data = json.loads(spec.to_json())
    jsonschema.Draft202012Validator(spec_schema()).validate(data)
    [row] = [i for i in data["items"] if i["ref"] == item.ref]
    assert row["acceptance_criteria"] == ["A shipped order cannot be cancelled."]
    assert all(i["acceptance_criteria"] == [] for i in data["items"] if i["ref"] != item.ref)
    lines = spec.to_markdown().splitlines()
    at = lines.index("  - Acceptance criteria:")
    assert lines[at + 1] == "    - A shipped order cannot be cancelled." and item.ref in lines[at - 3]
    rows = {r["ref"]: r for r in csv.DictReader(io.StringIO(spec.to_csv()))}
    assert rows[item.ref]["acceptance_criteria"] == "A shipped order cannot be cancelled."


def test_a_non_answer_to_a_criteria_follow_up_is_an_open_question_about_the_capability(ws: Workspace) -> None:
    p = ws.create_project("Gaps", template="web-api")
    s = p.start_session()
    functional_question(s)
    [item] = s.answer("Clerks cancel an order.").items
    follow_up = s.next_question()
    turn = s.answer("Not specified.")
    [gap] = turn.open_questions
    assert (gap.key, gap.category, gap.question, gap.answer) == (follow_up.key, "functional", follow_up.text, "Not specified.")
    with ws.db.read() as orm:
        row = orm.scalars(select(models.SpecItem).where(models.SpecItem.id == item.id)).one()
        assert row.is_current and row.criteria == [] and row.probe_state == "none"  # not "still vague"
        oq = orm.scalars(select(models.OpenQuestion)).one()
        assert oq.item_id == item.id
    assert [i.ref for i in p.specification().items] == [item.ref]


def test_not_applicable_to_a_criteria_follow_up_closes_nothing(ws: Workspace) -> None:
    p = ws.create_project("Scope", template="web-api")
    s = p.start_session()
    functional_question(s)
    s.answer("Clerks cancel an order.")
    turn = s.answer("Not applicable.")
    assert turn.items == () and [o.answer for o in turn.open_questions] == ["Not applicable."]
    assert [i.key.endswith(".scope") for i in p.specification().items] == [False]


def test_criteria_non_answers_do_not_set_functional_aside(ws: Workspace) -> None:
    p = ws.create_project("Aside", template="web-api")
    s = p.start_session()
    functional_question(s)
    s.answer("Clerks cancel an order.")
    s.answer("Not specified.")  # the criteria follow-up
    q = s.next_question()
    while q.category != "functional":
        q = s.skip()
    s.answer("Managers approve refunds.")
    s.answer("TBD")  # the second criteria follow-up
    q = s.next_question()
    while q is not None and q.category != "functional":
        q = s.skip()
    assert q is not None and q.category == "functional"  # still asked


def test_rules_and_edge_cases_get_no_criteria_follow_up(ws: Workspace) -> None:
    s = ws.create_project("Rules", template="web-api").start_session()
    q = s.next_question()
    while q.key != "functional.business_rules":
        q = s.skip()
    turn = s.answer("Refunds above 200 euros need a manager's approval.")
    assert [i.category for i in turn.items] == ["functional"]
    assert turn.next_question is None or not turn.next_question.key.startswith("criteria.")


def test_reopening_missing_criteria_asks_about_the_capability_again(ws: Workspace) -> None:
    p = ws.create_project("Reopen", template="web-api")
    s = p.start_session()
    q = functional_question(s)
    [item] = s.answer("Clerks cancel an order.").items
    s.answer("Not specified.")
    [gap] = p.open_questions()
    p.reopen_question(gap)
    assert s.next_question().category == "data"  # asked before the reopening; the follow-up comes after it
    again = s.answer("Orders have lines and a customer.").next_question
    assert again.key == f"criteria.{item.key}" and again.key != q.key  # not the bank question again
    s.answer("A shipped order cannot be cancelled.")
    assert p.open_questions() == [] and p.open_questions("resolved")[0].id == gap.id
    assert p.specification().items[0].acceptance_criteria == ("A shipped order cannot be cancelled.",)
