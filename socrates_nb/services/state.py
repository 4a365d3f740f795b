"""Queries that describe where a project stands: coverage, asked questions, maturity."""

from __future__ import annotations

import uuid

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session as OrmSession

from socrates_nb.engine.base import EngineContext
from socrates_nb.quality.maturity import Maturity, compute_maturity
from socrates_nb.storage import models
from socrates_nb.storage.models import utcnow
from socrates_nb.templates import get_template


def confidence_sums(orm: OrmSession, project_id: uuid.UUID) -> dict[str, float]:
    """Sum of current items' confidences per category (one indexed aggregate query)."""
    rows = orm.execute(
        select(models.SpecItem.category, func.sum(models.SpecItem.confidence))
        .where(models.SpecItem.project_id == project_id, models.SpecItem.is_current.is_(True))
        .group_by(models.SpecItem.category)
    ).all()
    return {cat: float(total or 0.0) for cat, total in rows}


def open_conflict_counts(orm: OrmSession, project_id: uuid.UUID) -> dict[str, int]:
    """Number of open conflicts per severity (one indexed aggregate query)."""
    rows = orm.execute(
        select(models.Conflict.severity, func.count())
        .where(models.Conflict.project_id == project_id, models.Conflict.status == "open")
        .group_by(models.Conflict.severity)
    ).all()
    return {severity: int(n) for severity, n in rows}


def project_maturity(orm: OrmSession, project: models.Project, sums: dict[str, float] | None = None) -> Maturity:
    """The project's maturity by the one formula (coverage less open-conflict penalties)."""
    if sums is None:
        sums = confidence_sums(orm, project.id)
    return compute_maturity(get_template(project.template), sums, open_conflict_counts(orm, project.id))


LLM_CONTEXT_ITEMS = 40
"""How many of the newest current items an LLM engine is shown."""


def engine_context(
    orm: OrmSession, project: models.Project, session_id: uuid.UUID, with_items: bool = False
) -> EngineContext:
    """What the engine may know: template, coverage, questions already asked, the session's last answers
    (and, ``with_items``, the newest current items as ``(key, text)``)."""
    asked = orm.scalars(select(models.Question.bank_key).where(models.Question.project_id == project.id)).all()
    recent = orm.scalars(
        select(models.Answer.text).where(models.Answer.session_id == session_id).order_by(models.Answer.seq.desc()).limit(3)
    ).all()
    return EngineContext(
        template=get_template(project.template),
        confidence_sums=confidence_sums(orm, project.id),
        asked_keys=frozenset(asked),
        recent_answers=tuple(reversed(recent)),
        items=tuple((key, text) for key, text in orm.execute(
            select(models.SpecItem.key, models.SpecItem.text)
            .where(models.SpecItem.project_id == project.id, models.SpecItem.is_current.is_(True))
            .order_by(models.SpecItem.created_at.desc()).limit(LLM_CONTEXT_ITEMS)
        )) if with_items else (),
    )


SUPERSEDED = "superseded"
"""The resolution recorded on an open conflict closed because one of its items was replaced."""


def close_conflicts_of(orm: OrmSession, project_id: uuid.UUID, item_ids: set[uuid.UUID], keep: uuid.UUID | None = None) -> None:
    """Close the open conflicts (other than ``keep``) that involve an item no longer current.

    A conflict about a replaced item is moot: it is marked resolved with resolution
    ``superseded``, so open conflicts only ever name current items. One statement.
    """
    if not item_ids:
        return
    query = (
        update(models.Conflict)
        .where(
            models.Conflict.project_id == project_id,
            models.Conflict.status == "open",
            or_(models.Conflict.item_a_id.in_(item_ids), models.Conflict.item_b_id.in_(item_ids)),
        )
        .values(status="resolved", resolution=SUPERSEDED, resolved_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    if keep is not None:
        query = query.where(models.Conflict.id != keep)
    orm.execute(query)
