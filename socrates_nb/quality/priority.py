"""Priority (MoSCoW) as the user stated it, and the terms the user defined (the glossary).

``priority_of(statement)`` reads the user's own words: "won't have in this release" is
``wont``; "nice to have", "optional", "if time allows" ``could``; "should", "ideally"
``should``; "must", "shall", "required", "mandatory" ``must``; anything else ``unset``
(to be asked: a priority is never guessed).

``definition_of(statement)`` finds a term the user defined: "A clinic means a practice
with its own address", "By 'slot' we mean a 15-minute appointment", "SLA stands for ...".
"""

from __future__ import annotations

import re

PRIORITIES = ("must", "should", "could", "wont", "unset")

_RULES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p, re.IGNORECASE), name) for p, name in (
    (r"\b(?:won'?t|will\s+not)\s+(?:have|be\s+(?:built|done|included|delivered|part))\b|\bwon'?t\s+have\b|"
     r"\bnot\s+in\s+(?:this|the\s+first|the\s+initial)\s+(?:release|version|phase)\b", "wont"),
    (r"\bnice[\s-]+to[\s-]+have\b|\bcould\s+have\b|\boptional(?:ly)?\b|\bif\s+time\s+(?:allows|permits)\b", "could"),
    (r"\bshould\b|\bideally\b|\bpreferably\b", "should"),
    (r"\bmust\b|\bshall\b|\brequired\b|\bmandatory\b|\bessential\b|\bneeds?\s+to\b|\bhas\s+to\b|\bhave\s+to\b", "must"),
))
_DEFINITION = re.compile(
    r"(?:by\s+)?[\"'“‘]?(?P<term>[A-Za-z][\w-]*+(?:\s+[\w-]++){0,3}?)[\"'”’]?\s+"
    r"(?:means|is\s+defined\s+as|refers\s+to|stands\s+for|we\s+mean)\s+(?P<definition>.{3,300})",
    re.IGNORECASE,
)
_ARTICLE = re.compile(r"^(?:an?|the)\s+", re.IGNORECASE)
_NOT_TERMS = frozenset({"success", "it", "this", "that", "which", "what", "done", "ready", "winning", "failure"})
"""Words before "means" that state a goal or point back ("Success means 30% fewer calls"), not a term."""


def priority_of(statement: str) -> str:
    """The MoSCoW priority the statement states (``must``, ``should``, ``could``, ``wont``) or ``unset``."""
    for pattern, name in _RULES:
        if pattern.search(statement[:2000]):
            return name
    return "unset"


def definition_of(statement: str) -> tuple[str, str] | None:
    """``(term, definition)`` when the statement defines a term, else None."""
    found = _DEFINITION.fullmatch(statement.strip().rstrip(".")[:400])
    if found is None:
        return None
    term = _ARTICLE.sub("", found["term"]).strip()
    if term.lower() in _NOT_TERMS:
        return None
    return term, found["definition"].strip()


__all__ = ["PRIORITIES", "definition_of", "priority_of"]
