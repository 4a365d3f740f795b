"""Who may create accounts and whose LLM key pays, and which sessions end, on SQLite and PostgreSQL.

* ``allow_registration`` off: ``register`` is refused (403) and stores nothing; operators
  (``socrates user create``, ``AuthService.create_user``) and admins still create accounts,
  checked by the same rules as registration, and audited;
* a ``SessionService`` that does not share the environment's vendor keys (the REST server's,
  by default) refuses an LLM session without the user's own key, naming how to store one,
  and stores nothing; the notebook door still uses the environment's key;
* enabling MFA and changing the password end the account's other sessions (refresh tokens
  and access tokens) and keep the current one; logout without a refresh token ends the
  session of the access token it was given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

import socrates_nb as snb
from socrates_nb.cache import ReadCache
from socrates_nb.cli import cli
from socrates_nb.engine.llm.settings import LlmSettings
from socrates_nb.errors import ConfigError, ConflictError, ForbiddenError, UnauthorizedError, ValidationError
from socrates_nb.security.crypto import SecretBox
from socrates_nb.security.settings import ALLOW_REGISTRATION_ENV
from socrates_nb.services.api_keys import ApiKeyService
from socrates_nb.services.auth import AuthService, AuthSettings
from socrates_nb.services.sessions import SessionService
from socrates_nb.services.views import Actor, TokenPair
from socrates_nb.storage import models
from socrates_nb.workspace import Workspace
from llm_fakes import Action, FakeOpenAI, Received, last_user_text, reply_json

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a different long passphrase"
SERVER_KEY = "sk-the-operators-own-key-0042"
WORDED = "Model wording: what matters most here?"


def settings(tmp_path: Path, **changes: Any) -> AuthSettings:
    return AuthSettings(key_file=tmp_path / "jwt.key", scrypt_n=16, **changes)


@pytest.fixture
def service(ws: Workspace, tmp_path: Path) -> AuthService:
    return AuthService(ws.db, settings(tmp_path))


@pytest.fixture
def closed(ws: Workspace, tmp_path: Path) -> AuthService:
    """The account service of a server whose registration is closed."""
    return AuthService(ws.db, settings(tmp_path, allow_registration=False))


def count(ws: Workspace, model: Any, *where: Any) -> int:
    with ws.db.read() as orm:
        return orm.scalar(select(func.count()).select_from(model).where(*where)) or 0


def audit_actions(ws: Workspace) -> list[tuple[str, dict[str, Any]]]:
    with ws.db.read() as orm:
        rows = orm.execute(select(models.AuditLog.action, models.AuditLog.changes)
                           .order_by(models.AuditLog.created_at, models.AuditLog.id)).all()
    return [(r.action, r.changes) for r in rows]


# --- closed registration -------------------------------------------------------------------------


def test_closed_registration_is_refused_and_stores_nothing(closed: AuthService, ws: Workspace) -> None:
    users = count(ws, models.User)
    for client in (None, "203.0.113.7"):
        with pytest.raises(ForbiddenError) as err:
            closed.register("ana", PASSWORD, client=client)
        assert err.value.http_status == 403 and err.value.code == "forbidden"
        assert "allow_registration" in err.value.message and "socrates user create" in err.value.message
    assert count(ws, models.User) == users
    assert count(ws, models.RateLimitHit) == 0  # refused before anything counts
    with pytest.raises(UnauthorizedError):
        closed.login("ana", PASSWORD)


@pytest.mark.parametrize(("raw", "expected"), [("false", False), ("0", False), ("no", False), ("off", False),
                                               ("true", True), ("1", True), ("YES", True), ("", True)])
def test_allow_registration_reads_its_variable(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv(ALLOW_REGISTRATION_ENV, raw)
    assert AuthSettings.from_env().allow_registration is expected


def test_a_bad_allow_registration_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_REGISTRATION_ENV, "maybe")
    with pytest.raises(ConfigError, match=f"^{ALLOW_REGISTRATION_ENV}: expected true or false, got 'maybe'$"):
        AuthSettings.from_env()
    with pytest.raises(ConfigError, match="allow_registration: expected True or False"):
        AuthSettings(allow_registration="no")  # type: ignore[arg-type]


# --- operators and admins create accounts ---------------------------------------------------------


def test_an_operator_creates_accounts_while_registration_is_closed(closed: AuthService, ws: Workspace) -> None:
    user = closed.create_user("ana", PASSWORD, email="ana@example.org")
    assert (user.username, user.email, user.role) == ("ana", "ana@example.org", "user")
    assert closed.authenticate(closed.login("ana", PASSWORD).access_token).actor.id == user.id
    admin = closed.create_user("root", PASSWORD, role="admin")
    assert admin.role == "admin"
    assert [a for a in audit_actions(ws) if a[0] == "user.create"] == [
        ("user.create", {"username": "ana", "role": "user", "by": None}),
        ("user.create", {"username": "root", "role": "admin", "by": None}),
    ]


def test_an_admin_creates_accounts_and_a_user_may_not(closed: AuthService, ws: Workspace) -> None:
    root = closed.create_user("root", PASSWORD, role="admin")
    plain = closed.create_user("plain", PASSWORD)
    by_admin = closed.create_user("bea", PASSWORD, by=Actor(root.id, root.username, "admin"))
    assert by_admin.username == "bea"
    users = count(ws, models.User)
    with pytest.raises(ForbiddenError, match="only an admin may create accounts"):
        closed.create_user("eve", PASSWORD, by=Actor(plain.id, plain.username, "user"))
    assert count(ws, models.User) == users
    assert audit_actions(ws)[-1] == ("user.create", {"username": "bea", "role": "user", "by": "root"})


@pytest.mark.parametrize(
    ("username", "password", "extra", "error", "message"),
    [
        ("A", PASSWORD, {}, ValidationError, "invalid username 'A'"),
        ("ana", "short", {}, ValidationError, "at least 12 characters"),
        ("ana", "password1234", {}, ValidationError, "too common"),
        ("ana", None, {}, ValidationError, "password must be text"),
        ("ana", PASSWORD, {"email": "no-at-sign"}, ValidationError, "email must look like"),
        ("ana", PASSWORD, {"role": "root"}, ValidationError, "role must be one of user, admin"),
        ("taken", PASSWORD, {}, ConflictError, "username 'taken' is taken"),
    ],
)
def test_creating_an_account_checks_what_registration_checks(
    service: AuthService, ws: Workspace, username: Any, password: Any, extra: dict[str, Any],
    error: type[Exception], message: str,
) -> None:
    service.register("taken", PASSWORD)
    users = count(ws, models.User)
    with pytest.raises(error, match=message):
        service.create_user(username, password, **extra)
    if "role" not in extra:  # registration refuses the same input with the same message
        with pytest.raises(error, match=message):
            service.register(username, password, **extra)
    assert count(ws, models.User) == users


def test_cli_user_create_and_set_password(db_url: str, ws: Workspace, closed: AuthService) -> None:
    runner = CliRunner()

    def run(*args: str, stdin: str | None = None) -> Any:
        return runner.invoke(cli, ["--db", db_url, "--user", "admin", *args], input=stdin, catch_exceptions=False)

    prompted = run("user", "create", "ana", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    assert prompted.stdout.endswith("created ana (user)\n") and PASSWORD not in prompted.output  # typed hidden
    piped = run("user", "create", "bea", "--role", "admin", "--email", "bea@example.org", "--password-stdin",
                stdin=f"{PASSWORD}\n")
    assert (piped.exit_code, piped.stdout) == (0, "created bea (admin)\n")
    assert closed.login("ana", PASSWORD).access_token and closed.login("bea", PASSWORD).access_token

    taken = run("user", "create", "ana", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert (taken.exit_code, taken.stderr) == (1, "error: username 'ana' is taken\n")
    weak = run("user", "create", "cyd", "--password-stdin", stdin="short\n")
    assert weak.exit_code == 1 and weak.stderr.count("\n") == 1 and "at least 12 characters" in weak.stderr
    assert run("user", "create").exit_code == 2  # NAME is missing
    assert run("user", "create", "cyd", "--password", PASSWORD).exit_code == 2  # never from argv
    assert count(ws, models.User, models.User.username == "cyd") == 0

    session = closed.login("ana", PASSWORD)
    reset = run("user", "set-password", "ana", "--password-stdin", stdin=f"{NEW_PASSWORD}\n")
    assert (reset.exit_code, reset.stdout) == (0, "set the password of ana; 2 sessions ended\n")
    with pytest.raises(UnauthorizedError):
        closed.refresh(session.refresh_token)
    with pytest.raises(UnauthorizedError):
        closed.authenticate(session.access_token)
    assert closed.login("ana", NEW_PASSWORD).access_token
    unknown = run("user", "set-password", "nobody", "--password-stdin", stdin=f"{NEW_PASSWORD}\n")
    assert (unknown.exit_code, unknown.stderr) == (1, "error: user 'nobody' not found\n")
    assert [a for a, _ in audit_actions(ws) if a.startswith("user.")][-1] == "user.password_set"


# --- sessions end when the account's protection changes -------------------------------------------


@pytest.fixture
def ana(service: AuthService) -> Actor:
    user = service.register("ana", PASSWORD)
    return Actor(user.id, user.username)


def test_enabling_mfa_ends_the_other_sessions(service: AuthService, ana: Actor) -> None:
    stolen = service.login("ana", PASSWORD)  # a session the attacker holds
    mine = service.login("ana", PASSWORD)
    current = service.authenticate(mine.access_token)
    setup = service.mfa.setup(ana, PASSWORD)
    service.mfa.enable(ana, pyotp.TOTP(setup.secret).now(), keep_session=current.session_id)
    with pytest.raises(UnauthorizedError):
        service.refresh(stolen.refresh_token)
    with pytest.raises(UnauthorizedError, match="access token revoked"):
        service.authenticate(stolen.access_token)
    assert service.authenticate(mine.access_token).actor.id == ana.id  # the session that enabled it goes on
    assert service.refresh(mine.refresh_token).access_token
    assert [s.id for s in service.sessions(ana)] == [current.session_id]


def test_enabling_mfa_without_a_current_session_ends_them_all(service: AuthService, ana: Actor) -> None:
    pair = service.login("ana", PASSWORD)
    setup = service.mfa.setup(ana, PASSWORD)
    service.mfa.enable(ana, pyotp.TOTP(setup.secret).now())  # a notebook: no session of its own
    with pytest.raises(UnauthorizedError):
        service.refresh(pair.refresh_token)
    assert service.sessions(ana) == []


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(service: AuthService, ana: Actor) -> None:
    other = service.login("ana", PASSWORD)
    mine = service.login("ana", PASSWORD)
    current = service.authenticate(mine.access_token)
    service.change_password(current, PASSWORD, NEW_PASSWORD)
    with pytest.raises(UnauthorizedError):
        service.refresh(other.refresh_token)
    with pytest.raises(UnauthorizedError, match="access token revoked"):
        service.authenticate(other.access_token)
    assert service.authenticate(mine.access_token).actor.id == ana.id
    renewed = service.refresh(mine.refresh_token)
    assert service.authenticate(renewed.access_token).session_id == current.session_id
    listed = service.sessions(ana, current=current.session_id)
    assert [(s.id, s.current) for s in listed] == [(current.session_id, True)]


def test_logout_without_a_refresh_token_ends_its_session(service: AuthService, ana: Actor) -> None:
    pair = service.login("ana", PASSWORD)
    rotated = service.refresh(pair.refresh_token)
    other = service.login("ana", PASSWORD)
    service.logout(service.authenticate(rotated.access_token))
    with pytest.raises(UnauthorizedError):
        service.refresh(rotated.refresh_token)
    with pytest.raises(UnauthorizedError, match="access token revoked"):
        service.authenticate(pair.access_token)  # the session's older access token too
    assert service.refresh(other.refresh_token).access_token  # another session is untouched


def test_every_access_token_names_its_session(service: AuthService, ana: Actor) -> None:
    first: TokenPair = service.login("ana", PASSWORD)
    session = service.authenticate(first.access_token).session_id
    assert service.authenticate(service.refresh(first.refresh_token).access_token).session_id == session
    assert service.authenticate(service.login("ana", PASSWORD).access_token).session_id != session


# --- whose LLM key pays ------------------------------------------------------------------------------


@pytest.fixture
def vendor(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    """A fake OpenAI that accepts only the operator's key, which is in the environment with its URL."""
    with FakeOpenAI(api_key=SERVER_KEY) as srv:
        srv.default = word_the_question
        monkeypatch.setenv("OPENAI_API_KEY", SERVER_KEY)
        monkeypatch.setenv("SOCRATES_OPENAI_BASE_URL", srv.base_url)
        yield srv


