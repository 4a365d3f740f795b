"""AuthService on SQLite and PostgreSQL: register, login, refresh rotation and reuse detection,
logout across instances, authenticate in one query, me, and the password rules.

Most tests hash with scrypt n=16 to stay fast; ``test_default_scrypt_cost`` uses the default once.
Concurrent refreshes are tested with threads and with real processes (multiprocessing "spawn").
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import jwt
import pytest
from sqlalchemy import delete, func, select, update

import socrates_nb.security.passwords as passwords
from socrates_nb.config import normalize_database_url
from socrates_nb.errors import ConflictError, MfaRequiredError, UnauthorizedError, ValidationError
from socrates_nb.security.crypto import SecretBox
from socrates_nb.security.passwords import PasswordHasher, check_new_password, common_passwords
from socrates_nb.services.accounts import ensure_user
from socrates_nb.services.auth import INVALID_LOGIN, INVALID_REFRESH, Authenticated, AuthService, AuthSettings
from socrates_nb.services.views import Actor, TokenPair, UserView
from socrates_nb.storage import models
from socrates_nb.storage.db import Database
from socrates_nb.workspace import Workspace
from tests._workers import run_at_once

PASSWORD = "correct horse battery staple"


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(key_file=tmp_path / "jwt.key", scrypt_n=16)


@pytest.fixture
def service(ws: Workspace, settings: AuthSettings) -> AuthService:
    return AuthService(ws.db, settings)


@pytest.fixture
def bob(service: AuthService) -> UserView:
    return service.register("bob", PASSWORD, "bob@example.org")


def user_row(ws: Workspace, username: str) -> Any:
    """The stored columns of a user (a plain row, not an ORM object)."""
    users = models.User.__table__
    with ws.db.read() as orm:
        return orm.execute(select(users).where(users.c.username == username)).one()


def set_user(ws: Workspace, user_id: uuid.UUID, **values: Any) -> None:
    with ws.db.write() as orm:
        orm.execute(update(models.User).where(models.User.id == user_id).values(**values))


def refresh_rows(ws: Workspace, user_id: uuid.UUID) -> list[Any]:
    """The stored refresh-token rows of a user (plain rows)."""
    tokens = models.RefreshToken.__table__
    with ws.db.read() as orm:
        return list(orm.execute(select(tokens).where(tokens.c.user_id == user_id)))


def derive_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count scrypt derivations (each call appends its cost n)."""
    calls: list[int] = []
    real = passwords._derive

    def counting(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
        calls.append(n)
        return real(password, salt, n, r, p)

    monkeypatch.setattr(passwords, "_derive", counting)
    return calls


# --- register ------------------------------------------------------------------------


def test_register_returns_the_user(service: AuthService, ws: Workspace) -> None:
    user = service.register("bob", PASSWORD, "bob@example.org")
    assert (user.username, user.email, user.role) == ("bob", "bob@example.org", "user")
    assert user.to_dict() == {
        "id": str(user.id), "username": "bob", "email": "bob@example.org", "role": "user",
        "created_at": user.created_at.isoformat().replace("+00:00", "Z"),
    }
    assert user.to_dict()["created_at"].endswith("Z")
    row = user_row(ws, "bob")
    assert row.id == user.id and row.is_active
    assert row.password_hash is not None and row.password_hash.startswith("scrypt$16$8$1$")
    assert PASSWORD not in row.password_hash
    assert service.register("carol", PASSWORD).email is None


def test_register_taken_username_is_a_conflict(service: AuthService, bob: UserView) -> None:
    with pytest.raises(ConflictError, match="username 'bob' is taken") as err:
        service.register("bob", "another long password")
    assert err.value.http_status == 409
    with pytest.raises(ConflictError, match="username 'alice' is taken"):  # the local user of ``ws``
        service.register("alice", PASSWORD)


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("ab", "invalid username 'ab'"),
        ("Bob", "invalid username 'Bob'"),
        ("b" * 10_000, "invalid username 'bbbbbbbb"),
        ("bo b", "invalid username"),
        ("bob\n", "invalid username"),
        (5, "username must be text, got int"),
        (None, "username must be text, got NoneType"),
    ],
)
def test_register_refuses_bad_usernames(service: AuthService, username: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as err:
        service.register(username, PASSWORD)  # type: ignore[arg-type]
    assert err.value.http_status == 422 and len(err.value.message) < 120


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short pass1", "password must be at least 12 characters long"),
        ("", "password must be at least 12 characters long"),
        ("x" * 1025, "password must be at most 1,024 characters long"),
        ("q1w2e3r4t5y6", "password is too common; choose another"),
        ("Q1W2E3R4T5Y6", "password is too common"),
        ("QwErTy123456", "password is too common"),
        (b"bytes password", "password must be text, got bytes"),
        (None, "password must be text, got NoneType"),
    ],
)
def test_register_refuses_bad_passwords(service: AuthService, ws: Workspace, password: object, message: str) -> None:
    with pytest.raises(ValidationError) as err:
        service.register("bob", password)  # type: ignore[arg-type]
    assert err.value.message == message or err.value.message.startswith(message)
    assert not (isinstance(password, str) and password and password in err.value.message)
    with ws.db.read() as orm:
        assert orm.scalar(select(func.count()).select_from(models.User).where(models.User.username == "bob")) == 0


