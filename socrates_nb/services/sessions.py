"""Sessions: start, ask, answer, skip, complete. One answer is one atomic turn."""

from __future__ import annotations

import multiprocessing
import time
import uuid
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor
from dataclasses import dataclass, replace
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session as OrmSession

from socrates_nb.cache import ReadCache
from socrates_nb import metrics
from socrates_nb.engine.base import (
    MAX_ITEMS_PER_ANSWER, Engine, EngineContext, ItemDraft, QuestionDraft, check_item_count, get_engine,
)
from socrates_nb.engine.llm.engine import LlmCall, LlmEngine
from socrates_nb.engine.offline.engine import OfflineEngine, warm_up
from socrates_nb.engine.offline.extraction import extract_items, split_statements
from socrates_nb.engine.llm.settings import (
    KEY_ENV, LOCAL_KEY, LlmSettings, check_base_url, check_engine, check_model, env_key,
)
from socrates_nb.errors import ConflictError, ValidationError
from socrates_nb.logs import get_logger
from socrates_nb.security import audit
from socrates_nb.security.audit import Event
from socrates_nb.services.access import owned_project, owned_session
from socrates_nb.services import turn
from socrates_nb.services.state import (
    LLM_CONTEXT_ITEMS, ProjectState, engine_context, load_state, maturity_of, open_conflict_counts, project_maturity,
)
from socrates_nb.services.criteria import is_criteria_question
from socrates_nb.services.triage import Triage, answer_verdict, criteria_triage, triage
from socrates_nb.services.usage import store_calls
from socrates_nb.services.validation import answer_text, parse_uuid
from socrates_nb.services.views import (
    Actor,
    ItemView,
    OpenQuestionView,
    QuestionView,
    SessionProgressView,
    SessionView,
    TurnView,
)
from socrates_nb.storage import models
from socrates_nb.storage.db import Database
from socrates_nb.storage.models import utcnow


_log = get_logger(__name__)


def extraction_pool(processes: int) -> Executor | None:
    """``processes`` worker processes (spawned, not forked from a threaded server) with the
    offline engine's data loaded, started now rather than in the first answer; None for 0."""
    if processes <= 0:
        return None
    pool = ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context("spawn"),
                               initializer=warm_up)
    pool.submit(int)  # starts the workers
    return pool


def count_active_sessions(db: Database) -> int:
    """Sessions of every user still open (the ``socrates_nb_active_sessions`` gauge)."""
    with db.read_rows(single_statement=True) as conn:
        return conn.scalar(select(func.count()).select_from(models.Session).where(models.Session.status == "active")) or 0


KeyLookup = Callable[[Actor, str], "str | None"]
"""The actor's stored API key of a provider (``ApiKeyService.secret``)."""


@dataclass(frozen=True)
class _EngineSpec:
    name: str
    model: str | None
    base_url: str | None


@dataclass(frozen=True)
class _Prepared:
    """What a turn's first (read) transaction loads for the engine's extraction."""

    spec: _EngineSpec
    ctx: EngineContext
    question: QuestionDraft | None
    pending_id: uuid.UUID | None
    project_id: uuid.UUID
    session_id: uuid.UUID


_EXTRACTION_ATTEMPTS = 3
"""How often an offline turn extracts again, with no transaction open, when other answers
keep reaching its session; after that it extracts inside its write transaction."""


@dataclass(frozen=True)
class _Moved:
    """The pending question changed while the engine extracted: the turn stored nothing."""


@dataclass(frozen=True)
class _Extracted:
    """The answer to ``pending_id`` triaged (the engine's items, open questions), made with no transaction open."""

    engine: Engine
    pending_id: uuid.UUID | None
    found: Triage
    calls: list[LlmCall]
    ctx: EngineContext
    """What the engine was told: the probes and (LLM engines) the next question's wording start from it."""


