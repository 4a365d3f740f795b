"""Triage of an answer: requirements, scope decisions and open questions (non-answers).

Both engines go through it: a whole answer that says nothing to build from ("Not specified.",
"TBD", "...") is not given to an engine at all; every statement an engine turned into an
item is checked again, so "No latency number is given." inside a longer answer becomes an
open question and never a requirement. "Not applicable" / "Out of scope" to a question is a
decision: one scope item that closes the question's category.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from socrates_nb.categories import CATEGORY_INFO
from socrates_nb.engine.base import ItemDraft, QuestionDraft
from socrates_nb.engine.offline.extraction import split_statements
from socrates_nb.quality.nonanswer import classify
from socrates_nb.services.criteria import KEY_PREFIX

SCOPE_SLUG = "scope"
"""Key slug of a scope decision: ``<category>.scope``."""


@dataclass(frozen=True)
class Gap:
    """A statement that answers nothing: it becomes an open question about ``category``/``key``."""

    category: str
    key: str
    text: str


@dataclass(frozen=True)
class Triage:
    """What an answer gives: ``items`` to store (requirements and scope decisions) and ``gaps``;
    a reply to a criteria follow-up gives ``criteria`` (statements) instead of items."""

    items: list[ItemDraft] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    criteria: list[str] = field(default_factory=list)

    @property
    def unanswered(self) -> bool:
        """Whether the answer gave nothing to keep (the question stays open)."""
        return not self.items and not self.criteria


def answer_verdict(question: QuestionDraft | None, answer: str) -> Triage | None:
    """The triage of a whole answer that needs no engine (a non-answer or a scope decision), else None."""
    kind = classify(answer)
    if kind is None or question is None:
        return Triage() if kind is not None else None
    if kind == "out_of_scope" and not question.key.startswith(("probe.", KEY_PREFIX)):
        return Triage(items=[scope_item(question.category, answer)])
    return Triage(gaps=[Gap(question.category, question.key, answer.strip())])


def triage(question: QuestionDraft | None, answer: str, drafts: list[ItemDraft]) -> Triage:
    """Split an engine's drafts into items and gaps; an answer with nothing usable is one gap."""
    items: list[ItemDraft] = []
    gaps: list[Gap] = []
    for draft in drafts:
        statement = str(draft.value.get("text") or draft.text)
        if classify(statement) == "unknown":
            gaps.append(Gap(draft.category, draft.key, statement))
        else:
            items.append(draft)
    return Triage(items, gaps + _filler_gap(question, answer, items or gaps))


def criteria_triage(question: QuestionDraft, answer: str) -> Triage:
    """The statements of a reply to a criteria follow-up: criteria, or gaps for the non-answers among them."""
    criteria: list[str] = []
    gaps: list[Gap] = []
    for statement in split_statements(answer):
        if classify(statement) == "unknown":
            gaps.append(Gap(question.category, question.key, statement))
        else:
            criteria.append(statement)
    return Triage(gaps=gaps + _filler_gap(question, answer, criteria or gaps), criteria=criteria)


def _filler_gap(question: QuestionDraft | None, answer: str, found: list[object]) -> list[Gap]:
    """The whole answer as one gap when it gave nothing at all (only filler: "Hmm, good question.")."""
    return [] if found or question is None else [Gap(question.category, question.key, answer.strip())]


def scope_item(category: str, answer: str) -> ItemDraft:
    """The scope decision closing ``category`` ("Not applicable" to one of its questions)."""
    said = answer.strip()
    label = CATEGORY_INFO[category].label
    return ItemDraft(
        category=category, key=f"{category}.{SCOPE_SLUG}", value={"text": said, "scope": "out"},
        text=f"{label} is out of scope for this project.", confidence=1.0,
    )


def is_scope_item(key: str) -> bool:
    """Whether ``key`` is a scope decision's."""
    return key.endswith(f".{SCOPE_SLUG}")


__all__ = ["Gap", "SCOPE_SLUG", "Triage", "answer_verdict", "criteria_triage", "is_scope_item", "scope_item", "triage"]
