"""Priority as stated (MoSCoW, else unset), the glossary of defined terms, and item sources in the exports."""

from __future__ import annotations

import json

import pytest

from socrates_nb.export import spec_schema
from socrates_nb.quality.priority import definition_of, priority_of
from socrates_nb.workspace import Workspace


@pytest.mark.parametrize(("text", "priority"), [
    ("The API must respond in 2 s.", "must"),
    ("The system shall log every call.", "must"),
    ("Exports should be CSV.", "should"),
    ("Dark mode is nice to have.", "could"),
    ("Offline mode is optional.", "could"),
    ("We won't have offline mode in this release.", "wont"),
    ("Users browse the catalogue.", "unset"),  # never guessed
    ("Pages load fast.", "unset"),
])
def test_priority_is_what_the_user_stated(text: str, priority: str) -> None:
    assert priority_of(text) == priority


@pytest.mark.parametrize(("text", "found"), [
    ("A clinic means a practice with its own address.", ("clinic", "a practice with its own address")),
    ('By "slot" we mean a 15-minute appointment.', ("slot", "a 15-minute appointment")),
    ("SLA stands for service level agreement.", ("SLA", "service level agreement")),
    ("The system shall log every call.", None),
    ("Users browse the catalogue and mean well.", None),
    ("Success means 30% fewer support calls about lost parcels.", None),  # a goal, not a term
    ("This means every order is checked twice.", None),
])
def test_definitions(text: str, found: tuple[str, str] | None) -> None:
    assert definition_of(text) == found


def test_exports_carry_priority_rationale_turn_and_glossary(ws: Workspace) -> None:
    import jsonschema

    p = ws.create_project("Glossary", template="generic")
    s = p.start_session()
    q = s.next_question()
    turn = s.answer("A slot means a 15-minute appointment. Patients must book a slot online.")
    assert [i.priority for i in turn.items] == ["unset", "must"] and {i.turn for i in turn.items} == {1}
    data = json.loads(p.specification().to_json())
    jsonschema.Draft202012Validator(spec_schema()).validate(data)
    booked = next(i for i in data["items"] if "book" in i["text"])
    assert booked["priority"] == "must" and booked["rationale"] == q.why
    assert booked["source"] == {"question": q.text, "answer": turn.items[0].source_answer, "turn": 1, "restated": []}
    assert data["glossary"] == [{"term": "slot", "definition": "a 15-minute appointment",
                                 "ref": next(i["ref"] for i in data["items"] if "means" in i["text"])}]
    md = p.specification().to_markdown()
    assert "## Glossary" in md and "**slot**: a 15-minute appointment" in md and "_(confidence" in md
