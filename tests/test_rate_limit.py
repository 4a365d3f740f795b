"""Login and registration rate limits on SQLite and PostgreSQL: the limiter, the AuthService rules,
limits shared by instances and processes, window expiry, purging, and the settings.

Most tests freeze the limiter's clock (``service.limiter.clock``) so windows and ``retry_after``
are exact; scrypt runs with n=16 to stay fast.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import socrates_nb.security.passwords as passwords
import socrates_nb.security.ratelimit as ratelimit
from socrates_nb.config import normalize_database_url
from socrates_nb.errors import (
    ConfigError,
    ConflictError,
    MfaRequiredError,
    RateLimitedError,
    SocratesError,
    UnauthorizedError,
    ValidationError,
)
from socrates_nb.security.audit import Event
from socrates_nb.security.crypto import SecretBox
from socrates_nb.security.ratelimit import RateLimiter, bucket_key, client_address, forwarded_client, proxy_network
from socrates_nb.services.auth import INVALID_LOGIN, LOGIN_LIMITED, REGISTER_LIMITED, AuthService, AuthSettings
from socrates_nb.services.views import TokenPair, UserView
from socrates_nb.storage import models
from socrates_nb.storage.db import Database
from socrates_nb.storage.models import RateLimitHit, utcnow
from socrates_nb.workspace import Workspace
from tests._workers import run_at_once

PASSWORD = "correct horse battery staple"
WRONG = "wrong horse battery staple"
CLIENT = "203.0.113.7"


class Clock:
    """A frozen UTC clock that tests move forward."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def settings(tmp_path: Path) -> AuthSettings:
    return AuthSettings(key_file=tmp_path / "jwt.key", scrypt_n=16)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(ws: Workspace, settings: AuthSettings, clock: Clock) -> AuthService:
    svc = AuthService(ws.db, settings)
    svc.limiter.clock = clock
    return svc


@pytest.fixture
def bob(service: AuthService) -> UserView:
    return service.register("bob", PASSWORD)


def outcome(call: Any) -> tuple[Any, ...]:
    """What a login attempt tells its caller: the token type, or the error's class, code, message, retry_after."""
    try:
        return (type(call()).__name__,)
    except SocratesError as exc:
        return type(exc).__name__, exc.code, exc.message, getattr(exc, "retry_after", None)


def fail(service: AuthService, times: int, username: str = "bob", client: str | None = None) -> None:
    for _ in range(times):
        with pytest.raises(UnauthorizedError, match=INVALID_LOGIN):
            service.login(username, WRONG, client=client)


def hits(db: Database, bucket: str | None = None) -> int:
    """Stored hits, of one bucket or of all."""
    query = select(func.count()).select_from(RateLimitHit)
    if bucket is not None:
        query = query.where(RateLimitHit.bucket == bucket_key(bucket))
    with db.read() as orm:
        return orm.scalar(query)


# --- login --------------------------------------------------------------------------------


def test_ten_failures_then_429_until_the_oldest_leaves_the_window(
    service: AuthService, bob: UserView, clock: Clock
) -> None:
    fail(service, 9)
    clock.advance(100)
    fail(service, 1)
    for password in (WRONG, PASSWORD):  # the right password is refused too
        with pytest.raises(RateLimitedError, match=LOGIN_LIMITED) as err:
            service.login("bob", password)
        assert err.value.code == "rate_limited" and err.value.http_status == 429
        assert err.value.retry_after == 800  # the first nine, 100 s old, leave the 900 s window in 800 s
    clock.advance(799)
    assert outcome(lambda: service.login("bob", PASSWORD))[-1] == 1
    clock.advance(1)
    assert isinstance(service.login("bob", PASSWORD), TokenPair)


def test_retry_after_on_the_real_clock(ws: Workspace, settings: AuthSettings, bob: UserView) -> None:
    real = AuthService(ws.db, settings)
    fail(real, 10)
    with pytest.raises(RateLimitedError) as err:
        real.login("bob", PASSWORD)
    assert 0 < err.value.retry_after <= settings.login_window_s


def test_a_success_clears_the_account_but_not_the_address(service: AuthService, bob: UserView) -> None:
    fail(service, 9, client=CLIENT)
    assert isinstance(service.login("bob", PASSWORD, client=CLIENT), TokenPair)
    assert hits(service.db, "login:account:bob") == 0 and hits(service.db, f"login:client:{CLIENT}") == 9
    fail(service, 1, client=CLIENT)
    with pytest.raises(RateLimitedError):  # the address has its 10 failures
        service.login("bob", PASSWORD, client=CLIENT)
    assert isinstance(service.login("bob", PASSWORD, client="198.51.100.1"), TokenPair)
    assert isinstance(service.login("bob", PASSWORD), TokenPair)  # no client: the account bucket only


