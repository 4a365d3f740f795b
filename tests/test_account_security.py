"""Accounts and sessions on SQLite and PostgreSQL: disabling a user (service and CLI), changing the
password, and listing and ending one's own sessions (refresh-token families).

Each refusal is checked to change nothing: the password, the sessions and other users' tokens
stay as they were.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from socrates_nb.cli import cli
from socrates_nb.errors import NotFoundError, RateLimitedError, UnauthorizedError, ValidationError
from socrates_nb.services.auth import LOGIN_LIMITED, WRONG_PASSWORD, AuthService, AuthSettings
from socrates_nb.services.views import Actor, TokenPair
from socrates_nb.storage import models
from socrates_nb.workspace import Workspace

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a different long passphrase"
MAX_FAILURES = 3


@pytest.fixture
def service(ws: Workspace, tmp_path: Path) -> AuthService:
    return AuthService(ws.db, AuthSettings(key_file=tmp_path / "jwt.key", scrypt_n=16, login_max_failures=MAX_FAILURES))


@pytest.fixture
def bob(service: AuthService) -> TokenPair:
    """bob registered and logged in once."""
    service.register("bob", PASSWORD)
    return service.login("bob", PASSWORD)


def live_refresh_tokens(ws: Workspace, username: str) -> int:
    """How many refresh tokens of a user could still be used."""
    tokens, users = models.RefreshToken, models.User
    with ws.db.read() as orm:
        return orm.scalar(
            select(func.count()).select_from(tokens).join(users, users.id == tokens.user_id)
            .where(users.username == username, tokens.rotated_at.is_(None), tokens.revoked_at.is_(None))
        )


def password_hash(ws: Workspace, username: str) -> str:
    with ws.db.read() as orm:
        return orm.scalar(select(models.User.password_hash).where(models.User.username == username))


# --- disabling a user --------------------------------------------------------------------


def test_disabling_ends_every_session_at_once(service: AuthService, bob: TokenPair, ws: Workspace) -> None:
    second = service.login("bob", PASSWORD)
    rotated = service.refresh(second.refresh_token)
    carol = service.register("carol", PASSWORD) and service.login("carol", PASSWORD)
    assert service.disable_user("bob") == 2
    assert live_refresh_tokens(ws, "bob") == 0
    for token in (bob.refresh_token, rotated.refresh_token):
        with pytest.raises(UnauthorizedError):
            service.refresh(token)
    for access in (bob.access_token, rotated.access_token):
        with pytest.raises(UnauthorizedError):
            service.authenticate(access)
    with pytest.raises(UnauthorizedError):
        service.login("bob", PASSWORD)
    assert service.authenticate(carol.access_token).actor.username == "carol"  # nobody else is touched
    assert service.refresh(carol.refresh_token).access_token
    assert service.disable_user("bob") == 0  # again: nothing left to end


def test_enabling_lets_the_user_log_in_again_but_old_sessions_stay_ended(
    service: AuthService, bob: TokenPair
) -> None:
    service.disable_user("bob")
    service.enable_user("bob")
    with pytest.raises(UnauthorizedError):
        service.refresh(bob.refresh_token)
    pair = service.login("bob", PASSWORD)
    assert service.authenticate(pair.access_token).actor.username == "bob"
    with pytest.raises(UnauthorizedError, match="access token revoked"):  # its session ended with the disabling
        service.authenticate(bob.access_token)


@pytest.mark.parametrize("name", ["nobody", "BOB", "", "x" * 500, "bob\x00"])
def test_disabling_an_unknown_user_is_not_found_and_changes_nothing(
    service: AuthService, bob: TokenPair, ws: Workspace, name: str
) -> None:
    for change in (service.disable_user, service.enable_user):
        with pytest.raises(NotFoundError, match="^user .* not found$") as err:
            change(name)
        assert len(err.value.message) < 90
    assert live_refresh_tokens(ws, "bob") == 1
    assert service.authenticate(bob.access_token).actor.username == "bob"


@pytest.mark.parametrize("name", [None, 5, b"bob"])
def test_disable_wants_text(service: AuthService, name: object) -> None:
    with pytest.raises(ValidationError, match="username must be text"):
        service.disable_user(name)  # type: ignore[arg-type]


def test_cli_user_disable_and_enable(service: AuthService, bob: TokenPair, db_url: str, ws: Workspace) -> None:
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli, ["--db", db_url, "--user", "admin", *args], catch_exceptions=False)

    done = run("user", "disable", "bob")
    assert (done.exit_code, done.stdout) == (0, "disabled bob; 1 session ended\n")
    with pytest.raises(UnauthorizedError):
        service.authenticate(bob.access_token)
    unknown = run("user", "disable", "nobody")
    assert (unknown.exit_code, unknown.stderr) == (1, "error: user 'nobody' not found\n")
    assert run("user", "enable", "nobody").exit_code == 1
    enabled = run("user", "enable", "bob")
    assert (enabled.exit_code, enabled.stdout) == (0, "enabled bob\n")
    assert service.login("bob", PASSWORD).access_token
    assert run("user", "disable").exit_code == 2  # usage error: NAME is missing


# --- changing the password -----------------------------------------------------------------


def test_password_change_ends_every_other_session(service: AuthService, bob: TokenPair, ws: Workspace) -> None:
    other_device = service.login("bob", PASSWORD)
    auth = service.authenticate(bob.access_token)
    service.change_password(auth, PASSWORD, NEW_PASSWORD, client="203.0.113.9")
    assert live_refresh_tokens(ws, "bob") == 1  # the session that changed it
    with pytest.raises(UnauthorizedError):
        service.refresh(other_device.refresh_token)
    with pytest.raises(UnauthorizedError, match="access token revoked"):  # another device's, from the next request
        service.authenticate(other_device.access_token)
    assert service.authenticate(bob.access_token).actor.username == "bob"
    assert service.refresh(bob.refresh_token).access_token
    with pytest.raises(UnauthorizedError):
        service.login("bob", PASSWORD)
    assert service.login("bob", NEW_PASSWORD).access_token


def test_wrong_current_password_counts_as_a_failed_login(service: AuthService, bob: TokenPair, ws: Workspace) -> None:
    auth = service.authenticate(bob.access_token)
    stored = password_hash(ws, "bob")
    for _ in range(MAX_FAILURES):
        with pytest.raises(UnauthorizedError, match=f"^{WRONG_PASSWORD}$"):
            service.change_password(auth, "not my password", NEW_PASSWORD)
    with pytest.raises(RateLimitedError, match=LOGIN_LIMITED):  # even with the right one now
        service.change_password(auth, PASSWORD, NEW_PASSWORD)
    with pytest.raises(RateLimitedError):
        service.login("bob", PASSWORD)
    assert password_hash(ws, "bob") == stored
    assert live_refresh_tokens(ws, "bob") == 1
    assert service.authenticate(bob.access_token).actor.username == "bob"


@pytest.mark.parametrize(
    ("current", "new", "message"),
    [
        (PASSWORD, "short", "at least 12 characters"),
        (PASSWORD, "password1234", "too common"),
        (PASSWORD, "x" * 1025, "at most 1,024 characters"),
        (PASSWORD, None, "password must be text"),
        (None, NEW_PASSWORD, "password must be text"),
        ("x" * 1025, NEW_PASSWORD, "at most 1,024 characters"),
    ],
)
def test_bad_password_change_input_changes_nothing(
    service: AuthService, bob: TokenPair, ws: Workspace, current: Any, new: Any, message: str
) -> None:
    auth = service.authenticate(bob.access_token)
    stored = password_hash(ws, "bob")
    with pytest.raises(ValidationError, match=message):
        service.change_password(auth, current, new)
    assert password_hash(ws, "bob") == stored
    assert live_refresh_tokens(ws, "bob") == 1
    assert service.authenticate(bob.access_token).actor.username == "bob"
    with ws.db.read() as orm:  # not counted as a failed login
        assert orm.scalar(select(func.count()).select_from(models.RateLimitHit)) == 0


def test_password_change_wants_an_authenticated_caller(service: AuthService, bob: TokenPair) -> None:
    with pytest.raises(ValidationError, match="auth must come from authenticate"):
        service.change_password(bob.access_token, PASSWORD, NEW_PASSWORD)  # type: ignore[arg-type]
    auth = service.authenticate(bob.access_token)
    service.disable_user("bob")
    with pytest.raises(UnauthorizedError, match="unknown or disabled user"):
        service.change_password(auth, PASSWORD, NEW_PASSWORD)


# --- sessions --------------------------------------------------------------------------------


def actor_of(service: AuthService, pair: TokenPair) -> Actor:
    return service.authenticate(pair.access_token).actor


def test_sessions_lists_live_families_newest_first(service: AuthService, bob: TokenPair, ws: Workspace) -> None:
    second = service.login("bob", PASSWORD)
    third = service.login("bob", PASSWORD)
    service.logout(service.authenticate(third.access_token), third.refresh_token)
    rotated = service.refresh(second.refresh_token)
    service.register("carol", PASSWORD)
    service.login("carol", PASSWORD)
    sessions = service.sessions(actor_of(service, bob))
    assert len(sessions) == 2
    newest, oldest = sessions
    assert newest.created_at >= oldest.created_at
    assert newest.last_used_at >= newest.created_at and newest.expires_at > newest.last_used_at
    assert not any(s.current for s in sessions)
    assert set(newest.to_dict()) == {"id", "created_at", "last_used_at", "expires_at", "current"}
    # an expired family is not listed
    with ws.db.write() as orm:
        orm.execute(
            update(models.RefreshToken).where(models.RefreshToken.family_id == oldest.id)
            .values(expires_at=models.utcnow() - timedelta(seconds=1))
        )
    assert [s.id for s in service.sessions(actor_of(service, rotated))] == [newest.id]


def test_revoking_a_session_ends_only_that_one(service: AuthService, bob: TokenPair) -> None:
    actor = actor_of(service, bob)
    (kept,) = service.sessions(actor)
    second = service.login("bob", PASSWORD)
    (doomed,) = [s for s in service.sessions(actor) if s.id != kept.id]
    service.revoke_session(actor, str(doomed.id))
    with pytest.raises(UnauthorizedError):
        service.refresh(second.refresh_token)
    assert [s.id for s in service.sessions(actor)] == [kept.id]
    assert service.refresh(bob.refresh_token).access_token
    with pytest.raises(NotFoundError, match=f"session {doomed.id} not found"):
        service.revoke_session(actor, doomed.id)  # already ended


@pytest.mark.parametrize("session_id", ["not-a-uuid", "", str(uuid.uuid4()), None, 5, "x" * 300],
                         ids=["not-a-uuid", "empty", "unknown", "none", "int", "long"])
def test_revoking_a_bad_or_unknown_session_is_not_found(service: AuthService, bob: TokenPair, ws: Workspace,
                                                         session_id: Any) -> None:
    with pytest.raises(NotFoundError, match="^session .* not found$") as err:
        service.revoke_session(actor_of(service, bob), session_id)
    assert len(err.value.message) < 90
    assert live_refresh_tokens(ws, "bob") == 1


def test_another_users_session_is_not_found_and_revokes_nothing(
    service: AuthService, bob: TokenPair, ws: Workspace
) -> None:
    service.register("carol", PASSWORD)
    carol = service.login("carol", PASSWORD)
    (carols,) = service.sessions(actor_of(service, carol))
    with pytest.raises(NotFoundError):
        service.revoke_session(actor_of(service, bob), carols.id)
    assert live_refresh_tokens(ws, "carol") == 1
    assert service.refresh(carol.refresh_token).access_token
    assert [s.id for s in service.sessions(actor_of(service, bob))] != [carols.id]


@pytest.mark.parametrize("actor", [None, "bob", uuid.uuid4()])
def test_session_calls_want_an_actor(service: AuthService, actor: Any) -> None:
    with pytest.raises(ValidationError, match="actor must be an Actor"):
        service.sessions(actor)
    with pytest.raises(ValidationError, match="actor must be an Actor"):
        service.revoke_session(actor, str(uuid.uuid4()))

