"""Settings from the environment (``SOCRATES_*``) and where data lives."""

from __future__ import annotations

import math
import os
import stat
import threading
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


# --- private files: the data dir 0700, databases and logs 0600 (docs/SECURITY.md, "File modes") ----------

PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_POSIX = os.name == "posix"
_WARNED: set[tuple[str, int]] = set()
_WARNED_LOCK = threading.Lock()


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and its missing parents, each with mode 0700 whatever the umask.

    Folders that exist already are left as they are (``mkdir -p`` would give new parents the
    umask's mode, often 0755).
    """
    missing = []
    while not os.path.lexists(path):
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, PRIVATE_DIR_MODE)
        except FileExistsError:
            continue  # another process made it first: it is theirs to set
        if _POSIX:
            os.chmod(folder, PRIVATE_DIR_MODE)


def open_private_file(path: Path, flags: int) -> int:
    """Open ``path`` (``O_CREAT`` added); a file created here gets mode 0600 whatever the umask.

    An existing file keeps its mode: see :func:`warn_if_shared`.
    """
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return os.open(path, flags & ~os.O_CREAT)
    if _POSIX:
        os.fchmod(fd, PRIVATE_FILE_MODE)
    return fd


def shared_mode(path: Path) -> int | None:
    """The mode of ``path`` when its group or others may access it; None when private, missing or not POSIX."""
    if not _POSIX:
        return None
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return None
    return mode if mode & 0o077 else None


def warn_if_shared(path: Path) -> bool:
    """Log a warning (once per path and mode in a process) when group or others may access ``path``.

    The warning names the path, its mode and the fix (``chmod 600 PATH``, ``chmod 700`` for a
    folder); nothing is changed: the mode may be the user's choice. Returns whether it warned.
    """
    mode = shared_mode(path)
    if mode is None:
        return False
    with _WARNED_LOCK:
        if (str(path), mode) in _WARNED:
            return True
        _WARNED.add((str(path), mode))
    from socrates_nb.logs import get_logger  # logs imports this module

    folder = path.is_dir()
    get_logger(__name__).warning(
        f"{'folder' if folder else 'file'} accessible to group or others: it may hold specifications and "
        "password hashes",
        path=str(path), mode=oct(mode), fix=f"chmod {'700' if folder else '600'} {path}",
    )
    return True


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