def test_the_address_limit_spans_accounts(service: AuthService, bob: UserView) -> None:
    for i in range(10):
        fail(service, 1, username=f"guess{i}", client=CLIENT)
    with pytest.raises(RateLimitedError):
        service.login("bob", PASSWORD, client=CLIENT)
    assert isinstance(service.login("bob", PASSWORD, client="198.51.100.1"), TokenPair)


def test_unknown_user_and_wrong_password_look_alike_before_and_after_the_limit(
    service: AuthService, bob: UserView, monkeypatch: pytest.MonkeyPatch
) -> None:
    derivations: list[int] = []
    real = passwords._derive
    monkeypatch.setattr(passwords, "_derive", lambda *a: derivations.append(1) or real(*a))
    seen = []
    for _ in range(12):
        attempts = []
        for username in ("nobody", "bob"):
            derivations.clear()
            attempts.append((outcome(lambda: service.login(username, WRONG)), len(derivations)))
        assert attempts[0] == attempts[1]
        seen.append(attempts[0])
    assert seen == [(("UnauthorizedError", "unauthorized", INVALID_LOGIN, None), 1)] * 10 + [
        (("RateLimitedError", "rate_limited", LOGIN_LIMITED, 900), 0)  # refused before any hashing
    ] * 2


def test_account_names_are_normalised_and_any_name_counts(service: AuthService, bob: UserView) -> None:
    fail(service, 5, username="BOB")
    fail(service, 4, username=" bob ")
    fail(service, 1, username="bob")
    with pytest.raises(RateLimitedError):
        service.login("bob", PASSWORD)
    fail(service, 10, username="not a valid name!" * 1000)  # stored as SHA-256: any length fits
    with pytest.raises(RateLimitedError):
        service.login("not a valid name!" * 1000, PASSWORD)


def test_mfa_required_is_not_a_failure_but_a_wrong_code_is(service: AuthService, ws: Workspace, bob: UserView) -> None:
    service.mfa.clock = lambda: 59.0  # RFC 6238's first test time: the codes around it are not 000000
    with ws.db.write() as orm:
        secret = SecretBox.load().encrypt(base64.b32encode(b"12345678901234567890").decode())
        orm.add(models.MfaSecret(user_id=bob.id, secret_ciphertext=secret, enabled=True))
    for _ in range(12):
        with pytest.raises(MfaRequiredError):
            service.login("bob", PASSWORD)
    for _ in range(10):
        with pytest.raises(UnauthorizedError, match="invalid one-time code"):
            service.login("bob", PASSWORD, otp="000000")
    with pytest.raises(RateLimitedError):
        service.login("bob", PASSWORD, otp="000000")


def test_bad_input_is_refused_without_counting(service: AuthService, bob: UserView) -> None:
    for _ in range(12):
        with pytest.raises(ValidationError):
            service.login("bob", "x" * 2000)
    assert hits(service.db) == 0


def test_ipv6_clients_are_limited_by_their_64_network(service: AuthService, bob: UserView) -> None:
    for i in range(10):
        fail(service, 1, username=f"guess{i}", client=f"2001:db8:0:1::{i + 1:x}")
    with pytest.raises(RateLimitedError):
        service.login("bob", PASSWORD, client="2001:db8:0:1:ffff::1")
    assert isinstance(service.login("bob", PASSWORD, client="2001:db8:0:2::1"), TokenPair)


@pytest.mark.parametrize(
    ("address", "limited_as"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:0:1:2:3:4:5", "2001:db8:0:1::/64"),
        ("::ffff:198.51.100.2", "198.51.100.2"),
        ("not-an-ip", "not-an-ip"),
    ],
)
def test_client_address(address: str, limited_as: str) -> None:
    assert client_address(address) == limited_as


