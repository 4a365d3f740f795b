"""Specifications: current items with their sources, open conflicts, maturity, gaps; conflict resolution."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session as OrmSession

from socrates_nb.cache import ReadCache
from socrates_nb.categories import CATEGORIES, CATEGORY_INFO
from socrates_nb.errors import ConflictError, NotFoundError, ValidationError
from socrates_nb.security import audit
from socrates_nb.security.audit import Event
from socrates_nb.quality.maturity import Maturity
from socrates_nb.services.access import owned_project
from socrates_nb.services.criteria import is_criteria_key
from socrates_nb.services.state import OPEN_STATUSES, close_conflicts_of, maturity_of, state_of
from socrates_nb.services.validation import MAX_ANSWER_CHARS, clean_text, parse_uuid, shown
from socrates_nb.services.views import Actor, ConflictView, ItemView, OpenQuestionView, ProjectView, SpecView
from socrates_nb.storage import models
from socrates_nb.storage.db import Database
from socrates_nb.storage.models import format_ref, utcnow

RESOLUTIONS = ("keep_a", "keep_b", "merge", "dismiss")
CONFLICT_STATUSES = ("open", "resolved", "dismissed")
OPEN_QUESTION_STATUSES = ("open", "reopened", "resolved")


def describe_gaps(maturity: Maturity) -> tuple[str, ...]:
    """One actionable line per category that is not yet covered, e.g. ``Performance (40% covered): give ...``."""
    return tuple(
        f"{CATEGORY_INFO[c].label} ({round(maturity.coverage[c] * 100)}% covered): {CATEGORY_INFO[c].gap_hint}"
        for c in maturity.gaps()
    )


class SpecService:
    """The specification of a project, and resolution of its conflicts."""

    def __init__(self, db: Database, cache: ReadCache) -> None:
        self.db = db
        self.cache = cache

    def specification(self, actor: Actor, project_ref: str | uuid.UUID) -> SpecView:
        """Current items (with the question and answer each came from), open conflicts, maturity, gaps."""
        return self.cache.get_or_load((actor.id, "spec", str(project_ref)), lambda: self._load(actor, project_ref))

    def _load(self, actor: Actor, project_ref: str | uuid.UUID) -> SpecView:
        with self.db.read() as orm:
            project = owned_project(orm, actor, project_ref)
            rows = orm.execute(
                select(models.SpecItem, models.Question.text, models.Answer.text, models.Question.why, models.Answer.seq)
                .outerjoin(models.Answer, models.SpecItem.answer_id == models.Answer.id)
                .outerjoin(models.Question, models.Answer.question_id == models.Question.id)
                .where(models.SpecItem.project_id == project.id, models.SpecItem.is_current.is_(True))
            ).all()
            rank = {c: i for i, c in enumerate(CATEGORIES)}
            open_questions = _open_question_views(orm, project.id, OPEN_STATUSES)
            state = state_of([row[0] for row in rows], open_questions)
            earlier = _earlier_sources(orm, [a for row in rows for a in row[0].restated_from])
            items = sorted(
                (ItemView.of(*row, restated=tuple(earlier[a] for a in row[0].restated_from if a in earlier))
                 for row in rows),
                # by number, not text: FR-1000 comes after FR-999
                key=lambda i: (rank[i.category], i.ref.rsplit("-", 1)[0], int(i.ref.rsplit("-", 1)[1])),
            )
            conflicts = _conflict_views(orm, project.id, "open")
            severities = Counter(c.severity for c in conflicts)  # open conflicts are loaded already
            maturity = maturity_of(project.template, state, dict(severities))
            return SpecView(ProjectView.of(project), tuple(items), tuple(conflicts), maturity, describe_gaps(maturity),
                            tuple(open_questions))

    def open_questions(
        self, actor: Actor, project_ref: str | uuid.UUID, status: str | None = None
    ) -> list[OpenQuestionView]:
        """The project's open questions (non-answers kept as gaps): still open ones by default
        (``open`` and ``reopened``), or those of one ``status``, oldest first."""
        if status is not None and status not in OPEN_QUESTION_STATUSES:
            raise ValidationError(
                f"unknown open-question status {shown(status)}; valid: {', '.join(OPEN_QUESTION_STATUSES)}"
            )
        with self.db.read() as orm:
            project = owned_project(orm, actor, project_ref)
            return _open_question_views(orm, project.id, (status,) if status else OPEN_STATUSES)

    def reopen(self, actor: Actor, open_question_id: str | uuid.UUID) -> OpenQuestionView:
        """Ask an open question again: its question may be asked in the project's next sessions
        (it was set aside after the non-answer); a capability's missing criteria are asked about
        again. Reopening a reopened or resolved one is an error."""
        oid = parse_uuid(open_question_id, "open question")

        def work(orm: OrmSession) -> OpenQuestionView:
            row = _lock_open(orm, actor, models.OpenQuestion, oid, open_question_id, "open question")
            row.status = "reopened"
            about = row.item_id if is_criteria_key(row.key) else None
            capability = orm.get(models.SpecItem, about) if about is not None else None
            if capability is not None and capability.is_current:
                capability.probe_state = "criteria_due"
            orm.flush()
            audit.add(orm, Event("open_question.reopen", actor.id, "open_question", row.id))
            return OpenQuestionView.of(row)

        view = self.db.run_write(work)
        self.cache.invalidate(actor.id, "spec")
        return view

    def conflicts(self, actor: Actor, project_ref: str | uuid.UUID, status: str | None = "open") -> list[ConflictView]:
        """The project's conflicts, optionally of one status."""
        if status is not None and status not in CONFLICT_STATUSES:
            raise ValidationError(f"unknown conflict status {shown(status)}; valid: {', '.join(CONFLICT_STATUSES)}")
        with self.db.read() as orm:
            project = owned_project(orm, actor, project_ref)
            return _conflict_views(orm, project.id, status)

    def resolve(
        self, actor: Actor, conflict_id: str | uuid.UUID, resolution: str, text: str | None = None
    ) -> ConflictView:
        """Resolve an open conflict.

        ``keep_a``/``keep_b`` supersede the other item; ``merge`` adds a new item with
        ``text`` that supersedes both; ``dismiss`` leaves both items standing.
        """
        if resolution not in RESOLUTIONS:
            raise ValidationError(f"unknown resolution {shown(resolution)}; valid: {', '.join(RESOLUTIONS)}")
        if resolution == "merge" and (text is None or (isinstance(text, str) and not text.strip())):
            raise ValidationError("a merge needs text: the merged requirement that replaces both items")
        merged_text = clean_text(text, "text", MAX_ANSWER_CHARS) if resolution == "merge" else None
        cid = parse_uuid(conflict_id, "conflict")

        def work(orm: OrmSession) -> ConflictView:
            row = _lock_open(orm, actor, models.Conflict, cid, conflict_id, "conflict")
            a, b = orm.get_one(models.SpecItem, row.item_a_id), orm.get_one(models.SpecItem, row.item_b_id)
            if not (a.is_current and b.is_current):  # pragma: no cover - such conflicts are closed when it happens
                raise ConflictError(f"conflict {row.id} names an item that was replaced; it is moot")
            if resolution == "keep_a":
                _supersede(b, a)
            elif resolution == "keep_b":
                _supersede(a, b)
            elif resolution == "merge":
                merged = _merged_item(orm, a, b, merged_text or "")
                _supersede(a, merged)
                _supersede(b, merged)
            close_conflicts_of(orm, row.project_id, {i.id for i in (a, b) if not i.is_current}, keep=row.id)
            row.status = "dismissed" if resolution == "dismiss" else "resolved"
            row.resolution = resolution
            row.resolution_text = merged_text
            row.resolved_at = utcnow()
            orm.flush()
            audit.add(orm, Event("conflict.resolve", actor.id, "conflict", row.id, {"resolution": resolution}))
            return ConflictView.of(row, {a.id: a.ref, b.id: b.ref})

        view = self.db.run_write(work)
        self.cache.invalidate(actor.id, "spec")
        self.cache.invalidate(actor.id, "project")
        return view