@pytest.mark.parametrize("email", ["a@b", "first.last+tag@example.co.uk", "x" * 64 + "@" + "d" * 189, "ü@exämple.org"])
def test_register_accepts_loose_emails(service: AuthService, email: str) -> None:
    assert service.register("bob", PASSWORD, email).email == email


@pytest.mark.parametrize(
    "email", ["", "bob", "bob@", "@example.org", "a@b@c", "bob smith@example.org", "bob@exa\tmple.org", "bob@ex\x00.org",
              "bob@ex\x85.org", "x" * 64 + "@" + "d" * 190, 5],
)
def test_register_refuses_bad_emails(service: AuthService, email: object) -> None:
    expected = "email must be text, got int" if email == 5 else "email must look like name@example.org"
    with pytest.raises(ValidationError, match=expected):
        service.register("bob", PASSWORD, email)  # type: ignore[arg-type]


def test_concurrent_registrations_of_one_name(service: AuthService, ws: Workspace) -> None:
    barrier = threading.Barrier(4)

    def attempt(i: int) -> str:
        barrier.wait(10)
        try:
            service.register("dave", f"{PASSWORD} {i}")
        except ConflictError:
            return "conflict"
        return "created"

    with ThreadPoolExecutor(4) as pool:
        outcomes = sorted(pool.map(attempt, range(4)))
    assert outcomes == ["conflict"] * 3 + ["created"]


# --- passwords -----------------------------------------------------------------------


def test_default_scrypt_cost() -> None:
    hasher = PasswordHasher()
    assert (hasher.n, hasher.r, hasher.p) == (2**15, 8, 1) and AuthSettings().scrypt_n == 2**15
    encoded = hasher.hash(PASSWORD)
    scheme, n, r, p, salt, digest = encoded.split("$")
    assert (scheme, n, r, p) == ("scrypt", "32768", "8", "1")
    assert len(salt) == 22 and len(digest) == 43  # 16 and 32 bytes, unpadded base64
    assert hasher.verify(PASSWORD, encoded) and not hasher.verify(PASSWORD + "!", encoded)
    assert not hasher.needs_rehash(encoded)


def test_hashes_are_salted_and_self_describing() -> None:
    small, other = PasswordHasher(n=16), PasswordHasher(n=32)
    first, second = small.hash(PASSWORD), small.hash(PASSWORD)
    assert first != second and small.verify(PASSWORD, first) and small.verify(PASSWORD, second)
    assert other.verify(PASSWORD, first)  # the stored parameters are used, not the hasher's
    assert other.needs_rehash(first) and not small.needs_rehash(first)
    odd = "\ud800 lone surrogate and emoji \U0001f600"
    assert small.verify(odd, small.hash(odd)) and not small.verify("x", small.hash(odd))


VALID_HASH = PasswordHasher(n=16).hash(PASSWORD)
SALT, DIGEST = VALID_HASH.split("$")[4:]


