"""Access tokens, the signing key file and the auth settings (socrates_nb/security/).

* every malformed, forged, expired, misaddressed or revoked access token is refused,
  by the signer and by ``AuthService.authenticate`` on both backends;
* the key file is created with mode 0600, reused by every instance and process, and
  refused when others may read it;
* ``AuthSettings`` checks its values and reads ``SOCRATES_*`` variables.
"""

from __future__ import annotations

import base64
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlalchemy import delete, update
from token_forgery import AUD, BAD_CASES, ISS, KEY, claims, forge, signer

from socrates_nb.config import data_dir
from socrates_nb.errors import ConfigError, UnauthorizedError, ValidationError
from socrates_nb.security.keyfile import GENERATED_KEY_BYTES, load_or_create_key
from socrates_nb.security.settings import AuthSettings
from socrates_nb.security.tokens import (
    EXPIRED_ACCESS,
    INVALID_ACCESS,
    LEEWAY_S,
    TokenSigner,
    hash_refresh_token,
    new_refresh_token,
)
from socrates_nb.services.auth import AuthService
from socrates_nb.storage import models
from socrates_nb.workspace import Workspace

SPAWN = multiprocessing.get_context("spawn")


# --- the signer ----------------------------------------------------------------------


def test_issued_token_has_every_claim() -> None:
    before = int(time.time())
    token = signer(ttl_s=600).issue("user-1", "session-1")
    got = signer().decode(token)
    assert set(got) == {"iss", "aud", "sub", "iat", "nbf", "exp", "jti", "sid", "typ"}
    assert (got["iss"], got["aud"], got["sub"], got["sid"], got["typ"]) == (ISS, AUD, "user-1", "session-1", "access")
    assert before <= got["iat"] == got["nbf"] <= int(time.time())
    assert got["exp"] == got["iat"] + 600
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert len(got["jti"]) >= 22 and got["jti"] != signer().decode(signer().issue("user-1", "session-1"))["jti"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_signer_refuses(case: str) -> None:
    with pytest.raises(UnauthorizedError) as err:
        signer().decode(forge(case))
    assert err.value.message == (EXPIRED_ACCESS if case == "expired" else INVALID_ACCESS)
    assert err.value.http_status == 401


def test_leeway_accepts_small_clock_skew() -> None:
    now = int(time.time())
    skewed = claims(exp=now - LEEWAY_S + 3, nbf=now + LEEWAY_S - 3, iat=now + LEEWAY_S - 3)
    assert signer().decode(jwt.encode(skewed, KEY, algorithm="HS256"))["jti"] == skewed["jti"]


def test_only_the_configured_algorithm_is_accepted() -> None:
    hs512 = TokenSigner(b"k" * 64, algorithm="HS512", issuer=ISS, audience=AUD, ttl_s=60)
    assert hs512.decode(hs512.issue("u", "s"))["sub"] == "u"
    with pytest.raises(UnauthorizedError):
        hs512.decode(jwt.encode(claims(), b"k" * 64, algorithm="HS256"))


def test_refresh_tokens_are_random_and_stored_hashed() -> None:
    tokens = {new_refresh_token() for _ in range(100)}
    assert len(tokens) == 100
    token = tokens.pop()
    assert len(base64.urlsafe_b64decode(token + "=")) == 32  # 256 bits
    digest = hash_refresh_token(token)
    assert len(digest) == 64 and int(digest, 16) >= 0 and token not in digest
    assert hash_refresh_token(token) == digest


# --- authenticate on both backends ---------------------------------------------------


@pytest.fixture
def service(ws: Workspace) -> AuthService:
    return AuthService(ws.db, AuthSettings(secret=KEY, scrypt_n=16))


def test_authenticate_refuses_every_bad_token(service: AuthService, ws: Workspace) -> None:
    sub = str(ws.user.id)
    for case in BAD_CASES:
        with pytest.raises(UnauthorizedError):
            service.authenticate(forge(case, sub))
    assert service.authenticate(jwt.encode(claims(sub), KEY, algorithm="HS256")).actor == ws.user


def test_authenticate_refuses_revoked_unknown_disabled_and_deleted_users(service: AuthService, ws: Workspace) -> None:
    sub = str(ws.user.id)
    revoked = claims(sub)
    with ws.db.write() as orm:
        orm.add(models.RevokedToken(jti=revoked["jti"], expires_at=models.utcnow() + timedelta(minutes=15)))
    with pytest.raises(UnauthorizedError, match="access token revoked"):
        service.authenticate(jwt.encode(revoked, KEY, algorithm="HS256"))
    for bad_sub in (str(uuid.uuid4()), "not-a-uuid"):
        with pytest.raises(UnauthorizedError, match=INVALID_ACCESS):
            service.authenticate(jwt.encode(claims(bad_sub), KEY, algorithm="HS256"))
    token = jwt.encode(claims(sub), KEY, algorithm="HS256")
    with ws.db.write() as orm:
        orm.execute(update(models.User).where(models.User.id == ws.user.id).values(is_active=False))
    with pytest.raises(UnauthorizedError, match=INVALID_ACCESS):
        service.authenticate(token)
    with ws.db.write() as orm:
        orm.execute(delete(models.User).where(models.User.id == ws.user.id))
    with pytest.raises(UnauthorizedError, match=INVALID_ACCESS):
        service.authenticate(token)


@pytest.mark.parametrize("value", [None, b"token", 5, ["a.b.c"]])
def test_authenticate_wants_text(service: AuthService, value: object) -> None:
    with pytest.raises(ValidationError, match=f"access_token must be text, got {type(value).__name__}"):
        service.authenticate(value)  # type: ignore[arg-type]


# --- the key file --------------------------------------------------------------------


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_key_file_is_created_0600_even_with_an_open_umask(tmp_path: Path) -> None:
    path = tmp_path / "new" / "jwt.key"
    old = os.umask(0)
    try:
        key = load_or_create_key(path, 32)
    finally:
        os.umask(old)
    assert mode(path) == 0o600
    assert len(key) == GENERATED_KEY_BYTES
    assert bytes.fromhex(path.read_text().strip()) == key
    assert load_or_create_key(path, 32) == key
    assert [p.name for p in path.parent.iterdir()] == ["jwt.key"]  # no temporary file left


def test_default_key_file_is_shared_by_instances(tmp_path: Path) -> None:
    first, second = AuthSettings(), AuthSettings()
    assert first.signing_key() == second.signing_key()
    assert mode(data_dir() / "jwt.key") == 0o600
    a = TokenSigner(first.signing_key(), algorithm="HS256", issuer=ISS, audience=AUD, ttl_s=60)
    b = TokenSigner(second.signing_key(), algorithm="HS256", issuer=ISS, audience=AUD, ttl_s=60)
    assert b.decode(a.issue("u", "s"))["sub"] == "u"
    other = AuthSettings(key_file=tmp_path / "other.key").signing_key()
    assert other != first.signing_key()


def test_configured_secret_wins_over_the_key_file() -> None:
    assert AuthSettings(secret=KEY).signing_key() == KEY
    assert not (data_dir() / "jwt.key").exists()


@pytest.mark.parametrize("bits", [0o640, 0o604, 0o660, 0o602])
def test_key_file_open_to_others_is_refused(tmp_path: Path, bits: int) -> None:
    path = tmp_path / "jwt.key"
    key = load_or_create_key(path, 32)
    path.chmod(bits)
    with pytest.raises(ConfigError, match=r"accessible to group or others \(mode 0o6\d\d\); run: chmod 600") as err:
        load_or_create_key(path, 32)
    assert key.hex() not in err.value.message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not hex at all\n", "must hold the key as hex"),
        ("\xff\xfe", "must hold the key as hex"),
        ("ab" * 31 + "\n", "shorter than 32 bytes"),
        ("", "shorter than 32 bytes"),
    ],
)
def test_bad_key_file_content_is_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "jwt.key"
    path.write_bytes(content.encode("latin-1"))
    path.chmod(0o600)
    with pytest.raises(ConfigError, match=message):
        load_or_create_key(path, 32)


