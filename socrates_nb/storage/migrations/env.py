"""Alembic environment: runs on the connection handed over by socrates_nb.storage.migrate."""

from __future__ import annotations

from alembic import context

from socrates_nb.storage.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - we never run alembic without our runner
    raise RuntimeError("run migrations through `socrates db upgrade`")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    transactional_ddl=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
