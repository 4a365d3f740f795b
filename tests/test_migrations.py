"""Migrations: new databases end at head, version checks, and the indexes the model promises."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

import socrates_nb as snb
from socrates_nb.config import normalize_database_url
from socrates_nb.storage.db import Database
from socrates_nb.storage.migrate import current_revision, ensure_schema, head_revision, upgrade
from socrates_nb.storage.models import Base
from socrates_nb.workspace import Workspace


def test_a_fresh_database_ends_at_head(ws: Workspace) -> None:
    versions = resources.files("socrates_nb.storage") / "migrations" / "versions"
    assert head_revision() == max(f.name[:4] for f in versions.iterdir() if f.name[:4].isdigit())
    assert current_revision(ws.db) == head_revision()
    tables = set(inspect(ws.db.engine).get_table_names())
    assert set(Base.metadata.tables) | {"alembic_version"} == tables
    ensure_schema(ws.db)  # at head: nothing to do
    assert upgrade(ws.db) == (head_revision(), head_revision())


def test_an_empty_database_has_no_revision_until_upgraded(tmp_path: Path) -> None:
    db = Database(normalize_database_url(f"sqlite:///{tmp_path / 'empty.db'}"))
    try:
        assert current_revision(db) is None
        assert upgrade(db) == (None, head_revision())
        assert current_revision(db) == head_revision()
    finally:
        db.dispose()


def _set_revision(ws: Workspace, revision: str) -> None:
    with ws.db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_a_database_from_a_newer_version_is_refused(ws: Workspace, db_url: str) -> None:
    _set_revision(ws, "9999_future")
    with pytest.raises(snb.DatabaseError) as err:
        ensure_schema(ws.db)
    message = str(err.value)
    assert "9999_future" in message and "upgrade socrates_nb" in message and "\n" not in message
    with pytest.raises(snb.DatabaseError, match="upgrade socrates_nb"):
        snb.connect(db_url, user="alice")


def test_an_older_database_is_refused_until_db_upgrade(ws: Workspace, db_url: str) -> None:
    from alembic import command
    from click.testing import CliRunner

    from socrates_nb.cli import cli
    from socrates_nb.storage.migrate import _config

    ws.create_project("Kept")
    with ws.db._write_engine.begin() as conn:  # a database as the previous release left it
        cfg = _config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    assert current_revision(ws.db) == "0001"
    with pytest.raises(snb.DatabaseError) as err:
        ensure_schema(ws.db)
    head = head_revision()
    assert str(err.value) == f"database schema is at revision 0001, this version needs {head}: run `socrates db upgrade`"
    result = CliRunner().invoke(cli, ["--db", db_url, "db", "upgrade"])
    assert result.exit_code == 0 and f"upgraded 0001 -> {head}" in result.stdout
    with snb.connect(db_url, user="alice") as again:
        page = again.projects()  # 0004 counted the projects already there
        assert [p.name for p in page.items] == ["Kept"] and page.total == 1
    test_the_migrated_schema_matches_the_model(ws)


def test_every_foreign_key_column_leads_an_index() -> None:
    missing = []
    for table in Base.metadata.sorted_tables:
        leading = {idx.columns[0].name for idx in table.indexes if len(idx.columns)}
        leading |= {c.columns[0].name for c in table.constraints if hasattr(c, "columns") and len(c.columns)
                    and c.__class__.__name__ in ("UniqueConstraint", "PrimaryKeyConstraint")}
        for fk in table.foreign_keys:
            if fk.parent.name not in leading:
                missing.append(f"{table.name}.{fk.parent.name}")
    assert missing == []
    assert len([fk for t in Base.metadata.sorted_tables for fk in t.foreign_keys]) >= 15


def test_every_foreign_key_column_leads_an_index_in_the_migrated_database(ws: Workspace) -> None:
    insp = inspect(ws.db.engine)
    missing = []
    for table in insp.get_table_names():
        leading = {i["column_names"][0] for i in insp.get_indexes(table) if i["column_names"]}
        leading |= {u["column_names"][0] for u in insp.get_unique_constraints(table) if u["column_names"]}
        pk = insp.get_pk_constraint(table)["constrained_columns"]
        if pk:
            leading.add(pk[0])
        for fk in insp.get_foreign_keys(table):
            if fk["constrained_columns"][0] not in leading:
                missing.append(f"{table}.{fk['constrained_columns'][0]}")
    assert missing == []


def test_the_list_indexes_exist_with_their_columns(ws: Workspace) -> None:
    indexes = {i["name"]: i["column_names"] for i in inspect(ws.db.engine).get_indexes("projects")}
    assert indexes["ix_projects_user_created"] == ["user_id", "created_at", "id"]
    assert indexes["ix_projects_user_status_created"] == ["user_id", "status", "created_at", "id"]


def test_the_migrated_schema_matches_the_model(ws: Workspace) -> None:
    with ws.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    assert diff == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # a SQLite-only check
def test_sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout(ws: Workspace) -> None:
    with ws.db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
