"""The write phase of an answer turn, step by step (each step one function, run in the turn's transaction).

1. :func:`record_answer`: the answer row; the pending question becomes ``answered`` or,
   when the answer gave no item, ``unanswered``.
2. :func:`store_items`: new items with stable refs; restatements supersede (the new item keeps
   the earlier answers as sources); conflicts are recorded (bounded). The first item of an
   answer to a follow-up replaces the probed item. :func:`attach_criteria`: a reply to a
   criteria follow-up adds acceptance criteria to the capabilities it asked about.
3. :func:`record_gaps`: non-answers become open questions. A non-answer to a follow-up keeps
   the probed item current, marked ``still_vague``.
4. :func:`mark_probe_states`: which new items are vague and wait for a follow-up (``due``),
   which are capabilities waiting for their criteria (``criteria_due``).
5. :func:`next_probe`: the oldest current item waiting for a follow-up, and its question:
   every vague item of an answer is followed up in turn, at most
   :data:`~socrates_nb.engine.offline.probing.MAX_PROBES` times along its chain; then the
   capabilities of the oldest answer still waiting get one criteria follow-up
   (:mod:`socrates_nb.services.criteria`).
6. :func:`ask`: the next question's row.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session as OrmSession

from socrates_nb.categories import CATEGORY_INFO
from socrates_nb.engine.base import Engine, EngineContext, ItemDraft, QuestionDraft
from socrates_nb.engine.offline.bank import is_depth_question
from socrates_nb.quality.conflicts import MAX_CONFLICTS_PER_ITEM, MAX_CONFLICTS_PER_TURN, Candidate, Verdict, detect
from socrates_nb.quality.maturity import CAPABILITY_CATEGORIES
from socrates_nb.services import criteria
from socrates_nb.services.state import close_conflicts_of
from socrates_nb.services.triage import Gap, Triage, is_scope_item
from socrates_nb.services.views import ConflictView, QuestionView
from socrates_nb.storage import models
from socrates_nb.storage.models import utcnow

STILL_VAGUE = {
    "rule": "still-vague", "severity": "warning",
    "message": "a follow-up asked to make this measurable and got no answer; see the open questions",
}
"""The finding a probed item gets when its follow-up is answered with a non-answer."""


def record_answer(
    orm: OrmSession, session: models.Session, pending: models.Question | None, text: str, found: Triage
) -> models.Answer:
    """Step 1: the answer row (next ``seq``); the pending question's new status."""
    session.answer_count += 1
    answer = models.Answer(id=uuid.uuid4(), session_id=session.id, question_id=pending.id if pending else None,
                           seq=session.answer_count, text=text)
    orm.add(answer)
    if pending is not None:
        pending.status = "unanswered" if found.unanswered else "answered"
    return answer


def probed_item(orm: OrmSession, question: models.Question | None) -> models.SpecItem | None:
    """The still-current item ``question`` follows up (asks to make measurable), if any."""
    if question is None or question.probe_item_id is None or criteria.is_criteria_key(question.bank_key):
        return None
    probed = orm.get(models.SpecItem, question.probe_item_id)
    return probed if probed is not None and probed.is_current else None


CONFLICT_POOL = 200
"""How many of the newest current items, project-wide and in the answer's categories, a new item meets."""


@dataclass(frozen=True)
class Stored:
    items: list[models.SpecItem]
    conflicts: list[ConflictView]
    omitted: int
    """Contradicting pairs found past the per-item and per-turn bounds, counted, not recorded."""