def test_longer_key_required_for_stronger_algorithms(tmp_path: Path) -> None:
    path = tmp_path / "jwt.key"
    path.write_text("ab" * 48)
    path.chmod(0o600)
    assert len(AuthSettings(key_file=path, algorithm="HS384").signing_key()) == 48
    with pytest.raises(ConfigError, match="shorter than 64 bytes"):
        AuthSettings(key_file=path, algorithm="HS512").signing_key()
    assert len(AuthSettings(key_file=tmp_path / "gen.key", algorithm="HS512").signing_key()) == 64


def test_key_path_that_is_not_a_regular_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dir.key").mkdir()
    with pytest.raises(ConfigError, match="not a regular file"):
        load_or_create_key(tmp_path / "dir.key", 32)
    target = tmp_path / "real.key"
    load_or_create_key(target, 32)
    (tmp_path / "link.key").symlink_to(target)
    with pytest.raises(ConfigError, match="cannot read the key file"):
        load_or_create_key(tmp_path / "link.key", 32)


def test_key_file_that_cannot_be_created_or_read(tmp_path: Path) -> None:
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="dangling/jwt.key: cannot create the key file: File exists"):
        load_or_create_key(tmp_path / "dangling" / "jwt.key", 32)
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ConfigError, match="a-file/jwt.key: cannot read the key file: Not a directory"):
        load_or_create_key(tmp_path / "a-file" / "jwt.key", 32)


