"""The audit trail over HTTP (jp_fetch), on both backends.

* every mutating operation of the OpenAPI document, called once successfully, adds exactly one
  ``audit_logs`` row with its action, its user and the request's origin (a new operation fails
  the sweep until STEPS says how to call it);
* failures are recorded too: a wrong password, the refused attempt over the login limit, a
  reused or unknown refresh token;
* ``GET audit``: one's own rows (an admin's: everyone's), newest first, filtered, paged, with
  an ETag; bad parameters are 422 envelopes;
* no password, token, code, key, secret or signature of a full flow reaches the logs or the rows.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select, update
from test_access_sweep import owner_data
from test_account_api import login
import test_mfa_api
import test_signing_api
from test_mfa_api import Clock, code
from test_rest_api import data, envelope
from test_signing_api import new_key
from traitlets.config import Config

from socrates_nb.server.openapi import document
from socrates_nb.storage.models import AuditLog, User
from socrates_nb.templates import DEFAULT_TEMPLATE

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a different long passphrase"
WRONG_PASSWORD = "not the right passphrase"
API_KEY = "sk-audit-test-0123456789abcdef"
ANSWER = "Shoppers pay by card. Checkout pages load in under 2 s for 95% of requests."
USER_AGENT = "audit-test/1.0 (pytest)"
LOCALHOST = "127.0.0.1"
MAX_FAILURES = 3
MUTATING = ("post", "put", "patch", "delete")
ENTRY_FIELDS = {"id", "at", "user_id", "action", "resource_type", "resource_id", "client_address", "user_agent",
                "changes"}

Api = Callable[..., Awaitable[Any]]

# fixtures of other modules, used here too: the server's database, request signing, its TOTP clock
db, signer, clock = test_signing_api.db, test_signing_api.signer, test_mfa_api.clock


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config.SocratesApp.login_max_failures = MAX_FAILURES
    return jp_server_config


@pytest.fixture
def context(jp_serverapp: Any) -> Any:
    """The server's ApiContext (services and database)."""
    return jp_serverapp.web_app.settings["socrates"]


# --- reading the trail -----------------------------------------------------------------------


def audit_rows(db: Any) -> list[dict[str, Any]]:
    """Every column of every audit row, oldest first."""
    with db.read() as orm:
        query = select(AuditLog.__table__).order_by(AuditLog.created_at, AuditLog.id)
        return [dict(row._mapping) for row in orm.execute(query)]


def audit_count(db: Any) -> int:
    with db.read() as orm:
        return orm.scalar(select(func.count()).select_from(AuditLog)) or 0


