"""Shared fixtures: every storage test runs on SQLite and, when configured, on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text

import socrates_nb as snb
from socrates_nb.workspace import Workspace

POSTGRES_ENV = "SOCRATES_TEST_POSTGRES_URL"
TEST_SCRYPT_N = 2**10


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing a test does may touch the real data dir or Jupyter dirs."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("SOCRATES_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(home / "jupyter_data"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(home / "jupyter_runtime"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(home / "jupyter_config"))
    monkeypatch.delenv("SOCRATES_DATABASE_URL", raising=False)
    # Password hashing at a test cost (2**10, not 2**15: about 30 times faster) for services built
    # from the environment, such as the REST servers; the default cost has tests of its own.
    monkeypatch.setenv("SOCRATES_SCRYPT_N", str(TEST_SCRYPT_N))
    # No test reaches a real LLM vendor: the vendors' own key and URL variables are unset.
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL", "SOCRATES_ENGINE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _llm_states_reset() -> Iterator[None]:
    """LLM providers a test's circuit breakers reported to health are forgotten after it."""
    from socrates_nb.services.health import LLM_STATES

    before = set(LLM_STATES.states())
    yield
    for name in set(LLM_STATES.states()) - before:
        LLM_STATES.forget(name)


def _postgres_url_for_schema(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: a SQLite file, or a private schema on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'socrates.db'}"
        return
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"PostgreSQL tests need {POSTGRES_ENV} (set by .ci/run when PostgreSQL answers)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_url_for_schema(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def ws(db_url: str) -> Iterator[Workspace]:
    """A workspace for user ``alice`` on a fresh database."""
    workspace = snb.connect(db_url, user="alice")
    yield workspace
    workspace.close()


@pytest.fixture
def other_ws(ws: Workspace, db_url: str) -> Iterator[Workspace]:
    """A workspace for user ``bob`` on the same database as ``ws``."""
    workspace = snb.connect(db_url, user="bob")
    yield workspace
    workspace.close()


class StatementCounter:
    """Counts SQL statements sent by an engine while active."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "PRAGMA", "SAVEPOINT", "RELEASE")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(ws: Workspace):  # noqa: ANN201
    """Context manager factory: ``with count_queries() as c: ...; c.count``."""
    from contextlib import contextmanager

    @contextmanager
    def counting() -> Iterator[StatementCounter]:
        counter = StatementCounter()
        event.listen(ws.db.engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(ws.db.engine, "before_cursor_execute", counter)

    return counting


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for servers a test starts)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