def test_threads_creating_the_key_at_once_share_one(tmp_path: Path) -> None:
    path = tmp_path / "jwt.key"
    barrier = threading.Barrier(8)

    def create(_: int) -> bytes:
        barrier.wait(10)
        return load_or_create_key(path, 32)

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(create, range(8)))
    assert len(keys) == 1 and mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["jwt.key"]


def create_key_worker(path: str, barrier: Any, report: str) -> None:
    """Run in a spawned process: create-or-read the key at the barrier, report it (hex)."""
    barrier.wait(60)
    Path(report).write_text(load_or_create_key(Path(path), 32).hex())


@pytest.mark.slow
def test_processes_creating_the_key_at_once_share_one(tmp_path: Path) -> None:
    path = tmp_path / "jwt.key"
    barrier = SPAWN.Barrier(3)
    reports = [tmp_path / f"report-{i}" for i in range(3)]
    procs = [SPAWN.Process(target=create_key_worker, args=(str(path), barrier, str(r))) for r in reports]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    keys = {r.read_text() for r in reports}
    assert len(keys) == 1 and bytes.fromhex(keys.pop()) == load_or_create_key(path, 32)
    assert mode(path) == 0o600


# --- settings ------------------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("SOCRATES_JWT_SECRET", "SOCRATES_ACCESS_TTL", "SOCRATES_REFRESH_TTL", "SOCRATES_SCRYPT_N"):
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch


def test_settings_defaults(clean_env: pytest.MonkeyPatch) -> None:
    s = AuthSettings.from_env()
    assert s == AuthSettings()
    assert (s.secret, s.key_file, s.issuer, s.audience, s.algorithm) == (None, None, ISS, AUD, "HS256")
    assert (s.access_ttl_s, s.refresh_ttl_s, s.scrypt_n) == (900, 14 * 86_400, 2**15)


