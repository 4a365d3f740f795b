"""The engine protocol: every engine (offline, LLM) plugs in behind these two calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

from socrates_nb.errors import ValidationError
from socrates_nb.templates import Template


MAX_ITEMS_PER_ANSWER = 50
"""The most specification items one answer may produce (one per statement). A longer
answer is refused before any work on its statements, so a turn's work and the rows it
stores grow at most linearly with this bound."""


def check_item_count(count: int) -> None:
    """Refuse an answer of more than :data:`MAX_ITEMS_PER_ANSWER` statements (ValidationError)."""
    if count > MAX_ITEMS_PER_ANSWER:
        raise ValidationError(
            f"this answer holds {count:,} statements and one answer may hold at most {MAX_ITEMS_PER_ANSWER} "
            "(each becomes a specification item): send the rest in further answers"
        )


@dataclass(frozen=True)
class QuestionDraft:
    """A question an engine proposes: ``key`` identifies it so it is never asked twice."""

    key: str
    category: str
    text: str
    why: str
    example: str = ""


@dataclass(frozen=True)
class ItemDraft:
    """A specification item an engine extracted from an answer, before it is stored.

    ``value`` is JSON with ``text`` (the statement as given) and, where the statement
    states them:

    * a measure: ``number`` (int or float), ``unit`` (canonical: ms, s, min, h, d,
      req/s, users, KB, MB, GB, TB, %), ``metric`` (e.g. ``latency``, ``latency_p95``,
      ``availability``, ``concurrent_users``, ``throughput``, ``retention``),
      ``bound`` (``max`` for "under/at most/within", ``min`` for "at least/over",
      ``exact`` otherwise);
    * a choice: ``choice`` (a canonical name such as ``PostgreSQL`` or ``AWS``) for keys
      that pick one option (e.g. ``constraints.primary_database``);
    * ``negated``: true when the statement forbids or denies ("must not", "never").
    """

    category: str
    key: str
    value: dict[str, Any]
    text: str
    confidence: float
    findings: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class EngineContext:
    """What an engine may know about the project when it decides."""

    template: Template
    confidence_sums: Mapping[str, float]
    asked_keys: frozenset[str]
    recent_answers: Sequence[str] = ()
    items: Sequence[tuple[str, str]] = ()
    """Current items as ``(key, text)``, newest first; filled for LLM engines only."""
    closed: frozenset[str] = frozenset()
    """Categories not to ask about now: declared out of scope, or set aside after non-answers."""


@runtime_checkable
class Engine(Protocol):
    """Chooses the next question and extracts items from an answer."""

    name: str

    def next_question(self, ctx: EngineContext) -> QuestionDraft | None:
        """The next question to ask, or None when nothing is left to ask."""
        ...

    def extract(self, ctx: EngineContext, question: QuestionDraft | None, answer: str) -> list[ItemDraft]:
        """Specification items stated in ``answer`` (to ``question``, if any)."""
        ...

    def probe(self, ctx: EngineContext, item: ItemDraft, attempt: int) -> QuestionDraft | None:
        """A follow-up asking to make a vague ``item`` measurable; ``attempt`` probes were made already."""
        ...


ENGINES = ("offline", "anthropic", "openai")
"""Every engine name; the LLM ones are built per user by the session service (they need a key)."""


def get_engine(name: str) -> Engine:
    """Return the offline engine (``name`` "offline"); other names raise a ValidationError saying why."""
    if name == "offline":
        from socrates_nb.engine.offline import OfflineEngine

        return OfflineEngine()
    if name in ENGINES:
        raise ValidationError(f"the {name} engine is per user: start a session with engine={name!r}")
    raise ValidationError(f"unknown engine {name!r}; valid engines: {', '.join(ENGINES)}")
