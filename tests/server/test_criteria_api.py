"""Criteria follow-ups over REST: the follow-up is a probe-kind question, the reply lists the criteria it added."""

from __future__ import annotations

import json
from typing import Any

from tests.server.test_openapi import conforms


async def test_a_criteria_reply_lists_what_it_added(api, user) -> None:  # noqa: ANN001
    token = await user("cleo")

    async def answer(sid: str, text: str, question: dict[str, Any]) -> dict[str, Any]:
        r = await api("POST", f"sessions/{sid}/answers", {"text": text, "question_id": question["id"]}, token)
        return conforms(r, "/sessions/{session_id}/answers", "post")

    pid = json.loads((await api("POST", "projects", {"name": "Orders", "template": "web-api"}, token)).body)["project"]["id"]
    started = json.loads((await api("POST", f"projects/{pid}/sessions", {}, token)).body)
    sid, q = started["session"]["id"], started["question"]
    for _ in range(2):  # goals and users are out of scope here: the functional question comes next
        q = (await answer(sid, "Not applicable.", q))["next_question"]
    assert q["key"] == "functional.core_tasks"
    turn = await answer(sid, "Clerks cancel an order. Managers approve refunds.", q)
    refs = [i["ref"] for i in turn["items"]]
    follow_up = turn["next_question"]
    assert follow_up["key"] == "criteria.functional.core_tasks" and follow_up["kind"] == "probe"
    reply = await answer(sid, "Refunds above 200 euros need a manager. A shipped order cannot be cancelled.", follow_up)
    assert reply["items"] == [] and reply["criteria"] == [
        {"ref": refs[0], "criterion": "A shipped order cannot be cancelled."},
        {"ref": refs[1], "criterion": "Refunds above 200 euros need a manager."},
    ]
    spec = json.loads((await api("GET", f"projects/{pid}/specification", token=token)).body)
    assert {i["ref"]: i["acceptance_criteria"] for i in spec["items"] if i["category"] == "functional"} == {
        refs[0]: ["A shipped order cannot be cancelled."], refs[1]: ["Refunds above 200 euros need a manager."],
    }
