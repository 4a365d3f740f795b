"""Reading the audit trail: a user's own rows (an admin's: everyone's) and the JSON-lines export.

The rows are written by the services themselves (security/audit.py) in the transaction of the
change they record.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, TextIO

from sqlalchemy import Select, func, select

from socrates_nb.errors import ValidationError
from socrates_nb.security.audit import ACTIONS
from socrates_nb.services.accounts import ADMIN_ROLE
from socrates_nb.services.validation import page_bounds, shown
from socrates_nb.services.views import Actor, Page, _iso, checked_actor
from socrates_nb.storage.db import Database
from socrates_nb.storage.models import AuditLog

EXPORT_BATCH = 1000
_COLUMNS = (
    AuditLog.id, AuditLog.created_at, AuditLog.user_id, AuditLog.action, AuditLog.resource_type,
    AuditLog.resource_id, AuditLog.client_address, AuditLog.user_agent, AuditLog.changes,
)


@dataclass(frozen=True)
class AuditEntryView:
    """One audit row."""

    id: uuid.UUID
    at: datetime
    user_id: uuid.UUID | None
    action: str
    resource_type: str | None
    resource_id: str | None
    client_address: str | None
    user_agent: str | None
    changes: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ids as text, ``at`` as ISO-8601 UTC."""
        return {
            "id": str(self.id), "at": _iso(self.at), "user_id": None if self.user_id is None else str(self.user_id),
            "action": self.action, "resource_type": self.resource_type, "resource_id": self.resource_id,
            "client_address": self.client_address, "user_agent": self.user_agent, "changes": dict(self.changes),
        }


def check_action(value: object) -> str:
    """One of the audit actions (security/audit.py ``ACTIONS``)."""
    if not isinstance(value, str) or value not in ACTIONS:
        raise ValidationError(f"unknown action {shown(value)}; valid actions: {', '.join(ACTIONS)}")
    return value


def check_since(value: object) -> datetime:
    """A timezone-aware moment, from a datetime or ISO-8601 text such as ``2026-11-26T09:00:00Z``."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError(f"since must be an ISO-8601 time such as 2026-11-26T09:00:00Z, not {shown(value)}") from None
    if not isinstance(value, datetime):
        raise ValidationError(f"since must be a time, got {type(value).__name__}")
    if value.tzinfo is None:
        raise ValidationError("since needs a time zone, e.g. 2026-11-26T09:00:00Z or +01:00")
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00
        raise ValidationError(f"since is out of range: {shown(value.isoformat())}") from None


class AuditService:
    """Who did what, when and from where."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def list(
        self, actor: Actor, offset: int = 0, limit: int = 50, action: str | None = None, since: object = None,
    ) -> Page[AuditEntryView]:
        """A page of the actor's audit rows, newest first (an admin's page holds every user's rows).

        ``action`` keeps one action; ``since`` keeps rows at or after a moment.
        """
        actor = checked_actor(actor)
        offset, limit = page_bounds(offset, limit)
        query = _filtered(
            select(*_COLUMNS), None if actor.role == ADMIN_ROLE else actor.id,
            None if action is None else check_action(action), None if since is None else check_since(since),
        )
        count = select(func.count()).select_from(query.subquery())
        page = query.order_by(AuditLog.created_at.desc(), AuditLog.id.desc()).offset(offset).limit(limit)
        with self.db.read_rows() as conn:
            total = conn.scalar(count) or 0
            rows = conn.execute(page).all()
        return Page(tuple(AuditEntryView(*row) for row in rows), int(total), offset, limit)

    def export(self, out: TextIO, action: str | None = None, since: object = None) -> int:
        """Write every audit row (oldest first) to ``out`` as JSON lines; the number written."""
        query = _filtered(
            select(*_COLUMNS), None,
            None if action is None else check_action(action), None if since is None else check_since(since),
        ).order_by(AuditLog.created_at, AuditLog.id)
        written = 0
        with self.db.read_rows() as conn:
            for row in conn.execution_options(yield_per=EXPORT_BATCH).execute(query):
                out.write(json.dumps(AuditEntryView(*row).to_dict(), ensure_ascii=False, sort_keys=True) + "\n")
                written += 1
        return written


def _filtered(
    query: Select[Any], user_id: uuid.UUID | None, action: str | None, since: datetime | None
) -> Select[Any]:
    if user_id is not None:
        query = query.where(AuditLog.user_id == user_id)
    if action is not None:
        query = query.where(AuditLog.action == action)
    if since is not None:
        query = query.where(AuditLog.created_at >= since)
    return query
