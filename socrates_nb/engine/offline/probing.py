"""Probing: the follow-up question for a vague or unmeasurable item.

``probe_question(item, attempt)`` returns a :class:`QuestionDraft` when ``item`` needs a
measurable form and fewer than :data:`MAX_PROBES` probes were made for its chain, else None.

An item needs a probe when it has a warning- or error-level finding of a rule in
:data:`PROBE_RULES` (vague-term, unmeasurable, escape-clause, open-ended, placeholder: an
info-level vague term next to a number, "fast: p95 under 200 ms", is not one), or when its
category is one of :data:`MEASURED_CATEGORIES` (performance, scalability, reliability) and
its value has no number with a unit.

The question quotes the weak words (taken from the findings' spans in ``item.text``), asks
for a measurable form with an example for the item's category, and explains in ``why``
why measurability matters. The second probe (``attempt`` 1) is worded differently: it
offers concrete options and asks for a range. ``key`` is ``probe.<item key>.<attempt + 1>``,
so the answer's extraction knows which item it refines
(:func:`socrates_nb.engine.offline.extraction.probed_key`). Deterministic: the same item
and attempt always give the same question.
"""

from __future__ import annotations

from socrates_nb.categories import CATEGORY_INFO
from socrates_nb.engine.base import ItemDraft, QuestionDraft

MAX_PROBES = 2
"""At most this many probes per item chain (attempt 0 and attempt 1)."""

PROBE_RULES = ("placeholder", "escape-clause", "open-ended", "vague-term", "unmeasurable")
"""Lint rules that make an item worth a follow-up question, most specific first."""

MEASURED_CATEGORIES = frozenset({"performance", "scalability", "reliability"})
"""Categories whose items always need a number with a unit."""

_MAX_QUOTED = 3

EXAMPLES: dict[str, str] = {
    "goals": "order handling time falls from 3 days to under 1 day within 6 months of launch",
    "users": "about 200 office staff and 5,000 customers; at most 50 of them at the same time",
    "functional": "a clerk exports up to 10,000 orders of one month as one CSV file",
    "data": "orders are kept for 7 years, then deleted within 30 days",
    "integrations": "new orders reach the ERP within 5 minutes; a failed call is retried 3 times",
    "constraints": "PostgreSQL 16 on AWS eu-central-1, within a budget of EUR 50,000",
    "performance": "p95 response time under 200 ms at 500 concurrent users",
    "scalability": "10,000 registered users and 500 concurrent users by the end of year one",
    "security": "an account locks for 15 minutes after 5 failed logins; all traffic uses TLS 1.2 or later",
    "reliability": "99.9% monthly availability; service restored within 4 hours (RTO)",
    "usability": "a new user completes their first order within 5 minutes without help",
    "operations": "a release reaches production in under 30 minutes with one command",
    "compliance": "personal data is erased within 30 days of a GDPR erasure request",
    "acceptance": "all 20 checkout scenarios pass in staging and p95 stays under 300 ms in the load test",
}
"""A measurable answer per category, shown in the first probe."""

OPTIONS: dict[str, tuple[str, ...]] = {
    "goals": ("a 10% improvement", "a 25% improvement", "a 50% improvement within 6 months"),
    "users": ("under 50 users", "about 500 users", "5,000 users or more"),
    "functional": ("up to 100 records at once", "up to 10,000 records", "no limit up to 1 million records"),
    "data": ("kept for 1 year", "kept for 7 years", "kept until the customer deletes it"),
    "integrations": ("in real time (under 5 seconds)", "every 15 minutes", "once a night"),
    "constraints": ("a fixed technology you name", "a budget ceiling in euros", "a go-live date"),
    "performance": ("under 100 ms", "under 500 ms", "under 2 s, each at the 95th percentile"),
    "scalability": ("100 concurrent users", "1,000 concurrent users", "10,000 concurrent users"),
    "security": (
        "a password with MFA for every user", "MFA for administrators only", "single sign-on through your identity provider",
    ),
    "reliability": (
        "99% (about 7 hours down a month)", "99.9% (about 45 minutes)", "99.99% (about 4 minutes)",
    ),
    "usability": ("first task within 2 minutes", "within 5 minutes", "within 15 minutes, without help"),
    "operations": ("deploy daily", "deploy weekly", "deploy monthly, each in under 30 minutes"),
    "compliance": ("GDPR only", "GDPR and PCI DSS", "a named industry standard"),
    "acceptance": ("all listed scenarios pass", "95% of scenarios pass and no blocker is open", "a named person signs off"),
}
"""Three concrete options per category, offered in the second probe."""

RANGES: dict[str, str] = {
    "goals": "between 20% and 40% better",
    "users": "between 200 and 500 users",
    "functional": "between 1,000 and 10,000 records",
    "data": "between 1 and 7 years",
    "integrations": "between 1 and 15 minutes",
    "constraints": "between EUR 30,000 and EUR 60,000",
    "performance": "between 200 and 500 ms at the 95th percentile",
    "scalability": "between 500 and 2,000 concurrent users",
    "security": "between 5 and 10 failed logins before a lockout",
    "reliability": "between 99.5% and 99.9% a month",
    "usability": "between 3 and 10 minutes for a first task",
    "operations": "between 15 and 60 minutes per release",
    "compliance": "between 30 and 90 days to answer a data request",
    "acceptance": "between 90% and 100% of scenarios passing",
}
"""A sample range per category, shown in the second probe."""


