"""TOTP second factor on SQLite and PostgreSQL: the RFC 6238 vectors, setup/enable/disable, login with a
code or a backup code, replay refused (sequentially and from concurrent processes), the ±1 step window,
secrets encrypted at rest, bad input without side effects, and the rate limit on wrong codes.

Time is controlled through ``MfaService.clock`` (the TOTP clock), never by sleeping.
"""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pyotp
import pytest
from sqlalchemy import func, select

from socrates_nb.config import normalize_database_url
from socrates_nb.errors import ConflictError, MfaRequiredError, RateLimitedError, UnauthorizedError, ValidationError
from socrates_nb.security import totp
from socrates_nb.security.crypto import SecretBox
from socrates_nb.services.auth import AuthService, AuthSettings
from socrates_nb.services.mfa import INVALID_CODE, WRONG_PASSWORD, MfaSetup
from socrates_nb.services.views import Actor, TokenPair
from socrates_nb.storage import models
from socrates_nb.storage.db import Database
from socrates_nb.workspace import Workspace
from tests._workers import run_at_once

PASSWORD = "correct horse battery staple"
T0 = 1_800_000_015.0  # 15 s into a time step
RFC_SECRET = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(("t", "code"), [
    (59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"),
    (1234567890, "89005924"), (2000000000, "69279037"), (20000000000, "65353130"),
])
def test_rfc6238_sha1_vectors(t: int, code: str) -> None:
    assert totp.code_at(RFC_SECRET, t, digits=8) == code
    assert totp.matching_step(RFC_SECRET, code, t, digits=8) == totp.time_step(t)


class Clock:
    """A settable Unix time for the TOTP checks."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(key_file=tmp_path / "jwt.key", scrypt_n=16, login_max_failures=5)


@pytest.fixture
def auth(ws: Workspace, settings: AuthSettings) -> AuthService:
    service = AuthService(ws.db, settings)
    service.mfa.clock = Clock()
    return service


@pytest.fixture
def clock(auth: AuthService) -> Clock:
    """The TOTP clock of ``auth``."""
    assert isinstance(auth.mfa.clock, Clock)
    return auth.mfa.clock


@pytest.fixture
def bob(auth: AuthService) -> Actor:
    user = auth.register("bob", PASSWORD)
    return Actor(user.id, user.username)


def mfa_row(ws: Workspace, user_id: uuid.UUID) -> Any:
    table = models.MfaSecret.__table__
    with ws.db.read() as orm:
        return orm.execute(select(table).where(table.c.user_id == user_id)).one_or_none()


def limiter_rows(ws: Workspace) -> int:
    with ws.db.read() as orm:
        return orm.scalar(select(func.count()).select_from(models.RateLimitHit)) or 0


def enabled(auth: AuthService, bob: Actor, clock: Clock) -> MfaSetup:
    setup = auth.mfa.setup(bob, PASSWORD)
    auth.mfa.enable(bob, totp.code_at(setup.secret, clock.now))
    return setup


def test_setup_stores_the_secret_encrypted_and_the_backup_codes_hashed(
    auth: AuthService, bob: Actor, ws: Workspace
) -> None:
    setup = auth.mfa.setup(bob, PASSWORD)
    assert len(setup.secret) == 32 and pyotp.TOTP(setup.secret).now().isdigit()
    assert setup.otpauth_uri.startswith("otpauth://totp/socrates_nb:bob?") and f"secret={setup.secret}" in setup.otpauth_uri
    assert len(setup.backup_codes) == 10 and len(set(setup.backup_codes)) == 10
    assert all(totp.normalized_backup_code(c) for c in setup.backup_codes)
    row = mfa_row(ws, bob.id)
    assert row.enabled is False and row.last_used_step is None
    stored = json.dumps([str(v) for v in row._mapping.values()]) + row.secret_ciphertext.decode("ascii", "replace")
    assert setup.secret not in stored and setup.secret.lower() not in stored
    assert not any(c in stored or c.replace("-", "").upper() in stored for c in setup.backup_codes)
    assert SecretBox.load().decrypt(row.secret_ciphertext) == setup.secret
    assert len(row.backup_code_hashes) == 10


def test_setup_replaces_a_pending_one_and_is_refused_once_enabled(
    auth: AuthService, bob: Actor, ws: Workspace, clock: Clock
) -> None:
    first = auth.mfa.setup(bob, PASSWORD)
    second = auth.mfa.setup(bob, PASSWORD)
    assert first.secret != second.secret
    with pytest.raises(UnauthorizedError, match=INVALID_CODE):  # the replaced secret's code
        auth.mfa.enable(bob, totp.code_at(first.secret, clock.now))
    auth.mfa.enable(bob, totp.code_at(second.secret, clock.now))
    assert mfa_row(ws, bob.id).enabled is True
    with pytest.raises(ConflictError, match="already enabled"):
        auth.mfa.setup(bob, PASSWORD)
    with pytest.raises(ConflictError):
        auth.mfa.enable(bob, totp.code_at(second.secret, clock.now + 30))
    assert SecretBox.load().decrypt(mfa_row(ws, bob.id).secret_ciphertext) == second.secret


def test_enable_needs_a_setup(auth: AuthService, bob: Actor) -> None:
    with pytest.raises(ConflictError, match="no MFA setup"):
        auth.mfa.enable(bob, "123456")


def test_setup_with_a_wrong_password_counts_as_a_failed_login(
    auth: AuthService, bob: Actor, ws: Workspace, settings: AuthSettings
) -> None:
    for _ in range(settings.login_max_failures):
        with pytest.raises(UnauthorizedError, match=WRONG_PASSWORD):
            auth.mfa.setup(bob, "not the password", client="203.0.113.9")
    assert mfa_row(ws, bob.id) is None
    with pytest.raises(RateLimitedError) as err:
        auth.login("bob", PASSWORD)  # the account's login bucket is full
    assert err.value.retry_after > 0
    with pytest.raises(RateLimitedError):
        auth.mfa.setup(bob, PASSWORD)


def test_login_with_a_code_once_and_a_backup_code_once(
    auth: AuthService, bob: Actor, ws: Workspace, clock: Clock
) -> None:
    setup = enabled(auth, bob, clock)
    with pytest.raises(MfaRequiredError):
        auth.login("bob", PASSWORD)
    with pytest.raises(UnauthorizedError, match=INVALID_CODE):  # the step enable used
        auth.login("bob", PASSWORD, otp=totp.code_at(setup.secret, clock.now))
    clock.now += 30
    code = totp.code_at(setup.secret, clock.now)
    assert isinstance(auth.login("bob", PASSWORD, otp=code), TokenPair)
    with pytest.raises(UnauthorizedError, match=INVALID_CODE):  # replayed
        auth.login("bob", PASSWORD, otp=code)
    backup = setup.backup_codes[3]
    assert isinstance(auth.login("bob", PASSWORD, otp=backup.upper()), TokenPair)
    with pytest.raises(UnauthorizedError, match=INVALID_CODE):  # burnt
        auth.login("bob", PASSWORD, otp=backup)
    assert len(mfa_row(ws, bob.id).backup_code_hashes) == 9
    other = setup.backup_codes[4].replace("-", "")  # the hyphen is optional
    assert isinstance(auth.login("bob", PASSWORD, otp=other), TokenPair)


@pytest.mark.parametrize(("offset", "accepted"), [(-60, False), (-30, True), (0, True), (30, True), (60, False)])
def test_window_is_one_step_either_side(
    auth: AuthService, bob: Actor, clock: Clock, offset: int, accepted: bool
) -> None:
    setup = auth.mfa.setup(bob, PASSWORD)
    code = totp.code_at(setup.secret, clock.now + offset)
    if accepted:
        auth.mfa.enable(bob, code)
    else:
        with pytest.raises(UnauthorizedError, match=INVALID_CODE):
            auth.mfa.enable(bob, code)


def test_an_older_step_is_refused_after_a_newer_one(auth: AuthService, bob: Actor, clock: Clock) -> None:
    setup = auth.mfa.setup(bob, PASSWORD)
    auth.mfa.enable(bob, totp.code_at(setup.secret, clock.now + 30))  # the next step (clock drift)
    with pytest.raises(UnauthorizedError, match=INVALID_CODE):  # the current one is not after it
        auth.mfa.verify(bob.id, totp.code_at(setup.secret, clock.now))


@pytest.mark.parametrize(("otp", "message"), [
    ("12345a", "otp must be a 6-digit code or a backup code"),
    ("1234567", "otp must be a 6-digit code or a backup code"),
    ("１２３４５６", "otp must be a 6-digit code"),  # non-ASCII digits
    ("7" * 100, "otp must be at most 64 characters long"),
    (123456, "otp must be text, got int"),
    (None, "otp must be text, got NoneType"),
])
def test_bad_codes_store_and_count_nothing(
    auth: AuthService, bob: Actor, ws: Workspace, clock: Clock, otp: Any, message: str
) -> None:
    setup = enabled(auth, bob, clock)
    before = mfa_row(ws, bob.id)
    hits = limiter_rows(ws)
    calls = [lambda: auth.mfa.verify(bob.id, otp), lambda: auth.mfa.disable(bob, PASSWORD, otp)]
    if otp is not None:  # at login, no otp means "ask for one"
        calls.append(lambda: auth.login("bob", PASSWORD, otp=otp))
    for call in calls:
        with pytest.raises(ValidationError, match=message):
            call()
    with pytest.raises(ValidationError, match="otp must be a 6-digit code$"):  # enable takes no backup code
        auth.mfa.enable(bob, setup.backup_codes[0])
    assert mfa_row(ws, bob.id) == before and limiter_rows(ws) == hits


def test_bad_actor_and_user_id(auth: AuthService) -> None:
    with pytest.raises(ValidationError, match="actor must be an Actor"):
        auth.mfa.setup("bob", PASSWORD)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="user_id must be a UUID"):
        auth.mfa.verify("bob", "123456")  # type: ignore[arg-type]


def test_wrong_codes_are_rate_limited(auth: AuthService, bob: Actor, clock: Clock, settings: AuthSettings) -> None:
    setup = enabled(auth, bob, clock)
    clock.now += 30
    wrong = f"{(int(totp.code_at(setup.secret, clock.now)) + 1) % 1_000_000:06d}"
    for _ in range(settings.login_max_failures):
        with pytest.raises(UnauthorizedError, match=INVALID_CODE):
            auth.mfa.verify(bob.id, wrong)
    with pytest.raises(RateLimitedError, match="too many wrong one-time codes") as err:
        auth.mfa.verify(bob.id, totp.code_at(setup.secret, clock.now))  # even the right code, now
    assert 0 < err.value.retry_after <= settings.login_window_s


def test_disable_needs_the_password_and_a_code(auth: AuthService, bob: Actor, ws: Workspace, clock: Clock) -> None:
    with pytest.raises(ConflictError, match="MFA is not enabled"):
        auth.mfa.disable(bob, PASSWORD, "123456")
    setup = enabled(auth, bob, clock)
    with pytest.raises(UnauthorizedError, match=WRONG_PASSWORD):
        auth.mfa.disable(bob, "not the password", setup.backup_codes[0])
    with pytest.raises(UnauthorizedError, match=INVALID_CODE):
        auth.mfa.disable(bob, PASSWORD, totp.code_at(setup.secret, clock.now))  # the step enable used
    assert mfa_row(ws, bob.id).enabled is True and len(mfa_row(ws, bob.id).backup_code_hashes) == 10
    auth.mfa.disable(bob, PASSWORD, setup.backup_codes[0])
    assert mfa_row(ws, bob.id) is None
    assert isinstance(auth.login("bob", PASSWORD), TokenPair)  # no code needed any more


def login_worker(url: str, settings: AuthSettings, codes: list[tuple[float, str]], barrier: Any, report: str) -> None:
    """Run in a spawned process: log bob in with each (time, code) at the same moment as the other workers."""
    out: dict[str, Any] = {"won": [], "lost": [], "errors": []}
    db = Database(normalize_database_url(url))
    auth = AuthService(db, settings)
    auth.mfa.clock = clock = Clock()
    try:
        for i, (now, code) in enumerate(codes):
            clock.now = now
            barrier.wait(60)
            try:
                auth.login("bob", PASSWORD, otp=code)
                out["won"].append(i)
            except UnauthorizedError:
                out["lost"].append(i)
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        out["errors"].append(repr(exc))
    finally:
        db.dispose()
    Path(report).write_text(json.dumps(out))


def test_concurrent_logins_with_one_code_exactly_one_wins(
    db_url: str, ws: Workspace, auth: AuthService, bob: Actor, clock: Clock, tmp_path: Path
) -> None:
    setup = enabled(auth, bob, clock)
    workers = 3
    codes = [(clock.now + 30 * (i + 1), totp.code_at(setup.secret, clock.now + 30 * (i + 1))) for i in range(10)]
    codes += [(codes[-1][0], backup) for backup in setup.backup_codes[:4]]
    rounds = len(codes)
    settings = AuthSettings(key_file=tmp_path / "jwt.key", scrypt_n=16, login_max_failures=1000)
    results = run_at_once(login_worker, (db_url, settings, codes), workers, tmp_path)
    assert [r["errors"] for r in results] == [[]] * workers
    wins = sorted(i for r in results for i in r["won"])
    print(f"{rounds} rounds x {workers} processes: {rounds * workers} attempts, {len(wins)} successes")
    assert wins == list(range(rounds))  # each code won exactly once
    assert sum(len(r["lost"]) for r in results) == rounds * (workers - 1)
    row = mfa_row(ws, bob.id)
    assert row.last_used_step == totp.time_step(codes[-1][0]) and len(row.backup_code_hashes) == 6
