"""The maturity score: the one formula every door shows.

For each category ``c`` with weight ``w_c`` and target ``t_c`` (from the project's
template), coverage is ``min(S_c, t_c) / t_c`` where ``S_c`` is the sum of the
confidences of the category's *current* items. Coverage is the weighted mean of the
coverages; open conflicts then cost points:

    maturity = max(0, 100 * sum(w_c * coverage_c) / sum(w_c) - penalty)
    penalty  = 5 per open high-severity conflict + 2 per medium + 1 per low

rounded to one decimal. Categories with weight 0 do not count. A specification is
*ready* when maturity >= 80 and no high-severity conflict is open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from socrates_nb.categories import CATEGORIES
from socrates_nb.templates import Template

CONFLICT_PENALTY: Mapping[str, float] = {"high": 5.0, "medium": 2.0, "low": 1.0}
"""Points an open conflict of each severity takes off the score."""

READY_SCORE = 80.0
"""The score at which a specification with no open high-severity conflict is ready."""


@dataclass(frozen=True)
class Maturity:
    """The overall score (0-100), the coverage (0-1) of every category, and readiness."""

    score: float
    coverage: Mapping[str, float]
    penalty: float = 0.0
    open_conflicts: Mapping[str, int] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """Score >= 80 and no open high-severity conflict."""
        return self.score >= READY_SCORE and not self.open_conflicts.get("high", 0)

    def gaps(self) -> list[str]:
        """Categories that still count towards maturity and are not fully covered."""
        return [c for c, v in self.coverage.items() if v < 1.0]

    def to_dict(self) -> dict[str, object]:
        """JSON form: ``{"score", "ready", "penalty", "open_conflicts", "coverage"}``."""
        return {
            "score": self.score,
            "ready": self.ready,
            "penalty": self.penalty,
            "open_conflicts": {s: self.open_conflicts.get(s, 0) for s in CONFLICT_PENALTY},
            "coverage": dict(self.coverage),
        }


def compute_maturity(
    template: Template, confidence_sums: Mapping[str, float], open_conflicts: Mapping[str, int] | None = None
) -> Maturity:
    """Maturity from the confidence sum of current items per category and the open conflicts by severity."""
    coverage: dict[str, float] = {}
    weighted = 0.0
    total_weight = 0.0
    for cat in CATEGORIES:
        goal = template.goals[cat]
        if goal.weight <= 0:
            continue
        cov = min(confidence_sums.get(cat, 0.0), goal.target) / goal.target
        coverage[cat] = round(cov, 4)
        weighted += goal.weight * cov
        total_weight += goal.weight
    conflicts = {s: n for s, n in (open_conflicts or {}).items() if n}
    penalty = sum(CONFLICT_PENALTY.get(s, 0.0) * n for s, n in conflicts.items())
    base = 100.0 * weighted / total_weight if total_weight else 0.0
    score = round(max(0.0, base - penalty), 1)
    return Maturity(score=score, coverage=coverage, penalty=penalty, open_conflicts=conflicts)
