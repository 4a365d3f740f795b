"""Queries that describe where a project stands: coverage, asked questions, maturity."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session as OrmSession

from socrates_nb.engine.base import EngineContext
from socrates_nb.quality.maturity import CAPABILITY_CATEGORIES, Maturity, compute_maturity, contribution
from socrates_nb.services.views import OpenQuestionView
from socrates_nb.storage import models
from socrates_nb.storage.models import utcnow
from socrates_nb.templates import get_template


OPEN_STATUSES = ("open", "reopened")
"""Statuses of an open question that still count as a gap."""


@dataclass(frozen=True)
class ProjectState:
    """Where a project's specification stands, per category (what maturity and the engine read)."""

    sums: dict[str, float] = field(default_factory=dict)
    """Sum of the current items' confidences (functional: their number, see ``maturity.contribution``)."""
    unprobed_vague: dict[str, int] = field(default_factory=dict)
    """Current vague items whose follow-up was not asked yet (probe_state ``due``)."""
    out_of_scope: frozenset[str] = frozenset()
    """Categories closed by a scope decision ("not applicable")."""
    open_questions: dict[str, int] = field(default_factory=dict)
    set_aside: frozenset[str] = frozenset()
    """Categories whose last two questions got non-answers: not asked about for now."""

    @property
    def closed(self) -> frozenset[str]:
        """Categories the engine does not ask about: out of scope or set aside."""
        return self.out_of_scope | self.set_aside


def load_state(orm: OrmSession, project_id: uuid.UUID, set_aside: bool = True) -> ProjectState:
    """The project's :class:`ProjectState` (two aggregate queries, a third for ``set_aside``:
    maturity does not need it, choosing the next question does)."""
    item = models.SpecItem
    rows = orm.execute(
        select(item.category,
               func.sum(case((item.category.in_(CAPABILITY_CATEGORIES), 1.0), else_=item.confidence)),
               func.sum(case((item.probe_state == "due", 1), else_=0)),
               func.max(case((item.key.like("%.scope"), 1), else_=0)))
        .where(item.project_id == project_id, item.is_current.is_(True))
        .group_by(item.category)
    ).all()
    open_q = models.OpenQuestion
    counts = orm.execute(
        select(open_q.category, func.count())
        .where(open_q.project_id == project_id, open_q.status.in_(OPEN_STATUSES))
        .group_by(open_q.category)
    ).all()
    return ProjectState(
        sums={cat: float(total or 0.0) for cat, total, _, _ in rows},
        unprobed_vague={cat: int(due or 0) for cat, _, due, _ in rows if due},
        out_of_scope=frozenset(cat for cat, _, _, scoped in rows if scoped),
        open_questions={cat: int(n) for cat, n in counts},
        set_aside=_set_aside(orm, project_id) if set_aside else frozenset(),
    )


def state_of(items: list[models.SpecItem], open_questions: list[OpenQuestionView]) -> ProjectState:
    """The :class:`ProjectState` (less ``set_aside``) of current ``items`` and still-open questions
    already loaded: what :func:`load_state` counts, without its queries."""
    sums: dict[str, float] = {}
    due: dict[str, int] = {}
    for item in items:
        sums[item.category] = sums.get(item.category, 0.0) + contribution(item.category, item.confidence)
        if item.probe_state == "due":
            due[item.category] = due.get(item.category, 0) + 1
    counts: dict[str, int] = {}
    for q in open_questions:
        counts[q.category] = counts.get(q.category, 0) + 1
    return ProjectState(sums=sums, unprobed_vague=due, open_questions=counts,
                        out_of_scope=frozenset(i.category for i in items if i.key.endswith(".scope")))


SET_ASIDE_AFTER = 2
"""Non-answers in a row to a category's questions after which the session moves on."""


def _set_aside(orm: OrmSession, project_id: uuid.UUID) -> frozenset[str]:
    """Categories whose last :data:`SET_ASIDE_AFTER` answered questions (not follow-ups) got non-answers."""
    q = models.Question
    rows = orm.execute(
        select(q.category, q.status)
        .where(q.project_id == project_id, q.probe_depth == 0, q.status.in_(("answered", "unanswered")))
        .order_by(q.asked_at.desc(), q.seq.desc())
    ).all()
    recent: dict[str, list[str]] = {}
    for category, status in rows:
        recent.setdefault(category, [])
        if len(recent[category]) < SET_ASIDE_AFTER:
            recent[category].append(status)
    return frozenset(c for c, last in recent.items() if last == ["unanswered"] * SET_ASIDE_AFTER)


def open_conflict_counts(orm: OrmSession, project_id: uuid.UUID) -> dict[str, int]:
    """Number of open conflicts per severity (one indexed aggregate query)."""
    rows = orm.execute(
        select(models.Conflict.severity, func.count())
        .where(models.Conflict.project_id == project_id, models.Conflict.status == "open")
        .group_by(models.Conflict.severity)
    ).all()
    return {severity: int(n) for severity, n in rows}


def project_maturity(orm: OrmSession, project: models.Project, state: ProjectState | None = None) -> Maturity:
    """The project's maturity by the one formula (coverage less open-conflict penalties)."""
    return maturity_of(project.template, state if state is not None else load_state(orm, project.id),
                       open_conflict_counts(orm, project.id))


def maturity_of(template: str, state: ProjectState, open_conflicts: dict[str, int]) -> Maturity:
    """:func:`compute_maturity` of a project in ``state``."""
    return compute_maturity(
        get_template(template), state.sums, open_conflicts, open_questions=state.open_questions,
        unprobed_vague=state.unprobed_vague, out_of_scope=state.out_of_scope,
    )


LLM_CONTEXT_ITEMS = 40
"""How many of the newest current items an LLM engine is shown."""


def engine_context(
    orm: OrmSession, project: models.Project, session_id: uuid.UUID, with_items: bool = False,
    state: ProjectState | None = None,
) -> EngineContext:
    """What the engine may know: template, coverage, questions already asked (less reopened ones),
    categories closed for now, the session's last answers (and, ``with_items``, the newest
    current items as ``(key, text)``)."""
    state = state if state is not None else load_state(orm, project.id)
    reopened = (
        select(models.OpenQuestion.key)
        .where(models.OpenQuestion.project_id == project.id, models.OpenQuestion.status == "reopened")
    )
    asked = orm.scalars(
        select(models.Question.bank_key)
        .where(models.Question.project_id == project.id, models.Question.bank_key.not_in(reopened))
    ).all()
    recent = orm.scalars(
        select(models.Answer.text).where(models.Answer.session_id == session_id).order_by(models.Answer.seq.desc()).limit(3)
    ).all()
    return EngineContext(
        template=get_template(project.template),
        confidence_sums=state.sums,
        asked_keys=frozenset(asked),
        closed=state.closed,
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
