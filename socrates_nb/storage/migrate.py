"""Schema migrations (alembic), run under a lock so concurrent first starts are safe."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from socrates_nb.errors import DatabaseError
from socrates_nb.storage.db import Database

_PG_LOCK_KEY = 0x50C7A7E5  # advisory lock id for migrations


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("socrates_nb.storage") / "migrations"))
    return cfg


def head_revision() -> str:
    """The newest revision this version of socrates_nb knows."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(db: Database) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(db: Database) -> tuple[str | None, str]:
    """Upgrade the database to the newest revision; returns (before, after).

    Runs in one write transaction (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on
    PostgreSQL), so processes starting at once on a new database do not race.
    """
    with db._write_engine.begin() as conn:
        if not db.is_sqlite:
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        before = MigrationContext.configure(conn).get_current_revision()
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return before, head_revision()


def ensure_schema(db: Database) -> None:
    """Create a new database's schema; refuse to run on an outdated or newer one."""
    current = current_revision(db)
    head = head_revision()
    if current == head:
        return
    if current is None:
        upgrade(db)
        return
    known = {rev.revision for rev in ScriptDirectory.from_config(_config()).walk_revisions()}
    if current in known:
        raise DatabaseError(f"database schema is at revision {current}, this version needs {head}: run `socrates db upgrade`")
    raise DatabaseError(f"database schema revision {current} is newer than this version of socrates_nb knows ({head}); upgrade socrates_nb")