PROXIES = [proxy_network("127.0.0.1"), proxy_network(" 10.0.0.0/8 "), proxy_network("fd00::/8")]


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("127.0.0.1", ["198.51.100.1"], "198.51.100.1"),
        ("127.0.0.1", ["203.0.113.9, 198.51.100.1"], "198.51.100.1"),  # the hop a client forged is never reached
        ("127.0.0.1", ["203.0.113.9", "10.1.2.3"], "203.0.113.9"),  # two headers, one list; proxies skipped
        ("127.0.0.1", ["junk, 10.1.2.3"], "10.1.2.3"),  # malformed: the proxy that wrote it
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", ["10.0.0.1", "10.0.0.2"], "10.0.0.1"),  # every hop a proxy: the farthest
        ("fd00::5", ["2001:db8::7"], "2001:db8::7"),
        ("192.0.2.1", ["198.51.100.1"], "192.0.2.1"),  # not a trusted proxy: the header is ignored
    ],
)
def test_forwarded_client(peer: str, forwarded_for: list[str], client: str) -> None:
    assert forwarded_client(peer, forwarded_for, PROXIES) == client
    assert forwarded_client(peer, forwarded_for, []) == peer  # no trusted proxies: the peer, always


@pytest.mark.parametrize("text", ["proxy.example.com", "10.0.0.0/33", "", "1.2.3.4/8/8"])
def test_proxy_network_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        proxy_network(text)


# --- shared state ---------------------------------------------------------------------------


def test_two_instances_on_one_database_share_the_limits(
    service: AuthService, db_url: str, settings: AuthSettings, bob: UserView
) -> None:
    other_db = Database(normalize_database_url(db_url))  # as another process would have
    try:
        other = AuthService(other_db, settings)
        fail(service, 5, client=CLIENT)
        fail(other, 5, client=CLIENT)
        for svc in (service, other):
            with pytest.raises(RateLimitedError):
                svc.login("bob", PASSWORD, client=CLIENT)
    finally:
        other_db.dispose()


def failing_worker(url: str, settings: AuthSettings, attempts: int, barrier: Any, report: str) -> None:
    """Run in a spawned process: fail ``attempts`` logins as bob from CLIENT, at the same moment as the others."""
    out: dict[str, Any] = {"failed": 0, "errors": []}
    db = Database(normalize_database_url(url))
    service = AuthService(db, settings)
    barrier.wait(60)
    for _ in range(attempts):
        try:
            service.login("bob", WRONG, client=CLIENT)
        except UnauthorizedError:
            out["failed"] += 1
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            out["errors"].append(f"{type(exc).__name__}: {exc}")
    db.dispose()
    Path(report).write_text(json.dumps(out))


@pytest.mark.slow
def test_processes_failing_at_once_lose_no_count(
    service: AuthService, settings: AuthSettings, db_url: str, bob: UserView, tmp_path: Path
) -> None:
    workers, attempts = 4, 25
    roomy = AuthSettings(key_file=settings.key_file, scrypt_n=16, login_max_failures=1000)
    results = run_at_once(failing_worker, (db_url, roomy, attempts), workers, tmp_path)  # exit codes checked
    assert [r["errors"] for r in results] == [[]] * workers
    assert sum(r["failed"] for r in results) == workers * attempts == 100
    assert hits(service.db, "login:account:bob") == hits(service.db, f"login:client:{CLIENT}") == 100
    with pytest.raises(RateLimitedError):  # this process, at the default limit of 10, sees their failures
        service.login("bob", PASSWORD)


# --- the limiter ----------------------------------------------------------------------------


REFUSED = Event("auth.rate_limited", changes={"scope": "test"})


@pytest.fixture
def limiter(ws: Workspace, clock: Clock) -> RateLimiter:
    return RateLimiter(ws.db, clock)


def test_retry_after_waits_for_every_bucket(limiter: RateLimiter, clock: Clock) -> None:
    limiter.hit(["a"], 900, None)
    limiter.hit(["a"], 900, None)
    clock.advance(100)
    limiter.hit(["a", "b"], 900, None)
    limiter.hit(["b"], 900, None)
    limiter.check(["a", "b"], 4, "limited", REFUSED)  # under the limit
    with pytest.raises(RateLimitedError, match="^limited$") as err:
        limiter.check(["a"], 3, "limited", REFUSED)
    assert err.value.retry_after == 800  # a: 3 hits, the oldest leaves in 800 s
    with pytest.raises(RateLimitedError) as err:
        limiter.check(["a", "b"], 2, "limited", REFUSED)
    assert err.value.retry_after == 900  # a is under 2 in 800 s, b (2 hits, both new) only in 900 s
    clock.advance(900)
    limiter.check(["a", "b"], 1, "limited", REFUSED)  # all expired


