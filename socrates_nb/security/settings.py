"""Authentication settings: signing key, issuer and audience, token lifetimes, password cost, rate limits,
and whether strangers may register."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from socrates_nb.config import data_dir
from socrates_nb.errors import ConfigError
from socrates_nb.security.keyfile import load_or_create_key
from socrates_nb.security.passwords import DEFAULT_SCRYPT_N

JWT_SECRET_ENV = "SOCRATES_JWT_SECRET"
ACCESS_TTL_ENV = "SOCRATES_ACCESS_TTL"
REFRESH_TTL_ENV = "SOCRATES_REFRESH_TTL"
LOGIN_MAX_FAILURES_ENV = "SOCRATES_LOGIN_MAX_FAILURES"
LOGIN_WINDOW_ENV = "SOCRATES_LOGIN_WINDOW"
REGISTER_MAX_ENV = "SOCRATES_REGISTER_MAX"
REGISTER_WINDOW_ENV = "SOCRATES_REGISTER_WINDOW"
SCRYPT_N_ENV = "SOCRATES_SCRYPT_N"
ALLOW_REGISTRATION_ENV = "SOCRATES_ALLOW_REGISTRATION"
KEY_FILE_NAME = "jwt.key"
# the HMAC algorithms and their minimum key sizes (the hash size, RFC 7518 section 3.2)
ALGORITHMS = {"HS256": 32, "HS384": 48, "HS512": 64}
MAX_ACCESS_TTL_S = 86_400
MAX_REFRESH_TTL_S = 366 * 86_400
MAX_SCRYPT_N = 2**20
MAX_LIMIT_WINDOW_S = 86_400
MAX_LIMIT_COUNT = 100_000


def _whole(value: object, name: str, maximum: int, unit: str = "seconds", shown: str | None = None) -> int:
    if type(value) is not int or not 1 <= value <= maximum:
        got = repr(shown if shown is not None else value)
        raise ConfigError(f"{name}: expected a whole number of {unit} from 1 to {maximum:,}, got {got}")
    return value


@dataclass(frozen=True)
class AuthSettings:
    """How tokens are signed and how long they live; checked when made (ConfigError).

    ``secret`` signs the tokens; without it the key is read from ``key_file``
    (default ``data_dir()/jwt.key``), which is generated on first use. Logins fail at most
    ``login_max_failures`` times per ``login_window_s`` per account and per client address;
    a client address may try ``register_max`` registrations per ``register_window_s``, and only
    while ``allow_registration`` holds (operators and admins create accounts either way).
    """

    secret: bytes | None = field(default=None, repr=False)
    key_file: Path | None = None
    issuer: str = "socrates_nb"
    audience: str = "socrates_nb-api"
    algorithm: str = "HS256"
    access_ttl_s: int = 900
    refresh_ttl_s: int = 14 * 86_400
    scrypt_n: int = DEFAULT_SCRYPT_N
    login_max_failures: int = 10
    login_window_s: int = 900
    register_max: int = 20
    register_window_s: int = 3600
    allow_registration: bool = True

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ConfigError(f"algorithm: expected one of {', '.join(ALGORITHMS)}, got {self.algorithm!r}")
        if self.secret is not None:
            if not isinstance(self.secret, bytes):
                raise ConfigError(f"secret: expected bytes, got {type(self.secret).__name__}")
            if len(self.secret) < self.min_key_bytes:
                raise ConfigError(f"secret: must be at least {self.min_key_bytes} bytes long for {self.algorithm}")
        if self.key_file is not None and not isinstance(self.key_file, Path):
            raise ConfigError(f"key_file: expected a Path, got {type(self.key_file).__name__}")
        for name in ("issuer", "audience"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{name}: expected non-empty text, got {value!r}")
        _whole(self.access_ttl_s, "access_ttl_s", MAX_ACCESS_TTL_S)
        _whole(self.refresh_ttl_s, "refresh_ttl_s", MAX_REFRESH_TTL_S)
        _whole(self.login_max_failures, "login_max_failures", MAX_LIMIT_COUNT, "failures")
        _whole(self.login_window_s, "login_window_s", MAX_LIMIT_WINDOW_S)
        _whole(self.register_max, "register_max", MAX_LIMIT_COUNT, "registrations")
        _whole(self.register_window_s, "register_window_s", MAX_LIMIT_WINDOW_S)
        if type(self.allow_registration) is not bool:
            raise ConfigError(f"allow_registration: expected True or False, got {self.allow_registration!r}")
        n = self.scrypt_n
        if type(n) is not int or not 2 <= n <= MAX_SCRYPT_N or n & (n - 1):
            raise ConfigError(f"scrypt_n: expected a power of two from 2 to {MAX_SCRYPT_N:,}, got {n!r}")

    @property
    def min_key_bytes(self) -> int:
        """The shortest key accepted for the algorithm."""
        return ALGORITHMS[self.algorithm]

    @classmethod
    def from_env(cls) -> "AuthSettings":
        """Defaults, overridden by the environment.

        ``SOCRATES_JWT_SECRET``, ``SOCRATES_ACCESS_TTL``, ``SOCRATES_REFRESH_TTL`` and the rate limits
        ``SOCRATES_LOGIN_MAX_FAILURES``, ``SOCRATES_LOGIN_WINDOW``, ``SOCRATES_REGISTER_MAX``,
        ``SOCRATES_REGISTER_WINDOW``, the password-hashing cost ``SOCRATES_SCRYPT_N`` and
        ``SOCRATES_ALLOW_REGISTRATION`` (true or false).
        """
        secret_raw = os.environ.get(JWT_SECRET_ENV)
        secret = secret_raw.encode("utf-8") if secret_raw else None
        if secret is not None and len(secret) < ALGORITHMS["HS256"]:
            raise ConfigError(f"{JWT_SECRET_ENV}: must be at least {ALGORITHMS['HS256']} bytes long")
        return cls(
            secret=secret,
            access_ttl_s=_env_whole(ACCESS_TTL_ENV, cls.access_ttl_s, MAX_ACCESS_TTL_S),
            refresh_ttl_s=_env_whole(REFRESH_TTL_ENV, cls.refresh_ttl_s, MAX_REFRESH_TTL_S),
            login_max_failures=_env_whole(LOGIN_MAX_FAILURES_ENV, cls.login_max_failures, MAX_LIMIT_COUNT, "failures"),
            login_window_s=_env_whole(LOGIN_WINDOW_ENV, cls.login_window_s, MAX_LIMIT_WINDOW_S),
            register_max=_env_whole(REGISTER_MAX_ENV, cls.register_max, MAX_LIMIT_COUNT, "registrations"),
            register_window_s=_env_whole(REGISTER_WINDOW_ENV, cls.register_window_s, MAX_LIMIT_WINDOW_S),
            scrypt_n=_env_scrypt_n(),
            allow_registration=env_flag(ALLOW_REGISTRATION_ENV, cls.allow_registration),
        )

    def signing_key(self) -> bytes:
        """``secret``, else the key file's key (generating the file on first use)."""
        if self.secret is not None:
            return self.secret
        return load_or_create_key(self.key_file or data_dir() / KEY_FILE_NAME, self.min_key_bytes)


def _env_scrypt_n() -> int:
    raw = os.environ.get(SCRYPT_N_ENV, "").strip()
    if not raw:
        return DEFAULT_SCRYPT_N
    n = int(raw) if raw.isascii() and raw.isdigit() else 0
    if not 2 <= n <= MAX_SCRYPT_N or n & (n - 1):
        raise ConfigError(f"{SCRYPT_N_ENV}: expected a power of two from 2 to {MAX_SCRYPT_N:,}, got {raw!r}")
    return n


def _env_whole(name: str, default: int, maximum: int, unit: str = "seconds") -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = int(raw) if raw.isascii() and raw.isdigit() else 0
    return _whole(value, name, maximum, unit, shown=raw)


_FLAGS = {"true": True, "1": True, "yes": True, "on": True, "false": False, "0": False, "no": False, "off": False}


def env_flag(name: str, default: bool) -> bool:
    """The variable ``name`` as true (``true``, ``1``, ``yes``, ``on``) or false (``false``, ``0``, ``no``,
    ``off``), any case; ``default`` when unset or empty; ConfigError naming it otherwise."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if raw.lower() not in _FLAGS:
        raise ConfigError(f"{name}: expected true or false, got {raw[:40]!r}")
    return _FLAGS[raw.lower()]