class SessionService:
    """Ownership-checked session operations; every write is one transaction.

    No turn holds a transaction while its engine extracts items: a turn reads what the
    engine needs (a read transaction), extracts with no connection held (the offline rules
    or the model), then stores the result in one write transaction. If another answer
    reached the session in between, an offline turn extracts again for the new pending
    question; an LLM turn is refused with ConflictError (the model's calls are not repeated). The next question is chosen and stored in that transaction in the bank's
    wording; the model's wording replaces it right after (a short second transaction).
    """

    def __init__(
        self, db: Database, cache: ReadCache, keys: KeyLookup | None = None, llm: LlmSettings | None = None,
        allowed_base_urls: frozenset[str] | None = None, env_keys: bool = True,
        extraction_pool: Executor | None = None,
    ) -> None:
        self.db = db
        self.cache = cache
        self.keys = keys
        self.llm = llm if llm is not None else LlmSettings.from_env()
        self.allowed_base_urls = allowed_base_urls
        self.env_keys = env_keys  # whether the vendors' variables serve users without a stored key
        self.extraction_pool = extraction_pool
        """Worker processes for the offline engine's extraction (a server's: CPU-bound rules
        there would hold the interpreter lock its IO loop needs); None extracts in the caller."""

    def warm_up(self) -> None:
        """Load the offline engine's data now (a server does this at start): see :func:`warm_up`."""
        warm_up()

    # --- reads -------------------------------------------------------------------------

    def get(self, actor: Actor, session_id: str | uuid.UUID) -> SessionView:
        """The actor's session."""
        with self.db.read() as orm:
            return SessionView.of(owned_session(orm, actor, session_id))

    def progress(self, actor: Actor, session_id: str | uuid.UUID) -> SessionProgressView:
        """The actor's session with its progress (answered, asked, skipped) and the project's maturity."""
        with self.db.read() as orm:
            row = owned_session(orm, actor, session_id)
            skipped = orm.scalar(
                select(func.count()).select_from(models.Question).where(
                    models.Question.session_id == row.id, models.Question.status == "skipped"
                )
            ) or 0
            return SessionProgressView(SessionView.of(row), skipped, project_maturity(orm, row.project))

    def current_question(self, actor: Actor, session_id: str | uuid.UUID) -> QuestionView | None:
        """The question waiting for an answer, or None when the session has nothing left to ask."""
        with self.db.read() as orm:
            row = owned_session(orm, actor, session_id)
            pending = _pending(orm, row.id)
            return QuestionView.of(pending) if pending else None

    # --- writes ------------------------------------------------------------------------

    def start(
        self, actor: Actor, project_ref: str | uuid.UUID, engine: str | None = None, model: str | None = None,
        base_url: str | None = None,
    ) -> tuple[SessionView, QuestionView | None]:
        """Open a new session on the actor's project and ask its first question.

        ``engine`` defaults to ``$SOCRATES_ENGINE`` (else offline); an LLM engine takes
        ``model`` and ``base_url`` (defaults from ``SOCRATES_<PROVIDER>_MODEL`` and
        ``_BASE_URL``) and needs an API key: the actor's stored one, else the vendor's
        variable (a ``base_url`` server may go without).
        """
        spec = self._spec(engine, model, base_url)
        chosen = self._engine(actor, spec)
        if isinstance(chosen, LlmEngine) and not chosen.has_provider:
            raise ValidationError(
                f"no API key for {spec.name}: store one (PUT api-keys/{spec.name}, or ws.set_api_key) "
                f"or set {KEY_ENV[spec.name]}"
            )

        def work(orm: OrmSession) -> tuple[SessionView, QuestionView | None, _Asked]:
            project = owned_project(orm, actor, project_ref, lock=True)
            row = models.Session(id=uuid.uuid4(), project_id=project.id, engine=spec.name, model=spec.model,
                                 base_url=spec.base_url)
            orm.add(row)
            orm.flush()
            ctx = engine_context(orm, project, row.id, with_items=isinstance(chosen, LlmEngine))
            due = chosen.next_question(ctx)
            question = turn.ask(orm, row, due)
            audit.add(orm, Event("session.start", actor.id, "session", row.id, {"project_id": project.id, "engine": spec.name}))
            return SessionView.of(row), question, _Asked(ctx, due, project.id)

        view, question, asked = self.db.run_write(work)
        question = self._phrase(actor, chosen, view.id, asked, question)
        self._invalidate(actor)
        return view, question

    def answer(
        self, actor: Actor, session_id: str | uuid.UUID, text: str, question_id: str | uuid.UUID | None = None
    ) -> TurnView:
        """Store an answer to the pending question and everything it produces, atomically.

        With ``question_id`` the answer is refused (ConflictError) if that question is no
        longer the pending one, e.g. because another process answered it first. Without
        it, the answer goes to whatever question is pending when the turn runs.

        The turn's phases: :meth:`_prepare` (read what the engine needs), :meth:`_triage`
        (non-answers and scope decisions, else the engine's extraction, with no transaction
        open), then :meth:`_store_turn` (one write transaction: the steps of
        :mod:`socrates_nb.services.turn`, then the next question).
        """
        text = answer_text(text)
        expected = parse_uuid(question_id, "question") if question_id is not None else None
        started = time.perf_counter()
        timings: dict[str, float] = {}
        asked: list[_Asked] = []
        for attempt in range(_EXTRACTION_ATTEMPTS + 1):
            if attempt == _EXTRACTION_ATTEMPTS:  # only offline turns get here; their extraction is bounded
                turn = self.db.run_write(
                    lambda orm: self._store_turn(orm, actor, session_id, expected, text, None, asked, timings))
                break
            needs = self._prepare(actor, session_id, expected)
            engine = self._engine(actor, needs.spec)
            at = time.perf_counter()
            extracted = self._triage(engine, needs, text)
            timings["extract_ms"] = _ms_since(at)
            turn = self.db.run_write(
                lambda orm: self._store_turn(orm, actor, session_id, expected, text, extracted, asked, timings))
            if isinstance(turn, TurnView):
                break
            if isinstance(engine, LlmEngine):
                calls = extracted.calls
                self.db.run_write(lambda orm: store_calls(orm, actor, needs.project_id, needs.session_id, calls))
                raise ConflictError(
                    "another answer reached this session while the model was reading yours; "
                    "reload the session and answer the current question"
                )
        if isinstance(engine, LlmEngine):
            if asked:
                at = time.perf_counter()
                turn = replace(turn, next_question=self._phrase(actor, engine, session_id, asked[0], turn.next_question))
                timings["phrase_ms"] = _ms_since(at)
            turn = replace(turn, engine_used=engine.engine_used, fallbacks=dict(engine.fallbacks))
        self._invalidate(actor)
        _announce_turn(turn, session_id, timings, _ms_since(started))
        return turn

    def _triage(self, engine: Engine, needs: _Prepared, text: str) -> _Extracted:
        """Phase 2, no transaction open: a non-answer or scope decision needs no engine; else the
        engine's drafts, each checked again for non-answers (both engines go through it)."""
        found = answer_verdict(needs.question, text)
        if found is None and is_criteria_question(needs.question):
            found = criteria_triage(needs.question, text)
        if found is not None:
            return _Extracted(engine, needs.pending_id, found, [], needs.ctx)
        if isinstance(engine, LlmEngine):  # before a model is paid; the offline rules check it themselves
            check_item_count(len(split_statements(text)))
        drafts = self._extract(engine, needs, text)[:MAX_ITEMS_PER_ANSWER]
        calls = engine.drain() if isinstance(engine, LlmEngine) else []
        return _Extracted(engine, needs.pending_id, triage(needs.question, text, drafts), calls, needs.ctx)

    def _store_turn(
        self, orm: OrmSession, actor: Actor, session_id: str | uuid.UUID, expected: uuid.UUID | None, text: str,
        extracted: _Extracted | None, asked: list[_Asked], timings: dict[str, float],
    ) -> TurnView | _Moved:
        """Phase 3, one write transaction: answer, items, open questions, probe states, next question."""
        session = owned_session(orm, actor, session_id, lock=True)
        project = owned_project(orm, actor, session.project_id, lock=True)
        _require_active(session)
        pending = _pending(orm, session.id)
        pending_id = pending.id if pending else None
        _check_expected(expected, pending_id)
        if extracted is None:  # an offline turn that kept losing the race extracts under the lock
            engine = get_engine(session.engine)
            needs = _Prepared(_EngineSpec(session.engine, None, None), engine_context(orm, project, session.id),
                              _draft_of(pending), pending_id, project.id, session.id)
            extracted = self._triage(engine, needs, text)
        elif extracted.pending_id != pending_id:
            return _Moved()
        engine, found = extracted.engine, extracted.found
        answer = turn.record_answer(orm, session, pending, text, found)
        probed = turn.probed_item(orm, pending)
        capabilities = turn.criteria_items(orm, pending)
        criteria = turn.attach_criteria(capabilities, found.criteria)
        stored = turn.store_items(orm, project.id, answer, found.items, replacing=probed if found.items else None)
        gaps = turn.record_gaps(orm, session, pending, answer, found.gaps, None if found.items else probed,
                                about=capabilities[0] if capabilities else None)
        if pending is not None and not found.unanswered:
            turn.resolve_reopened(orm, project.id, pending.bank_key)
        turn.mark_probe_states(engine, extracted.ctx, stored.items, found.items,
                               pending.probe_depth if pending is not None else 0, pending)
        orm.flush()
        at = time.perf_counter()
        probe = turn.next_probe(orm, engine, extracted.ctx, project.id)
        state = load_state(orm, project.id, set_aside=probe is None)
        maturity = maturity_of(project.template, state, open_conflict_counts(orm, project.id))
        if probe is not None:
            next_q = turn.ask(orm, session, None, probe)
        else:
            ctx = engine_context(orm, project, session.id, state=state)
            due = engine.next_question(ctx)
            next_q = turn.ask(orm, session, due)
            if isinstance(engine, LlmEngine):  # what the model knew, brought up to date by this turn
                after = replace(extracted.ctx, confidence_sums=state.sums, closed=state.closed,
                                recent_answers=(*extracted.ctx.recent_answers, text)[-3:],
                                items=(*((i.key, i.text) for i in reversed(stored.items)), *extracted.ctx.items)[:LLM_CONTEXT_ITEMS])
                asked[:] = [_Asked(after, due, project.id)]  # a retried transaction replaces the failed one's
        timings["question_ms"] = _ms_since(at)
        answer.maturity_after = maturity.score
        store_calls(orm, actor, project.id, session.id, extracted.calls)
        orm.flush()
        audit.add(orm, Event("session.answer", actor.id, "answer", answer.id, {
            "session_id": session.id, "seq": answer.seq, "items": len(stored.items), "conflicts": len(stored.conflicts),
            "conflicts_omitted": stored.omitted, "open_questions": len(gaps),
        }))
        return TurnView(
            answer_id=answer.id,
            seq=answer.seq,
            items=tuple(ItemView.of(i, pending.text if pending else None, text, pending.why if pending else None,
                                    answer.seq) for i in stored.items),
            conflicts=tuple(stored.conflicts),
            next_question=next_q,
            maturity=maturity,
            conflicts_omitted=stored.omitted,
            open_questions=tuple(OpenQuestionView.of(g) for g in gaps),
            criteria=tuple(criteria),
        )

    def _extract(self, engine: Engine, needs: _Prepared, text: str) -> list[ItemDraft]:
        """The engine's items; the offline rules run in :attr:`extraction_pool` when there is one
        (a pool whose worker died is bypassed: the turn extracts here)."""
        if self.extraction_pool is None or not isinstance(engine, OfflineEngine):
            return engine.extract(needs.ctx, needs.question, text)
        try:  # what OfflineEngine.extract does, with arguments a worker process can be sent
            return self.extraction_pool.submit(extract_items, needs.question, text).result()
        except BrokenExecutor:
            _log.warning("extraction pool broken: extracting in the server process")
            return engine.extract(needs.ctx, needs.question, text)

    def _prepare(self, actor: Actor, session_id: str | uuid.UUID, expected: uuid.UUID | None) -> _Prepared:
        """What the session's engine needs to extract items from an answer (a read transaction)."""
        with self.db.read() as orm:
            session = owned_session(orm, actor, session_id)
            project = owned_project(orm, actor, session.project_id)
            _require_active(session)
            pending = _pending(orm, session.id)
            pending_id = pending.id if pending else None
            _check_expected(expected, pending_id)
            remote = session.engine != "offline"
            # the offline rules read no project state to extract or to word a follow-up
            ctx = engine_context(orm, project, session.id, with_items=remote, state=None if remote else ProjectState())
            return _Prepared(_EngineSpec(session.engine, session.model, session.base_url), ctx, _draft_of(pending),
                               pending_id, project.id, session.id)

    def skip(self, actor: Actor, session_id: str | uuid.UUID) -> QuestionView | None:
        """Skip the pending question (it is not asked again in this project); returns the next one."""

        def work(orm: OrmSession) -> tuple[QuestionView | None, _EngineSpec, _Asked]:
            session = owned_session(orm, actor, session_id, lock=True)
            project = owned_project(orm, actor, session.project_id, lock=True)
            _require_active(session)
            pending = _pending(orm, session.id)
            if pending is None:
                raise ConflictError("there is no pending question to skip")
            pending.status = "skipped"
            orm.flush()
            audit.add(orm, Event("session.skip", actor.id, "question", pending.id, {"session_id": session.id}))
            remote = session.engine != "offline"
            ctx = engine_context(orm, project, session.id, with_items=remote)
            due = get_engine("offline").next_question(ctx)  # an LLM engine's choice is the offline one
            spec = _EngineSpec(session.engine, session.model, session.base_url)
            return turn.ask(orm, session, due), spec, _Asked(ctx, due, project.id)

        question, spec, asked = self.db.run_write(work)
        if spec.name != "offline":
            question = self._phrase(actor, self._engine(actor, spec), session_id, asked, question)
        self._invalidate(actor)
        return question

    def complete(self, actor: Actor, session_id: str | uuid.UUID) -> SessionView:
        """Close the session; a pending question is withdrawn. Completing twice is an error."""

        def work(orm: OrmSession) -> SessionView:
            session = owned_session(orm, actor, session_id, lock=True)
            _require_active(session)
            pending = _pending(orm, session.id)
            if pending is not None:
                pending.status = "withdrawn"
            session.status = "completed"
            session.completed_at = utcnow()
            orm.flush()
            audit.add(orm, Event("session.complete", actor.id, "session", session.id))
            return SessionView.of(session)

        result = self.db.run_write(work)
        self._invalidate(actor)
        return result

    def _invalidate(self, actor: Actor) -> None:
        self.cache.invalidate(actor.id, "project")
        self.cache.invalidate(actor.id, "spec")

    # --- engines -------------------------------------------------------------------------

    def _spec(self, engine: str | None, model: str | None, base_url: str | None) -> _EngineSpec:
        name = check_engine(engine if engine is not None else self.llm.default_engine)
        if name == "offline":
            if model is not None or base_url is not None:
                raise ValidationError("model and base_url are for the LLM engines (anthropic, openai), not offline")
            return _EngineSpec(name, None, None)
        if base_url is not None:
            base_url = check_base_url(base_url)
            if self.allowed_base_urls is not None and base_url not in self.allowed_base_urls:
                raise ValidationError(
                    "base_url must be one of the server's allowed LLM base URLs (SocratesApp.llm_base_urls)"
                    if self.allowed_base_urls else "this server takes no base_url (SocratesApp.llm_base_urls is empty)"
                )
        model = check_model(model) if model is not None else self.llm.models[name]
        return _EngineSpec(name, model, base_url if base_url is not None else self.llm.base_urls[name])

    def _engine(self, actor: Actor, spec: _EngineSpec) -> Engine:
        """The session's engine, with the actor's key (read here, never inside a turn's transaction)."""
        if spec.name == "offline":
            return get_engine("offline")
        from socrates_nb.engine.llm import build_engine

        key = self.keys(actor, spec.name) if self.keys is not None else None
        server_key = env_key(spec.name)
        if key is None and self.env_keys:
            key = server_key
        if key is None and spec.base_url is not None and (self.env_keys or server_key is None):
            key = LOCAL_KEY  # a keyless server (Ollama, vLLM), not one the server's unshared key is for
        if key is None and not self.env_keys:
            raise ValidationError(
                f"no API key for {spec.name}: store yours with PUT /socrates/api/v1/api-keys/{spec.name} "
                "(this server does not lend its own keys: SocratesApp.share_server_llm_keys is off)"
            )
        return build_engine(spec.name, spec.model or self.llm.models[spec.name], spec.base_url, key, str(actor.id),
                            self.llm)

    def _phrase(
        self, actor: Actor, engine: Engine, session_id: str | uuid.UUID, asked: _Asked, question: QuestionView | None
    ) -> QuestionView | None:
        """Let an LLM engine word the question just stored (and store the calls it made)."""
        if not isinstance(engine, LlmEngine):
            return question
        worded = None
        if question is not None and asked.due is not None and not question.is_probe:
            worded = engine.phrase(asked.ctx, asked.due)
        calls = engine.drain()
        if not calls and worded is None:
            return question

        def work(orm: OrmSession) -> QuestionView | None:
            store_calls(orm, actor, asked.project_id, parse_uuid(session_id, "session"), calls)
            if question is None or worded is None or worded == asked.due:
                return question
            row = orm.get(models.Question, question.id, with_for_update=True)
            if row is None or row.status != "pending":
                return question
            row.text, row.why = worded.text, worded.why
            orm.flush()
            return QuestionView.of(row)

        return self.db.run_write(work)