def test_clear_forgets_one_bucket(limiter: RateLimiter) -> None:
    limiter.hit(["a", "b"], 60, None)
    limiter.clear("a")
    limiter.check(["a"], 1, "limited", REFUSED)
    with pytest.raises(RateLimitedError):
        limiter.check(["b"], 1, "limited", REFUSED)


def test_every_hit_purges_expired_hits(limiter: RateLimiter, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    for window in (1, 2, 3, 4, 5):
        limiter.hit(["old", "older"], window, None)
    assert hits(limiter.db) == 10
    clock.advance(3)  # the hits of windows 1, 2, 3 have expired (3 x 2 rows)
    monkeypatch.setattr(ratelimit, "PURGE_BATCH", 4)
    limiter.hit(["new"], 60, None)
    assert hits(limiter.db) == 10 - 4 + 1  # one batch of expired rows deleted
    limiter.hit(["new"], 60, None)
    assert hits(limiter.db) == 4 + 2  # the rest; the unexpired ones stay
    assert hits(limiter.db, "old") == hits(limiter.db, "older") == 2
    clock.advance(10)
    limiter.hit(["new"], 60, None)
    assert hits(limiter.db) == hits(limiter.db, "new") == 3


# --- registration ---------------------------------------------------------------------------


def test_registrations_per_address_are_limited(service: AuthService, settings: AuthSettings, clock: Clock) -> None:
    assert settings.register_max == 20 and settings.register_window_s == 3600
    for i in range(19):
        service.register(f"user{i}", PASSWORD, client=CLIENT)
    with pytest.raises(ValidationError):  # bad input is not an attempt
        service.register("x", PASSWORD, client=CLIENT)
    with pytest.raises(ConflictError):  # a taken name is: the 20th
        service.register("user0", PASSWORD, client=CLIENT)
    with pytest.raises(RateLimitedError, match=REGISTER_LIMITED) as err:
        service.register("user20", PASSWORD, client=CLIENT)
    assert err.value.retry_after == 3600
    service.register("user20", PASSWORD, client="198.51.100.1")  # another address
    service.register("user21", PASSWORD)  # no address (CLI, notebooks): no limit
    clock.advance(3600)
    service.register("user22", PASSWORD, client=CLIENT)


# --- settings -------------------------------------------------------------------------------


LIMITS = {
    "SOCRATES_LOGIN_MAX_FAILURES": "login_max_failures",
    "SOCRATES_LOGIN_WINDOW": "login_window_s",
    "SOCRATES_REGISTER_MAX": "register_max",
    "SOCRATES_REGISTER_WINDOW": "register_window_s",
}


def test_limits_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in LIMITS:
        monkeypatch.delenv(name, raising=False)
    defaults = AuthSettings.from_env()
    assert [getattr(defaults, field) for field in LIMITS.values()] == [10, 900, 20, 3600]
    for name, value in zip(LIMITS, (" 5 ", "60", "3", "7200")):
        monkeypatch.setenv(name, value)
    env = AuthSettings.from_env()
    assert [getattr(env, field) for field in LIMITS.values()] == [5, 60, 3, 7200]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SOCRATES_LOGIN_MAX_FAILURES", "0",
         "SOCRATES_LOGIN_MAX_FAILURES: expected a whole number of failures from 1 to 100,000, got '0'"),
        ("SOCRATES_LOGIN_MAX_FAILURES", "ten", "got 'ten'"),
        ("SOCRATES_LOGIN_WINDOW", "86401",
         "SOCRATES_LOGIN_WINDOW: expected a whole number of seconds from 1 to 86,400, got '86401'"),
        ("SOCRATES_REGISTER_MAX", "-3",
         "SOCRATES_REGISTER_MAX: expected a whole number of registrations from 1 to 100,000, got '-3'"),
        ("SOCRATES_REGISTER_WINDOW", "1.5", "SOCRATES_REGISTER_WINDOW: expected a whole number of seconds"),
    ],
)
def test_bad_limits_in_the_environment(monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        AuthSettings.from_env()
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("login_max_failures", 0, "login_max_failures: expected a whole number of failures from 1 to 100,000, got 0"),
        ("login_window_s", 10**6, "login_window_s: expected a whole number of seconds from 1 to 86,400, got 1000000"),
        ("register_max", "20", "register_max: expected a whole number of registrations from 1 to 100,000, got '20'"),
        ("register_window_s", True, "register_window_s: expected a whole number of seconds from 1 to 86,400, got True"),
    ],
)
def test_bad_limits_in_settings(field: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        AuthSettings(**{field: value})  # type: ignore[arg-type]
    assert str(err.value) == message