def word_the_question(received: Received) -> Action:
    """A model that words every due question the same way (in its category)."""
    found = re.search(r'about the category "([a-z_]+)"', last_user_text(received))
    assert found, last_user_text(received)[:300]
    return reply_json({"text": WORDED, "category": found.group(1), "why": "It decides the scope."})


def rest_sessions(ws: Workspace) -> Callable[[], SessionService]:
    """The sessions service as the REST server builds it when it does not share its keys."""
    keys = ApiKeyService(ws.db, SecretBox.load())
    return lambda: SessionService(ws.db, ReadCache(), keys=keys.secret, llm=LlmSettings.from_env(), env_keys=False)


def test_without_shared_keys_a_user_needs_their_own(ws: Workspace, vendor: FakeOpenAI) -> None:
    sessions = rest_sessions(ws)()
    project = ws.create_project("Shop")
    with pytest.raises(ValidationError) as err:
        sessions.start(ws.user, project.id, engine="openai")
    message = err.value.message
    assert "PUT /socrates/api/v1/api-keys/openai" in message and "share_server_llm_keys" in message
    assert SERVER_KEY not in message
    assert (count(ws, models.Session), count(ws, models.LlmUsage), vendor.requests) == (0, 0, [])

    ApiKeyService(ws.db, SecretBox.load()).put(ws.user, "openai", SERVER_KEY)  # the user's own key now
    view, question = sessions.start(ws.user, project.id, engine="openai")
    assert question is not None and question.text == WORDED
    assert count(ws, models.LlmUsage) == 1 and vendor.invalid == []


def test_a_session_whose_key_was_deleted_is_refused_at_answer_time(ws: Workspace, vendor: FakeOpenAI) -> None:
    keys = ApiKeyService(ws.db, SecretBox.load())
    keys.put(ws.user, "openai", SERVER_KEY)
    sessions = rest_sessions(ws)()
    view, _ = sessions.start(ws.user, ws.create_project("Shop").id, engine="openai")
    keys.delete(ws.user, "openai")
    usage, requests = count(ws, models.LlmUsage), len(vendor.requests)
    with pytest.raises(ValidationError, match="PUT /socrates/api/v1/api-keys/openai"):
        sessions.answer(ws.user, view.id, "Merchants take card payments online.")
    assert (count(ws, models.Answer), count(ws, models.LlmUsage), len(vendor.requests)) == (0, usage, requests)


def test_the_notebook_door_uses_the_environments_key(db_url: str, vendor: FakeOpenAI) -> None:
    with snb.connect(db_url, user="alice") as ws:
        session = ws.create_project("Shop").start_session(engine="openai")
        assert session.next_question().text == WORDED
        assert vendor.invalid == [] and vendor.requests
        assert {r.headers["authorization"] for r in vendor.requests} == {f"Bearer {SERVER_KEY}"}
