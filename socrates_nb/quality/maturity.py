"""The maturity score: the one formula every door shows.

For each category ``c`` with weight ``w_c`` and target ``t_c`` (from the project's
template), coverage is ``min(S_c, t_c) / t_c`` where ``S_c`` is the sum of the
confidences of the category's *current* items. Maturity is the weighted mean of the
coverages, scaled to 0-100 and rounded to one decimal:

    maturity = 100 * sum(w_c * coverage_c) / sum(w_c)

Categories with weight 0 do not count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from socrates_nb.categories import CATEGORIES
from socrates_nb.templates import Template


@dataclass(frozen=True)
class Maturity:
    """The overall score (0-100) and the coverage (0-1) of every category."""

    score: float
    coverage: Mapping[str, float]

    def gaps(self) -> list[str]:
        """Categories that still count towards maturity and are not fully covered."""
        return [c for c, v in self.coverage.items() if v < 1.0]

    def to_dict(self) -> dict[str, object]:
        """JSON form: ``{"score": float, "coverage": {category: float}}``."""
        return {"score": self.score, "coverage": dict(self.coverage)}


def compute_maturity(template: Template, confidence_sums: Mapping[str, float]) -> Maturity:
    """Maturity of a project given the confidence sum of current items per category."""
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
    score = round(100.0 * weighted / total_weight, 1) if total_weight else 0.0
    return Maturity(score=score, coverage=coverage)