@pytest.mark.parametrize(
    "encoded",
    [
        "", "plain text", f"bcrypt$16$8$1${SALT}${DIGEST}", f"scrypt$16$8$1${SALT}", f"scrypt$x$8$1${SALT}${DIGEST}",
        f"scrypt$-16$8$1${SALT}${DIGEST}", f"scrypt$24$8$1${SALT}${DIGEST}", f"scrypt$16$0$1${SALT}${DIGEST}",
        f"scrypt$16$8$0${SALT}${DIGEST}", f"scrypt$16$8$1$!!!${DIGEST}", f"scrypt$16$8$1$${DIGEST}",
        f"scrypt$16$8$1${SALT}${DIGEST[:-4]}", f"scrypt$16$8$1${SALT}${DIGEST}=$",
    ],
    ids=lambda e: e.replace(SALT, "SALT").replace(DIGEST, "DIGEST").replace(DIGEST[:-4], "DIGEST[:-4]"),  # stable across xdist workers
)
def test_malformed_hash_never_verifies(monkeypatch: pytest.MonkeyPatch, encoded: str) -> None:
    calls = derive_calls(monkeypatch)
    hasher = PasswordHasher(n=16)
    assert hasher.verify(PASSWORD, encoded) is False
    assert calls == [16]  # still costs one derivation
    assert hasher.needs_rehash(encoded)


def test_common_passwords_are_loaded_once() -> None:
    common_passwords.cache_clear()
    words = common_passwords()
    assert common_passwords() is words and common_passwords.cache_info().misses == 1
    assert "q1w2e3r4t5y6" in words and "1qaz2wsx3edc" in words
    assert all(w == w.lower() and len(w) >= 12 for w in words)
    assert check_new_password("a perfectly fine passphrase") == "a perfectly fine passphrase"


# --- login ---------------------------------------------------------------------------


def test_login_returns_a_token_pair(service: AuthService, bob: UserView) -> None:
    pair = service.login("bob", PASSWORD)
    assert pair.to_dict() == {
        "access_token": pair.access_token, "refresh_token": pair.refresh_token, "token_type": "bearer", "expires_in": 900,
    }
    assert pair.access_token not in repr(pair) and pair.refresh_token not in repr(pair)
    auth = service.authenticate(pair.access_token)
    assert auth.actor == Actor(bob.id, "bob", "user")
    assert auth.claims["sub"] == str(bob.id) and auth.claims["typ"] == "access"
    assert service.me(auth.actor) == bob


@pytest.mark.parametrize(
    "case", ["wrong password", "unknown user", "malformed username", "password-less local user", "disabled user", "empty"],
)
def test_every_failed_login_looks_alike_and_costs_one_hash(
    service: AuthService, ws: Workspace, bob: UserView, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    username, password = {
        "wrong password": ("bob", PASSWORD + "!"),
        "unknown user": ("nobody", PASSWORD),
        "malformed username": ("No Body!", PASSWORD),
        "password-less local user": ("alice", PASSWORD),
        "disabled user": ("bob", PASSWORD),
        "empty": ("", ""),
    }[case]
    if case == "disabled user":
        set_user(ws, bob.id, is_active=False)
    calls = derive_calls(monkeypatch)
    with pytest.raises(UnauthorizedError) as err:
        service.login(username, password)
    assert type(err.value) is UnauthorizedError and err.value.message == INVALID_LOGIN
    assert calls == [16]  # exactly one scrypt derivation at the configured cost, whatever failed


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"username": 5, "password": PASSWORD}, "username must be text, got int"),
        ({"username": "bob", "password": None}, "password must be text, got NoneType"),
        ({"username": "bob", "password": "x" * 1025}, "password must be at most 1,024 characters long"),
        ({"username": "bob", "password": PASSWORD, "otp": 123456}, "otp must be text, got int"),
        ({"username": "bob", "password": PASSWORD, "otp": "1" * 65}, "otp must be at most 64 characters long"),
    ],
)
def test_login_validates_input_before_hashing(
    service: AuthService, monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any], message: str
) -> None:
    calls = derive_calls(monkeypatch)
    with pytest.raises(ValidationError, match=message):
        service.login(**kwargs)
    assert calls == []


def test_mfa_enabled_user_needs_an_otp(service: AuthService, ws: Workspace, bob: UserView) -> None:
    service.mfa.clock = lambda: 59.0  # RFC 6238's first test time: the codes around it are not 123456
    with ws.db.write() as orm:
        secret = SecretBox.load().encrypt(base64.b32encode(b"12345678901234567890").decode())
        orm.add(models.MfaSecret(user_id=bob.id, secret_ciphertext=secret, enabled=True))
    with pytest.raises(MfaRequiredError, match="a one-time code is required") as err:
        service.login("bob", PASSWORD)
    assert err.value.code == "mfa_required" and err.value.http_status == 401
    with pytest.raises(UnauthorizedError, match="invalid one-time code") as err2:
        service.login("bob", PASSWORD, otp="123456")
    assert type(err2.value) is UnauthorizedError
    with pytest.raises(UnauthorizedError, match=INVALID_LOGIN):  # the password is checked first
        service.login("bob", "wrong password!", otp="123456")
    assert refresh_rows(ws, bob.id) == []


