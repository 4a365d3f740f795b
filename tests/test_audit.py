"""The audit trail on SQLite and PostgreSQL: one ``audit_logs`` row per mutating operation and auth
event (none for a refused operation), the origin it came from, no secret in any row, and reading
it back: ``AuditService.list`` / ``export`` and the ``socrates audit export`` / ``user role`` commands.

scrypt runs with n=16 and the TOTP and signing clocks are frozen, so every test is fast and exact.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

import socrates_nb as snb
from socrates_nb.cli import cli
from socrates_nb.errors import (
    ConflictError,
    MfaRequiredError,
    NotFoundError,
    PreconditionFailedError,
    RateLimitedError,
    UnauthorizedError,
    ValidationError,
)
from socrates_nb.security import audit, signing, totp
from socrates_nb.security.crypto import SecretBox
from socrates_nb.services.accounts import ensure_user
from socrates_nb.services.api_keys import ApiKeyService, rotate_secrets
from socrates_nb.services.audit import AuditEntryView, AuditService
from socrates_nb.services.auth import AuthService, AuthSettings
from socrates_nb.services.mfa import MfaSetup
from socrates_nb.services.signing import SigningService
from socrates_nb.services.views import Actor
from socrates_nb.storage import models
from socrates_nb.storage.db import Database
from socrates_nb.workspace import Project, Session, Workspace
from tests import test_mfa
from tests.test_mfa import T0, Clock

PASSWORD = "correct horse battery staple"
WRONG = "wrong horse battery staple"
CLIENT = "203.0.113.7"
MAX_FAILURES = 3
NOW = 1_800_000_000  # the signing clock
PATH = "/socrates/api/v1/auth/signing-key"
FAST, SLOW = "p95 latency under 200 ms", "p95 latency under 2 s"  # two items in conflict
CLI_AGENT = f"socrates-cli/{snb.__version__}"

Entry = tuple[str, "uuid.UUID | None", "str | None", "str | None", dict[str, Any]]
"""An audit row in brief: action, user_id, resource_type, resource_id, changes."""


# --- helpers --------------------------------------------------------------------------------


def entry(
    action: str, user_id: uuid.UUID | None = None, resource_type: str | None = None,
    resource_id: object = None, changes: dict[str, Any] | None = None,
) -> Entry:
    """The brief of the row an event with these fields writes (resource ids are stored as text)."""
    return action, user_id, resource_type, None if resource_id is None else str(resource_id), changes or {}


def audit_rows(db: Database) -> list[dict[str, Any]]:
    """Every audit row with all its columns, oldest first."""
    table = models.AuditLog.__table__
    with db.read_rows() as conn:
        return [dict(row._mapping) for row in conn.execute(select(table).order_by(table.c.created_at, table.c.id))]


def brief(row: dict[str, Any]) -> Entry:
    return row["action"], row["user_id"], row["resource_type"], row["resource_id"], row["changes"]


@contextmanager
def recorded(db: Database) -> Iterator[list[Entry]]:
    """The briefs of the audit rows written inside the block, oldest first (filled when it ends)."""
    before = {row["id"] for row in audit_rows(db)}
    added: list[Entry] = []
    yield added
    added.extend(brief(row) for row in audit_rows(db) if row["id"] not in before)


def written(db: Database, op: Callable[[], object], error: type[Exception] | None = None) -> list[Entry]:
    """The briefs of the audit rows ``op`` writes; with ``error``, ``op`` must raise it."""
    with recorded(db) as added:
        if error is None:
            op()
        else:
            with pytest.raises(error):
                op()
    return added


def exported(db: Database, **filters: Any) -> tuple[int, str]:
    """What ``AuditService.export`` writes, and the count it returns."""
    out = io.StringIO()
    count = AuditService(db).export(out, **filters)
    return count, out.getvalue()


@contextmanager
def origin(client: str | None, agent: str | None) -> Iterator[None]:
    """Operations inside the block come from ``client`` with ``agent`` (as the REST extension sets it)."""
    token = audit.request_origin(client, agent)
    try:
        yield
    finally:
        audit.reset_origin(token)


def wrong_code(secret: str, now: float = T0) -> str:
    """A six-digit code that is not accepted at ``now`` (none of the codes of the ±1 step window)."""
    accepted = {totp.code_at(secret, now + shift) for shift in (-totp.STEP_S, 0, totp.STEP_S)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in accepted)


def make_admin(db: Database, settings: AuthSettings, username: str) -> Actor:
    """The actor of a (new) local account given the admin role."""
    ensure_user(db, username)
    AuthService(db, settings).set_role(username, "admin")
    admin = ensure_user(db, username)
    assert admin.role == "admin"
    return admin


auth, clock = test_mfa.auth, test_mfa.clock  # fixtures: the service (with this module's settings) and its TOTP clock


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(
        key_file=tmp_path / "jwt.key", scrypt_n=16, login_max_failures=MAX_FAILURES, register_max=MAX_FAILURES
    )


@pytest.fixture
def carol(auth: AuthService) -> Actor:
    """carol, registered with ``PASSWORD``."""
    user = auth.register("carol", PASSWORD)
    return Actor(user.id, user.username)


@pytest.fixture
def signer(auth: AuthService) -> SigningService:
    return SigningService(auth.db, auth.mfa.box, auth.mfa.reauthenticate, clock=lambda: NOW)


def enable_mfa(auth: AuthService, actor: Actor) -> MfaSetup:
    setup = auth.mfa.setup(actor, PASSWORD)
    auth.mfa.enable(actor, totp.code_at(setup.secret, T0))
    return setup


# --- workspace operations -------------------------------------------------------------------


def test_project_operations_write_one_row_each(ws: Workspace, other_ws: Workspace) -> None:
    alice = ws.user.id
    with recorded(ws.db) as added:
        p = ws.create_project("Shop", template="web-api")
    assert added == [entry("project.create", alice, "project", p.id, {"name": "Shop", "template": "web-api"})]

    def update() -> object:
        return ws._projects.update(ws.user, p.id, name="Store", description="Sells things", status="archived")

    assert written(ws.db, update) == [entry("project.update", alice, "project", p.id, {
        "name": "Store", "description": "Sells things", "status": "archived", "version": 2,
    })]
    with recorded(ws.db) as added:
        q = other_ws.create_project("Shop")  # bob's: his row
    bob = other_ws.user.id
    assert added == [entry("project.create", bob, "project", q.id, {"name": "Shop", "template": "generic"})]
    assert written(ws.db, lambda: ws.delete_project("Store")) == [
        entry("project.delete", alice, "project", p.id, {"name": "Store"})
    ]


def test_session_operations_write_one_row_each(ws: Workspace) -> None:
    alice = ws.user.id
    p = ws.create_project("Perf")
    with recorded(ws.db) as added:
        s = p.start_session()
    assert added == [entry("session.start", alice, "session", s.id, {"project_id": str(p.id), "engine": "offline"})]
    with recorded(ws.db) as added:
        turn = s.answer(f"{FAST}. {SLOW}.")
    assert (len(turn.items), len(turn.conflicts)) == (2, 1)
    assert added == [entry("session.answer", alice, "answer", turn.answer_id, {
        "session_id": str(s.id), "seq": 1, "items": 2, "conflicts": 1, "conflicts_omitted": 0, "open_questions": 0,
    })]
    assert turn.next_question is not None
    assert written(ws.db, s.skip) == [
        entry("session.skip", alice, "question", turn.next_question.id, {"session_id": str(s.id)})
    ]
    conflict = turn.conflicts[0]
    assert written(ws.db, lambda: p.resolve_conflict(conflict, "dismiss")) == [
        entry("conflict.resolve", alice, "conflict", conflict.id, {"resolution": "dismiss"})
    ]
    assert written(ws.db, s.complete) == [entry("session.complete", alice, "session", s.id)]


# --- refused operations write nothing -------------------------------------------------------


@dataclass(frozen=True)
class World:
    """alice's projects Shop (with a started session) and Other, bob's workspace, an AuthService."""

    ws: Workspace
    bob: Workspace
    project: Project
    session: Session
    auth: AuthService


@pytest.fixture
def world(ws: Workspace, other_ws: Workspace, auth: AuthService) -> World:
    project = ws.create_project("Shop")
    ws.create_project("Other")
    return World(ws, other_ws, project, project.start_session(), auth)


def api_keys(w: World) -> ApiKeyService:
    return ApiKeyService(w.ws.db, SecretBox.load())


def signer_of(w: World) -> SigningService:
    return SigningService(w.ws.db, w.auth.mfa.box, w.auth.mfa.reauthenticate)


def update_project(w: World, ref: str, **changes: Any) -> object:
    return w.ws._projects.update(w.ws.user, ref, **changes)


REFUSED: dict[str, tuple[type[Exception], Callable[[World], object]]] = {
    "duplicate project name": (ConflictError, lambda w: w.ws.create_project("Shop")),
    "rename onto another project": (ConflictError, lambda w: update_project(w, "Other", name="Shop")),
    "stale version": (PreconditionFailedError, lambda w: update_project(w, "Shop", name="X", expected_version=9)),
    "nothing to change": (ValidationError, lambda w: update_project(w, "Shop")),
    "unknown template": (ValidationError, lambda w: w.ws.create_project("X", template="nope")),
    "delete an unknown project": (NotFoundError, lambda w: w.ws.delete_project("nope")),
    "delete another user's project": (NotFoundError, lambda w: w.bob.delete_project(w.project.id)),
    "answer another user's session": (NotFoundError, lambda w: w.bob._sessions.answer(w.bob.user, w.session.id, "Hi.")),
    "blank answer": (ValidationError, lambda w: w.session.answer("  ")),
    "start with an unknown engine": (ValidationError, lambda w: w.project.start_session(engine="nope")),
    "resolve an unknown conflict": (NotFoundError, lambda w: w.project.resolve_conflict(uuid.uuid4(), "dismiss")),
    "unknown resolution": (ValidationError, lambda w: w.project.resolve_conflict(uuid.uuid4(), "maybe")),
    "register a taken username": (ConflictError, lambda w: w.auth.register("alice", PASSWORD)),
    "role of an unknown user": (NotFoundError, lambda w: w.auth.set_role("nobody", "admin")),
    "unknown role": (ValidationError, lambda w: w.auth.set_role("alice", "root")),
    "disable an unknown user": (NotFoundError, lambda w: w.auth.disable_user("nobody")),
    "end an unknown login session": (NotFoundError, lambda w: w.auth.revoke_session(w.ws.user, uuid.uuid4())),
    "enable MFA without a setup": (ConflictError, lambda w: w.auth.mfa.enable(w.ws.user, "123456")),
    "delete a missing API key": (NotFoundError, lambda w: api_keys(w).delete(w.ws.user, "anthropic")),
    "put a malformed API key": (ValidationError, lambda w: api_keys(w).put(w.ws.user, "anthropic", "")),
    "delete a missing signing key": (NotFoundError, lambda w: signer_of(w).delete_key(w.ws.user)),
}


@pytest.mark.parametrize("case", REFUSED)
def test_a_refused_operation_writes_no_row(world: World, case: str) -> None:
    error, op = REFUSED[case]
    before = len(audit_rows(world.ws.db))
    assert written(world.ws.db, lambda: op(world), error) == []
    assert len(audit_rows(world.ws.db)) == before == 3  # the world's two project.create and its session.start


# --- auth events ----------------------------------------------------------------------------


def test_register_and_login(auth: AuthService, ws: Workspace) -> None:
    with recorded(ws.db) as added:
        user = auth.register("carol", PASSWORD, email="carol@example.com")
    assert added == [entry("user.register", user.id, "user", user.id, {"username": "carol"})]
    actor = Actor(user.id, user.username)
    with recorded(ws.db) as added:
        auth.login("carol", PASSWORD)
    (family,) = [s.id for s in auth.sessions(actor)]
    assert added == [entry("auth.login", user.id, "login_session", family, {"mfa": False})]


@pytest.mark.parametrize(("reason", "username", "password", "prepare", "error"), [
    ("unknown_user", "nobody", PASSWORD, None, UnauthorizedError),
    ("wrong_password", "carol", WRONG, None, UnauthorizedError),
    ("disabled", "carol", PASSWORD, "disable", UnauthorizedError),
    ("otp_required", "carol", PASSWORD, "mfa", MfaRequiredError),
    ("wrong_otp", "carol", PASSWORD, "mfa", UnauthorizedError),
], ids=["unknown_user", "wrong_password", "disabled", "otp_required", "wrong_otp"])
def test_a_failed_login_writes_one_row_with_its_reason(
    auth: AuthService, carol: Actor, ws: Workspace, reason: str, username: str, password: str,
    prepare: str | None, error: type[Exception],
) -> None:
    otp = None
    if prepare == "disable":
        auth.disable_user("carol")
    elif prepare == "mfa":
        setup = enable_mfa(auth, carol)
        otp = wrong_code(setup.secret) if reason == "wrong_otp" else None
    user_id = None if reason == "unknown_user" else carol.id
    # a wrong code at login is the login's failure only: no mfa.code_failed row besides
    assert written(ws.db, lambda: auth.login(username, password, otp=otp), error) == [
        entry("auth.login_failed", user_id, "user", user_id, {"username": username, "reason": reason})
    ]


def test_refresh_reuse_and_unknown_refresh_token(auth: AuthService, carol: Actor, ws: Workspace) -> None:
    pair = auth.login("carol", PASSWORD)
    (family,) = [s.id for s in auth.sessions(carol)]
    assert written(ws.db, lambda: auth.refresh(pair.refresh_token)) == [
        entry("auth.refresh", carol.id, "login_session", family)
    ]
    assert written(ws.db, lambda: auth.refresh(pair.refresh_token), UnauthorizedError) == [
        entry("auth.refresh_reuse", carol.id, "login_session", family)
    ]
    assert written(ws.db, lambda: auth.refresh("no-such-token"), UnauthorizedError) == [
        entry("auth.refresh_failed", changes={"reason": "unknown_token"})
    ]


ACCOUNT_EVENTS: dict[str, tuple[Callable[..., object], type[Exception] | None, str, str, dict[str, Any]]] = {
    # name: (op(auth, authenticated, pair, family), error, action, resource_type, changes)
    "logout": (lambda a, me, pair, family: a.logout(me, pair.refresh_token), None, "auth.logout", "login_session", {}),
    "end a login session": (
        lambda a, me, pair, family: a.revoke_session(me.actor, family),
        None, "auth.session_revoke", "login_session", {},
    ),
    "password change": (
        lambda a, me, pair, family: a.change_password(me, PASSWORD, "a different long passphrase"),
        None, "auth.password_change", "user", {"sessions_ended": 0},  # only the current one: it goes on
    ),
    "wrong current password": (
        lambda a, me, pair, family: a.change_password(me, WRONG, "a different long passphrase"),
        UnauthorizedError, "auth.password_failed", "user", {"scope": "password"},
    ),
}


@pytest.mark.parametrize("case", ACCOUNT_EVENTS)
def test_account_events_of_a_logged_in_user(auth: AuthService, carol: Actor, ws: Workspace, case: str) -> None:
    op, error, action, resource_type, changes = ACCOUNT_EVENTS[case]
    pair = auth.login("carol", PASSWORD)
    (family,) = [s.id for s in auth.sessions(carol)]
    me = auth.authenticate(pair.access_token)
    resource_id = family if resource_type == "login_session" else carol.id
    assert written(ws.db, lambda: op(auth, me, pair, family), error) == [
        entry(action, carol.id, resource_type, resource_id, changes)
    ]


@pytest.mark.parametrize(("scope", "attempt", "username"), [
    ("login", lambda auth, i: auth.login("carol", WRONG, client=CLIENT), "carol"),
    ("register", lambda auth, i: auth.register(f"new{i}", PASSWORD, client=CLIENT), f"new{MAX_FAILURES}"),
], ids=["login", "register"])
def test_a_rate_limited_attempt_writes_one_row(
    auth: AuthService, ws: Workspace, scope: str, attempt: Callable[[AuthService, int], object], username: str
) -> None:
    for i in range(MAX_FAILURES):  # failed logins, or registrations: each counts
        with suppress(UnauthorizedError):
            attempt(auth, i)
    assert written(ws.db, lambda: attempt(auth, MAX_FAILURES), RateLimitedError) == [
        entry("auth.rate_limited", changes={"scope": scope, "username": username})
    ]


@pytest.mark.parametrize(("change", "action", "changes"), [
    (lambda auth: auth.disable_user("alice"), "user.disable", {"username": "alice", "is_active": False}),
    (lambda auth: auth.enable_user("alice"), "user.enable", {"username": "alice", "is_active": True}),
    (lambda auth: auth.set_role("alice", "admin"), "user.role", {"username": "alice", "role": "admin"}),
    (lambda auth: auth.set_role("alice", "user"), "user.role", {"username": "alice", "role": "user"}),
], ids=["disable", "enable", "role-admin", "role-user"])
def test_account_administration(
    auth: AuthService, ws: Workspace, change: Callable[[AuthService], object], action: str, changes: dict[str, Any]
) -> None:
    assert written(ws.db, lambda: change(auth)) == [entry(action, ws.user.id, "user", ws.user.id, changes)]


# --- MFA, signing keys, API keys, master keys -----------------------------------------------


def test_mfa_setup_enable_wrong_code_and_disable(auth: AuthService, carol: Actor, ws: Workspace) -> None:
    mine = {"user_id": carol.id, "resource_type": "user", "resource_id": carol.id}
    with recorded(ws.db) as added:
        setup = auth.mfa.setup(carol, PASSWORD)
    assert added == [entry("mfa.setup", **mine)]
    assert written(ws.db, lambda: auth.mfa.enable(carol, wrong_code(setup.secret)), UnauthorizedError) == [
        entry("mfa.code_failed", **mine, changes={"backup": False})
    ]
    right = totp.code_at(setup.secret, T0)
    assert written(ws.db, lambda: auth.mfa.enable(carol, right)) == [
        entry("mfa.enable", **mine, changes={"sessions_ended": 0})
    ]
    backup = setup.backup_codes[0]  # the TOTP code was used: disabling takes a backup code
    assert written(ws.db, lambda: auth.mfa.disable(carol, PASSWORD, backup)) == [entry("mfa.disable", **mine)]


def test_signing_key_and_signature_failures(signer: SigningService, carol: Actor, ws: Workspace) -> None:
    mine = {"user_id": carol.id, "resource_type": "user", "resource_id": carol.id}
    with recorded(ws.db) as added:
        secret = signer.create_key(carol, PASSWORD)
    assert added == [entry("signing_key.create", **mine)]

    def verify(signature: str) -> None:
        signer.verify(carol, "DELETE", PATH, str(NOW), signature, b"")

    def failed(reason: str) -> list[Entry]:
        return [entry("auth.signature_failed", **mine, changes={"method": "DELETE", "path": PATH, "reason": reason})]

    signature = signing.sign(secret, "DELETE", PATH, NOW)
    assert written(ws.db, lambda: verify("0" * 64), UnauthorizedError) == failed("invalid")
    assert written(ws.db, lambda: verify(signature)) == []  # accepted: nothing to record
    assert written(ws.db, lambda: verify(signature), UnauthorizedError) == failed("replayed")
    assert written(ws.db, lambda: signer.delete_key(carol)) == [entry("signing_key.delete", **mine)]


def test_api_keys_and_master_key_rotation(ws: Workspace) -> None:
    keys = ApiKeyService(ws.db, SecretBox.load())
    alice = ws.user.id
    assert written(ws.db, lambda: keys.put(ws.user, "anthropic", "sk-ant-api03-Audit-Trail-Marker-9Qz")) == [
        entry("api_key.put", alice, "api_key", "anthropic", {"provider": "anthropic"})
    ]
    assert written(ws.db, lambda: rotate_secrets(ws.db, SecretBox.load())) == [
        entry("keys.rotate", changes={"rotated": 1, "unreadable": 0})
    ]
    assert written(ws.db, lambda: keys.delete(ws.user, "anthropic")) == [
        entry("api_key.delete", alice, "api_key", "anthropic")
    ]


# --- origin ---------------------------------------------------------------------------------


def origin_of_last_row(db: Database) -> tuple[str | None, str | None]:
    row = audit_rows(db)[-1]
    return row["client_address"], row["user_agent"]


@pytest.mark.parametrize(("agent", "stored"), [
    ("Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (X11; Linux x86_64)"),
    ("curl/8.5\r\nX-Audit: forged", "curl/8.5  X-Audit: forged"),
    ("a" * 300, "a" * 256),
    ("\n" + "b" * 300, " " + "b" * 255),
    ("", None),
    (None, None),
], ids=["plain", "crlf", "long", "newline-and-long", "empty", "none"])
def test_rows_record_the_request_origin(ws: Workspace, agent: str | None, stored: str | None) -> None:
    with origin("198.51.100.4", agent):
        ws.create_project("Shop")
    assert origin_of_last_row(ws.db) == ("198.51.100.4", stored)


def test_an_overlong_client_address_is_cut_to_the_column(ws: Workspace) -> None:
    scoped = "fe80::1%" + "x" * 80  # a scoped IPv6 address ipaddress accepts, longer than the column
    with origin(scoped, "ua"):
        ws.create_project("Shop")  # PostgreSQL would refuse the whole change for a longer value
    assert origin_of_last_row(ws.db) == (scoped[:64], "ua")


def test_no_origin_by_default_and_failures_carry_it_too(auth: AuthService, ws: Workspace) -> None:
    assert audit.current_origin() == audit.Origin()
    ws.create_project("Before")
    assert origin_of_last_row(ws.db) == (None, None)
    with origin("2001:db8::7", "pytest-agent/1"):
        with pytest.raises(UnauthorizedError):
            auth.login("nobody", PASSWORD)  # written in a transaction of its own
        assert brief(audit_rows(ws.db)[-1])[0] == "auth.login_failed"
        assert origin_of_last_row(ws.db) == ("2001:db8::7", "pytest-agent/1")
    ws.create_project("After")
    assert origin_of_last_row(ws.db) == (None, None)


# --- no secret in the trail -----------------------------------------------------------------


def leaks(dump: str, secret: str) -> bool:
    """Whether ``secret`` appears in ``dump``; a digits-only code must stand alone (not inside a UUID or time)."""
    if secret.isdigit():
        return re.search(rf"(?<![0-9a-f.:-]){secret}(?![0-9a-f])", dump) is not None
    return any(form in dump for form in {secret, secret.lower(), secret.upper(), secret.replace("-", "")})


def test_no_secret_reaches_any_row(auth: AuthService, signer: SigningService, clock: Clock, ws: Workspace) -> None:
    password, new_password, wrong_password = "Audit-Pass-1f9c-Mark", "Audit-NewPass-77d2-Mark", "Audit-Wrong-0b4e-Mark"
    api_key = "sk-ant-api03-Audit-Secret-Marker-4Kq"
    user = auth.register("dora", password)
    dora = Actor(user.id, user.username)
    with pytest.raises(UnauthorizedError):
        auth.login("dora", wrong_password, client=CLIENT)
    first = auth.login("dora", password)
    second = auth.refresh(first.refresh_token)
    with pytest.raises(UnauthorizedError):
        auth.refresh(first.refresh_token)  # reuse

    setup = auth.mfa.setup(dora, password)
    enable_code = totp.code_at(setup.secret, clock.now)
    with pytest.raises(UnauthorizedError):
        auth.mfa.enable(dora, wrong_code(setup.secret))
    auth.mfa.enable(dora, enable_code)
    clock.now += totp.STEP_S
    login_code = totp.code_at(setup.secret, clock.now)
    with_code = auth.login("dora", password, otp=login_code)
    with pytest.raises(UnauthorizedError):
        auth.login("dora", password, otp=login_code)  # replayed
    with_backup = auth.login("dora", password, otp=setup.backup_codes[0])

    ApiKeyService(ws.db, SecretBox.load()).put(dora, "anthropic", api_key)
    signing_secret = signer.create_key(dora, password)
    signature = signing.sign(signing_secret, "DELETE", PATH, NOW)
    signer.verify(dora, "DELETE", PATH, str(NOW), signature, b"")
    with pytest.raises(UnauthorizedError):
        signer.verify(dora, "DELETE", PATH, str(NOW), signature, b"")  # replayed
    me = auth.authenticate(with_backup.access_token)
    with pytest.raises(UnauthorizedError):
        auth.change_password(me, wrong_password, new_password)
    auth.change_password(me, password, new_password)
    rotate_secrets(ws.db, SecretBox.load())

    rows = audit_rows(ws.db)
    assert {row["action"] for row in rows} == {
        "user.register", "auth.login", "auth.login_failed", "auth.refresh", "auth.refresh_reuse", "mfa.setup",
        "mfa.code_failed", "mfa.enable", "api_key.put", "signing_key.create", "auth.signature_failed",
        "auth.password_failed", "auth.password_change", "keys.rotate",
    }
    dump = json.dumps(rows, default=str)  # every column of every row
    _, export_text = exported(ws.db)
    tokens = [t for pair in (first, second, with_code, with_backup) for t in (pair.access_token, pair.refresh_token)]
    secrets = [
        password, new_password, wrong_password, api_key, setup.secret, enable_code, login_code, *setup.backup_codes,
        signing_secret, signature, *tokens,
    ]
    assert [s for s in secrets if leaks(dump, s) or leaks(export_text, s)] == []


def test_summary_drops_secret_names_and_shortens_values() -> None:
    some_id = uuid.uuid4()
    changes = {
        "password": "p", "new_password": "p", "refresh_token": "t", "OTP": "1", "api_key": "k", "client_secret": "s",
        "backup_code": True, "signature": "s", "Key": 1,
        "name": "n" * 500, "agent": "a\r\nb", "count": 3, "on": True, "ratio": 0.5, "none": None, "id": some_id,
        "tags": ["x", "y"],
    }
    assert audit.summary(changes) == {
        "name": "n" * audit.MAX_VALUE_CHARS, "agent": "a  b", "count": 3, "on": True, "ratio": 0.5, "none": None,
        "id": str(some_id), "tags": "['x', 'y']",
    }


# --- AuditService.list ----------------------------------------------------------------------


@dataclass(frozen=True)
class Trail:
    """alice created A, bob C, alice B, alice archived A, then root became an admin."""

    alice: Actor
    bob: Actor
    admin: Actor
    ids: dict[str, str]  # "A", "B", "C" -> project id; "root" -> user id


@pytest.fixture
def trail(ws: Workspace, other_ws: Workspace, settings: AuthSettings) -> Trail:
    a = ws.create_project("A")
    c = other_ws.create_project("C")
    b = ws.create_project("B")
    ws._projects.update(ws.user, a.id, status="archived")
    admin = make_admin(ws.db, settings, "root")
    return Trail(ws.user, other_ws.user, admin, {"A": str(a.id), "B": str(b.id), "C": str(c.id), "root": str(admin.id)})


def seen(page_items: tuple[AuditEntryView, ...], trail: Trail) -> list[str]:
    """``action:resource`` of each row, resources named as in ``trail.ids``."""
    names = {v: k for k, v in trail.ids.items()}
    return [f"{e.action}:{names[e.resource_id]}" for e in page_items]


EVERYTHING = ["user.role:root", "project.update:A", "project.create:B", "project.create:C", "project.create:A"]


def test_a_user_lists_own_rows_and_an_admin_everyones(ws: Workspace, trail: Trail) -> None:
    service = AuditService(ws.db)
    mine = service.list(trail.alice)
    assert seen(mine.items, trail) == ["project.update:A", "project.create:B", "project.create:A"]
    assert (mine.total, mine.offset, mine.limit) == (3, 0, 50)
    assert {e.user_id for e in mine.items} == {trail.alice.id}
    bobs = service.list(trail.bob)
    assert seen(bobs.items, trail) == ["project.create:C"] and bobs.total == 1
    everyone = service.list(trail.admin)
    assert seen(everyone.items, trail) == EVERYTHING and everyone.total == 5
    alice, bob = trail.alice.id, trail.bob.id
    assert [e.user_id for e in everyone.items] == [trail.admin.id, alice, alice, bob, alice]
    assert everyone.items[1].to_dict() == {
        "id": str(everyone.items[1].id), "at": everyone.items[1].at.isoformat().replace("+00:00", "Z"),
        "user_id": str(trail.alice.id), "action": "project.update", "resource_type": "project",
        "resource_id": trail.ids["A"], "client_address": None, "user_agent": None,
        "changes": {"status": "archived", "version": 2},
    }


def test_list_by_action(ws: Workspace, trail: Trail) -> None:
    service = AuditService(ws.db)
    mine = service.list(trail.alice, action="project.create")
    assert seen(mine.items, trail) == ["project.create:B", "project.create:A"] and mine.total == 2
    assert seen(service.list(trail.admin, action="project.create").items, trail) == [
        "project.create:B", "project.create:C", "project.create:A",
    ]
    assert seen(service.list(trail.bob, action="user.role").items, trail) == []
    assert seen(service.list(trail.admin, action="user.role").items, trail) == ["user.role:root"]


@pytest.mark.parametrize("form", [  # the same moment as ``at``, in four forms
    lambda at: at,
    lambda at: at.isoformat().replace("+00:00", "Z"),
    lambda at: at.astimezone(timezone(timedelta(hours=-5))),
    lambda at: at.astimezone(timezone(timedelta(hours=5, minutes=30))).isoformat(),
], ids=["datetime", "iso-z", "datetime-offset", "iso-offset"])
def test_list_since(ws: Workspace, trail: Trail, form: Callable[[datetime], object]) -> None:
    service = AuditService(ws.db)
    create_b = service.list(trail.admin).items[2]
    assert (create_b.action, create_b.at.tzinfo) == ("project.create", timezone.utc)
    since = form(create_b.at)
    page = service.list(trail.admin, since=since)
    assert seen(page.items, trail) == EVERYTHING[:3] and page.total == 3
    assert seen(service.list(trail.alice, since=since).items, trail) == ["project.update:A", "project.create:B"]
    later = create_b.at + timedelta(microseconds=1)
    assert seen(service.list(trail.admin, since=form(later)).items, trail) == EVERYTHING[:2]


def test_list_pages(ws: Workspace, trail: Trail) -> None:
    service = AuditService(ws.db)
    page = service.list(trail.admin, offset=1, limit=2)
    assert seen(page.items, trail) == EVERYTHING[1:3] and (page.total, page.offset, page.limit) == (5, 1, 2)
    last = service.list(trail.admin, offset=4, limit=100)
    assert seen(last.items, trail) == EVERYTHING[4:] and last.total == 5
    assert service.list(trail.admin, offset=5).items == () and service.list(trail.admin, offset=5).total == 5
    filtered = service.list(trail.admin, offset=1, limit=1, action="project.create")
    assert seen(filtered.items, trail) == ["project.create:C"] and filtered.total == 3


BAD_LISTS: list[tuple[dict[str, Any], str]] = [
    ({"actor": "alice"}, "actor must be an Actor, got str"),
    ({"actor": None}, "actor must be an Actor, got NoneType"),
    ({"action": "project.explode"}, "unknown action 'project.explode'; valid actions: user.register, "),
    ({"action": 5}, "unknown action 5"),
    ({"since": datetime(2026, 1, 1)}, "since needs a time zone"),
    ({"since": "2026-01-01T00:00:00"}, "since needs a time zone"),
    ({"since": "yesterday"}, "since must be an ISO-8601 time such as 2026-11-26T09:00:00Z, not 'yesterday'"),
    ({"since": "9999-12-31T23:00:00-05:00"}, "since is out of range: '9999-12-31T23:00:00-05:00'"),
    ({"since": 1_800_000_000}, "since must be a time, got int"),
    ({"offset": -1}, "offset must be an integer from 0"),
    ({"offset": "1"}, "offset must be an integer from 0"),
    ({"limit": 0}, "limit must be an integer from 1 to 100"),
    ({"limit": 101}, "limit must be an integer from 1 to 100"),
    ({"limit": True}, "limit must be an integer from 1 to 100"),
]


def test_list_refuses_bad_input(ws: Workspace) -> None:
    service = AuditService(ws.db)
    for kwargs, message in BAD_LISTS:  # one database for all the cases: none reaches it
        with pytest.raises(ValidationError) as err:
            service.list(**{"actor": ws.user, **kwargs})
        assert err.value.message.startswith(message), (kwargs, err.value.message)


# --- export ---------------------------------------------------------------------------------


def test_export_writes_json_lines_oldest_first(ws: Workspace, trail: Trail) -> None:
    count, text = exported(ws.db)
    newest_first = AuditService(ws.db).list(trail.admin).items
    assert count == 5 and text.endswith("\n")
    assert [json.loads(line) for line in text.splitlines()] == [e.to_dict() for e in reversed(newest_first)]
    assert text.splitlines()[0] == json.dumps(newest_first[-1].to_dict(), sort_keys=True)
    create_b = newest_first[2]
    count, text = exported(ws.db, action="project.create", since=create_b.at.isoformat())
    assert count == 1 and [json.loads(line)["id"] for line in text.splitlines()] == [str(create_b.id)]
    assert exported(ws.db, action="auth.login") == (0, "")


@pytest.mark.parametrize(("filters", "message"), [
    ({"action": "nope"}, "unknown action 'nope'"),
    ({"since": "2026-01-01"}, "since needs a time zone"),
], ids=["action", "since"])
def test_export_refuses_bad_filters_before_writing(
    ws: Workspace, trail: Trail, filters: dict[str, Any], message: str
) -> None:
    out = io.StringIO()
    with pytest.raises(ValidationError, match=f"^{message}"):
        AuditService(ws.db).export(out, **filters)
    assert out.getvalue() == ""


# --- the command line -----------------------------------------------------------------------


@pytest.fixture
def run(db_url: str):  # noqa: ANN201
    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", db_url, "--user", "alice", *args], catch_exceptions=False)

    return invoke


def test_cli_audit_export_to_stdout_and_to_a_file(
    run, ws: Workspace, trail: Trail, tmp_path: Path  # noqa: ANN001
) -> None:
    _, everything = exported(ws.db)
    out = run("audit", "export")
    assert (out.exit_code, out.stdout, out.stderr) == (0, everything, "")
    target = tmp_path / "audit.jsonl"
    done = run("audit", "export", "--format", "jsonl", "-o", str(target))
    assert (done.exit_code, done.stdout, done.stderr) == (0, "", f"wrote 5 audit rows to {target}\n")
    assert target.read_text(encoding="utf-8") == everything
    one = run("audit", "export", "--action", "user.role", "--since", "2000-01-01T00:00:00Z", "--output", str(target))
    assert (one.exit_code, one.stderr) == (0, f"wrote 1 audit row to {target}\n")
    assert [json.loads(line)["action"] for line in target.read_text(encoding="utf-8").splitlines()] == ["user.role"]


@pytest.mark.parametrize(("option", "message"), [
    (["--action", "nope"], "error: unknown action 'nope'; valid actions: user.register, "),
    (["--since", "yesterday"], "error: since must be an ISO-8601 time"),
    (["--since", "2026-01-01T00:00:00"], "error: since needs a time zone"),
    (["--since", "9999-12-31T23:00:00-05:00"], "error: since is out of range"),
    (["--action", ""], "error: unknown action ''"),
    (["--since", ""], "error: since must be an ISO-8601 time"),
], ids=["action", "since-text", "since-naive", "since-out-of-range", "action-empty", "since-empty"])
def test_cli_audit_export_refuses_bad_filters_without_touching_the_file(
    run, trail: Trail, tmp_path: Path, option: list[str], message: str  # noqa: ANN001
) -> None:
    kept, missing = tmp_path / "kept.jsonl", tmp_path / "missing.jsonl"
    kept.write_text("earlier export\n", encoding="utf-8")
    for target in (kept, missing):
        result = run("audit", "export", *option, "-o", str(target))
        assert (result.exit_code, result.stdout) == (1, "")
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(message)
    assert kept.read_text(encoding="utf-8") == "earlier export\n" and not missing.exists()
    assert run("audit", "export", "--format", "csv").exit_code == 2


def test_cli_user_role(run, ws: Workspace, other_ws: Workspace) -> None:  # noqa: ANN001
    other_ws.create_project("Bob's")
    service = AuditService(ws.db)
    assert [e.action for e in service.list(ensure_user(ws.db, "alice")).items] == []
    done = run("user", "role", "alice", "admin")
    assert (done.exit_code, done.stdout) == (0, "alice is now an admin\n")
    admin = ensure_user(ws.db, "alice")
    assert admin.role == "admin"
    assert [e.action for e in service.list(admin).items] == ["user.role", "project.create"]
    (row,) = service.list(admin, action="user.role").items
    assert (row.user_id, row.resource_id) == (ws.user.id, str(ws.user.id))
    assert row.changes == {"username": "alice", "role": "admin"}
    assert (row.client_address, row.user_agent) == (None, CLI_AGENT)
    back = run("user", "role", "alice", "user")
    assert (back.exit_code, back.stdout) == (0, "alice is now a user\n")
    assert service.list(ensure_user(ws.db, "alice")).total == 2  # only alice's own rows again
    bad = run("user", "role", "bob", "root")
    assert bad.exit_code == 2 and "'root' is not one of 'user', 'admin'" in bad.stderr
    unknown = run("user", "role", "nobody", "admin")
    assert (unknown.exit_code, unknown.stderr) == (1, "error: user 'nobody' not found\n")
    assert service.list(admin).total == 3  # the two role changes and bob's project: the refusals wrote nothing


def test_cli_rows_name_the_cli_as_user_agent(run, ws: Workspace) -> None:  # noqa: ANN001
    assert run("project", "create", "From the shell").exit_code == 0
    (row,) = [r for r in audit_rows(ws.db) if r["action"] == "project.create"]
    assert (row["user_id"], row["client_address"], row["user_agent"]) == (ws.user.id, None, CLI_AGENT)
    assert row["changes"] == {"name": "From the shell", "template": "generic"}
    assert audit.current_origin() == audit.Origin()  # the CLI's origin ends with the command