def test_settings_from_env(clean_env: pytest.MonkeyPatch) -> None:
    secret = "s" * 40
    clean_env.setenv("SOCRATES_JWT_SECRET", secret)
    clean_env.setenv("SOCRATES_ACCESS_TTL", " 300 ")
    clean_env.setenv("SOCRATES_REFRESH_TTL", "86400")
    clean_env.setenv("SOCRATES_SCRYPT_N", "65536")
    s = AuthSettings.from_env()
    assert (s.secret, s.access_ttl_s, s.refresh_ttl_s, s.scrypt_n) == (secret.encode(), 300, 86_400, 2**16)
    assert secret not in repr(s)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("SOCRATES_JWT_SECRET", "short", "SOCRATES_JWT_SECRET: must be at least 32 bytes long"),
        ("SOCRATES_ACCESS_TTL", "abc", "SOCRATES_ACCESS_TTL: expected a whole number of seconds from 1 to 86,400, got 'abc'"),
        ("SOCRATES_ACCESS_TTL", "0", "SOCRATES_ACCESS_TTL: expected a whole number"),
        ("SOCRATES_ACCESS_TTL", "-5", "SOCRATES_ACCESS_TTL: expected a whole number"),
        ("SOCRATES_ACCESS_TTL", "1.5", "SOCRATES_ACCESS_TTL: expected a whole number"),
        ("SOCRATES_ACCESS_TTL", "86401", "got '86401'"),
        ("SOCRATES_ACCESS_TTL", "²", "got '²'"),
        ("SOCRATES_REFRESH_TTL", "99999999999", "SOCRATES_REFRESH_TTL: expected a whole number of seconds from 1 to 31,622,400"),
        ("SOCRATES_SCRYPT_N", "1000", "SOCRATES_SCRYPT_N: expected a power of two from 2 to 1,048,576, got '1000'"),
        ("SOCRATES_SCRYPT_N", "1", "got '1'"),
        ("SOCRATES_SCRYPT_N", "2097152", "got '2097152'"),
        ("SOCRATES_SCRYPT_N", "lots", "got 'lots'"),
    ],
)
def test_settings_from_env_refuses(clean_env: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    clean_env.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        AuthSettings.from_env()
    assert err.value.message.startswith(message) or message in err.value.message
    assert "\n" not in err.value.message and (name != "SOCRATES_JWT_SECRET" or value not in err.value.message)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"algorithm": "none"}, "algorithm: expected one of HS256, HS384, HS512, got 'none'"),
        ({"algorithm": "RS256"}, "algorithm: expected one of"),
        ({"secret": b"x" * 31}, "secret: must be at least 32 bytes long for HS256"),
        ({"secret": b"x" * 32, "algorithm": "HS512"}, "secret: must be at least 64 bytes long for HS512"),
        ({"secret": "x" * 40}, "secret: expected bytes, got str"),
        ({"key_file": "jwt.key"}, "key_file: expected a Path, got str"),
        ({"issuer": ""}, "issuer: expected non-empty text"),
        ({"audience": None}, "audience: expected non-empty text"),
        ({"access_ttl_s": 0}, "access_ttl_s: expected a whole number of seconds from 1 to 86,400, got 0"),
        ({"access_ttl_s": True}, "access_ttl_s: expected a whole number"),
        ({"access_ttl_s": 90.0}, "access_ttl_s: expected a whole number"),
        ({"refresh_ttl_s": 10**9}, "refresh_ttl_s: expected a whole number"),
        ({"scrypt_n": 1000}, "scrypt_n: expected a power of two from 2 to 1,048,576, got 1000"),
        ({"scrypt_n": 1}, "scrypt_n: expected a power of two"),
        ({"scrypt_n": 2**21}, "scrypt_n: expected a power of two"),
    ],
)
def test_settings_refuse_bad_values(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        AuthSettings(**kwargs)
    assert err.value.message.startswith(message)


def test_a_remembered_token_is_still_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    one = signer(ttl_s=60)
    token = one.issue("user-1", "session-1")
    assert one.decode(token)["sub"] == "user-1"  # verified once, then remembered
    assert one.decode(token)["sub"] == "user-1"
    later = time.time() + 60 + LEEWAY_S + 1
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(UnauthorizedError) as err:
        one.decode(token)
    assert err.value.message == EXPIRED_ACCESS