def test_otp_is_ignored_without_enabled_mfa(service: AuthService, ws: Workspace, bob: UserView) -> None:
    assert isinstance(service.login("bob", PASSWORD, otp="123456"), TokenPair)
    with ws.db.write() as orm:
        orm.add(models.MfaSecret(user_id=bob.id, secret_ciphertext=b"x", enabled=False))
    assert isinstance(service.login("bob", PASSWORD), TokenPair)


def test_login_upgrades_a_hash_made_with_other_parameters(
    service: AuthService, ws: Workspace, bob: UserView, tmp_path: Path
) -> None:
    assert user_row(ws, "bob").password_hash.startswith("scrypt$16$")  # type: ignore[union-attr]
    stronger = AuthService(ws.db, AuthSettings(key_file=tmp_path / "jwt.key", scrypt_n=32))
    stronger.login("bob", PASSWORD)
    upgraded = user_row(ws, "bob").password_hash
    assert upgraded is not None and upgraded.startswith("scrypt$32$8$1$")
    stronger.login("bob", PASSWORD)
    assert user_row(ws, "bob").password_hash == upgraded  # not rehashed again
    service.login("bob", PASSWORD)  # the old service still verifies (and moves it back to n=16)


def test_login_purges_the_users_expired_refresh_tokens(service: AuthService, ws: Workspace, bob: UserView) -> None:
    old = service.login("bob", PASSWORD)
    with ws.db.write() as orm:
        orm.execute(update(models.RefreshToken).values(expires_at=models.utcnow() - timedelta(seconds=1)))
    service.login("bob", PASSWORD)
    assert len(refresh_rows(ws, bob.id)) == 1
    with pytest.raises(UnauthorizedError):
        service.refresh(old.refresh_token)


def test_login_of_a_user_deleted_meanwhile(
    service: AuthService, ws: Workspace, bob: UserView, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_verify = PasswordHasher.verify

    def verify_then_delete(self: PasswordHasher, password: str, encoded: str) -> bool:
        ok = real_verify(self, password, encoded)
        with ws.db.write() as orm:
            orm.execute(delete(models.User).where(models.User.id == bob.id))
        return ok

    monkeypatch.setattr(PasswordHasher, "verify", verify_then_delete)
    with pytest.raises(UnauthorizedError, match=INVALID_LOGIN):
        service.login("bob", PASSWORD)


# --- refresh -------------------------------------------------------------------------


def test_refresh_rotates(service: AuthService, ws: Workspace, bob: UserView) -> None:
    first = service.login("bob", PASSWORD)
    second = service.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token and second.access_token != first.access_token
    assert service.authenticate(second.access_token).actor.id == bob.id
    third = service.refresh(second.refresh_token)
    rows = refresh_rows(ws, bob.id)
    assert len(rows) == 3 and len({r.family_id for r in rows}) == 1
    assert sum(r.rotated_at is None for r in rows) == 1 and all(r.revoked_at is None for r in rows)
    assert all(first.refresh_token not in r.token_hash for r in rows)
    assert isinstance(third, TokenPair)


def test_reusing_a_refresh_token_revokes_its_family(service: AuthService, ws: Workspace, bob: UserView) -> None:
    stolen = service.login("bob", PASSWORD)
    other_device = service.login("bob", PASSWORD)
    successor = service.refresh(stolen.refresh_token)
    with pytest.raises(UnauthorizedError, match=INVALID_REFRESH):
        service.refresh(stolen.refresh_token)  # reuse
    with pytest.raises(UnauthorizedError, match=INVALID_REFRESH):
        service.refresh(successor.refresh_token)  # the whole family is dead
    with pytest.raises(UnauthorizedError, match=INVALID_REFRESH):
        service.refresh(stolen.refresh_token)
    assert isinstance(service.refresh(other_device.refresh_token), TokenPair)  # another family lives on


def test_expired_refresh_token_is_refused_without_killing_the_family(
    service: AuthService, ws: Workspace, bob: UserView
) -> None:
    pair = service.login("bob", PASSWORD)
    with ws.db.write() as orm:
        orm.execute(update(models.RefreshToken).values(expires_at=models.utcnow() - timedelta(seconds=1)))
    with pytest.raises(UnauthorizedError, match=INVALID_REFRESH):
        service.refresh(pair.refresh_token)
    (row,) = refresh_rows(ws, bob.id)
    assert row.rotated_at is None and row.revoked_at is None


def test_refresh_of_a_disabled_or_deleted_user(service: AuthService, ws: Workspace, bob: UserView) -> None:
    pair = service.login("bob", PASSWORD)
    set_user(ws, bob.id, is_active=False)
    with pytest.raises(UnauthorizedError, match=INVALID_REFRESH):
        service.refresh(pair.refresh_token)
    set_user(ws, bob.id, is_active=True)
    pair = service.refresh(pair.refresh_token)  # refused while disabled, but not burnt
    with ws.db.write() as orm:
        orm.execute(delete(models.User).where(models.User.id == bob.id))
    with pytest.raises(UnauthorizedError, match=INVALID_REFRESH):
        service.refresh(pair.refresh_token)


@pytest.mark.parametrize("token", ["", "x", "y" * 257, "\ud800"])
def test_unknown_refresh_tokens_are_refused(service: AuthService, bob: UserView, token: str) -> None:
    with pytest.raises(UnauthorizedError, match=INVALID_REFRESH):
        service.refresh(token)


def test_access_token_is_not_a_refresh_token(service: AuthService, bob: UserView) -> None:
    pair = service.login("bob", PASSWORD)
    with pytest.raises(UnauthorizedError):
        service.refresh(pair.access_token)


@pytest.mark.parametrize("value", [None, 5, b"token"])
def test_refresh_wants_text(service: AuthService, value: object) -> None:
    with pytest.raises(ValidationError, match=f"refresh_token must be text, got {type(value).__name__}"):
        service.refresh(value)  # type: ignore[arg-type]


def test_concurrent_refreshes_in_threads_one_wins(service: AuthService, bob: UserView) -> None:
    threads, rounds = 4, 5
    for _ in range(rounds):
        pair = service.login("bob", PASSWORD)
        barrier = threading.Barrier(threads)

        def attempt(_: int) -> TokenPair | None:
            barrier.wait(10)
            try:
                return service.refresh(pair.refresh_token)
            except UnauthorizedError:
                return None

        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(attempt, range(threads)))
        winners = [r for r in results if r is not None]
        assert len(winners) == 1
        # the losers presented a used token: reuse, so the winner's successor is revoked too
        with pytest.raises(UnauthorizedError):
            service.refresh(winners[0].refresh_token)


