"""The REST contract, route by route, through a real Jupyter server (pytest-jupyter's jp_fetch)."""

from __future__ import annotations

import gzip
import json

import pytest

from typing import Any

PASSWORD = "correct horse battery staple"
ANSWER = "Shoppers pay by card. Checkout pages load in under 2 s for 95% of requests."


def data(response: Any) -> Any:
    """The JSON body of a response."""
    return json.loads(response.body) if response.body else None


def envelope(response, code: str) -> str:  # noqa: ANN001
    body = data(response)
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert "Traceback" not in response.body.decode()
    return body["error"]["message"]


# --- auth -----------------------------------------------------------------------------------


async def test_register_login_me_logout(api, user) -> None:  # noqa: ANN001
    r = await api("POST", "auth/register", {"username": "alice", "password": PASSWORD, "email": "a@example.org"})
    assert r.code == 201 and data(r)["user"]["username"] == "alice" and "password" not in r.body.decode()
    r = await api("POST", "auth/login", {"username": "alice", "password": PASSWORD})
    pair = data(r)
    assert r.code == 200 and pair["token_type"] == "bearer" and pair["expires_in"] == 900
    me = await api("GET", "auth/me", token=pair["access_token"])
    assert me.code == 200 and data(me)["user"]["email"] == "a@example.org"
    out = await api("POST", "auth/logout", {"refresh_token": pair["refresh_token"]}, token=pair["access_token"])
    assert out.code == 204 and not out.body
    envelope(await api("GET", "auth/me", token=pair["access_token"]), "unauthorized")
    envelope(await api("POST", "auth/refresh", {"refresh_token": pair["refresh_token"]}), "unauthorized")


@pytest.mark.parametrize(("body", "needle"), [
    ({"username": "Al", "password": PASSWORD}, "username"),
    ({"username": "bob", "password": "short"}, "12"),
    ({"username": "bob", "password": "password1234"}, "common"),
    ({"username": "bob"}, "password"),
    ({"username": "bob", "password": PASSWORD, "admin": True}, "admin"),
])
async def test_register_rejects_bad_input(api, body, needle) -> None:  # noqa: ANN001
    assert needle in envelope(await api("POST", "auth/register", body), "validation_error")


async def test_register_taken_is_conflict(api, user) -> None:  # noqa: ANN001
    await user("carol")
    envelope(await api("POST", "auth/register", {"username": "carol", "password": PASSWORD}), "conflict")


async def test_wrong_username_and_wrong_password_look_alike(api, user) -> None:  # noqa: ANN001
    await user("dave")
    wrong_user = await api("POST", "auth/login", {"username": "nobody", "password": PASSWORD})
    wrong_pass = await api("POST", "auth/login", {"username": "dave", "password": PASSWORD + "x"})
    assert wrong_user.code == wrong_pass.code == 401 and wrong_user.body == wrong_pass.body


async def test_refresh_rotates_and_reuse_revokes_the_family(api, user) -> None:  # noqa: ANN001
    await user("erin")
    first = data(await api("POST", "auth/login", {"username": "erin", "password": PASSWORD}))
    second = data(await api("POST", "auth/refresh", {"refresh_token": first["refresh_token"]}))
    assert second["refresh_token"] != first["refresh_token"]
    envelope(await api("POST", "auth/refresh", {"refresh_token": first["refresh_token"]}), "unauthorized")
    envelope(await api("POST", "auth/refresh", {"refresh_token": second["refresh_token"]}), "unauthorized")


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer not-a-jwt", "Basic YWxpY2U6cHc=", "token abc"])
async def test_protected_routes_need_a_valid_bearer_token(api, header) -> None:  # noqa: ANN001
    r = await api("GET", "projects", headers={"Authorization": header})
    envelope(r, "unauthorized")


# --- projects -------------------------------------------------------------------------------


async def test_project_crud_and_paging(api, user) -> None:  # noqa: ANN001
    token = await user("frank")
    for i in range(3):
        r = await api("POST", "projects", {"name": f"P{i}", "template": "web-api"}, token)
        assert r.code == 201 and r.headers["Location"].endswith(data(r)["project"]["id"])
    page = data(await api("GET", "projects", token=token, params={"limit": "2", "fields": "id,name"}))
    assert page["total"] == 3 and page["limit"] == 2 and [set(i) for i in page["items"]] == [{"id", "name"}] * 2
    assert [i["name"] for i in page["items"]] == ["P2", "P1"]
    pid = page["items"][0]["id"]
    r = await api("PATCH", f"projects/{pid}", {"description": "new", "status": "archived"}, token)
    assert r.code == 200 and data(r)["project"]["version"] == 2
    archived = data(await api("GET", "projects", token=token, params={"status": "archived"}))
    assert [i["name"] for i in archived["items"]] == ["P2"]
    assert (await api("DELETE", f"projects/{pid}", token=token)).code == 204
    envelope(await api("GET", f"projects/{pid}", token=token), "not_found")