_Row = TypeVar("_Row", models.Conflict, models.OpenQuestion)


def _lock_open(orm: OrmSession, actor: Actor, model: type[_Row], row_id: uuid.UUID, given: object, what: str) -> _Row:
    """The ``model`` row ``row_id`` of one of the actor's projects, locked with its project and still open.

    Locked (PostgreSQL) so that two concurrent changes cannot both see it open: the second
    waits, then reads it changed (ConflictError). Another user's row is not found.
    """
    row = orm.scalar(
        select(model)
        .join(models.Project, model.project_id == models.Project.id)
        .where(model.id == row_id, models.Project.user_id == actor.id)
        .with_for_update(of=model)
    )
    if row is None:
        raise NotFoundError(f"{what} {shown(str(given))} not found")
    owned_project(orm, actor, row.project_id, lock=True)
    if row.status != "open":
        raise ConflictError(f"{what} {row.id} is already {row.status}")
    return row


def _supersede(old: models.SpecItem, new: models.SpecItem) -> None:
    old.is_current = False
    old.superseded_by = new.id


def _merged_item(orm: OrmSession, a: models.SpecItem, b: models.SpecItem, text: str) -> models.SpecItem:
    top = orm.scalar(
        select(models.SpecItem.ref_seq)
        .where(models.SpecItem.project_id == a.project_id, models.SpecItem.ref_prefix == a.ref_prefix)
        .order_by(models.SpecItem.ref_seq.desc())
        .limit(1)
    )
    item = models.SpecItem(
        id=uuid.uuid4(), project_id=a.project_id, answer_id=None, ref_prefix=a.ref_prefix, ref_seq=(top or 0) + 1,
        category=a.category, key=a.key, value={"text": text, "merged_from": [a.ref, b.ref]}, text=text,
        confidence=max(a.confidence, b.confidence), findings=[], is_current=True,
    )
    orm.add(item)
    orm.flush()
    return item


