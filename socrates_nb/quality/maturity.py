"""The maturity score: the one formula every door shows.

For each category ``c`` with weight ``w_c`` and target ``t_c`` (from the project's
template), coverage is ``min(S_c, t_c) / t_c`` where ``S_c`` is the sum of the
confidences of the category's *current* items; for functional (:data:`CAPABILITY_CATEGORIES`)
``S_c`` counts the current items, one per distinct capability, and ``t_c`` is a number of
capabilities: four one-line features do not make a functional specification. Coverage is the weighted mean of the
coverages; open conflicts then cost points:

    maturity = max(0, 100 * sum(w_c * coverage_c) / sum(w_c) - penalty)
    penalty  = 5 per open high-severity conflict + 2 per medium + 1 per low

rounded to one decimal. Categories with weight 0 do not count, nor do categories the
user declared out of scope ("not applicable": a scope item). Non-answers ("not specified",
"TBD") are open questions, not items: they add no coverage, so a session answered only
with non-answers scores 0.

A specification is *ready* when maturity >= 80 and nothing blocks it (:meth:`Maturity.blockers`):
no open high-severity conflict, no vague item of a weighted non-functional category still
waiting for its follow-up question, no weighted category known only through open questions,
and at least :data:`MIN_CAPABILITY_COVERAGE` of the template's capabilities.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from socrates_nb.categories import CATEGORIES, CATEGORY_INFO, NON_FUNCTIONAL
from socrates_nb.templates import Template

CAPABILITY_CATEGORIES = frozenset({"functional"})
"""Categories whose coverage counts distinct capabilities (current items), not confidence."""


def contribution(category: str, confidence: float) -> float:
    """What one current item adds to its category's ``S_c``: 1 capability, or its confidence."""
    return 1.0 if category in CAPABILITY_CATEGORIES else confidence


CONFLICT_PENALTY: Mapping[str, float] = {"high": 5.0, "medium": 2.0, "low": 1.0}
"""Points an open conflict of each severity takes off the score."""

READY_SCORE = 80.0
"""The score at which a specification with nothing blocking it is ready."""

MIN_CAPABILITY_COVERAGE = 0.5
"""A specification with fewer than half its template's capabilities is not ready, whatever its score
(measured NFRs can lift the score of a specification that says what the system does in three lines)."""



@dataclass(frozen=True)
class Maturity:
    """The overall score (0-100), the coverage (0-1) of every category, and readiness."""

    score: float
    coverage: Mapping[str, float]
    penalty: float = 0.0
    open_conflicts: Mapping[str, int] = field(default_factory=dict)
    open_questions: Mapping[str, int] = field(default_factory=dict)
    """Open questions per category (non-answers waiting for an answer)."""
    unprobed_vague: Mapping[str, int] = field(default_factory=dict)
    """Vague items per category whose follow-up question was not asked yet."""
    out_of_scope: tuple[str, ...] = ()
    """Categories the user declared out of scope: they do not count."""

    @property
    def ready(self) -> bool:
        """Score >= 80 and no blocker (:meth:`blockers`)."""
        return self.score >= READY_SCORE and not self.blockers()

    def blockers(self) -> list[str]:
        """What keeps the specification from being ready besides its score, one line each."""
        found = []
        if self.open_conflicts.get("high", 0):
            found.append(f"{self.open_conflicts['high']} open high-severity conflict(s)")
        for cat in self.coverage:
            label = CATEGORY_INFO[cat].label
            if cat in NON_FUNCTIONAL and self.unprobed_vague.get(cat, 0):
                found.append(f"{label}: {self.unprobed_vague[cat]} vague item(s) not yet followed up")
            if self.coverage[cat] == 0 and self.open_questions.get(cat, 0):
                found.append(f"{label}: only open questions ({self.open_questions[cat]})")
            elif cat in CAPABILITY_CATEGORIES and self.coverage[cat] < MIN_CAPABILITY_COVERAGE:
                found.append(f"{label}: {self.coverage[cat]:.0%} of its capabilities "
                             f"(at least {MIN_CAPABILITY_COVERAGE:.0%} needed)")
        return found

    def gaps(self) -> list[str]:
        """Categories that still count towards maturity and are not fully covered."""
        return [c for c, v in self.coverage.items() if v < 1.0]

    def to_dict(self) -> dict[str, object]:
        """JSON form: ``{"score", "ready", "penalty", "open_conflicts", "coverage", "open_questions",
        "out_of_scope", "blockers"}`` (open questions as a total)."""
        return {
            "score": self.score,
            "ready": self.ready,
            "penalty": self.penalty,
            "open_conflicts": {s: self.open_conflicts.get(s, 0) for s in CONFLICT_PENALTY},
            "coverage": dict(self.coverage),
            "open_questions": sum(self.open_questions.values()),
            "out_of_scope": list(self.out_of_scope),
            "blockers": self.blockers(),
        }


def compute_maturity(
    template: Template, confidence_sums: Mapping[str, float], open_conflicts: Mapping[str, int] | None = None,
    *, open_questions: Mapping[str, int] | None = None, unprobed_vague: Mapping[str, int] | None = None,
    out_of_scope: frozenset[str] = frozenset(),
) -> Maturity:
    """Maturity from the confidence sum of current items per category, the open conflicts by
    severity, and (per category) open questions, vague items not yet followed up and scope decisions."""
    coverage: dict[str, float] = {}
    weighted = 0.0
    total_weight = 0.0
    for cat in CATEGORIES:
        goal = template.goals[cat]
        if goal.weight <= 0 or cat in out_of_scope:
            continue
        cov = min(confidence_sums.get(cat, 0.0), goal.target) / goal.target
        coverage[cat] = round(cov, 4)
        weighted += goal.weight * cov
        total_weight += goal.weight
    conflicts = {s: n for s, n in (open_conflicts or {}).items() if n}
    penalty = sum(CONFLICT_PENALTY.get(s, 0.0) * n for s, n in conflicts.items())
    base = 100.0 * weighted / total_weight if total_weight else 0.0
    score = round(max(0.0, base - penalty), 1)
    return Maturity(
        score=score, coverage=coverage, penalty=penalty, open_conflicts=conflicts,
        open_questions={c: n for c, n in (open_questions or {}).items() if n},
        unprobed_vague={c: n for c, n in (unprobed_vague or {}).items() if n},
        out_of_scope=tuple(c for c in CATEGORIES if c in out_of_scope),
    )
