"""Immutable views returned by services, and their JSON shapes (defined once, used by every door)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from socrates_nb.errors import ValidationError
from socrates_nb.notebook import display
from socrates_nb.quality.maturity import Maturity
from socrates_nb.quality.priority import priority_of
from socrates_nb.storage import models

T = TypeVar("T")


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat().replace("+00:00", "Z") if ts else None


@dataclass(frozen=True)
class Actor:
    """The user on whose behalf a service call runs."""

    id: uuid.UUID
    username: str
    role: str = "user"


def checked_actor(value: object) -> Actor:
    """``value`` if it is an Actor, else ValidationError (services check their ``actor`` argument)."""
    if not isinstance(value, Actor):
        raise ValidationError(f"actor must be an Actor, got {type(value).__name__}")
    return value


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: the items, the total count, and where the page starts."""

    items: tuple[T, ...]
    total: int
    offset: int
    limit: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{items, total, offset, limit}``."""
        return {
            "items": [i.to_dict() for i in self.items],  # type: ignore[attr-defined]
            "total": self.total,
            "offset": self.offset,
            "limit": self.limit,
        }


@dataclass(frozen=True)
class SessionView:
    """A Socratic session of a project."""

    id: uuid.UUID
    project_id: uuid.UUID
    engine: str
    status: str
    answer_count: int
    question_count: int
    created_at: datetime
    completed_at: datetime | None
    model: str | None = None
    base_url: str | None = None

    @classmethod
    def of(cls, row: models.Session) -> "SessionView":
        return cls(
            row.id, row.project_id, row.engine, row.status, row.answer_count, row.question_count,
            row.created_at, row.completed_at, row.model, row.base_url,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "project_id": str(self.project_id),
            "engine": self.engine,
            "model": self.model,
            "base_url": self.base_url,
            "status": self.status,
            "answer_count": self.answer_count,
            "question_count": self.question_count,
            "created_at": _iso(self.created_at),
            "completed_at": _iso(self.completed_at),
        }


@dataclass(frozen=True)
class ProjectView:
    """A project; ``sessions`` is filled only when asked for."""

    id: uuid.UUID
    name: str
    description: str
    template: str
    status: str
    version: int
    created_at: datetime
    updated_at: datetime
    sessions: tuple[SessionView, ...] | None = None

    @classmethod
    def of(cls, row: models.Project, with_sessions: bool = False) -> "ProjectView":
        sessions = tuple(SessionView.of(s) for s in row.sessions) if with_sessions else None
        return cls(
            row.id, row.name, row.description, row.template, row.status, row.version,
            row.created_at, row.updated_at, sessions,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "description": self.description,
            "template": self.template,
            "status": self.status,
            "version": self.version,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }
        if self.sessions is not None:
            out["sessions"] = [s.to_dict() for s in self.sessions]
        return out


@dataclass(frozen=True)
class QuestionView:
    """A question put to the user, with its category and why it matters."""

    id: uuid.UUID
    session_id: uuid.UUID
    seq: int
    key: str
    category: str
    text: str
    why: str
    status: str
    probe_depth: int = 0

    @property
    def is_probe(self) -> bool:
        """Whether this is a follow-up asking to make an earlier vague answer measurable."""
        return self.probe_depth > 0

    def __repr__(self) -> str:
        return display.question_text(self)

    def _repr_html_(self) -> str:
        return display.question_html(self)

    @classmethod
    def of(cls, row: models.Question) -> "QuestionView":
        return cls(
            row.id, row.session_id, row.seq, row.bank_key, row.category, row.text, row.why, row.status,
            row.probe_depth or 0,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "session_id": str(self.session_id),
            "seq": self.seq,
            "key": self.key,
            "category": self.category,
            "text": self.text,
            "why": self.why,
            "status": self.status,
            "kind": "probe" if self.is_probe else "bank",
        }


@dataclass(frozen=True)
class ItemView:
    """A specification item."""

    id: uuid.UUID
    ref: str
    category: str
    key: str
    value: dict[str, Any]
    text: str
    confidence: float
    findings: tuple[dict[str, Any], ...]
    is_current: bool
    answer_id: uuid.UUID | None
    source_question: str | None = None
    source_answer: str | None = None
    rationale: str | None = None
    """Why the question it answers matters (the question's "why")."""
    turn: int | None = None
    """The answer's number in its session."""
    acceptance_criteria: tuple[str, ...] = ()
    """Rules, edge cases or acceptance criteria the user gave for this capability."""
    restated: tuple[dict[str, Any], ...] = ()
    """The earlier answers that stated the same target (``question``, ``answer``, ``turn`` each)."""

    @property
    def priority(self) -> str:
        """MoSCoW as the user stated it (``must``, ``should``, ``could``, ``wont``), else ``unset``."""
        return priority_of(str(self.value.get("text") or self.text))

    @classmethod
    def of(
        cls, row: models.SpecItem, question: str | None = None, answer: str | None = None, why: str | None = None,
        turn: int | None = None, restated: tuple[dict[str, Any], ...] = (),
    ) -> "ItemView":
        return cls(
            row.id, row.ref, row.category, row.key, dict(row.value), row.text, row.confidence,
            tuple(row.findings or ()), row.is_current, row.answer_id, question, answer, why, turn,
            tuple(row.criteria or ()), restated,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "ref": self.ref,
            "category": self.category,
            "key": self.key,
            "value": self.value,
            "text": self.text,
            "confidence": self.confidence,
            "findings": list(self.findings),
            "priority": self.priority,
            "rationale": self.rationale,
            "acceptance_criteria": list(self.acceptance_criteria),
            "is_current": self.is_current,
            "source": {
                "answer_id": str(self.answer_id) if self.answer_id else None,
                "question": self.source_question,
                "answer": self.source_answer,
                "turn": self.turn,
                "restated": [dict(r) for r in self.restated],
            },
        }


@dataclass(frozen=True)
class ConflictView:
    """A contradiction between two items, open until resolved."""

    def __repr__(self) -> str:
        return display.conflict_text(self)

    def _repr_html_(self) -> str:
        return display.conflict_html(self)

    id: uuid.UUID
    type: str
    severity: str
    item_a: str
    item_b: str
    item_a_id: uuid.UUID
    item_b_id: uuid.UUID
    explanation: str
    status: str
    resolution: str | None

    @classmethod
    def of(cls, row: models.Conflict, refs: dict[uuid.UUID, str]) -> "ConflictView":
        return cls(
            row.id, row.type, row.severity, refs[row.item_a_id], refs[row.item_b_id], row.item_a_id,
            row.item_b_id, row.explanation, row.status, row.resolution,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "severity": self.severity,
            "items": [self.item_a, self.item_b],
            "item_ids": [str(self.item_a_id), str(self.item_b_id)],
            "explanation": self.explanation,
            "status": self.status,
            "resolution": self.resolution,
        }


@dataclass(frozen=True)
class OpenQuestionView:
    """A question the user could not answer yet ("not specified", "TBD"): a gap in the specification."""

    id: uuid.UUID
    category: str
    key: str
    question: str
    answer: str
    status: str
    session_id: uuid.UUID | None
    created_at: datetime

    def __repr__(self) -> str:
        return display.open_question_text(self)

    def _repr_html_(self) -> str:
        return display.open_question_html(self)

    @classmethod
    def of(cls, row: models.OpenQuestion) -> "OpenQuestionView":
        return cls(row.id, row.category, row.key, row.question, row.answer, row.status, row.session_id,
                   row.created_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "category": self.category,
            "key": self.key,
            "question": self.question,
            "answer": self.answer,
            "status": self.status,
            "session_id": str(self.session_id) if self.session_id else None,
            "created_at": _iso(self.created_at),
        }


@dataclass(frozen=True)
class SessionProgressView:
    """A session with how far it has got and the project's maturity now."""

    session: SessionView
    skipped: int
    maturity: Maturity

    def to_dict(self) -> dict[str, Any]:
        """JSON form: the session's fields plus ``progress`` and ``maturity``."""
        return {
            **self.session.to_dict(),
            "progress": {
                "answered": self.session.answer_count,
                "asked": self.session.question_count,
                "skipped": self.skipped,
            },
            "maturity": self.maturity.to_dict(),
        }


@dataclass(frozen=True)
class TurnView:
    """What one answer produced: items, conflicts, the next question and the new maturity."""

    def __repr__(self) -> str:
        return display.turn_text(self)

    def _repr_html_(self) -> str:
        return display.turn_html(self)

    answer_id: uuid.UUID
    seq: int
    items: tuple[ItemView, ...]
    conflicts: tuple[ConflictView, ...]
    next_question: QuestionView | None
    maturity: Maturity
    engine_used: dict[str, str] = field(default_factory=lambda: {"extract": "offline", "question": "offline"})
    """Which engine produced each step: ``extract`` (the items) and ``question`` (the next question's wording)."""
    fallbacks: dict[str, str] = field(default_factory=dict)
    """Why a step of an LLM engine fell back to the offline engine, by step."""
    conflicts_omitted: int = 0
    """Contradicting pairs this answer produced beyond the bounds per item and per turn
    (:data:`socrates_nb.quality.conflicts.MAX_CONFLICTS_PER_TURN`): counted, not recorded."""
    open_questions: tuple[OpenQuestionView, ...] = ()
    """The non-answers of this answer ("not specified", "TBD"), kept as open questions."""
    criteria: tuple[tuple[str, str], ...] = ()
    """A reply to a criteria follow-up: (capability ref, criterion) for each of its statements."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer_id": str(self.answer_id),
            "seq": self.seq,
            "items": [i.to_dict() for i in self.items],
            "conflicts": [c.to_dict() for c in self.conflicts],
            "next_question": self.next_question.to_dict() if self.next_question else None,
            "maturity": self.maturity.to_dict(),
            "engine_used": dict(self.engine_used),
            "fallbacks": dict(self.fallbacks),
            "conflicts_omitted": self.conflicts_omitted,
            "open_questions": [q.to_dict() for q in self.open_questions],
            "criteria": [{"ref": ref, "criterion": c} for ref, c in self.criteria],
        }


@dataclass(frozen=True)
class SpecView:
    """A project's specification: current items, open conflicts, maturity and gaps."""

    project: ProjectView
    items: tuple[ItemView, ...]
    conflicts: tuple[ConflictView, ...]
    maturity: Maturity
    gaps: tuple[str, ...] = field(default=())
    open_questions: tuple[OpenQuestionView, ...] = field(default=())


@dataclass(frozen=True)
class UserView:
    """An account as its owner sees it (never the password hash)."""

    id: uuid.UUID
    username: str
    email: str | None
    role: str
    created_at: datetime

    @classmethod
    def of(cls, row: models.User) -> "UserView":
        return cls(row.id, row.username, row.email, row.role, row.created_at)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "email": self.email,
            "role": self.role,
            "created_at": _iso(self.created_at),
        }


@dataclass(frozen=True)
class TokenPair:
    """What login and refresh return: an access token and a refresh token (both secret, so not in repr)."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    token_type: str = "bearer"

    def to_dict(self) -> dict[str, Any]:
        """The OAuth 2 token response shape: ``{access_token, refresh_token, token_type, expires_in}``."""
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
        }


@dataclass(frozen=True)
class LoginSessionView:
    """One live refresh-token family (a login on one device): when it began, last refreshed, and ends.

    ``current`` marks the session of the access token that asked (every access token names its family).
    """

    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    current: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The REST shape: ``{id, created_at, last_used_at, expires_at, current}``."""
        return {
            "id": str(self.id), "created_at": _iso(self.created_at), "last_used_at": _iso(self.last_used_at),
            "expires_at": _iso(self.expires_at), "current": self.current,
        }
