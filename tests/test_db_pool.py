"""PostgreSQL pool: a connection idle for a while is pinged before use, so a dead one is replaced."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from socrates_nb.storage import db as db_module
from socrates_nb.workspace import Workspace


def _kill_pooled_backends(ws: Workspace) -> int:
    """Terminate the server processes behind the workspace's pooled connections; returns how many."""
    with ws.db.engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    admin = create_engine(ws.db.url.set(query={}))
    with admin.begin() as conn:
        killed = conn.execute(text("SELECT count(*) FROM (SELECT pg_terminate_backend(:pid)) t"), {"pid": pid}).scalar()
    admin.dispose()
    return int(killed or 0)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # a PostgreSQL-only check
def test_an_idle_dead_connection_is_replaced_before_use(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ws.create_project("Kept")
    assert _kill_pooled_backends(ws) == 1
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 0.0)  # every checkout counts as idle
    ws.cache.clear()
    assert [p.name for p in ws.projects().items] == ["Kept"]  # pinged, replaced, then read
    with ws.db.read_rows(single_statement=True) as conn:  # the ping leaves no transaction open for autocommit
        assert conn.execute(text("SELECT 1")).scalar_one() == 1


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # a PostgreSQL-only check
def test_a_recently_used_connection_is_not_pinged(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    ws.create_project("Kept")
    assert _kill_pooled_backends(ws) == 1
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_S", 3600.0)
    ws.cache.clear()
    with pytest.raises(OperationalError, match="terminat|closed"):  # the unpinged dead connection fails once
        ws.projects()
    ws.cache.clear()
    assert [p.name for p in ws.projects().items] == ["Kept"]  # the pool dropped it and reconnected
