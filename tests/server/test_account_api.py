"""Tokens and accounts over HTTP, through a real Jupyter server (jp_fetch), on both backends.

* the negative token matrix: every forged, misaddressed, expired or revoked token is a 401
  envelope, and so is a token of a disabled user or one used after logout;
* ``POST auth/password``: 204, then every other session is dead, this one goes on; refusals change nothing;
* ``GET auth/sessions`` and ``DELETE auth/sessions/{id}``: one's own sessions only.
"""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from test_rest_api import data, envelope
from token_forgery import forge
from traitlets.config import Config

from socrates_nb.cli import cli
from socrates_nb.services.auth import WRONG_PASSWORD

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a different long passphrase"
MAX_FAILURES = 3
MATRIX = ["alg none", "alg none signed", "HS512", "RS256", "wrong key", "expired", "future nbf", "wrong aud",
          "wrong iss", "refresh token", "typ refresh", "tampered payload", "tampered signature"]


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config.SocratesApp.login_max_failures = MAX_FAILURES
    return jp_server_config


async def login(api: Any, username: str, password: str = PASSWORD) -> dict[str, Any]:
    """A fresh token pair (a new session)."""
    r = await api("POST", "auth/login", {"username": username, "password": password})
    assert r.code == 200, r.body
    return data(r)


async def refused(api: Any, method: str, path: str, token: str | None, body: Any = None) -> str:
    """Assert a 401 envelope; its message."""
    r = await api(method, path, body, token)
    assert r.code == 401, (path, r.code, r.body)
    return envelope(r, "unauthorized")


# --- the negative token matrix ---------------------------------------------------------------


async def test_every_bad_access_token_is_a_401_envelope(api, user, jp_serverapp) -> None:  # noqa: ANN001
    token = await user("ana")
    sub = data(await api("GET", "auth/me", token=token))["user"]["id"]
    key = jp_serverapp.web_app.settings["socrates"].auth.settings.signing_key()
    for case in MATRIX:  # the real user and the server's own key: only the named detail is wrong
        message = await refused(api, "GET", "auth/me", forge(case, sub, key))
        assert message in {"invalid access token", "access token expired"}, (case, message)
    assert (await api("GET", "auth/me", token=token)).code == 200


async def test_an_access_token_is_not_a_refresh_token(api, user) -> None:  # noqa: ANN001
    await user("ana")
    pair = await login(api, "ana")
    r = await api("POST", "auth/refresh", {"refresh_token": pair["access_token"]})
    assert r.code == 401 and envelope(r, "unauthorized") == "invalid or expired refresh token"
    assert (await api("POST", "auth/refresh", {"refresh_token": pair["refresh_token"]})).code == 200


async def test_tokens_after_logout_are_refused(api, user) -> None:  # noqa: ANN001
    await user("ana")
    pair = await login(api, "ana")
    r = await api("POST", "auth/logout", {"refresh_token": pair["refresh_token"]}, pair["access_token"])
    assert r.code == 204
    assert await refused(api, "GET", "auth/me", pair["access_token"]) == "access token revoked"
    await refused(api, "POST", "auth/refresh", None, {"refresh_token": pair["refresh_token"]})


async def test_disabling_a_user_ends_their_sessions_at_once(api, user, db_url) -> None:  # noqa: ANN001
    await user("ana")
    first, second = await login(api, "ana"), await login(api, "ana")
    other = await user("bea")
    runner = CliRunner()
    done = runner.invoke(cli, ["--db", db_url, "--user", "admin", "user", "disable", "ana"], catch_exceptions=False)
    assert (done.exit_code, done.stdout) == (0, "disabled ana; 3 sessions ended\n")
    for pair in (first, second):
        await refused(api, "GET", "auth/me", pair["access_token"])  # the very next request
        await refused(api, "POST", "auth/refresh", None, {"refresh_token": pair["refresh_token"]})
    await refused(api, "POST", "auth/login", None, {"username": "ana", "password": PASSWORD})
    assert (await api("GET", "auth/me", token=other)).code == 200
    enabled = runner.invoke(cli, ["--db", db_url, "--user", "admin", "user", "enable", "ana"], catch_exceptions=False)
    assert enabled.exit_code == 0
    await login(api, "ana")


# --- password change ---------------------------------------------------------------------------


async def test_password_change_ends_every_other_session(api, user) -> None:  # noqa: ANN001
    await user("ana")
    pair, other_device = await login(api, "ana"), await login(api, "ana")
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    r = await api("POST", "auth/password", body, pair["access_token"])
    assert (r.code, r.body) == (204, b"")
    assert await refused(api, "GET", "auth/me", other_device["access_token"]) == "access token revoked"
    await refused(api, "POST", "auth/refresh", None, {"refresh_token": other_device["refresh_token"]})
    assert (await api("GET", "auth/me", token=pair["access_token"])).code == 200  # this session goes on
    await refused(api, "POST", "auth/login", None, {"username": "ana", "password": PASSWORD})
    fresh = await login(api, "ana", NEW_PASSWORD)
    assert (await api("GET", "auth/sessions", token=fresh["access_token"])).code == 200