def refresh_worker(url: str, settings: AuthSettings, tokens: list[str], barrier: Any, report: str) -> None:
    """Run in a spawned process: refresh each token at the same moment as the other workers."""
    out: dict[str, Any] = {"won": [], "lost": [], "errors": []}
    db = Database(normalize_database_url(url))
    service = AuthService(db, settings)
    for i, token in enumerate(tokens):
        barrier.wait(60)
        try:
            service.refresh(token)
            out["won"].append(i)
        except UnauthorizedError:
            out["lost"].append(i)
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            out["errors"].append(f"{type(exc).__name__}: {exc}")
    db.dispose()
    Path(report).write_text(json.dumps(out))


@pytest.mark.slow
def test_concurrent_refreshes_in_processes_one_wins(
    service: AuthService, settings: AuthSettings, db_url: str, bob: UserView, tmp_path: Path
) -> None:
    workers, rounds = 3, 6
    tokens = [service.login("bob", PASSWORD).refresh_token for _ in range(rounds)]
    results = run_at_once(refresh_worker, (db_url, settings, tokens), workers, tmp_path)  # exit codes checked
    assert [r["errors"] for r in results] == [[]] * workers
    for i in range(rounds):
        assert sum(i in r["won"] for r in results) == 1, f"round {i}: {results}"
        assert sum(i in r["lost"] for r in results) == workers - 1


# --- logout --------------------------------------------------------------------------


def test_logout_revokes_the_access_token_in_every_instance(
    service: AuthService, db_url: str, settings: AuthSettings, bob: UserView
) -> None:
    other_db = Database(normalize_database_url(db_url))  # as another process would have
    try:
        other = AuthService(other_db, settings)
        pair = service.login("bob", PASSWORD)
        kept = service.login("bob", PASSWORD)
        auth = other.authenticate(pair.access_token)  # the key file is shared
        service.logout(service.authenticate(pair.access_token))
        for svc in (service, other):
            with pytest.raises(UnauthorizedError, match="access token revoked"):
                svc.authenticate(pair.access_token)
            assert svc.authenticate(kept.access_token).actor.id == bob.id
        other.logout(auth)  # twice is fine
        with pytest.raises(UnauthorizedError, match=INVALID_REFRESH):  # the token's own session ended with it
            other.refresh(pair.refresh_token)
        assert isinstance(other.refresh(kept.refresh_token), TokenPair)
    finally:
        other_db.dispose()


