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
    gap_hint: str
    depends_on: tuple[str, ...] = ()


_CATEGORIES: tuple[Category, ...] = (
    Category("goals", "Goals", "GOAL", "Why the software exists and how success is judged.",
        "state the problem solved, for whom, and one measurable success criterion with a date"),
    Category("users", "Users", "USR", "Who uses the software, their roles and context.",
        "name each user role, how many there are, and where and on which devices they work", ("goals",)),
    Category("functional", "Functional", "FR", "What the software does.",
        "list the main tasks the software performs, each as one testable 'shall' statement", ("goals",)),
    Category("data", "Data", "DATA", "What data is kept, where it comes from, how long.",
        "say which records are kept, their volume and growth, who owns them and how long they are retained"),
    Category("integrations", "Integrations", "INT", "Other systems it talks to.",
        "name each external system, the direction of data flow, the protocol and what happens when it is down"),
    Category("constraints", "Constraints", "CON", "Fixed choices: platforms, budget, technology.",
        "record fixed choices: platform, hosting, languages, budget and deadline"),
    Category("performance", "Performance", "NFR-PERF", "Latency and throughput targets.",
        "give response-time targets as a percentile under a stated load (e.g. p95 under 300 ms at 200 req/s)"),
    Category("scalability", "Scalability", "NFR-SCAL", "Growth in users, data and load.",
        "give expected peak users, requests and data volume now and in 1-3 years"),
    Category("security", "Security", "NFR-SEC", "Who may do what; protection of data.",
        "state who may do what, how users authenticate, and how data is protected at rest and in transit"),
    Category("reliability", "Reliability", "NFR-REL", "Availability, recovery, fault tolerance.",
        "give an availability target (e.g. 99.9% per month), recovery time and data-loss limits"),
    Category("usability", "Usability", "NFR-USE", "Ease of use, accessibility, look and feel.",
        "give a measurable ease-of-use target (e.g. a new user completes the main task within 5 minutes) and the accessibility level", ("users",)),
    Category("operations", "Operations", "NFR-OPS", "Deployment, monitoring, maintenance.",
        "say how the software is deployed, monitored, backed up and who is alerted when it fails"),
    Category("compliance", "Compliance", "NFR-COMP", "Laws, regulations, standards, licences.",
        "name the laws, regulations, standards and licences that apply"),
    Category("acceptance", "Acceptance", "ACC", "How the result is accepted.",
        "state the tests or measurements that decide whether the delivered software is accepted", ("goals", "functional")),
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


NON_FUNCTIONAL = frozenset(
    {"performance", "scalability", "security", "reliability", "usability", "operations", "compliance"}
)
"""The quality categories (ISO 25010): a measured target raises an item's confidence, and
their vague items block readiness until followed up."""