async def test_wrong_current_password_is_401_and_counts_as_a_failed_login(api, user) -> None:  # noqa: ANN001
    token = await user("ana")
    for _ in range(MAX_FAILURES):
        body = {"current_password": "not my password", "new_password": NEW_PASSWORD}
        assert await refused(api, "POST", "auth/password", token, body) == WRONG_PASSWORD
    r = await api("POST", "auth/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, token)
    assert r.code == 429 and envelope(r, "rate_limited") and int(r.headers["Retry-After"]) > 0
    assert (await api("POST", "auth/login", {"username": "ana", "password": PASSWORD})).code == 429
    assert (await api("GET", "auth/me", token=token)).code == 200  # nothing changed


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"current_password": PASSWORD, "new_password": "short"}, "at least 12 characters"),
        ({"current_password": PASSWORD, "new_password": "password1234"}, "too common"),
        ({"current_password": PASSWORD, "new_password": 12345678901234}, "must be text"),
        ({"current_password": PASSWORD}, "missing field(s): new_password"),
        ({"new_password": NEW_PASSWORD}, "missing field(s): current_password"),
        ({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "otp": "1"}, "unknown field(s): otp"),
        ([PASSWORD, NEW_PASSWORD], "must be a JSON object"),
    ],
)
async def test_bad_password_change_is_422_and_changes_nothing(api, user, body, needle) -> None:  # noqa: ANN001
    token = await user("ana")
    pair = await login(api, "ana")
    r = await api("POST", "auth/password", body, token)
    assert r.code == 422 and needle in envelope(r, "validation_error")
    assert (await api("GET", "auth/me", token=token)).code == 200
    assert (await api("POST", "auth/refresh", {"refresh_token": pair["refresh_token"]})).code == 200
    await login(api, "ana")  # the old password still works


async def test_password_change_needs_a_bearer_token(api, user) -> None:  # noqa: ANN001
    await user("ana")
    await refused(api, "POST", "auth/password", None, {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    await login(api, "ana")


# --- sessions ------------------------------------------------------------------------------------


async def test_list_and_end_own_sessions(api, user) -> None:  # noqa: ANN001
    token = await user("ana")  # the fixture's login is one session
    pair = await login(api, "ana")
    r = await api("GET", "auth/sessions", token=token)
    assert r.code == 200 and r.headers["ETag"]
    sessions = data(r)["sessions"]
    assert len(sessions) == 2 and all(set(s) == {"id", "created_at", "last_used_at", "expires_at", "current"}
                                      for s in sessions)
    assert [s["current"] for s in sessions] == [False, True]  # the fixture's login made the token: the older one
    rotated = data(await api("POST", "auth/refresh", {"refresh_token": pair["refresh_token"]}))
    after = data(await api("GET", "auth/sessions", token=token))["sessions"]
    assert {s["id"] for s in after} == {s["id"] for s in sessions}  # a refresh keeps the session
    for session in after:  # end the session whose refresh token we hold, found by trying
        r = await api("DELETE", f"auth/sessions/{session['id']}", token=token)
        assert r.code == 204
        if (await api("POST", "auth/refresh", {"refresh_token": rotated["refresh_token"]})).code == 401:
            break
    else:
        pytest.fail("no listed session held the refresh token")
    assert len(data(await api("GET", "auth/sessions", token=token))["sessions"]) == len(after) - 1
    r = await api("DELETE", f"auth/sessions/{session['id']}", token=token)
    assert r.code == 404 and envelope(r, "not_found")


@pytest.mark.parametrize("session_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "%00", "1" * 200])
async def test_malformed_or_unknown_session_ids_are_404(api, user, session_id) -> None:  # noqa: ANN001
    token = await user("ana")
    r = await api("DELETE", f"auth/sessions/{session_id}", token=token)
    assert r.code == 404 and envelope(r, "not_found")
    assert len(data(await api("GET", "auth/sessions", token=token))["sessions"]) == 1


async def test_another_users_session_is_404_and_revokes_nothing(api, user) -> None:  # noqa: ANN001
    await user("ana")
    ana = await login(api, "ana")
    bea = await user("bea")
    ana_sessions = data(await api("GET", "auth/sessions", token=ana["access_token"]))["sessions"]
    bea_sessions = data(await api("GET", "auth/sessions", token=bea))["sessions"]
    assert not {s["id"] for s in ana_sessions} & {s["id"] for s in bea_sessions}  # each sees only their own
    for session in ana_sessions:
        r = await api("DELETE", f"auth/sessions/{session['id']}", token=bea)
        assert r.code == 404 and envelope(r, "not_found") == f"session {session['id']} not found"
    assert data(await api("GET", "auth/sessions", token=ana["access_token"]))["sessions"] == ana_sessions
    assert (await api("POST", "auth/refresh", {"refresh_token": ana["refresh_token"]})).code == 200


async def test_session_routes_need_a_bearer_token(api) -> None:  # noqa: ANN001
    await refused(api, "GET", "auth/sessions", None)
    await refused(api, "DELETE", "auth/sessions/00000000-0000-0000-0000-000000000000", None)

