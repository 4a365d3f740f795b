"""Ownership-checked lookups: another user's resource reads exactly like a missing one."""

from __future__ import annotations

import uuid
from typing import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.sql.base import ExecutableOption as ORMOption

from socrates_nb.errors import NotFoundError
from socrates_nb.services.validation import MAX_NAME_CHARS, has_control_chars, parse_uuid, shown
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
    if isinstance(ref, uuid.UUID):
        query = query.where(models.Project.id == ref)
    else:
        try:
            pid = uuid.UUID(str(ref))
        except ValueError:
            name = str(ref).strip()
            # No project can have such a name; PostgreSQL would even reject the query (NUL).
            if not name or len(name) > MAX_NAME_CHARS or has_control_chars(name):
                raise NotFoundError(f"project {shown(str(ref))} not found") from None
            query = query.where(models.Project.name == name)
        else:
            query = query.where(models.Project.id == pid)
    if lock:
        query = query.with_for_update(of=models.Project)
    row = orm.scalar(query)
    if row is None:
        raise NotFoundError(f"project {shown(str(ref))} not found")
    return row


def owned_session(orm: OrmSession, actor: Actor, session_id: str | uuid.UUID, lock: bool = False) -> models.Session:
    """The actor's session row.

    ``lock`` takes a row lock on the session (``FOR UPDATE OF sessions``) on PostgreSQL, so
    a writer reads the session's counters and status only after a concurrent writer of the
    same session has committed (otherwise both would number their answer alike).
    """
    sid = parse_uuid(session_id, "session")
    query = (
        select(models.Session)
        .join(models.Project, models.Session.project_id == models.Project.id)
        .where(models.Session.id == sid, models.Project.user_id == actor.id)
    )
    if lock:
        query = query.with_for_update(of=models.Session)
    row = orm.scalar(query)
    if row is None:
        raise NotFoundError(f"session {shown(str(session_id))} not found")
    return row