def store_items(
    orm: OrmSession, project_id: uuid.UUID, answer: models.Answer, drafts: list[ItemDraft],
    replacing: models.SpecItem | None = None,
) -> Stored:
    """Step 2: insert the drafts with stable refs; supersede restatements; record conflicts (bounded).

    ``replacing`` (the item a follow-up probed) leaves the current set before the new items
    are compared, so they neither conflict with nor restate it; the first new item replaces it.
    """
    if not drafts:
        return Stored([], [], 0)
    if replacing is not None:
        replacing.is_current = False
    pool = _conflict_pool(orm, project_id, {d.category for d in drafts})
    items = _insert(orm, project_id, answer, drafts)
    if replacing is not None:
        replacing.superseded_by = items[0].id
        close_conflicts_of(orm, project_id, {replacing.id})
    contradictions: list[tuple[Candidate, Verdict, models.SpecItem]] = []
    replaced: set[uuid.UUID] = set()
    rows: dict[uuid.UUID, models.SpecItem] = {}
    for new_item in items:
        new = Candidate.of(new_item)
        for cand, verdict in detect(new, [c for c in pool.values() if c.id not in replaced]):
            if verdict.kind == "restatement":
                old = rows.get(cand.id) or orm.get_one(models.SpecItem, cand.id)
                old.is_current = False
                old.superseded_by = new_item.id
                earlier = [*old.restated_from, *([str(old.answer_id)] if old.answer_id else [])]
                new_item.restated_from = [a for a in dict.fromkeys([*new_item.restated_from, *earlier])
                                          if a != str(new_item.answer_id)]
                replaced.add(old.id)
            elif verdict.kind == "conflict":
                contradictions.append((cand, verdict, new_item))
        rows[new_item.id] = new_item
        pool[new_item.id] = new
    # Conflicts about a restated (replaced) item are moot, earlier ones and this turn's alike.
    close_conflicts_of(orm, project_id, replaced)
    conflicts, omitted = _record_conflicts(orm, project_id, contradictions, replaced, rows)
    return Stored(items, conflicts, omitted)


def _conflict_pool(orm: OrmSession, project_id: uuid.UUID, categories: set[str]) -> dict[uuid.UUID, Candidate]:
    # Numeric, value and restatement rules need the same category (keys are
    # "<category>.<slug>"); exclusive and polarity conflicts cross categories. So each new
    # item meets the newest current items of its categories and of the whole project.
    item = models.SpecItem
    current = (
        select(item.id, item.key, item.category, item.text, item.value)
        .where(item.project_id == project_id, item.is_current.is_(True))
        .order_by(item.created_at.desc(), item.ref_prefix, item.ref_seq.desc())
        .limit(CONFLICT_POOL)
    )
    pool: dict[uuid.UUID, Candidate] = {}
    for query in (current, current.where(item.category.in_(categories))):
        for row in orm.execute(query):
            pool.setdefault(row.id, Candidate(id=row.id, key=row.key, category=row.category, text=row.text,
                                              value=row.value or {}))
    return pool


def _insert(orm: OrmSession, project_id: uuid.UUID, answer: models.Answer, drafts: list[ItemDraft]) -> list[models.SpecItem]:
    """Insert every new item first: the supersede links and conflicts point at them, and the
    unit of work does not order those rows after the items by itself."""
    prefixes = {CATEGORY_INFO[d.category].ref_prefix for d in drafts}
    next_seq: defaultdict[str, int] = defaultdict(int)
    for prefix, top in orm.execute(
        select(models.SpecItem.ref_prefix, func.max(models.SpecItem.ref_seq))
        .where(models.SpecItem.project_id == project_id, models.SpecItem.ref_prefix.in_(prefixes))
        .group_by(models.SpecItem.ref_prefix)
    ):
        next_seq[prefix] = top
    items: list[models.SpecItem] = []
    for draft in drafts:
        prefix = CATEGORY_INFO[draft.category].ref_prefix
        next_seq[prefix] += 1
        items.append(models.SpecItem(
            id=uuid.uuid4(), project_id=project_id, answer_id=answer.id, ref_prefix=prefix,
            ref_seq=next_seq[prefix], category=draft.category, key=draft.key, value=draft.value,
            text=draft.text, confidence=draft.confidence, findings=draft.findings, is_current=True,
        ))
    orm.add_all(items)
    orm.flush()
    return items


