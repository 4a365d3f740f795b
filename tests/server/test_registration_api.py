"""Who may create accounts, whose LLM key pays and which sessions end, over HTTP (jp_fetch), on both backends.

* ``SocratesApp.allow_registration`` false (or ``SOCRATES_ALLOW_REGISTRATION=false``): ``POST
  auth/register`` is a 403 envelope naming the setting and how accounts are made, and stores
  nothing; ``socrates user create`` and an admin's ``POST users`` still make accounts that log in;
  a non-admin's ``POST users`` is 403;
* with ``OPENAI_API_KEY`` in the server's environment, a REST user without a stored key gets a
  422 naming ``PUT /socrates/api/v1/api-keys/openai`` unless ``share_server_llm_keys`` is on
  (then the fake vendor is called with the server's key);
* enabling MFA and changing the password end the other sessions and keep the current one;
  logout without a refresh token ends the access token's session.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from test_llm_api import model, new_project, sessions_of
from test_openapi import conforms
from test_rest_api import data, envelope
from traitlets.config import Config

from llm_fakes import FakeOpenAI
from socrates_nb.cli import cli
from socrates_nb.server.openapi import document
from socrates_nb.storage import models

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a different long passphrase"
SERVER_KEY = "sk-the-operators-own-key-0042"


def context(jp_serverapp: Any) -> Any:
    return jp_serverapp.web_app.settings["socrates"]


def count(jp_serverapp: Any, model_: Any) -> int:
    with context(jp_serverapp).db.read() as orm:
        return orm.scalar(select(func.count()).select_from(model_)) or 0


async def login(api: Any, username: str, password: str = PASSWORD) -> dict[str, Any]:
    r = await api("POST", "auth/login", {"username": username, "password": password})
    assert r.code == 200, r.body
    return data(r)


async def refresh_code(api: Any, pair: dict[str, Any]) -> int:
    return (await api("POST", "auth/refresh", {"refresh_token": pair["refresh_token"]})).code


# --- registration closed -----------------------------------------------------------------------------


class TestClosedRegistration:
    @pytest.fixture(params=["trait", "environment"])
    def jp_server_config(self, request: pytest.FixtureRequest, jp_server_config: Config,
                         monkeypatch: pytest.MonkeyPatch) -> Config:
        """Registration closed by the trait, or by the variable the trait defaults to."""
        if request.param == "trait":
            jp_server_config.SocratesApp.allow_registration = False
        else:
            monkeypatch.setenv("SOCRATES_ALLOW_REGISTRATION", "false")
        return jp_server_config

    async def test_closed_registration_is_403_and_stores_nothing(self, api: Any, jp_serverapp: Any) -> None:
        users = count(jp_serverapp, models.User)
        for body in ({"username": "ana", "password": PASSWORD}, {"username": "A", "password": "x"}):
            r = await api("POST", "auth/register", body)
            assert r.code == 403, r.body
            message = envelope(r, "forbidden")
            assert "SocratesApp.allow_registration" in message and "socrates user create" in message
        assert count(jp_serverapp, models.User) == users
        assert count(jp_serverapp, models.RateLimitHit) == 0
        register = document()["paths"]["/auth/register"]["post"]
        assert "403" in register["responses"] and "allow_registration" in register["summary"]

    async def test_operators_and_admins_create_accounts(self, api: Any, jp_serverapp: Any, db_url: str) -> None:
        runner = CliRunner()

        def run(*args: str, stdin: str | None = None) -> Any:
            return runner.invoke(cli, ["--db", db_url, "--user", "operator", *args], input=stdin, catch_exceptions=False)

        made = run("user", "create", "root", "--role", "admin", "--password-stdin", stdin=f"{PASSWORD}\n")
        assert (made.exit_code, made.stdout) == (0, "created root (admin)\n")
        root = (await login(api, "root"))["access_token"]

        r = await api("POST", "users", {"username": "bea", "password": PASSWORD, "email": "bea@example.org"}, root)
        assert r.code == 201, r.body
        created = conforms(r, "/users", "post")["user"]
        assert (created["username"], created["email"], created["role"]) == ("bea", "bea@example.org", "user")
        bea = (await login(api, "bea"))["access_token"]
        assert data(await api("GET", "auth/me", token=bea))["user"]["id"] == created["id"]

        users = count(jp_serverapp, models.User)
        r = await api("POST", "users", {"username": "eve", "password": PASSWORD}, bea)  # not an admin
        assert r.code == 403 and "only an admin may create accounts" in envelope(r, "forbidden")
        r = await api("POST", "users", {"username": "eve", "password": PASSWORD})  # no token
        assert r.code == 401 and envelope(r, "unauthorized")
        r = await api("POST", "users", {"username": "bea", "password": PASSWORD}, root)
        assert r.code == 409 and envelope(r, "conflict") == "username 'bea' is taken"
        for body, needle in [({"username": "eve", "password": "short"}, "at least 12 characters"),
                             ({"username": "eve", "password": PASSWORD, "role": "root"}, "role must be one of"),
                             ({"username": "eve"}, "missing field(s): password")]:
            r = await api("POST", "users", body, root)
            assert r.code == 422 and needle in envelope(r, "validation_error"), body
        assert count(jp_serverapp, models.User) == users


# --- whose LLM key pays --------------------------------------------------------------------------------


class TestServerKeys:
    """The operator's OPENAI_API_KEY and its URL are in the server's environment."""

    @pytest.fixture
    def vendor(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
        with FakeOpenAI(api_key=SERVER_KEY) as srv:
            srv.default = model
            monkeypatch.setenv("OPENAI_API_KEY", SERVER_KEY)
            monkeypatch.setenv("SOCRATES_OPENAI_BASE_URL", srv.base_url)
            yield srv

    @pytest.fixture(params=[False, True], ids=["not shared", "shared"])
    def shared(self, request: pytest.FixtureRequest) -> bool:
        return request.param

    @pytest.fixture
    def jp_server_config(self, jp_server_config: Config, vendor: FakeOpenAI, shared: bool) -> Config:
        if shared:
            jp_server_config.SocratesApp.share_server_llm_keys = True
        return jp_server_config

    async def test_a_user_without_a_key_of_their_own(
        self, api: Any, user: Any, jp_serverapp: Any, vendor: FakeOpenAI, shared: bool
    ) -> None:
        token = await user("ana")
        pid = await new_project(api, token)
        r = await api("POST", f"projects/{pid}/sessions", {"engine": "openai"}, token)
        if not shared:
            assert r.code == 422, r.body
            message = envelope(r, "validation_error")
            assert "PUT /socrates/api/v1/api-keys/openai" in message and "share_server_llm_keys" in message
            assert (await sessions_of(api, token, pid), count(jp_serverapp, models.LlmUsage)) == ([], 0)
            assert vendor.requests == []
            r = await api("PUT", "api-keys/openai", {"key": SERVER_KEY}, token)  # a key of their own
            assert r.code == 204
            r = await api("POST", f"projects/{pid}/sessions", {"engine": "openai"}, token)
        assert r.code == 201, r.body
        assert data(r)["question"]["text"].startswith("Model wording")
        assert vendor.invalid == [] and {q.headers["authorization"] for q in vendor.requests} == {f"Bearer {SERVER_KEY}"}
        assert count(jp_serverapp, models.LlmUsage) == 1


# --- sessions that end -----------------------------------------------------------------------------------


async def test_enabling_mfa_ends_a_session_from_before(api: Any, user: Any) -> None:
    await user("ana")
    stolen, mine = await login(api, "ana"), await login(api, "ana")
    token = mine["access_token"]
    setup = data(await api("POST", "auth/mfa/setup", {"password": PASSWORD}, token))
    r = await api("POST", "auth/mfa/enable", {"otp": pyotp.TOTP(setup["secret"]).now()}, token)
    assert r.code == 204, r.body
    assert await refresh_code(api, stolen) == 401
    r = await api("GET", "auth/me", token=stolen["access_token"])
    assert r.code == 401 and envelope(r, "unauthorized") == "access token revoked"
    assert (await api("GET", "auth/me", token=token)).code == 200
    sessions = data(await api("GET", "auth/sessions", token=token))["sessions"]
    assert [s["current"] for s in sessions] == [True]
    assert await refresh_code(api, mine) == 200

async def test_a_password_change_keeps_only_the_current_session(api: Any, user: Any) -> None:
    await user("ana")
    other, mine = await login(api, "ana"), await login(api, "ana")
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    r = await api("POST", "auth/password", body, mine["access_token"])
    assert (r.code, r.body) == (204, b"")
    assert await refresh_code(api, other) == 401
    assert (await api("GET", "auth/me", token=other["access_token"])).code == 401
    assert (await api("GET", "auth/me", token=mine["access_token"])).code == 200
    assert await refresh_code(api, mine) == 200

async def test_logout_without_a_refresh_token_ends_its_session(api: Any, user: Any) -> None:
    await user("ana")
    pair, other = await login(api, "ana"), await login(api, "ana")
    r = await api("POST", "auth/logout", {}, pair["access_token"])
    assert r.code == 204
    assert await refresh_code(api, pair) == 401
    assert (await api("GET", "auth/me", token=pair["access_token"])).code == 401
    assert await refresh_code(api, other) == 200
    body = json.loads((await api("GET", "auth/me", token=other["access_token"])).body)
    assert body["user"]["username"] == "ana"
