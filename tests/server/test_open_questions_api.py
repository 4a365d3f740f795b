"""Open questions over REST: a non-answer is listed, reopened once, never an item."""

from __future__ import annotations

import json
from typing import Any

from socrates_nb.export import spec_schema


def data(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


def envelope(response, code: str) -> str:  # noqa: ANN001
    body = data(response)
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    return body["error"]["message"]


async def test_a_non_answer_is_an_open_question_listed_and_reopened(api, user) -> None:  # noqa: ANN001
    token = await user("olive")
    pid = data(await api("POST", "projects", {"name": "Gaps", "template": "web-api"}, token))["project"]["id"]
    started = data(await api("POST", f"projects/{pid}/sessions", {}, token))
    sid, question = started["session"]["id"], started["question"]
    turn = data(await api("POST", f"sessions/{sid}/answers", {"text": "Not specified.", "question_id": question["id"]},
                          token))
    assert turn["items"] == [] and [q["answer"] for q in turn["open_questions"]] == ["Not specified."]
    listed = data(await api("GET", f"projects/{pid}/open-questions", token=token))["open_questions"]
    assert [(q["key"], q["question"], q["status"]) for q in listed] == [(question["key"], question["text"], "open")]
    spec = data(await api("GET", f"projects/{pid}/specification", token=token))
    assert spec["items"] == [] and spec["maturity"]["score"] == 0 and spec["maturity"]["open_questions"] == 1
    assert [q["answer"] for q in spec["open_questions"]] == ["Not specified."]
    import jsonschema

    jsonschema.Draft202012Validator(spec_schema()).validate(spec)

    oid = listed[0]["id"]
    reopened = await api("POST", f"open-questions/{oid}/reopen", {}, token)
    assert reopened.code == 200 and data(reopened)["open_question"]["status"] == "reopened"
    envelope(await api("POST", f"open-questions/{oid}/reopen", {}, token), "conflict")  # once only
    assert data(await api("GET", f"projects/{pid}/open-questions", token=token, params={"status": "reopened"}))[
        "open_questions"][0]["id"] == oid
    envelope(await api("GET", f"projects/{pid}/open-questions", token=token, params={"status": "maybe"}),
             "validation_error")
    envelope(await api("POST", f"open-questions/{oid}/reopen", {"extra": 1}, token), "validation_error")
    envelope(await api("POST", "open-questions/not-a-uuid/reopen", {}, token), "not_found")
    other = await user("pete")
    envelope(await api("POST", f"open-questions/{oid}/reopen", {}, other), "not_found")
    envelope(await api("GET", f"projects/{pid}/open-questions", token=other), "not_found")