def test_logout_with_a_refresh_token_revokes_its_family(service: AuthService, bob: UserView) -> None:
    pair = service.login("bob", PASSWORD)
    rotated = service.refresh(pair.refresh_token)
    service.logout(service.authenticate(rotated.access_token), rotated.refresh_token)
    with pytest.raises(UnauthorizedError, match=INVALID_REFRESH):
        service.refresh(rotated.refresh_token)


def test_logout_ignores_another_users_refresh_token(service: AuthService, bob: UserView) -> None:
    service.register("carol", PASSWORD)
    bobs = service.login("bob", PASSWORD)
    carols = service.login("carol", PASSWORD)
    service.logout(service.authenticate(carols.access_token), bobs.refresh_token)
    service.logout(service.authenticate(service.login("bob", PASSWORD).access_token), "not a token")
    assert isinstance(service.refresh(bobs.refresh_token), TokenPair)


def test_logout_purges_expired_revocations(service: AuthService, ws: Workspace, bob: UserView) -> None:
    with ws.db.write() as orm:
        orm.add(models.RevokedToken(jti="old", expires_at=models.utcnow() - timedelta(seconds=1)))
    auth = service.authenticate(service.login("bob", PASSWORD).access_token)
    service.logout(auth)
    with ws.db.read() as orm:
        rows = {jti: at for jti, at in orm.execute(select(models.RevokedToken.jti, models.RevokedToken.expires_at))}
    assert set(rows) == {auth.claims["jti"], f"session:{auth.session_id}"}  # the token, and its session
    assert int(rows[auth.claims["jti"]].timestamp()) == auth.claims["exp"]


def test_logout_validates_input(service: AuthService, bob: UserView) -> None:
    auth = service.authenticate(service.login("bob", PASSWORD).access_token)
    with pytest.raises(ValidationError, match="auth must come from authenticate\\(\\), got str"):
        service.logout("token")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="refresh_token must be text, got int"):
        service.logout(auth, 5)  # type: ignore[arg-type]


# --- authenticate and me -------------------------------------------------------------


def test_authenticate_sends_one_query(
    service: AuthService, bob: UserView, count_queries: Callable[[], Any]
) -> None:
    token = service.login("bob", PASSWORD).access_token
    with count_queries() as counter:
        auth = service.authenticate(token)
    assert counter.count == 1, counter.statements
    assert "revoked_tokens" in counter.statements[0] and "users" in counter.statements[0]
    assert isinstance(auth, Authenticated)
    with pytest.raises(TypeError):
        auth.claims["sub"] = "someone else"  # type: ignore[index]


def test_authenticate_with_another_key_fails(service: AuthService, ws: Workspace, bob: UserView) -> None:
    other = AuthService(ws.db, AuthSettings(secret=b"z" * 32, scrypt_n=16))
    with pytest.raises(UnauthorizedError, match="invalid access token"):
        other.authenticate(service.login("bob", PASSWORD).access_token)


def test_expired_access_token(ws: Workspace, bob: UserView, service: AuthService) -> None:
    key = service.settings.signing_key()
    claims = jwt.decode(service.login("bob", PASSWORD).access_token, key, algorithms=["HS256"], audience="socrates_nb-api")
    claims["exp"] = claims["iat"] - 60
    with pytest.raises(UnauthorizedError, match="access token expired"):
        service.authenticate(jwt.encode(claims, key, algorithm="HS256"))


def test_me(service: AuthService, ws: Workspace, bob: UserView) -> None:
    assert service.me(Actor(bob.id, "bob")) == bob
    local = ensure_user(ws.db, "alice")
    assert service.me(local).username == "alice" and service.me(local).email is None
    with pytest.raises(ValidationError, match="actor must be an Actor, got str"):
        service.me("bob")  # type: ignore[arg-type]
    set_user(ws, bob.id, is_active=False)
    with pytest.raises(UnauthorizedError, match="unknown or disabled user"):
        service.me(Actor(bob.id, "bob"))
    with pytest.raises(UnauthorizedError, match="unknown or disabled user"):
        service.me(Actor(uuid.uuid4(), "ghost"))