def rows_since(db: Any, before: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows added since ``before`` was read."""
    seen = {row["id"] for row in before}
    return [row for row in audit_rows(db) if row["id"] not in seen]


def described(row: dict[str, Any]) -> dict[str, Any]:
    """A row without its id and time."""
    return {k: v for k, v in row.items() if k not in {"id", "created_at"}}


async def user_id(api: Api, token: str) -> uuid.UUID:
    return uuid.UUID(data(await api("GET", "auth/me", token=token))["user"]["id"])


async def audit_page(api: Api, token: str, **params: str) -> dict[str, Any]:
    r = await api("GET", "audit", token=token, params=params or None)
    assert r.code == 200, r.body
    return data(r)


# --- 1. every mutating operation writes exactly one row ------------------------------------------


@dataclass(frozen=True)
class Measured:
    """The request under test of a step: what it answered and the audit rows it added."""

    method: str
    path: str
    status: int
    added: int  # by SELECT count(*)
    rows: list[dict[str, Any]]
    user: str  # whose row it must be


class Sweep:
    """The acting users, their resources and signing keys; each step measures one request.

    Between steps ana holds a signing key, so the signed operations are swept signed. A user
    holding a key signs each of their changes (unsigned routes ignore the headers) with a new
    timestamp, so no two requests share a signature.
    """

    def __init__(self, api: Api, db: Any, signer: Any, clock: Clock) -> None:
        self.api, self.db, self.signer, self.clock = api, db, signer, clock
        self.ids: dict[str, uuid.UUID] = {}
        self.secrets: dict[str, str] = {}  # username -> signing secret
        self.measured: list[Measured] = []
        self.ana = ""
        self._ts = 0

    async def register(self, username: str) -> str:
        """A new account's id is noted; an access token."""
        r = await self.api("POST", "auth/register", {"username": username, "password": PASSWORD})
        assert r.code == 201, r.body
        self.ids[username] = uuid.UUID(data(r)["user"]["id"])
        return (await login(self.api, username))["access_token"]

    async def request(self, method: str, path: str, body: Any = None, token: str | None = None,
                      user: str = "ana") -> Any:
        headers = {"User-Agent": USER_AGENT}
        if token and user in self.secrets and method != "GET":
            raw = json.dumps(body if body is not None else {}).encode() if method in {"POST", "PUT", "PATCH"} else b""
            self._ts = max(int(time.time()), self._ts + 1)
            headers |= self.signer(self.secrets[user], method, path, raw, self._ts)
        return await self.api(method, path, body, token, headers=headers)

    async def call(self, method: str, path: str, body: Any = None, token: str | None = None,
                   user: str = "ana") -> Any:
        """A setup request (its rows are not counted); it must succeed."""
        r = await self.request(method, path, body, token, user)
        assert r.code in {200, 201, 204}, (method, path, r.code, r.body)
        return r

    async def measure(self, method: str, path: str, body: Any = None, token: str | None = None,
                      user: str = "ana") -> Any:
        """The request under test, made by (or for) ``user``: the rows it added are noted."""
        before, count = audit_rows(self.db), audit_count(self.db)
        r = await self.request(method, path, body, token, user)
        added = audit_count(self.db) - count
        self.measured.append(Measured(method, path, r.code, added, rows_since(self.db, before), user))
        return r

    async def project(self) -> str:
        r = await self.call("POST", "projects", {"name": f"Project {uuid.uuid4().hex[:8]}"}, self.ana)
        return data(r)["project"]["id"]

    async def session(self) -> str:
        r = await self.call("POST", f"projects/{await self.project()}/sessions", {}, self.ana)
        return data(r)["session"]["id"]

    async def pending_mfa(self, username: str) -> tuple[str, dict[str, Any]]:
        """A new user with an MFA setup (not enabled): their token and the setup."""
        token = await self.register(username)
        return token, data(await self.call("POST", "auth/mfa/setup", {"password": PASSWORD}, token, username))


async def register(s: Sweep) -> None:
    r = await s.measure("POST", "auth/register", {"username": "reg", "password": PASSWORD}, user="reg")
    s.ids["reg"] = uuid.UUID(data(r)["user"]["id"])


async def create_user(s: Sweep) -> None:
    def role(value: str) -> None:
        with s.db.write() as orm:
            orm.execute(update(User).where(User.username == "ana").values(role=value))

    role("admin")  # an admin's call
    r = await s.measure("POST", "users", {"username": "made", "password": PASSWORD}, s.ana, user="made")
    role("user")
    s.ids["made"] = uuid.UUID(data(r)["user"]["id"])


async def log_in(s: Sweep) -> None:
    await s.measure("POST", "auth/login", {"username": "ana", "password": PASSWORD})


async def refresh(s: Sweep) -> None:
    pair = await login(s.api, "ana")
    await s.measure("POST", "auth/refresh", {"refresh_token": pair["refresh_token"]})


async def log_out(s: Sweep) -> None:
    pair = await login(s.api, "ana")
    await s.measure("POST", "auth/logout", {"refresh_token": pair["refresh_token"]}, pair["access_token"])


async def change_password(s: Sweep) -> None:
    token = await s.register("pat")  # every session of the account ends
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    await s.measure("POST", "auth/password", body, token, user="pat")


async def revoke_session(s: Sweep) -> None:
    async def families() -> set[str]:
        return {x["id"] for x in data(await s.call("GET", "auth/sessions", token=s.ana))["sessions"]}

    before = await families()
    await login(s.api, "ana")
    (family,) = await families() - before
    await s.measure("DELETE", f"auth/sessions/{family}", token=s.ana)


async def set_up_mfa(s: Sweep) -> None:
    token = await s.register("mia")
    await s.measure("POST", "auth/mfa/setup", {"password": PASSWORD}, token, user="mia")


async def enable_mfa(s: Sweep) -> None:
    token, setup = await s.pending_mfa("moe")
    await s.measure("POST", "auth/mfa/enable", {"otp": code(setup["secret"], s.clock.now)}, token, user="moe")


async def disable_mfa(s: Sweep) -> None:
    token, setup = await s.pending_mfa("max")
    await s.call("POST", "auth/mfa/enable", {"otp": code(setup["secret"], s.clock.now)}, token, user="max")
    body = {"password": PASSWORD, "otp": setup["backup_codes"][0]}
    await s.measure("POST", "auth/mfa/disable", body, token, user="max")


async def create_signing_key(s: Sweep) -> None:
    await s.call("DELETE", "auth/signing-key", token=s.ana)  # signed with the key it deletes
    del s.secrets["ana"]
    r = await s.measure("POST", "auth/signing-key", {"password": PASSWORD}, s.ana)
    s.secrets["ana"] = data(r)["secret"]


async def delete_signing_key(s: Sweep) -> None:
    await s.measure("DELETE", "auth/signing-key", token=s.ana)
    del s.secrets["ana"]
    s.secrets["ana"] = await new_key(s.api, s.ana)


async def create_project(s: Sweep) -> None:
    await s.measure("POST", "projects", {"name": "Created"}, s.ana)


async def update_project(s: Sweep) -> None:
    await s.measure("PATCH", f"projects/{await s.project()}", {"name": "Renamed"}, s.ana)


async def delete_project(s: Sweep) -> None:
    await s.measure("DELETE", f"projects/{await s.project()}", token=s.ana)


async def start_session(s: Sweep) -> None:
    await s.measure("POST", f"projects/{await s.project()}/sessions", {}, s.ana)


async def answer(s: Sweep) -> None:
    await s.measure("POST", f"sessions/{await s.session()}/answers", {"text": ANSWER}, s.ana)


async def complete(s: Sweep) -> None:
    await s.measure("POST", f"sessions/{await s.session()}/complete", {}, s.ana)


async def resolve(s: Sweep) -> None:
    ids = await owner_data(s.api, s.ana)  # a project with one open conflict
    await s.measure("POST", f"conflicts/{ids['conflict_id']}/resolve", {"resolution": "keep_a"}, s.ana)


async def reopen(s: Sweep) -> None:
    sid = await s.session()
    await s.call("POST", f"sessions/{sid}/answers", {"text": "Not specified."}, s.ana)
    pid = data(await s.call("GET", f"sessions/{sid}", token=s.ana))["session"]["project_id"]
    [gap] = data(await s.call("GET", f"projects/{pid}/open-questions", token=s.ana))["open_questions"]
    await s.measure("POST", f"open-questions/{gap['id']}/reopen", {}, s.ana)


async def put_api_key(s: Sweep) -> None:
    await s.measure("PUT", "api-keys/openai", {"key": API_KEY}, s.ana)


async def delete_api_key(s: Sweep) -> None:
    await s.call("PUT", "api-keys/anthropic", {"key": API_KEY}, s.ana)
    await s.measure("DELETE", "api-keys/anthropic", token=s.ana)


Step = Callable[[Sweep], Awaitable[None]]
# (path template, method) -> (the action its success records, a step making one successful call)
STEPS: dict[tuple[str, str], tuple[str, Step]] = {
    ("/auth/register", "post"): ("user.register", register),
    ("/users", "post"): ("user.create", create_user),
    ("/auth/login", "post"): ("auth.login", log_in),
    ("/auth/refresh", "post"): ("auth.refresh", refresh),
    ("/auth/logout", "post"): ("auth.logout", log_out),
    ("/auth/password", "post"): ("auth.password_change", change_password),
    ("/auth/sessions/{session_id}", "delete"): ("auth.session_revoke", revoke_session),
    ("/auth/mfa/setup", "post"): ("mfa.setup", set_up_mfa),
    ("/auth/mfa/enable", "post"): ("mfa.enable", enable_mfa),
    ("/auth/mfa/disable", "post"): ("mfa.disable", disable_mfa),
    ("/auth/signing-key", "post"): ("signing_key.create", create_signing_key),
    ("/auth/signing-key", "delete"): ("signing_key.delete", delete_signing_key),
    ("/projects", "post"): ("project.create", create_project),
    ("/projects/{project_id}", "patch"): ("project.update", update_project),
    ("/projects/{project_id}", "delete"): ("project.delete", delete_project),
    ("/projects/{project_id}/sessions", "post"): ("session.start", start_session),
    ("/conflicts/{conflict_id}/resolve", "post"): ("conflict.resolve", resolve),
    ("/open-questions/{open_question_id}/reopen", "post"): ("open_question.reopen", reopen),
    ("/sessions/{session_id}/answers", "post"): ("session.answer", answer),
    ("/sessions/{session_id}/complete", "post"): ("session.complete", complete),
    ("/api-keys/{provider}", "put"): ("api_key.put", put_api_key),
    ("/api-keys/{provider}", "delete"): ("api_key.delete", delete_api_key),
}


def mutating_operations() -> dict[tuple[str, str], dict[str, Any]]:
    return {(template, method): operation for template, operations in document()["paths"].items()
            for method, operation in operations.items() if method in MUTATING}


def success_status(operation: dict[str, Any]) -> int:
    (status,) = [int(s) for s in operation["responses"] if s.startswith("2")]
    return status


def matches(template: str, path: str) -> bool:
    return re.fullmatch(re.sub(r"\{[^}/]+\}", "[^/]+", template.lstrip("/")), path) is not None


async def test_every_mutating_route_writes_exactly_one_row(api: Api, db: Any, signer: Any, clock: Clock) -> None:
    operations = mutating_operations()
    assert set(operations) == set(STEPS), (
        f"add to STEPS: {sorted(set(operations) - set(STEPS))}; stale: {sorted(set(STEPS) - set(operations))}")
    s = Sweep(api, db, signer, clock)
    s.ana = await s.register("ana")
    s.secrets["ana"] = await new_key(api, s.ana)
    found: dict[tuple[str, str], Any] = {}
    expected: dict[tuple[str, str], Any] = {}
    for (template, method), operation in operations.items():
        action, step = STEPS[template, method]
        s.measured.clear()
        await step(s)
        (call,) = s.measured  # one request under test per step, of the operation swept
        assert call.method == method.upper() and matches(template, call.path), (template, method, call.path)
        found[template, method] = (call.status, call.added, [row["action"] for row in call.rows],
                                   [(row["user_id"], row["client_address"], row["user_agent"]) for row in call.rows])
        expected[template, method] = (success_status(operation), 1, [action],
                                      [(s.ids[call.user], LOCALHOST, USER_AGENT)])
    assert found == expected


# --- 2. failures -------------------------------------------------------------------------------------


async def test_a_failed_login_is_recorded_with_the_requests_origin(api: Api, user: Any, db: Any) -> None:
    ana = await user_id(api, await user("ana"))
    attempts = {"wrong_password": ("ana", ana), "unknown_user": ("nobody", None)}
    for reason, (username, account) in attempts.items():
        before = audit_rows(db)
        r = await api("POST", "auth/login", {"username": username, "password": WRONG_PASSWORD},
                      headers={"User-Agent": USER_AGENT})
        assert r.code == 401, r.body
        assert [described(row) for row in rows_since(db, before)] == [{
            "user_id": account, "action": "auth.login_failed", "resource_type": "user",
            "resource_id": None if account is None else str(account), "client_address": LOCALHOST,
            "user_agent": USER_AGENT, "changes": {"username": username, "reason": reason},
        }]


async def test_the_attempt_refused_by_the_login_limit_is_recorded(api: Api, user: Any, db: Any) -> None:
    await user("ana")
    before = audit_rows(db)
    for _ in range(MAX_FAILURES):
        r = await api("POST", "auth/login", {"username": "ana", "password": WRONG_PASSWORD})
        assert r.code == 401, r.body
    assert [row["action"] for row in rows_since(db, before)] == ["auth.login_failed"] * MAX_FAILURES
    before = audit_rows(db)
    r = await api("POST", "auth/login", {"username": "ana", "password": PASSWORD}, headers={"User-Agent": USER_AGENT})
    assert r.code == 429 and envelope(r, "rate_limited")
    assert [described(row) for row in rows_since(db, before)] == [{
        "user_id": None, "action": "auth.rate_limited", "resource_type": None, "resource_id": None,
        "client_address": LOCALHOST, "user_agent": USER_AGENT, "changes": {"scope": "login", "username": "ana"},
    }]


async def test_a_reused_or_unknown_refresh_token_is_recorded(api: Api, user: Any, db: Any) -> None:
    ana = await user_id(api, await user("ana"))
    first = await login(api, "ana")
    before = audit_rows(db)
    assert (await api("POST", "auth/refresh", {"refresh_token": first["refresh_token"]})).code == 200
    (refreshed,) = rows_since(db, before)
    assert (refreshed["action"], refreshed["user_id"]) == ("auth.refresh", ana)
    assert refreshed["resource_type"] == "login_session"
    logins = [row["resource_id"] for row in audit_rows(db) if row["action"] == "auth.login"]
    assert refreshed["resource_id"] in logins  # the login session (refresh-token family) of ``first``

    cases = {"auth.refresh_reuse": (first["refresh_token"], ana, refreshed["resource_id"], {}),
             "auth.refresh_failed": ("not-a-refresh-token", None, None, {"reason": "unknown_token"})}
    for action, (token, account, family, changes) in cases.items():
        before = audit_rows(db)
        r = await api("POST", "auth/refresh", {"refresh_token": token}, headers={"User-Agent": USER_AGENT})
        assert r.code == 401 and envelope(r, "unauthorized")
        assert [described(row) for row in rows_since(db, before)] == [{
            "user_id": account, "action": action, "resource_type": None if family is None else "login_session",
            "resource_id": family, "client_address": LOCALHOST, "user_agent": USER_AGENT, "changes": changes,
        }]


# --- 3. GET audit --------------------------------------------------------------------------------------


def listed(rows: list[dict[str, Any]]) -> list[str]:
    """The ids of ``rows`` (oldest first) as GET audit lists them: newest first."""
    return [str(row["id"]) for row in reversed(rows)]


async def test_each_user_reads_only_their_own_rows(api: Api, user: Any, db: Any) -> None:
    tokens = {name: await user(name) for name in ("ana", "bea")}
    for name, token in tokens.items():
        await api("POST", "projects", {"name": f"{name}'s"}, token)
    for name, token in tokens.items():
        me = await user_id(api, token)
        page = await audit_page(api, token)
        mine = [row for row in audit_rows(db) if row["user_id"] == me]
        assert (page["total"], page["offset"], page["limit"]) == (3, 0, 50)
        assert [i["id"] for i in page["items"]] == listed(mine)
        assert [i["action"] for i in page["items"]] == ["project.create", "auth.login", "user.register"]
        assert all(set(i) == ENTRY_FIELDS and i["user_id"] == str(me) for i in page["items"])
        assert page["items"][0]["changes"] == {"name": f"{name}'s", "template": DEFAULT_TEMPLATE}


async def test_an_admin_reads_every_users_rows(api: Api, user: Any, db: Any, context: Any) -> None:
    ana, bea = await user("ana"), await user("bea")
    ids = {await user_id(api, ana), await user_id(api, bea)}
    context.auth.set_role("ana", "admin")  # read per request: the token ana holds now acts as an admin
    everything = audit_rows(db)
    page = await audit_page(api, ana)
    assert page["total"] == len(everything) == 5  # two registrations and logins, the role change
    assert [i["id"] for i in page["items"]] == listed(everything)
    assert {uuid.UUID(i["user_id"]) for i in page["items"]} == ids
    bea_page = await audit_page(api, bea)
    assert bea_page["total"] == 2 and {i["user_id"] for i in bea_page["items"]} == {str(await user_id(api, bea))}
    context.auth.set_role("ana", "user")
    assert (await audit_page(api, ana))["total"] == 4  # registration, login and the two role changes


async def test_filters_by_action_and_time(api: Api, user: Any) -> None:
    token = await user("ana")
    for _ in range(2):
        await login(api, "ana")
    await api("POST", "projects", {"name": "Filtered"}, token)
    everything = (await audit_page(api, token))["items"]
    assert [i["action"] for i in everything] == ["project.create", *["auth.login"] * 3, "user.register"]

    logins = await audit_page(api, token, action="auth.login")
    assert logins["total"] == 3 and logins["items"] == [i for i in everything if i["action"] == "auth.login"]

    since = datetime.fromisoformat(everything[2]["at"])
    after = [i for i in everything if datetime.fromisoformat(i["at"]) >= since]
    assert after[:3] == everything[:3] and len(after) < len(everything)
    for text in (everything[2]["at"], since.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat()):
        assert text.endswith("Z") or "+05:30" in text
        page = await audit_page(api, token, since=text)  # '+' is percent-encoded in the query string
        assert (page["total"], page["items"]) == (len(after), after)
    both = await audit_page(api, token, since=everything[2]["at"], action="auth.login")
    assert both["items"] == [i for i in after if i["action"] == "auth.login"]
    future = await audit_page(api, token, since="2999-01-01T00:00:00Z")
    assert (future["total"], future["items"]) == (0, [])


async def test_pages_cover_the_rows_once_newest_first(api: Api, user: Any) -> None:
    token = await user("ana")
    for name in ("One", "Two", "Three"):
        await api("POST", "projects", {"name": name}, token)
    everything = (await audit_page(api, token))["items"]
    assert len(everything) == 5
    assert [i["at"] for i in everything] == sorted((i["at"] for i in everything), reverse=True)
    pages = [await audit_page(api, token, offset=str(offset), limit="2") for offset in (0, 2, 4, 6)]
    assert [(p["total"], p["offset"], p["limit"]) for p in pages] == [(5, 0, 2), (5, 2, 2), (5, 4, 2), (5, 6, 2)]
    assert [i for p in pages for i in p["items"]] == everything
    assert pages[-1]["items"] == []


async def test_a_repeated_get_is_304_until_a_new_row(api: Api, user: Any) -> None:
    assert "304" in document()["paths"]["/audit"]["get"]["responses"]  # the route is conditional
    token = await user("ana")
    first = await api("GET", "audit", token=token)
    tag = first.headers["ETag"]
    again = await api("GET", "audit", token=token, headers={"If-None-Match": tag})
    assert (again.code, again.body, again.headers["ETag"]) == (304, b"", tag)
    await api("POST", "projects", {"name": "Changed"}, token)
    changed = await api("GET", "audit", token=token, headers={"If-None-Match": tag})
    assert changed.code == 200 and changed.headers["ETag"] != tag
    assert data(changed)["total"] == data(first)["total"] + 1


BAD_QUERIES: list[tuple[dict[str, str], str]] = [
    ({"action": "auth.nope"}, "unknown action 'auth.nope'; valid actions: user.register, "),
    ({"since": "2026-11-26T09:00:00"}, "since needs a time zone"),
    ({"since": "yesterday"}, "since must be an ISO-8601 time such as 2026-11-26T09:00:00Z, not 'yesterday'"),
    ({"limit": "0"}, "limit must be an integer from 1 to 100, got 0"),
    ({"limit": "101"}, "limit must be an integer from 1 to 100, got 101"),
    ({"offset": "-1"}, "offset must be an integer from 0 to 2,147,483,647, got -1"),
]


async def test_bad_queries_are_422_and_anonymous_callers_401(api: Api, user: Any) -> None:
    token = await user("ana")
    for params, message in BAD_QUERIES:
        r = await api("GET", "audit", token=token, params=params)
        assert r.code == 422 and envelope(r, "validation_error").startswith(message), (params, r.body)
    for params, _ in [({}, None), *BAD_QUERIES]:
        r = await api("GET", "audit", params=params or None)
        assert r.code == 401 and envelope(r, "unauthorized").startswith("missing bearer token")


# --- 4. no secret in the logs or the trail ------------------------------------------------------------


@pytest.fixture
def every_log(jp_serverapp: Any, caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog at DEBUG for every logger, those that do not propagate to the root (Jupyter's own) too."""
    caplog.set_level(logging.DEBUG)
    loggers = [logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)]
    for logger in loggers:
        caplog.set_level(logging.DEBUG, logger.name)
    detached = [logger for logger in loggers if not logger.propagate]
    for logger in detached:
        logger.addHandler(caplog.handler)
    yield caplog
    for logger in detached:
        logger.removeHandler(caplog.handler)


def leaked(secret: str, text: str) -> bool:
    """Whether ``secret`` is in ``text`` (a numeric code only as a whole number, not inside an id or a time)."""
    if secret.isdigit():
        return re.search(rf"(?<![\w.:-]){secret}(?!\w)", text) is not None
    return secret in text


async def test_no_secret_reaches_the_logs_or_the_trail(
    api: Api, db: Any, signer: Any, clock: Clock, every_log: pytest.LogCaptureFixture
) -> None:
    secrets = [PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, API_KEY]

    async def ok(method: str, path: str, body: Any = None, token: str | None = None, **kw: Any) -> Any:
        r = await api(method, path, body, token, **kw)
        assert r.code in {200, 201, 204}, (path, r.code, r.body)
        return data(r)

    async def pair(password: str, otp: str | None = None) -> dict[str, Any]:
        sent = {"username": "sam", "password": password} | ({"otp": otp} if otp else {})
        tokens = await ok("POST", "auth/login", sent)
        secrets.extend((tokens["access_token"], tokens["refresh_token"]))
        return tokens

    await ok("POST", "auth/register", {"username": "sam", "password": PASSWORD})
    first = await pair(PASSWORD)
    assert (await api("POST", "auth/login", {"username": "sam", "password": WRONG_PASSWORD})).code == 401
    refreshed = await ok("POST", "auth/refresh", {"refresh_token": first["refresh_token"]})
    secrets.extend((refreshed["access_token"], refreshed["refresh_token"]))
    await ok("POST", "auth/password", {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
             refreshed["access_token"])
    token = (await pair(NEW_PASSWORD))["access_token"]

    setup = await ok("POST", "auth/mfa/setup", {"password": NEW_PASSWORD}, token)
    enable_code = code(setup["secret"], clock.now)
    await ok("POST", "auth/mfa/enable", {"otp": enable_code}, token)
    clock.now += 30
    login_code = code(setup["secret"], clock.now)
    token = (await pair(NEW_PASSWORD, login_code))["access_token"]
    backup = setup["backup_codes"][0]
    await ok("POST", "auth/mfa/disable", {"password": NEW_PASSWORD, "otp": backup}, token)
    secrets += [setup["secret"], setup["otpauth_uri"], enable_code, login_code]
    secrets += [form for c in setup["backup_codes"] for form in (c, c.upper().replace("-", ""))]

    await ok("PUT", "api-keys/openai", {"key": API_KEY}, token)
    signing = (await ok("POST", "auth/signing-key", {"password": NEW_PASSWORD}, token))["secret"]
    headers = signer(signing, "DELETE", "api-keys/openai")
    await ok("DELETE", "api-keys/openai", token=token, headers=headers)
    secrets += [signing, headers["X-Socrates-Signature"]]

    rows = audit_rows(db)
    assert [row["action"] for row in rows] == [
        "user.register", "auth.login", "auth.login_failed", "auth.refresh", "auth.password_change", "auth.login",
        "mfa.setup", "mfa.enable", "auth.login", "mfa.disable", "api_key.put", "signing_key.create", "api_key.delete",
    ]
    trail = json.dumps(rows, default=str)
    logs = every_log.text
    assert "socrates/api/v1/auth/login" in logs and "socrates/api/v1/api-keys/openai" in logs  # requests were logged
    assert len(secrets) == 4 + 4 * 2 + 4 + 20 + 2
    assert [s for s in secrets if leaked(s, logs)] == []
    assert [s for s in secrets if leaked(s, trail)] == []
