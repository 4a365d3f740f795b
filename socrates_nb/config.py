"""Settings from the environment (``SOCRATES_*``) and where data lives."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from socrates_nb.errors import ConfigError

DATABASE_URL_ENV = "SOCRATES_DATABASE_URL"
CACHE_TTL_ENV = "SOCRATES_CACHE_TTL"
DATA_DIR_ENV = "SOCRATES_DATA_DIR"

_SUPPORTED = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}


def data_dir() -> Path:
    """The folder holding the embedded database and key files.

    ``$SOCRATES_DATA_DIR`` if set, else ``jupyter_data_dir()/socrates_nb``.
    """
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        return Path(override).expanduser()
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "socrates_nb"


def default_database_url() -> str:
    """The embedded SQLite database under :func:`data_dir`."""
    return f"sqlite:///{data_dir() / 'socrates.db'}"


def normalize_database_url(url: str, source: str = DATABASE_URL_ENV) -> URL:
    """Parse and check a database URL, choosing our drivers (pysqlite, psycopg 3).

    Raises a one-line :class:`ConfigError` naming ``source`` when the URL is not a
    SQLite or PostgreSQL URL. The message never contains the password.
    """
    try:
        parsed = make_url(url.strip())
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"{source}: not a valid database URL (expected sqlite:///PATH or postgresql://USER@HOST/DB)"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in _SUPPORTED:
        # Shown without password and without the query string (it may hold ?password=...).
        shown = parsed.set(query={}).render_as_string(hide_password=True)
        raise ConfigError(f"{source}: unsupported database {backend!r} in {shown} (supported: sqlite, postgresql)")
    if "+" in parsed.drivername and parsed.drivername != _SUPPORTED[backend]:
        raise ConfigError(f"{source}: use driver {_SUPPORTED[backend]!r}, not {parsed.drivername!r}")
    parsed = parsed.set(drivername=_SUPPORTED[backend])
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ConfigError(f"{source}: an in-memory SQLite database cannot be shared; give a file path")
    return parsed


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one workspace."""

    database_url: URL
    cache_ttl: float = 5.0
    cache_size: int = 2048

    @classmethod
    def from_env(cls, url: str | None = None) -> "Settings":
        """Settings from arguments, then ``SOCRATES_*`` variables, then defaults."""
        if url is not None:
            db_url = normalize_database_url(url, source="database url")
        else:
            raw = os.environ.get(DATABASE_URL_ENV)
            db_url = normalize_database_url(raw) if raw else normalize_database_url(default_database_url())
        ttl_raw = os.environ.get(CACHE_TTL_ENV, "5")
        try:
            ttl = float(ttl_raw)
            if not math.isfinite(ttl) or ttl < 0:
                raise ValueError
        except ValueError:
            raise ConfigError(f"{CACHE_TTL_ENV}: expected a number of seconds >= 0, got {ttl_raw!r}") from None
        return cls(database_url=db_url, cache_ttl=ttl)