def _record_conflicts(
    orm: OrmSession, project_id: uuid.UUID, contradictions: list[tuple[Candidate, Verdict, models.SpecItem]],
    replaced: set[uuid.UUID], rows: dict[uuid.UUID, models.SpecItem],
) -> tuple[list[ConflictView], int]:
    """Of the live contradictions, the first few per new item (the newest items first) and per
    turn are recorded; the rest are only counted."""
    kept: list[tuple[models.Conflict, models.SpecItem, models.SpecItem]] = []
    per_item: Counter[uuid.UUID] = Counter()
    omitted = 0
    for cand, verdict, new_item in contradictions:
        if cand.id in replaced or new_item.id in replaced:
            continue
        if per_item[new_item.id] == MAX_CONFLICTS_PER_ITEM or len(kept) == MAX_CONFLICTS_PER_TURN:
            omitted += 1
            continue
        per_item[new_item.id] += 1
        old = rows.get(cand.id) or orm.get_one(models.SpecItem, cand.id)
        row = models.Conflict(
            id=uuid.uuid4(), project_id=project_id, type=verdict.type, severity=verdict.severity,
            item_a_id=old.id, item_b_id=new_item.id, explanation=verdict.explanation, status="open",
        )
        orm.add(row)
        kept.append((row, old, new_item))
    kept.sort(key=lambda f: (f[2].ref_prefix, f[2].ref_seq, f[1].ref_prefix, f[1].ref_seq))
    return [ConflictView.of(row, {old.id: old.ref, new.id: new.ref}) for row, old, new in kept], omitted


def record_gaps(
    orm: OrmSession, session: models.Session, pending: models.Question | None, answer: models.Answer,
    gaps: list[Gap], probed: models.SpecItem | None, about: models.SpecItem | None = None,
) -> list[models.OpenQuestion]:
    """Step 3: one open question per gap. ``probed``: the item a follow-up asked about that got a
    non-answer: it stays current, marked ``still_vague`` with a finding saying so; the open
    question takes its key. ``about``: the item the open questions concern without being vague
    (a capability's missing criteria; the open question keeps the follow-up's key)."""
    subject = probed or about
    rows = [
        models.OpenQuestion(
            id=uuid.uuid4(), project_id=session.project_id, session_id=session.id,
            question_id=pending.id if pending else None, answer_id=answer.id,
            item_id=subject.id if subject is not None else None, category=gap.category,
            key=probed.key if probed is not None else gap.key, question=pending.text if pending else "",
            answer=gap.text, status="open",
        )
        for gap in gaps
    ]
    orm.add_all(rows)
    if probed is not None and rows:
        probed.probe_state = "still_vague"
        probed.findings = [*(f for f in probed.findings or () if f.get("rule") != STILL_VAGUE["rule"]), STILL_VAGUE]
    return rows