def _weak_findings(item: ItemDraft) -> list[dict]:
    """Findings of :data:`PROBE_RULES` at warning/error level; a vague term lint lowered to
    info counts too when the item's value has no number with a unit (lint lowers it when it
    sees any quantity, e.g. "nightly", which is no target)."""
    measured = _measured(item)
    return [
        f for f in item.findings
        if f.get("rule") in PROBE_RULES
        and (f.get("severity", "warning") in ("warning", "error") or (f.get("rule") == "vague-term" and not measured))
    ]


def _measured(item: ItemDraft) -> bool:
    return "number" in item.value and "unit" in item.value


def needs_probe(item: ItemDraft) -> bool:
    """True when ``item`` is vague or unmeasurable (see the module docstring)."""
    if _weak_findings(item):
        return True
    return item.category in MEASURED_CATEGORIES and not _measured(item)


def weak_words(item: ItemDraft) -> list[str]:
    """The weak words of ``item``, as written in ``item.text``: first occurrence order, at
    most three, without repeats (case-insensitive)."""
    found: list[tuple[int, str]] = []
    seen: set[str] = set()
    for f in _weak_findings(item):
        span = f.get("span")
        if not span:
            continue
        start, end = int(span[0]), int(span[1])
        word = item.text[start:end].strip()
        if word and word.lower() not in seen:
            seen.add(word.lower())
            found.append((start, word))
    return [w for _, w in sorted(found)][:_MAX_QUOTED]


def _quote_list(words: list[str]) -> str:
    quoted = [f"'{w}'" for w in words]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _excerpt(text: str, limit: int = 70) -> str:
    text = text.rstrip(".")
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + " ..."


def _ask(kind: str) -> str:
    if kind == "placeholder":
        return "What is the actual value, or who decides it and by when?"
    if kind == "list":
        return "What is the complete list?"
    if kind == "escape":
        return "Under which exact conditions must it hold, and when may it not?"
    return "What would make that measurable: which number, in which unit, under which conditions?"


def _kind(rules: set[str], unmeasured: bool = False) -> str:
    if "placeholder" in rules:
        return "placeholder"
    if unmeasured:
        return "measure"
    if rules == {"open-ended"}:
        return "list"
    if rules == {"escape-clause"}:
        return "escape"
    return "measure"


def probe_question(item: ItemDraft, attempt: int) -> QuestionDraft | None:
    """A follow-up question asking for a measurable form of ``item``, or None.

    ``attempt`` is the number of probes already made for this item's chain (0 or 1). None
    when ``attempt`` is 2 or more, or when the item is already specific and measurable.
    """
    if attempt < 0 or attempt >= MAX_PROBES or not needs_probe(item):
        return None
    category = item.category if item.category in EXAMPLES else "functional"
    label = CATEGORY_INFO[category].label.lower() if category in CATEGORY_INFO else category
    words = weak_words(item)
    rules = {f["rule"] for f in _weak_findings(item)}
    kind = _kind(rules, item.category in MEASURED_CATEGORIES and not _measured(item))
    quoted = _quote_list(words) if words else ""
    example = EXAMPLES[category]
    if attempt == 0:
        if words:
            opening = f"You said {quoted}."
        else:
            opening = f"You said \"{_excerpt(item.text)}\", which gives no number with a unit."
        ask = _ask(kind)
        if kind == "measure":
            text = f"{opening} {ask[:-1]}, e.g. \"{example}\"?"
        else:
            text = f"{opening} {ask} For example: \"{example}\"."
        verb = "mean" if len(words) > 1 else "means"
        why = {
            "placeholder": f"An open value ({quoted}) cannot be designed or tested against; naming it now, or "
            "naming who decides it, stops it from silently becoming whatever gets built.",
            "list": f"{quoted} leaves the list open, so nobody can say when the requirement is met: "
            "a tester can only check the items that are named.",
            "escape": f"{quoted} lets the requirement be skipped whenever it is inconvenient, "
            "so no test can show that it was met.",
            "measure": f"A {label} requirement that cannot be measured cannot be tested or accepted: "
            + (f"{quoted} {verb}" if words else "without a number it means")
            + " different things to different people, and the difference only shows at acceptance, "
            "when it is expensive.",
        }[kind]
    else:
        about = quoted if words else f"\"{_excerpt(item.text, 50)}\""
        options = OPTIONS[category]
        if kind == "list":
            text = (
                f"Let's close the list that {about} leaves open: can you name every item, "
                "or point to the document or table that defines them?"
            )
        elif kind == "escape":
            text = (
                f"Let's pin down {about} another way: in which situations would it be acceptable not to meet "
                "this requirement? Everything else then becomes the requirement."
            )
        else:
            text = (
                f"Let's pin down {about} another way. Which comes closest: "
                f"{options[0]}, {options[1]} or {options[2]}? "
                f"Or give a range you could live with, e.g. \"{RANGES[category]}\"?"
            )
        why = (
            "Even a rough answer lets the team size the design and write a test that can pass or fail; "
            f"it can be refined later, but an open {label} requirement cannot be checked at all."
        )
    return QuestionDraft(
        key=f"probe.{item.key}.{attempt + 1}",
        category=item.category,
        text=text,
        why=why,
        example=example if attempt == 0 else RANGES[category],
    )


__all__ = [
    "EXAMPLES", "MAX_PROBES", "MEASURED_CATEGORIES", "OPTIONS", "PROBE_RULES", "RANGES", "needs_probe",
    "probe_question", "weak_words",
]