def _earlier_sources(orm: OrmSession, answer_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The question, answer and turn of each earlier answer a current item restates (one query, also for none:
    a specification takes the same statements whatever its history)."""
    ids = {uuid.UUID(a) for a in answer_ids}
    rows = orm.execute(
        select(models.Answer.id, models.Question.text, models.Answer.text, models.Answer.seq)
        .outerjoin(models.Question, models.Answer.question_id == models.Question.id)
        .where(models.Answer.id.in_(ids))
    )
    return {str(r[0]): {"question": r[1], "answer": r[2], "turn": r[3]} for r in rows}


def _open_question_views(orm: OrmSession, project_id: uuid.UUID, statuses: tuple[str, ...]) -> list[OpenQuestionView]:
    """Open questions of ``statuses`` in a stable order: by category, then as they were recorded."""
    rank = {c: i for i, c in enumerate(CATEGORIES)}
    rows = orm.scalars(
        select(models.OpenQuestion)
        .where(models.OpenQuestion.project_id == project_id, models.OpenQuestion.status.in_(statuses))
    ).all()
    return [OpenQuestionView.of(row) for row in sorted(
        rows, key=lambda r: (rank.get(r.category, len(rank)), r.created_at, r.key, r.answer))]


_PREFIX_RANK = {CATEGORY_INFO[c].ref_prefix: i for i, c in enumerate(CATEGORIES)}


def _conflict_views(orm: OrmSession, project_id: uuid.UUID, status: str | None) -> list[ConflictView]:
    """The project's conflicts in a stable order: by category, then by their newer and older item.

    Not by creation time: the conflicts of one answer share their timestamp to the
    microsecond, and exports must not depend on the random ids that would break the tie.
    """
    query = select(models.Conflict).where(models.Conflict.project_id == project_id)
    if status is not None:
        query = query.where(models.Conflict.status == status)
    rows = orm.scalars(query).all()
    if not rows:
        return []
    ids = {r.item_a_id for r in rows} | {r.item_b_id for r in rows}
    item = models.SpecItem
    keys = {i: (p, s) for i, p, s in orm.execute(select(item.id, item.ref_prefix, item.ref_seq).where(item.id.in_(ids)))}
    refs = {i: format_ref(p, s) for i, (p, s) in keys.items()}

    def order(r: models.Conflict) -> tuple[int, str, int, int]:
        prefix, b_seq = keys[r.item_b_id]
        return (_PREFIX_RANK.get(prefix, len(_PREFIX_RANK)), prefix, b_seq, keys[r.item_a_id][1])

    return [ConflictView.of(r, refs) for r in sorted(rows, key=order)]