@pytest.mark.parametrize("params", [{"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"offset": "-1"},
                                    {"fields": "id,secret"}, {"status": "gone"}])
async def test_project_list_rejects_bad_parameters(api, user, params) -> None:  # noqa: ANN001
    token = await user("gina")
    envelope(await api("GET", "projects", token=token, params=params), "validation_error")


async def test_another_users_project_is_not_found(api, user) -> None:  # noqa: ANN001
    alice, bob = await user("alice2"), await user("bob22")
    pid = data(await api("POST", "projects", {"name": "Secret"}, alice))["project"]["id"]
    for method, path, body in [("GET", f"projects/{pid}", None), ("PATCH", f"projects/{pid}", {"name": "x"}),
                               ("DELETE", f"projects/{pid}", None), ("POST", f"projects/{pid}/sessions", {}),
                               ("GET", f"projects/{pid}/specification", None), ("GET", f"projects/{pid}/conflicts", None)]:
        envelope(await api(method, path, body, bob), "not_found")
    assert data(await api("GET", f"projects/{pid}", token=alice))["project"]["name"] == "Secret"


async def test_etag_if_none_match_and_if_match(api, user) -> None:  # noqa: ANN001
    token = await user("hank")
    pid = data(await api("POST", "projects", {"name": "Tagged"}, token))["project"]["id"]
    r = await api("GET", f"projects/{pid}", token=token)
    etag = r.headers["ETag"]
    assert etag.startswith('"') and r.headers["Cache-Control"] == "private, no-cache"
    again = await api("GET", f"projects/{pid}", token=token, headers={"If-None-Match": etag})
    assert again.code == 304 and not again.body
    ok = await api("PATCH", f"projects/{pid}", {"name": "Renamed"}, token, headers={"If-Match": etag})
    assert ok.code == 200
    stale = await api("PATCH", f"projects/{pid}", {"name": "Again"}, token, headers={"If-Match": etag})
    envelope(stale, "precondition_failed")
    assert data(await api("GET", f"projects/{pid}", token=token))["project"]["name"] == "Renamed"


async def test_include_sessions_in_a_fixed_number_of_queries(api, user, jp_serverapp) -> None:  # noqa: ANN001
    from sqlalchemy import event

    token = await user("ivan")
    pid = data(await api("POST", "projects", {"name": "Many"}, token))["project"]["id"]
    engine = jp_serverapp.web_app.settings["socrates"].db.engine
    counts = []
    for n in (1, 4):
        while len(data(await api("GET", f"projects/{pid}", token=token, params={"include": "sessions"}))["project"]["sessions"]) < n:
            await api("POST", f"projects/{pid}/sessions", {}, token)
        statements: list[str] = []
        listener = lambda *a: statements.append(a[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        r = await api("GET", f"projects/{pid}", token=token, params={"include": "sessions", "x": str(n)})
        event.remove(engine, "before_cursor_execute", listener)
        assert len(data(r)["project"]["sessions"]) == n
        counts.append(len([s for s in statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA"))]))
    assert counts[0] == counts[1]


# --- sessions, answers, specification, conflicts -------------------------------------------------


async def test_a_session_over_rest(api, user) -> None:  # noqa: ANN001
    token = await user("judy")
    pid = data(await api("POST", "projects", {"name": "Shop", "template": "web-app"}, token))["project"]["id"]
    started = await api("POST", f"projects/{pid}/sessions", {"engine": "offline"}, token)
    assert started.code == 201
    sid, question = data(started)["session"]["id"], data(started)["question"]
    assert data(await api("GET", f"sessions/{sid}/question", token=token))["question"] == question
    turn = await api("POST", f"sessions/{sid}/answers", {"text": ANSWER, "question_id": question["id"]}, token)
    body = data(turn)
    assert turn.code == 200 and {"items", "conflicts", "next_question", "maturity"} <= set(body) and body["items"]
    state = data(await api("GET", f"sessions/{sid}", token=token))["session"]
    assert state["progress"]["answered"] == 1 and state["maturity"]["score"] == body["maturity"]["score"]
    stale = await api("POST", f"sessions/{sid}/answers", {"text": ANSWER, "question_id": question["id"]}, token)
    envelope(stale, "conflict")
    envelope(await api("POST", f"sessions/{sid}/answers", {"text": "   "}, token), "validation_error")
    md = await api("GET", f"projects/{pid}/specification", token=token, params={"format": "markdown"})
    assert md.code == 200 and md.headers["Content-Type"].startswith("text/markdown") and b"# Shop" in md.body
    csv = await api("GET", f"projects/{pid}/specification", token=token, params={"format": "csv"})
    assert csv.headers["Content-Type"].startswith("text/csv")
    spec = data(await api("GET", f"projects/{pid}/specification", token=token))
    assert len(spec["items"]) == len(body["items"])
    envelope(await api("GET", f"projects/{pid}/specification", token=token, params={"format": "pdf"}), "validation_error")
    done = await api("POST", f"sessions/{sid}/complete", {}, token)
    assert done.code == 200 and data(done)["session"]["status"] == "completed"
    assert data(await api("GET", f"sessions/{sid}", token=token))["session"]["progress"]["answered"] == 1


async def test_conflicts_list_and_resolve(api, user) -> None:  # noqa: ANN001
    token = await user("kim")
    pid = data(await api("POST", "projects", {"name": "Avail"}, token))["project"]["id"]
    sid = data(await api("POST", f"projects/{pid}/sessions", {}, token))["session"]["id"]
    for text in ("The API is available 99.9% of the time each month.", "Availability of 99% per month is enough."):
        await api("POST", f"sessions/{sid}/answers", {"text": text}, token)
    conflicts = data(await api("GET", f"projects/{pid}/conflicts", token=token))["conflicts"]
    assert len(conflicts) == 1 and conflicts[0]["status"] == "open"
    cid = conflicts[0]["id"]
    envelope(await api("POST", f"conflicts/{cid}/resolve", {"resolution": "flip"}, token), "validation_error")
    r = await api("POST", f"conflicts/{cid}/resolve", {"resolution": "keep_a"}, token)
    assert r.code == 200 and data(r)["conflict"]["status"] != "open"
    assert data(await api("GET", f"projects/{pid}/conflicts", token=token))["conflicts"] == []


# --- HTTP behaviour -------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"{", b"[1, 2]", b"\xff\xfe", b'"text"'])
async def test_malformed_json_is_422_and_stores_nothing(api, user, raw) -> None:  # noqa: ANN001
    token = await user("leo")
    envelope(await api("POST", "projects", token=token, raw=raw), "validation_error")
    assert data(await api("GET", "projects", token=token))["total"] == 0


async def test_body_over_one_megabyte_is_413(api, user) -> None:  # noqa: ANN001
    token = await user("mia")
    big = json.dumps({"name": "x", "description": "d" * (1024 * 1024)}).encode()
    envelope(await api("POST", "projects", token=token, raw=big), "payload_too_large")
    assert data(await api("GET", "projects", token=token))["total"] == 0


async def test_large_responses_are_gzipped(api, user) -> None:  # noqa: ANN001
    token = await user("nick")
    for i in range(20):
        await api("POST", "projects", {"name": f"Project number {i}", "description": "words " * 20}, token)
    r = await api("GET", "projects", token=token, headers={"Accept-Encoding": "gzip"}, params={"limit": "20"})
    assert r.code == 200
    # tornado's client inflates transparently; the header says what travelled
    assert r.headers.get("Content-Encoding") == "gzip" or r.headers.get("X-Consumed-Content-Encoding") == "gzip"
    assert len(data(r)["items"]) == 20
    small = await api("GET", "auth/me", token=token, headers={"Accept-Encoding": "gzip"})
    assert "gzip" not in (small.headers.get("Content-Encoding", "") + small.headers.get("X-Consumed-Content-Encoding", ""))
    assert gzip  # imported for readers: the body is plain JSON after decoding


async def test_unknown_method_is_an_envelope(api, user) -> None:  # noqa: ANN001
    token = await user("olga")
    envelope(await api("PUT", "projects", {}, token), "method_not_allowed")


async def test_health_is_public(api) -> None:  # noqa: ANN001
    r = await api("GET", "health")  # the full report: test_health_api.py
    body = data(r)
    assert r.code == 200 and set(body) == {"status", "checks", "version", "uptime_s"}
    assert body["checks"]["database"] == {"status": "ok"}


async def test_ids_that_are_not_uuids_are_not_found(api, user) -> None:  # noqa: ANN001
    token = await user("pia")
    for path in ("projects/not-a-uuid", "sessions/1234/question", "projects/My%20Project/conflicts"):
        envelope(await api("GET", path, token=token), "not_found")
    envelope(await api("POST", "conflicts/xyz/resolve", {"resolution": "dismiss"}, token), "not_found")


async def test_include_must_be_sessions(api, user) -> None:  # noqa: ANN001
    token = await user("quin")
    pid = data(await api("POST", "projects", {"name": "Inc"}, token))["project"]["id"]
    envelope(await api("GET", f"projects/{pid}", token=token, params={"include": "secrets"}), "validation_error")


async def test_cookie_carrying_writes_still_need_xsrf(api, user) -> None:  # noqa: ANN001
    """Bearer clients skip the XSRF check only because they send no cookie; a browser's cookie request is checked."""
    token = await user("rita")
    r = await api("POST", "projects", {"name": "Forged"}, token, headers={"Cookie": "session=stolen"})
    envelope(r, "forbidden")
    assert data(await api("GET", "projects", token=token))["total"] == 0


async def test_concurrent_refreshes_over_http_one_wins(api, user) -> None:  # noqa: ANN001
    """Four refreshes sent at once: one pair is issued. (The handlers run on one IO loop, so the
    true database race is tested at service level, with threads and processes.)"""
    import asyncio

    await user("sam")
    pair = data(await api("POST", "auth/login", {"username": "sam", "password": PASSWORD}))
    results = await asyncio.gather(*(api("POST", "auth/refresh", {"refresh_token": pair["refresh_token"]}) for _ in range(4)))
    assert sorted(r.code for r in results) == [200, 401, 401, 401]
