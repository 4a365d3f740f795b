"""Ownership-checked lookups: another user's resource reads exactly like a missing one."""

from __future__ import annotations

import uuid
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql.base import ExecutableOption as ORMOption

from socrates_nb.errors import NotFoundError
from socrates_nb.services.validation import parse_uuid
from socrates_nb.services.views import Actor
from socrates_nb.storage import models


def owned_project(
    orm: OrmSession, actor: Actor, ref: str | uuid.UUID, lock: bool = False, options: Sequence[ORMOption] = ()
) -> models.Project:
    """The actor's project given its id or its name, in one query.

    ``lock`` takes a row lock (``FOR UPDATE``) on PostgreSQL; SQLite's write
    transactions already hold the database lock.
    """
    query = select(models.Project).where(models.Project.user_id == actor.id).options(*options)
    try:
        pid = uuid.UUID(str(ref))
    except ValueError:
        query = query.where(models.Project.name == str(ref).strip())
    else:
        query = query.where(models.Project.id == pid)
    if lock:
        query = query.with_for_update()
    row = orm.scalar(query)
    if row is None:
        raise NotFoundError(f"project {str(ref)!r} not found")
    return row


def owned_session(orm: OrmSession, actor: Actor, session_id: str | uuid.UUID) -> models.Session:
    """The actor's session row."""
    sid = parse_uuid(session_id, "session")
    row = orm.scalar(
        select(models.Session)
        .join(models.Project, models.Session.project_id == models.Project.id)
        .where(models.Session.id == sid, models.Project.user_id == actor.id)
    )
    if row is None:
        raise NotFoundError(f"session {str(session_id)!r} not found")
    return row
