"""Access-control sweep (ASVS 8.2.2): user B tries every route that takes an id on user A's ids.

The operations come from the OpenAPI document, so a new route with a path id is swept as
soon as it exists (and fails this test until it says which of A's ids to try and with
what body). Every attempt must fail with 404, and A's data must read the same afterwards.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import select

from socrates_nb.server.openapi import document
from socrates_nb.storage.models import RefreshToken

PASSWORD = "correct horse battery staple"

# (path template, method) -> a body the route would accept from the owner
BODIES: dict[tuple[str, str], Any] = {
    ("/projects/{project_id}", "get"): None,
    ("/projects/{project_id}", "patch"): {"name": "Taken over"},
    ("/projects/{project_id}", "delete"): None,
    ("/projects/{project_id}/sessions", "post"): {},
    ("/projects/{project_id}/specification", "get"): None,
    ("/projects/{project_id}/conflicts", "get"): None,
    ("/conflicts/{conflict_id}/resolve", "post"): {"resolution": "keep_a"},
    ("/projects/{project_id}/open-questions", "get"): None,
    ("/open-questions/{open_question_id}/reopen", "post"): {},
    ("/sessions/{session_id}", "get"): None,
    ("/sessions/{session_id}/question", "get"): None,
    ("/sessions/{session_id}/answers", "post"): {"text": "The system shall respond within 2 seconds."},
    ("/sessions/{session_id}/complete", "post"): {},
    ("/auth/sessions/{session_id}", "delete"): None,
}
NOT_IDS = {"provider"}  # path parameters that name the caller's own thing, not another user's


def data(response: Any) -> Any:
    return json.loads(response.body)


async def owner_data(api: Any, token: str) -> dict[str, str]:
    """A project with a session, answers, an open conflict and an open question; returns its ids."""
    pid = data(await api("POST", "projects", {"name": "Private"}, token))["project"]["id"]
    sid = data(await api("POST", f"projects/{pid}/sessions", {}, token))["session"]["id"]
    for text in ("The API is available 99.9% of the time each month.", "Availability of 99% per month is enough."):
        assert (await api("POST", f"sessions/{sid}/answers", {"text": text}, token)).code == 200
    conflicts = data(await api("GET", f"projects/{pid}/conflicts", token=token))["conflicts"]
    assert len(conflicts) == 1
    assert (await api("POST", f"sessions/{sid}/answers", {"text": "Not specified."}, token)).code == 200
    gaps = data(await api("GET", f"projects/{pid}/open-questions", token=token))["open_questions"]
    assert len(gaps) == 1
    return {"project_id": pid, "session_id": sid, "conflict_id": conflicts[0]["id"], "open_question_id": gaps[0]["id"]}


async def snapshot(api: Any, token: str, ids: dict[str, str]) -> list[Any]:
    reads = [f"projects/{ids['project_id']}?include=sessions", f"projects/{ids['project_id']}/specification",
             f"projects/{ids['project_id']}/conflicts?status=", f"projects/{ids['project_id']}/open-questions",
             f"sessions/{ids['session_id']}",
             f"sessions/{ids['session_id']}/question", "projects", "auth/me"]
    out = []
    for path in reads:
        route, _, query = path.partition("?")
        params = dict([query.split("=")]) if query else None
        r = await api("GET", route, token=token, params=params)
        assert r.code == 200, (path, r.code)
        out.append(data(r))
    return out


async def test_user_b_cannot_read_or_change_anything_of_user_a(api: Any, user: Any, jp_serverapp: Any) -> None:
    token_a, token_b = await user("owner"), await user("intruder")
    await api("POST", "projects", {"name": "Mine"}, token_b)  # B has data of its own too
    ids = await owner_data(api, token_a)
    db = jp_serverapp.web_app.settings["socrates"].db
    with db.read() as orm:  # A's refresh-token family (the auth/sessions id)
        a_id = uuid.UUID(data(await api("GET", "auth/me", token=token_a))["user"]["id"])
        family = orm.scalar(select(RefreshToken.family_id).where(RefreshToken.user_id == a_id))
    before = await snapshot(api, token_a, ids)

    attempts, successes, swept = 0, [], set()
    for template, operations in document()["paths"].items():
        params = [p for p in template.split("/") if p.startswith("{")]
        if not params or all(p.strip("{}") in NOT_IDS for p in params):
            continue
        for method in (m for m in operations if m != "parameters"):
            assert (template, method) in BODIES, f"sweep {method.upper()} {template}: add its body to BODIES"
            swept.add((template, method))
            owners = dict(ids, session_id=str(family)) if template.startswith("/auth/") else ids
            for id_source in (owners, {k: str(uuid.uuid4()) for k in owners}):
                path = template
                for p in params:
                    path = path.replace(p, id_source[p.strip("{}")])
                body = BODIES[(template, method)]
                r = await api(method.upper(), path.lstrip("/"), body, token=token_b)
                attempts += 1
                if r.code != 404:
                    successes.append((method, path, r.code))
    assert swept == set(BODIES), sorted(set(BODIES) - swept)  # no stale entry
    assert successes == [], successes
    assert attempts == 2 * len(BODIES)
    assert await snapshot(api, token_a, ids) == before  # nothing of A changed
    assert (await api("GET", "auth/me", token=token_a)).code == 200  # A is still logged in
