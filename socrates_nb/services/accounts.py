"""Accounts: the acting user of a workspace."""

from __future__ import annotations

import getpass
import re
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession

from socrates_nb.errors import NotFoundError, ValidationError
from socrates_nb.services.validation import shown
from socrates_nb.services.views import Actor
from socrates_nb.storage import models
from socrates_nb.storage.db import Database

ADMIN_ROLE = "admin"
ROLES = ("user", ADMIN_ROLE)
"""An account's roles: an admin also reads every user's audit rows."""
USERNAME_RE = re.compile(r"[a-z0-9_.-]{3,64}")


def local_username() -> str:
    """The operating-system user's name, made a valid username (``local`` if nothing is left)."""
    try:
        raw = getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no passwd entry
        raw = ""
    name = re.sub(r"[^a-z0-9_.-]", "", raw.lower())[:64]
    return name if len(name) >= 3 else "local"


def check_username(username: object) -> str:
    """``username`` if it matches ``[a-z0-9_.-]{3,64}``, else a ValidationError."""
    if not isinstance(username, str) or not USERNAME_RE.fullmatch(username):
        raise ValidationError(f"invalid username {shown(username)}: use 3-64 of a-z 0-9 _ . -")
    return username


def ensure_user(db: Database, username: str) -> Actor:
    """The actor for ``username``, creating the user on first use (local, password-less)."""
    username = check_username(username)
    with db.read() as orm:
        row = orm.scalar(select(models.User).where(models.User.username == username))
        if row is not None:
            return _actor(row)

    def work(orm: OrmSession) -> Actor:
        existing = orm.scalar(select(models.User).where(models.User.username == username))
        if existing is not None:
            return _actor(existing)
        row = models.User(id=uuid.uuid4(), username=username, role="user", is_active=True)
        orm.add(row)
        orm.flush()
        return _actor(row)

    try:
        return db.run_write(work)
    except IntegrityError:  # created concurrently by another process (PostgreSQL)
        return ensure_user(db, username)


def _actor(row: models.User) -> Actor:
    if not row.is_active:
        raise NotFoundError(f"user {row.username!r} is disabled")
    return Actor(id=row.id, username=row.username, role=row.role)