def resolve_reopened(orm: OrmSession, project_id: uuid.UUID, key: str) -> None:
    """A reopened open question about ``key`` that now got a real answer (items or criteria) is resolved (one statement)."""
    orm.execute(
        update(models.OpenQuestion)
        .where(models.OpenQuestion.project_id == project_id, models.OpenQuestion.key == key,
               models.OpenQuestion.status == "reopened")
        .values(status="resolved", resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def mark_probe_states(
    engine: Engine, ctx: EngineContext, items: list[models.SpecItem], drafts: list[ItemDraft], attempt: int,
    question: models.Question | None = None,
) -> None:
    """Step 4: ``due`` for a new item the engine would follow up (``attempt`` follow-ups were made
    along its chain); ``still_vague`` for a vague one past the follow-up limit; ``criteria_due``
    for a precise capability (a functional item, not a scope decision), unless ``question`` (the
    one answered) already asked for depth: a business rule or an edge case is its own criterion;
    else ``none``."""
    wants_criteria = not is_depth_question(question.bank_key if question is not None else None)
    for item, draft in zip(items, drafts):
        if engine.probe(ctx, draft, attempt) is not None:
            item.probe_state = "due"
        elif attempt and engine.probe(ctx, draft, 0) is not None:
            item.probe_state = "still_vague"
        elif (wants_criteria and item.category in CAPABILITY_CATEGORIES and not is_scope_item(item.key)
              and not item.criteria):
            item.probe_state = "criteria_due"


def criteria_items(orm: OrmSession, question: models.Question | None) -> list[models.SpecItem]:
    """The still-current capabilities a criteria follow-up ``question`` asked about, in its order."""
    if question is None or question.probe_item_id is None or not criteria.is_criteria_key(question.bank_key):
        return []
    first = orm.get(models.SpecItem, question.probe_item_id)
    if first is None or first.answer_id is None:
        return [first] if first is not None and first.is_current and first.probe_state == "criteria_asked" else []
    item = models.SpecItem
    return list(orm.scalars(
        select(item)
        .where(item.project_id == first.project_id, item.answer_id == first.answer_id,
               item.probe_state == "criteria_asked", item.is_current.is_(True))
        .order_by(item.ref_prefix, item.ref_seq)
    ))


def attach_criteria(asked: list[models.SpecItem], statements: list[str]) -> list[tuple[str, str]]:
    """Each statement of a criteria reply to the capability it concerns
    (:func:`~socrates_nb.services.criteria.assign`); every asked capability is done (``none``).
    Returns (capability ref, criterion) pairs in the capabilities' order."""
    added: list[tuple[str, str]] = []
    if asked and statements:
        for item, given in zip(asked, criteria.assign(statements, [i.text for i in asked])):
            if given:
                item.criteria = [*item.criteria, *given]
                added += [(item.ref, c) for c in given]
    for item in asked:
        item.probe_state = "none"
    return added


@dataclass(frozen=True)
class Probe:
    item: models.SpecItem
    question: QuestionDraft
    depth: int
    """The follow-up's place along the item's chain (1 or 2)."""


def next_probe(orm: OrmSession, engine: Engine, ctx: EngineContext, project_id: uuid.UUID) -> Probe | None:
    """Step 5: the follow-up for the oldest current item waiting for one (marked ``asked``), if any."""
    item, question, answer = models.SpecItem, models.Question, models.Answer
    rows = orm.execute(
        select(item, question.probe_depth)
        .outerjoin(answer, item.answer_id == answer.id)
        .outerjoin(question, answer.question_id == question.id)
        .where(item.project_id == project_id, item.is_current.is_(True), item.probe_state == "due")
        .order_by(item.created_at, item.ref_prefix, item.ref_seq)
        .limit(5)
    ).all()
    for row, depth in rows:
        attempt = depth or 0
        draft = ItemDraft(category=row.category, key=row.key, value=dict(row.value), text=row.text,
                          confidence=row.confidence, findings=list(row.findings or ()))
        found = engine.probe(ctx, draft, attempt)
        row.probe_state = "asked" if found is not None else "still_vague"
        if found is not None:
            return Probe(row, found, attempt + 1)
    return _criteria_probe(orm, project_id)


def _criteria_probe(orm: OrmSession, project_id: uuid.UUID) -> Probe | None:
    """One criteria follow-up for the first :data:`~socrates_nb.services.criteria.MAX_LISTED`
    capabilities of the oldest answer that has some waiting (the rest wait for the next one)."""
    item = models.SpecItem
    waiting = select(item).where(item.project_id == project_id, item.is_current.is_(True),
                                 item.probe_state == "criteria_due")
    first = orm.scalars(waiting.order_by(item.created_at, item.ref_prefix, item.ref_seq).limit(1)).first()
    if first is None:
        return None
    listed = list(orm.scalars(waiting.where(item.answer_id == first.answer_id)
                              .order_by(item.ref_prefix, item.ref_seq).limit(criteria.MAX_LISTED))
                  ) if first.answer_id is not None else [first]
    for row in listed:
        row.probe_state = "criteria_asked"
    return Probe(listed[0], criteria.criteria_question(listed[0].key, [i.text for i in listed]), 1)


def ask(
    orm: OrmSession, session: models.Session, draft: QuestionDraft | None, probe: Probe | None = None,
) -> QuestionView | None:
    """Step 6: store ``draft`` (or ``probe``'s question) as the session's pending question."""
    if probe is not None:
        draft = probe.question
    if draft is None:
        return None
    session.question_count += 1
    row = models.Question(
        id=uuid.uuid4(), session_id=session.id, project_id=session.project_id, seq=session.question_count,
        bank_key=draft.key, category=draft.category, text=draft.text, why=draft.why, status="pending",
        probe_item_id=probe.item.id if probe is not None else None, probe_depth=probe.depth if probe else 0,
    )
    orm.add(row)
    orm.flush()
    return QuestionView.of(row)
