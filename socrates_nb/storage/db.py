"""The database engine: SQLite pragmas, immediate write transactions, PostgreSQL locks.

Several kernels, the CLI and a Jupyter server may share one SQLite file. To make that
safe every connection runs in WAL mode with a busy timeout and foreign keys on, and
every *write* transaction starts with ``BEGIN IMMEDIATE`` so that two writers queue on
the database lock instead of failing half-way ("database is locked"). Reads use a
plain deferred ``BEGIN`` and never block writers.

A SQLite file created here is private: its folders 0700, the file 0600 (so SQLite makes its
-wal and -shm files 0600 too), whatever the umask. An existing file or data dir that group or
others may read is left as it is, with a warning naming the ``chmod`` that fixes it.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

from socrates_nb import metrics
from socrates_nb.config import (
    PRIVATE_FILE_MODE, data_dir, make_private_dirs, open_private_file, shared_mode, warn_if_shared,
)
from socrates_nb.errors import DatabaseError

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE_OPTION = "socrates_write"
_STATEMENT_OPTION = "socrates_single_statement"
_LOCKED_RETRIES = 5
PING_AFTER_IDLE_S = 10.0


def _enable_wal(cur: sqlite3.Cursor) -> None:
    """Switch the file to WAL (persistent, so only its first opener really does it).

    Changing the journal mode needs an exclusive lock, and SQLite answers "database is
    locked" at once, without waiting on busy_timeout, when waiting could deadlock: this
    happens when several processes open a *new* file at the same moment. So the mode is
    read first (a file already in WAL needs no lock) and the switch is retried until the
    busy timeout has passed.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            mode = cur.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                cur.execute("PRAGMA journal_mode = WAL").fetchone()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.1)


def _prepare_sqlite_file(path: Path) -> None:
    """Create the database's missing folders (0700) and the empty file (0600); warn about looser existing ones.

    SQLite takes an empty file for a new database, and gives the -wal and -shm files it
    creates later the database file's mode.
    """
    make_private_dirs(path.parent)
    if not os.path.lexists(path):
        os.close(open_private_file(path, os.O_WRONLY))
    if path.parent.resolve() == data_dir().resolve():
        warn_if_shared(path.parent)
    if path.is_file():  # not a folder or device where the file should be: opening it fails with its own error
        warn_if_shared(path)


def _private_sidecars(path: Path) -> None:
    """The -wal and -shm files of a private database made private too (left from an older version or
    another tool); those of a database group or others may read follow it (its warning names the fix)."""
    if shared_mode(path) is not None:
        return
    for sidecar in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        if shared_mode(sidecar) is not None:
            try:
                os.chmod(sidecar, PRIVATE_FILE_MODE)
            except OSError:  # not ours to change
                warn_if_shared(sidecar)


def _configure_sqlite(engine: Engine, path: Path) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below emit BEGIN itself (pysqlite's own
        # transaction handling would defer it and break BEGIN IMMEDIATE).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            _enable_wal(cur)
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.execute("PRAGMA foreign_keys = ON")
        finally:
            cur.close()
        _private_sidecars(path)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        options = conn.get_execution_options()
        if options.get(_WRITE_OPTION):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif not options.get(_STATEMENT_OPTION):
            conn.exec_driver_sql("BEGIN")


def _ping_idle_connections(engine: Engine) -> None:
    """Check a pooled server connection before use when it has been idle for a while.

    ``pool_pre_ping`` would ping on every checkout: a round trip that costs a third of a
    token check. A connection back from use within ``PING_AFTER_IDLE_S`` is known to work
    (a server restart since then still fails one request, and the pool drops that connection).
    """

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: Any, record: Any) -> None:
        record.info["checked_in"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get("checked_in", float("-inf")) < PING_AFTER_IDLE_S:
            return
        try:
            cursor = dbapi_conn.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_conn.rollback()  # the ping opened a transaction: end it before the pool hands it out
        except Exception as exc:  # noqa: BLE001 - any failure means the connection is gone
            raise DisconnectionError(f"stale connection: {exc}") from exc  # the pool retries with a new one


def _count_error(context: Any) -> None:
    """Count every error the driver raises (``socrates_nb_database_errors_total{kind}``)."""
    metrics.DB_ERRORS.labels(kind=type(context.original_exception).__name__).inc()


class Database:
    """One database: an engine for reads, one for writes, and transaction helpers."""

    def __init__(self, url: URL) -> None:
        self.url = url
        self.dialect = url.get_backend_name()
        kwargs: dict[str, Any] = {"future": True}
        if self.dialect == "sqlite":
            assert url.database
            sqlite_file = Path(url.database).expanduser()
            _prepare_sqlite_file(sqlite_file)
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        self.engine = create_engine(url, **kwargs)
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine, sqlite_file)
        else:
            _ping_idle_connections(self.engine)
        event.listen(self.engine, "handle_error", _count_error)
        self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        # SQLite: no BEGIN (the driver is in autocommit mode, see _on_begin); PostgreSQL: autocommit,
        # which spares the ROLLBACK round trip (setting it is local to psycopg)
        self._statement_engine = self.engine.execution_options(
            **({_STATEMENT_OPTION: True} if self.dialect == "sqlite" else {"isolation_level": "AUTOCOMMIT"})
        )
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(self._write_engine, expire_on_commit=False)
        # SQLite has one writer at a time: threads of this process queue here instead of in
        # SQLite's busy handler, which sleeps up to 100 ms between tries (the server runs turns
        # on worker threads)
        self._write_lock: Any = threading.RLock() if self.dialect == "sqlite" else nullcontext()

    @property
    def is_sqlite(self) -> bool:
        """Whether this is the embedded SQLite backend."""
        return self.dialect == "sqlite"

    @contextmanager
    def read(self) -> Iterator[OrmSession]:
        """A read-only unit of work (deferred transaction, rolled back at the end)."""
        with self._reader() as session:
            try:
                yield session
            finally:
                session.rollback()

    @contextmanager
    def read_rows(self, single_statement: bool = False) -> Iterator[Connection]:
        """A read-only Core connection (rolled back at the end): the fast path of hot reads.

        ``single_statement`` skips the transaction (autocommit): one statement is consistent on
        its own, and this saves a BEGIN and a ROLLBACK, which cost as much as a small query.
        """
        with (self._statement_engine if single_statement else self.engine).connect() as conn:
            yield conn

    def upsert(self, table: Any) -> Any:
        """An ``INSERT`` of this dialect, which offers ``on_conflict_do_update`` / ``_do_nothing``."""
        return (postgresql if self.dialect == "postgresql" else sqlite).insert(table)

    @contextmanager
    def write(self) -> Iterator[OrmSession]:
        """A write transaction: ``BEGIN IMMEDIATE`` on SQLite; committed on success, else rolled back."""
        with self._write_lock, self._writer() as session:
            with session.begin():
                yield session

    def run_write(self, work: Callable[[OrmSession], T]) -> T:
        """Run ``work`` in a write transaction, retrying a few times if SQLite still reports a lock."""
        for attempt in range(_LOCKED_RETRIES):
            try:
                with self.write() as session:
                    return work(session)
            except OperationalError as exc:
                if not (self.is_sqlite and "locked" in str(exc.orig)) or attempt == _LOCKED_RETRIES - 1:
                    raise DatabaseError(f"database error: {exc.orig}") from exc
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