# --- helpers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Asked:
    """A question just stored, with what an LLM engine needs to word it."""

    ctx: EngineContext
    due: QuestionDraft | None
    project_id: uuid.UUID


def _pending(orm: OrmSession, session_id: uuid.UUID) -> models.Question | None:
    return orm.scalar(
        select(models.Question).where(models.Question.session_id == session_id, models.Question.status == "pending")
    )


def _check_expected(expected: uuid.UUID | None, pending_id: uuid.UUID | None) -> None:
    if expected is not None and pending_id != expected:
        raise ConflictError(
            f"question {expected} is no longer waiting for an answer in this session; "
            "reload the session to see the current question"
        )


def _require_active(session: models.Session) -> None:
    if session.status != "active":
        raise ConflictError(f"session {session.id} is {session.status}; start a new session to continue")


def _draft_of(question: models.Question | None) -> QuestionDraft | None:
    if question is None:
        return None
    return QuestionDraft(key=question.bank_key, category=question.category, text=question.text, why=question.why)


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def _announce_turn(turn: TurnView, session_id: object, timings: dict[str, float], total_ms: float) -> None:
    """Metrics and log events of a committed turn: the answer, and each conflict it raised."""
    metrics.ANSWERS.inc()
    metrics.ITEMS.inc(len(turn.items))
    for conflict in turn.conflicts:
        metrics.CONFLICTS.labels(type=conflict.type).inc()
        _log.info("conflict detected", session_id=str(session_id), conflict_id=str(conflict.id), type=conflict.type,
                  severity=conflict.severity, items=[conflict.item_a, conflict.item_b])
    _log.info("answer processed", session_id=str(session_id), answer_id=str(turn.answer_id), seq=turn.seq,
              items=len(turn.items), conflicts=len(turn.conflicts), maturity=turn.maturity.score,
              turn_ms=total_ms, **timings)
