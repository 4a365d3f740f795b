"""The one list of specification categories, shared by every door."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    """A specification category: its name, a label, its ID prefix and what it covers."""

    name: str
    label: str
    ref_prefix: str
    description: str
    depends_on: tuple[str, ...] = ()


_CATEGORIES: tuple[Category, ...] = (
    Category("goals", "Goals", "GOAL", "Why the software exists and how success is judged."),
    Category("users", "Users", "USR", "Who uses the software, their roles and context.", ("goals",)),
    Category("functional", "Functional", "FR", "What the software does.", ("goals",)),
    Category("data", "Data", "DATA", "What data is kept, where it comes from, how long."),
    Category("integrations", "Integrations", "INT", "Other systems it talks to."),
    Category("constraints", "Constraints", "CON", "Fixed choices: platforms, budget, technology."),
    Category("performance", "Performance", "NFR-PERF", "Latency and throughput targets."),
    Category("scalability", "Scalability", "NFR-SCAL", "Growth in users, data and load."),
    Category("security", "Security", "NFR-SEC", "Who may do what; protection of data."),
    Category("reliability", "Reliability", "NFR-REL", "Availability, recovery, fault tolerance."),
    Category("usability", "Usability", "NFR-USE", "Ease of use, accessibility, look and feel.", ("users",)),
    Category("operations", "Operations", "NFR-OPS", "Deployment, monitoring, maintenance."),
    Category("compliance", "Compliance", "NFR-COMP", "Laws, regulations, standards, licences."),
    Category("acceptance", "Acceptance", "ACC", "How the result is accepted.", ("goals", "functional")),
)

CATEGORIES: tuple[str, ...] = tuple(c.name for c in _CATEGORIES)
"""Category names in their canonical order."""

CATEGORY_INFO: dict[str, Category] = {c.name: c for c in _CATEGORIES}
"""Category details by name."""


def require_category(name: str) -> str:
    """Return ``name`` if it is a known category, else raise a ValidationError listing them."""
    from socrates_nb.errors import ValidationError

    if name not in CATEGORY_INFO:
        raise ValidationError(f"unknown category {name!r}; valid categories: {', '.join(CATEGORIES)}")
    return name
