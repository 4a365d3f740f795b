"""LLM usage: every call's tokens and estimated cost, stored with the turn; totals per provider and project."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session as OrmSession

from socrates_nb.engine.llm.engine import LlmCall
from socrates_nb.notebook import display
from socrates_nb.services.audit import check_since
from socrates_nb.services.views import Actor
from socrates_nb.storage import models
from socrates_nb.storage.db import Database


def store_calls(
    orm: OrmSession, actor: Actor, project_id: uuid.UUID | None, session_id: uuid.UUID | None, calls: Iterable[LlmCall]
) -> None:
    """Add one ``llm_usage`` row per call, in the caller's transaction."""
    orm.add_all(
        models.LlmUsage(
            id=uuid.uuid4(), user_id=actor.id, project_id=project_id, session_id=session_id, provider=c.provider,
            model=c.model, step=c.step, outcome=c.outcome, cached=c.cached, tokens_in=c.tokens_in,
            tokens_out=c.tokens_out, cost_usd=c.cost_usd, duration_ms=c.duration_ms,
        )
        for c in calls
    )


USAGE_COUNTS = ("calls", "cached_calls", "failed_calls", "tokens_in", "tokens_out")
"""The integer columns of a usage row and of the totals (with ``cost_usd``, estimated USD)."""


@dataclass(frozen=True)
class UsageRow:
    """Usage of one provider and model in one project (``project_id`` None: the project was deleted)."""

    provider: str
    model: str
    project_id: uuid.UUID | None
    project_name: str | None
    calls: int
    cached_calls: int
    failed_calls: int
    tokens_in: int
    tokens_out: int
    cost_usd: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider, "model": self.model,
            "project_id": str(self.project_id) if self.project_id else None, "project_name": self.project_name,
            "calls": self.calls, "cached_calls": self.cached_calls, "failed_calls": self.failed_calls,
            "tokens_in": self.tokens_in, "tokens_out": self.tokens_out, "cost_usd": round(self.cost_usd, 6),
        }


@dataclass(frozen=True)
class UsageView:
    """The actor's LLM usage: one row per provider, model and project, and the totals."""

    rows: tuple[UsageRow, ...]
    since: datetime | None = None

    @property
    def totals(self) -> dict[str, Any]:
        """Calls, tokens and estimated cost over every row."""
        totals: dict[str, Any] = {name: sum(getattr(r, name) for r in self.rows) for name in USAGE_COUNTS}
        return totals | {"cost_usd": round(sum(r.cost_usd for r in self.rows), 6)}

    def to_dict(self) -> dict[str, Any]:
        return {"since": self.since.isoformat() if self.since else None, "totals": self.totals,
                "rows": [r.to_dict() for r in self.rows]}

    def __repr__(self) -> str:
        return display.usage_text(self)

    def _repr_html_(self) -> str:
        return display.usage_html(self)


class UsageService:
    """Reads of the usage table, always limited to the acting user's own calls."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def summary(self, actor: Actor, since: object = None) -> UsageView:
        """The actor's calls (since ``since``, an aware datetime or ISO-8601 text) grouped by provider, model and project."""
        start = check_since(since) if since is not None else None
        u = models.LlmUsage
        query = (
            select(
                u.provider, u.model, u.project_id, models.Project.name, func.count(),
                func.count().filter(u.cached.is_(True)),
                func.count().filter(u.outcome.not_in(("ok",))),
                func.coalesce(func.sum(u.tokens_in), 0), func.coalesce(func.sum(u.tokens_out), 0),
                func.coalesce(func.sum(u.cost_usd), 0.0),
            )
            .outerjoin(models.Project, models.Project.id == u.project_id)
            .where(u.user_id == actor.id)
            .group_by(u.provider, u.model, u.project_id, models.Project.name)
            .order_by(u.provider, u.model, models.Project.name)
        )
        if start is not None:
            query = query.where(u.created_at >= start)
        with self.db.read() as orm:
            rows = tuple(UsageRow(p, m, pid, name, int(n), int(c), int(f), int(ti), int(to), float(cost))
                         for p, m, pid, name, n, c, f, ti, to, cost in orm.execute(query))
        return UsageView(rows, start)
