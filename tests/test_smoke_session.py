"""End-to-end: a scripted session through the public API."""

from __future__ import annotations

import json

import socrates_nb as snb
from socrates_nb.workspace import Workspace


def test_scripted_session_produces_items_and_exports(ws: Workspace) -> None:
    p = ws.create_project("Payments API", description="Card payments", template="web-api")
    s = p.start_session()
    q = s.next_question()
    assert q is not None and q.category == "goals" and q.why
    turn = s.answer("Merchants take card payments online. Refunds are issued within 5 days.")
    assert [i.category for i in turn.items] == ["goals", "goals"]
    assert turn.next_question is not None and turn.next_question.id != q.id
    assert turn.maturity.score > 0
    spec = p.specification()
    assert len(spec.items) == 2
    data = json.loads(spec.to_json())
    assert data["project"]["name"] == "Payments API"
    assert {i["ref"] for i in data["items"]} == {"GOAL-001", "GOAL-002"}
    assert "GOAL-001" in spec.to_markdown()
    assert spec.to_csv().splitlines()[0].startswith("ref,category,key")
    assert snb.CATEGORIES[0] == "goals"
