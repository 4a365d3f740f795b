"""Acceptance criteria of functional capabilities: the follow-up that asks for them, and where each reply statement goes.

Every functional item is a capability (see :mod:`socrates_nb.quality.maturity`), and a
capability a tester cannot check is not finished. Once the vague items of an answer have
had their follow-ups, the capabilities that answer gave get follow-ups together, at
most :data:`MAX_LISTED` in each (an answer of ten capabilities costs three questions, not
ten): "How will a tester know that these work? For each, a rule, an edge case or an
acceptance criterion". Each capability is asked about once, by either engine (the follow-up
is the service's, worded here). Answers to the questions that already ask for depth (business
rules, edge cases) get none: a rule is its own criterion.

Each statement of the reply goes to the listed capability it shares the most content words
with; a statement sharing none (or as many with two) goes by position (the first statement
to the first capability, ...; extra ones to the last). A non-answer ("none yet") is an open
question about the first listed capability.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from socrates_nb.engine.base import QuestionDraft

KEY_PREFIX = "criteria."
"""Bank key of a criteria follow-up: ``criteria.<key of the first listed item>``."""

MAX_LISTED = 4
"""At most this many capabilities in one criteria follow-up; the rest of the answer's wait for the next."""

_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "the and with that this when then given must shall should will can from into their they them there "
    "have has for are was not any all each every its it his her our your a an of to in on or by as is be".split()
)

_WHY = ("A capability without a rule, an edge case or an acceptance criterion cannot be tested, "
        "and developers fill the gap with guesses.")
_EXAMPLE = ("Given a list shared read-only, when the viewer edits an item, then the edit is refused "
            "and the list is unchanged.")


def is_criteria_key(key: str) -> bool:
    """Whether ``key`` (a question's bank key, an open question's key) is a criteria follow-up's."""
    return key.startswith(KEY_PREFIX)


def is_criteria_question(question: QuestionDraft | None) -> bool:
    """Whether ``question`` is a criteria follow-up."""
    return question is not None and is_criteria_key(question.key)


def criteria_question(first_key: str, capabilities: Sequence[str]) -> QuestionDraft:
    """The follow-up asking how each of ``capabilities`` (item texts, at most :data:`MAX_LISTED`) is checked."""
    if not 1 <= len(capabilities) <= MAX_LISTED:
        raise ValueError(f"a criteria follow-up lists 1 to {MAX_LISTED} capabilities, not {len(capabilities)}")
    if len(capabilities) == 1:
        listed = f'"{capabilities[0]}"'
        text = f"How will a tester know that this works: {listed}? Give a rule, an edge case or an acceptance criterion."
    else:
        listed = "; ".join(f'({n}) "{c}"' for n, c in enumerate(capabilities, 1))
        text = (f"How will a tester know that these work: {listed}? "
                "For each, give a rule, an edge case or an acceptance criterion.")
    return QuestionDraft(key=KEY_PREFIX + first_key, category="functional", text=text, why=_WHY, example=_EXAMPLE)


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            stem = word[: -len(suffix)]
            return stem[:-1] if suffix in ("ing", "ed") and stem[-1] == stem[-2] else stem  # cancelled: cancel
    return word


def _words(text: str) -> set[str]:
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def assign(statements: Sequence[str], capabilities: Sequence[str]) -> list[list[str]]:
    """The statements each capability gets, in order (see the module docstring)."""
    if not capabilities:
        raise ValueError("criteria need at least one capability to go to")
    words = [_words(c) for c in capabilities]
    out: list[list[str]] = [[] for _ in capabilities]
    for position, statement in enumerate(statements):
        said = _words(statement)
        shared = [len(said & w) for w in words]
        best = max(shared)
        if best > 0 and shared.count(best) == 1:
            out[shared.index(best)].append(statement)
        else:
            out[min(position, len(capabilities) - 1)].append(statement)
    return out


__all__ = ["KEY_PREFIX", "MAX_LISTED", "assign", "criteria_question", "is_criteria_key", "is_criteria_question"]
