"""The conflict rules (socrates_nb/quality/conflicts.py) on hand-built items.

Values follow the ``ItemDraft`` contract (``text``; ``number``/``unit``/``metric``/``bound``;
``choice``; ``negated``), written by hand so these tests do not depend on extraction.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from socrates_nb.engine.base import ItemDraft
from socrates_nb.quality import conflicts as cf
from socrates_nb.quality.conflicts import (
    CONFLICT_TYPES,
    SEVERITIES,
    Candidate,
    Verdict,
    detect,
    exclusive_groups,
    judge,
    load_exclusive_groups,
)

_ids = iter(range(1, 1_000_000))


def item(text: str, key: str = "functional.free", category: str | None = None, **value: Any) -> Candidate:
    """An item whose value is ``{"text": text, **value}``; the category defaults to the key's prefix."""
    return Candidate(
        id=next(_ids), key=key, category=category or key.split(".", 1)[0], text=text, value={"text": text, **value}
    )


def measured(
    text: str, key: str, number: float, unit: str, metric: str, bound: str = "exact", category: str | None = None
) -> Candidate:
    return item(text, key, category, number=number, unit=unit, metric=metric, bound=bound)


def verdict(old: Candidate, new: Candidate) -> Verdict | None:
    found = detect(new, [old])
    assert len(found) <= 1
    if not found:
        return None
    assert found[0][0] is old
    return found[0][1]


def kind_of(old: Candidate, new: Candidate) -> tuple[str, str, str]:
    v = verdict(old, new)
    return (v.kind, v.type, v.severity) if v else ("independent", "", "")


# --- constants and the table ------------------------------------------------------------------


def test_public_constants() -> None:
    assert CONFLICT_TYPES == ("value", "numeric", "polarity", "exclusive")
    assert SEVERITIES == ("high", "medium", "low")


def test_the_exclusive_table_loads_and_every_group_has_two_options() -> None:
    groups = exclusive_groups()
    assert len(groups) >= 6
    names = [g.name for g in groups]
    assert len(names) == len(set(names))
    for required in ("hosting", "connectivity", "tenancy", "client_platform", "processing", "licensing"):
        assert required in names
    for g in groups:
        assert len(g.options) >= 2, g.name
        assert g.severity in SEVERITIES, g.name
        assert any(o.patterns is not None for o in g.options), g.name
        assert len({o.name for o in g.options}) == len(g.options), g.name
        text = g.explanation.format(
            group=g.name, a_key="k.a", b_key="k.b", a_option="A", b_option="B", a_match="ma", b_match="mb"
        )
        assert "\n" not in text
    assert load_exclusive_groups() == groups  # the file, parsed again, gives the same table


def table(options: str, name: str = "g", severity: str = "high", explanation: str = "x") -> str:
    """A one-group exclusive table in YAML flow style."""
    return f"groups: [{{name: {name}, severity: {severity}, explanation: '{explanation}', options: [{options}]}}]"


AB = "{name: a, patterns: [a]}, {name: b, patterns: [b]}"


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("[]", "a 'groups' list"),
        ("groups: [{severity: high}]", "needs a name"),
        (table(AB, severity="urgent"), "severity must be one of"),
        ("groups: [{name: g, severity: high, options: []}]", "explanation template"),
        (table(AB, explanation="{nope}"), "bad explanation template"),
        (table("{name: a, patterns: [a]}"), "at least 2 options"),
        (table("{name: a, patterns: ['(']}, {name: b, patterns: [b]}"), "bad regex"),
        (table("{name: a, mentions: [a]}, {name: b, mentions: [b]}"), "at least one option needs patterns"),
        (table("{name: a, patterns: [a]}, {name: b}"), "needs patterns or mentions"),
        (table("{name: a, patterns: [a]}, {name: a, patterns: [b]}"), "duplicate option name"),
        (table("{name: a, patterns: a}, {name: b, patterns: [b]}"), "list of regex strings"),
        (table("{patterns: [a]}, {name: b, patterns: [b]}"), "needs a name"),
        ("groups:\n" + f"  - {{name: g, severity: low, explanation: x, options: [{AB}]}}\n" * 2, "duplicate name"),
    ],
)
def test_a_broken_table_is_refused_with_a_reason(yaml_text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_exclusive_groups(yaml_text)


def test_a_custom_table_loads() -> None:
    groups = load_exclusive_groups(
        "groups:\n"
        "  - name: color\n    severity: low\n    explanation: '{a_option} vs {b_option}'\n"
        "    options:\n      - {name: red, patterns: ['\\bred only\\b']}\n      - {name: blue, mentions: ['\\bblue\\b']}\n"
    )
    assert [(g.name, g.severity, [o.name for o in g.options]) for g in groups] == [("color", "low", ["red", "blue"])]
    assert groups[0].hints == ("blue", "red only")


def test_group_hints_are_required_literals() -> None:
    hints = cf._group_hints
    assert hints([r"\bon[- ]?prem(?:ise|ises)?\b.{0,20}\bonly\b"]) == ("prem",)
    assert hints([r"\b(?:aws|azure|google\s+cloud)\b", r"(?:ab)+cdef"]) == ("aws", "azure", "cdef", "google")
    assert hints([r"(?:ab)+c"]) == ("ab",)  # a repeated group counts when it must occur
    assert hints([r"(?:x(?:yz|uvw))"]) == ("uvw", "yz")
    assert hints([r"\d+\s*users?", r"\bweb\b"]) == ("user", "web")
    assert hints([r"\d+", r"\bweb\b"]) is None  # a regex without a literal: no prefilter for the group
    assert hints([r"(?:a|\d)"]) is None
    table = load_exclusive_groups(
        "groups:\n  - name: g\n    severity: low\n    explanation: x\n"
        "    options:\n      - {name: a, patterns: ['\\d+ seats']}\n      - {name: b, patterns: ['[xyz]{3}']}\n"
    )
    assert table[0].hints is None


# --- value --------------------------------------------------------------------------------------

DB = "constraints.primary_database"

VALUE_FIRES = [
    (item("PostgreSQL is the primary database", DB, choice="PostgreSQL"),
     item("We store everything in MongoDB", DB, choice="MongoDB")),
    (item("MySQL 8", DB, choice="MySQL"), item("Microsoft SQL Server", DB, choice="SQL Server")),
    (item("We run on AWS", "constraints.cloud_provider", choice="AWS"),
     item("Azure is our cloud", "constraints.cloud_provider", choice="Azure")),
    (item("The backend is written in Python", "constraints.language", choice="Python"),
     item("The backend is written in Go", "constraints.language", choice="Go")),
    (item("React for the front end", "constraints.frontend", choice="React"),
     item("Angular for the front end", "constraints.frontend", choice="Angular")),
    (item("Payments through Stripe", "interfaces.payment_provider", choice="Stripe"),
     item("Payments through Adyen", "interfaces.payment_provider", choice="Adyen")),
]

VALUE_DOES_NOT_FIRE = [
    # different keys pick different things
    (item("PostgreSQL is the primary database", DB, choice="PostgreSQL"),
     item("Redis caches sessions", "constraints.cache", choice="Redis")),
    # one side rules an option out: no contradiction
    (item("PostgreSQL is the primary database", DB, choice="PostgreSQL"),
     item("The primary database must not be MongoDB", DB, choice="MongoDB", negated=True)),
    # two exclusions
    (item("Not MySQL", DB, choice="MySQL", negated=True), item("Not MongoDB", DB, choice="MongoDB", negated=True)),
    # one side without a choice
    (item("PostgreSQL is the primary database", DB, choice="PostgreSQL"), item("The database is backed up nightly", DB)),
    # the same choice spelled differently: a restatement, not a value conflict
    (item("PostgreSQL", DB, choice="PostgreSQL"), item("We use postgresql", DB, choice="postgresql")),
    # no choices at all
    (item("Export as CSV", "functional.export"), item("Export as PDF", "functional.export")),
]


@pytest.mark.parametrize(("old", "new"), VALUE_FIRES)
def test_value_conflict_fires(old: Candidate, new: Candidate) -> None:
    v = verdict(old, new)
    assert v is not None and (v.kind, v.type, v.severity) == ("conflict", "value", "high")
    assert v.explanation == f"{new.key}: {old.value['choice']} vs {new.value['choice']}"


@pytest.mark.parametrize(("old", "new"), VALUE_DOES_NOT_FIRE)
def test_value_conflict_does_not_fire(old: Candidate, new: Candidate) -> None:
    v = verdict(old, new)
    assert v is None or v.type != "value"


# --- numeric ------------------------------------------------------------------------------------

P95 = "performance.latency_p95"
LAT = "performance.latency"

NUMERIC_FIRES = [
    # the example: a p95 limit vs an unbounded "2 seconds is fine" under another key
    (measured("p95 latency under 200 ms", P95, 200, "ms", "latency_p95", "max"),
     measured("Honestly, 2 seconds is fine", LAT, 2, "s", "latency"), "high"),
    # users vs concurrent users are one family
    (measured("About 100 users", "scalability.users", 100, "users", "users"),
     measured("10,000 concurrent users", "scalability.concurrent_users", 10000, "users", "concurrent_users"), "high"),
    # two max bounds 1.5x apart
    (measured("p95 under 200 ms", P95, 200, "ms", "latency_p95", "max"),
     measured("p95 under 300 ms", P95, 300, "ms", "latency_p95", "max"), "medium"),
    # 1.5 s vs 2 s, in different units: 1.33x
    (measured("Pages load within 1500 ms", LAT, 1500, "ms", "latency", "max"),
     measured("Pages load within 2 s", LAT, 2, "s", "latency", "max"), "medium"),
    # a max below a min
    (measured("At least 1,000 requests per second", "performance.throughput", 1000, "req/s", "throughput", "min"),
     measured("At most 500 req/s", "performance.throughput", 500, "req/s", "throughput", "max"), "high"),
    (measured("Orders are kept for at least 7 years", "data.retention", 7, "y", "retention", "min"),
     measured("Orders are deleted after at most 30 days", "data.retention", 30, "d", "retention", "max"), "high"),
    # availability compares allowed downtime: 0.1% vs 1%
    (measured("99.9% availability", "reliability.availability", 99.9, "%", "availability", "min"),
     measured("99% availability is enough", "reliability.availability", 99, "%", "availability", "min"), "high"),
    # data units
    (measured("Uploads up to 10 MB", "data.file_size", 10, "MB", "file_size", "max"),
     measured("Uploads up to 1 GB", "data.file_size", 1, "GB", "file_size", "max"), "high"),
    # an exact value against a limit: it takes the limit's direction
    (measured("The p95 latency is 0 ms", P95, 0, "ms", "latency_p95"),
     measured("p95 under 2 s", P95, 2, "s", "latency_p95", "max"), "high"),
    # a number without a unit, one key
    (measured("Retry 3 times", "reliability.retries", 3, "", "retries"),
     measured("Retry 10 times", "reliability.retries", 10, "", "retries"), "high"),
]

NUMERIC_DOES_NOT_FIRE = [
    # less than 25% apart
    (measured("p95 under 200 ms", P95, 200, "ms", "latency_p95", "max"),
     measured("p95 under 240 ms", P95, 240, "ms", "latency_p95", "max")),
    # different percentiles are different metrics
    (measured("p95 under 200 ms", P95, 200, "ms", "latency_p95", "max"),
     measured("p99 under 1 s", "performance.latency_p99", 1, "s", "latency_p99", "max")),
    # different categories
    (measured("p95 under 200 ms", P95, 200, "ms", "latency_p95", "max"),
     measured("A new clerk finishes an order in 2 min", "usability.latency", 2, "min", "latency")),
    # different subjects
    (measured("Pages load in 2 s", LAT, 2, "s", "latency", "max"),
     measured("Reports are generated in 30 s", LAT, 30, "s", "latency", "max")),
    # a max above a min is a range
    (measured("Pages load in under 2 s", LAT, 2, "s", "latency", "max"),
     measured("Pages take at least 1 s (animation)", LAT, 1, "s", "latency", "min")),
    # different dimensions
    (measured("p95 under 200 ms", P95, 200, "ms", "latency"), measured("5 MB pages", LAT, 5, "MB", "latency")),
    # different families
    (measured("Sessions time out after 30 min", "security.timeout", 30, "min", "timeout"),
     measured("Idle logout after 2 h", "security.session", 2, "h", "duration")),
    # different keys and no metric
    (measured("3 replicas", "reliability.replicas", 3, "", ""), measured("12 nodes", "reliability.nodes", 12, "", "")),
    # registered vs concurrent users are different qualifiers
    (measured("50,000 registered users", "scalability.registered_users", 50000, "users", "registered_users"),
     measured("500 concurrent users", "scalability.concurrent_users", 500, "users", "concurrent_users")),
    # equal limits under different keys
    (measured("p95 under 200 ms", P95, 200, "ms", "latency_p95", "max"),
     measured("Search responds within 0.2 s", LAT, 0.2, "s", "latency", "max")),
    # other numbers in the statements make different subjects: two percentiles, two connections
    (measured("90% of tasks complete within 5 seconds", LAT, 5, "s", "latency", "max"),
     measured("98% of tasks complete within 8 seconds", LAT, 8, "s", "latency", "max")),
    (measured("On a 56k connection pages load in at most 6 seconds", LAT, 6, "s", "latency", "max"),
     measured("On a 112k connection pages load in at most 3 seconds", LAT, 3, "s", "latency", "max")),
]



@pytest.mark.parametrize(
    ("limit", "unit"), [("86,400 req/day", "req/d"), ("3,600 req/h", "req/h"), ("60 req/min", "req/min")]
)
def test_a_daily_rate_limit_conflicts_like_an_hourly_one(limit: str, unit: str) -> None:
    """Issue 15: "at most 86,400 req/day" against "at least 5 req/s" was independent while the
    same limit in req/h was a high conflict (the conflict rules had their own unit table)."""
    number = float(limit.split()[0].replace(",", ""))
    cap = measured(f"At most {limit}", "performance.throughput", number, unit, "throughput", "max")
    floor = measured("At least 5 req/s", "performance.throughput", 5, "req/s", "throughput", "min")
    assert kind_of(cap, floor) == ("conflict", "numeric", "high")
    same = measured("Throughput at most 1 req/s", "performance.throughput", 1, "req/s", "throughput", "max")
    assert kind_of(cap, same)[0] == "restatement"


def test_a_rate_limit_meets_its_sibling_category() -> None:
    """Performance and scalability both state throughput: "at most 86,400 req/day" given to a
    scalability question contradicts "at least 5 req/s" given to a performance question."""
    cap = measured("At most 86,400 req/day", "scalability.throughput", 86400, "req/d", "throughput", "max")
    floor = measured("At least 5 req/s", "performance.throughput", 5, "req/s", "throughput", "min")
    assert kind_of(cap, floor) == ("conflict", "numeric", "high")
    assert kind_of(floor, cap) == ("conflict", "numeric", "high")


@pytest.mark.parametrize(("old", "new", "severity"), NUMERIC_FIRES)
def test_numeric_conflict_fires(old: Candidate, new: Candidate, severity: str) -> None:
    v = verdict(old, new)
    assert v is not None and (v.kind, v.type, v.severity) == ("conflict", "numeric", severity), v
    for side in (old, new):
        number = side.value["number"]
        assert (f"{number:,}" if float(number).is_integer() else str(number)) in v.explanation
    if old.key != new.key:
        assert old.key in v.explanation and new.key in v.explanation


@pytest.mark.parametrize(("old", "new"), NUMERIC_DOES_NOT_FIRE)
def test_numeric_conflict_does_not_fire(old: Candidate, new: Candidate) -> None:
    v = verdict(old, new)
    assert v is None or v.type != "numeric", v


def test_numeric_explanations() -> None:
    fast = measured("p95 under 200 ms", P95, 200, "ms", "latency_p95", "max")
    assert verdict(fast, measured("p95 under 2 s", P95, 2, "s", "latency_p95", "max")).explanation == (
        "performance.latency_p95: 200 ms vs 2 s"
    )
    assert verdict(fast, measured("2 seconds is fine", LAT, 2, "s", "latency")).explanation == (
        "performance.latency_p95 at most 200 ms vs performance.latency 2 s"
    )
    avail = measured("99.95% availability", "reliability.availability", 99.95, "%", "availability", "min")
    assert verdict(avail, measured("99.5%", "reliability.availability", 99.5, "%", "availability", "min")).explanation == (
        "reliability.availability: 99.95% vs 99.5%"
    )


def test_the_bound_rules() -> None:
    lo = measured("at least 100 users", "scalability.users", 100, "users", "users", "min")
    hi = measured("at most 1,000 users", "scalability.users", 1000, "users", "users", "max")
    assert kind_of(lo, hi)[0] == "independent"  # a range
    assert kind_of(hi, lo)[0] == "independent"
    below = measured("at most 90 users", "scalability.users", 90, "users", "users", "max")
    assert kind_of(lo, below) == ("conflict", "numeric", "high")  # 90 < 100, even though only 1.1x apart
    same = measured("at most 100 users", "scalability.users", 100, "users", "users", "max")
    assert kind_of(lo, same)[0] == "independent"  # exactly 100
    assert kind_of(hi, measured("at most 1,200 users", "scalability.users", 1200, "users", "users", "max"))[0] == "independent"
    # a missing or unknown bound counts as exact
    assert kind_of(hi, item("5,000 users", "scalability.users", number=5000, unit="users", metric="users")) == (
        "conflict", "numeric", "high")
    odd = item("5,000 users", "scalability.users", number="5,000", unit="users", metric="users", bound="around")
    assert kind_of(hi, odd) == ("conflict", "numeric", "high")


def test_numbers_that_are_not_numbers_are_ignored() -> None:
    good = measured("p95 under 200 ms", P95, 200, "ms", "latency_p95", "max")
    for bad in (True, None, "fast", float("nan"), [1]):
        other = item("p95 under ??? ms", P95, number=bad, unit="ms", metric="latency_p95", bound="max")
        assert kind_of(good, other)[1] != "numeric"


# --- restatement --------------------------------------------------------------------------------

RESTATEMENTS = [
    (item("Export orders as CSV.", "functional.export"), item("export orders as csv!", "functional.export")),
    (measured("p95 latency under 200 ms", P95, 200, "ms", "latency_p95", "max"),
     measured("The p95 latency stays under 0.2 s", P95, 0.2, "s", "latency_p95", "max")),
    (measured("p95 latency under 700 ms", P95, 700, "ms", "latency_p95", "max"),
     measured("The p95 latency is 0.7 s", P95, 0.7, "s", "latency_p95")),  # 700 * 0.001 != 0.7 in floats
    (measured("Uploads up to 1 GB", "data.file_size", 1, "GB", "file_size", "max"),
     measured("Uploads up to 1000 MB", "data.file_size", 1000, "MB", "file_size", "max")),
    (item("PostgreSQL is the primary database", DB, choice="PostgreSQL"),
     item("We use Postgres", DB, choice="PostgreSQL")),
    (item("Never MongoDB", DB, choice="MongoDB", negated=True), item("MongoDB is not allowed", DB, choice="MongoDB")),
    # issue 15: one API target worded a little differently in two answers
    (measured("API responses within 2 s.", LAT, 2, "s", "latency", "max"),
     measured("API responses must come back within 2 seconds.", LAT, 2, "s", "latency", "max")),
    (measured("The API must respond within 2 seconds.", LAT, 2, "s", "latency", "max"),
     measured("API calls return within 2 s.", LAT, 2, "s", "latency", "max")),
]

NOT_RESTATEMENTS = [
    # equal values under different keys
    (measured("p95 under 200 ms", P95, 200, "ms", "latency_p95", "max"),
     measured("Search responds within 200 ms", LAT, 200, "ms", "latency", "max")),
    # one number as a minimum and as a maximum
    (measured("at least 100 users", "scalability.users", 100, "users", "users", "min"),
     measured("at most 100 users", "scalability.users", 100, "users", "users", "max")),
    # one number, different subjects
    (measured("Pages load in 2 s", LAT, 2, "s", "latency", "max"),
     measured("Reports render in 2 s", LAT, 2, "s", "latency", "max")),
    (measured("API responses within 2 s.", LAT, 2, "s", "latency", "max"),
     measured("Admin pages come back within 2 s.", LAT, 2, "s", "latency", "max")),
    # one choice, opposite polarity (a polarity conflict instead)
    (item("MongoDB is the primary database", DB, choice="MongoDB"),
     item("MongoDB must not be used", DB, choice="MongoDB", negated=True)),
    # different texts under one key
    (item("Export as CSV", "functional.export"), item("Export as PDF", "functional.export")),
    # equal texts under different keys
    (item("Export as CSV", "functional.export"), item("Export as CSV", "functional.free")),
]


@pytest.mark.parametrize(("old", "new"), RESTATEMENTS)
def test_restatement(old: Candidate, new: Candidate) -> None:
    v = verdict(old, new)
    assert v is not None and v.kind == "restatement" and (v.type, v.severity) == ("", ""), v
    assert v.explanation.startswith(f"{new.key}: restates")


@pytest.mark.parametrize(("old", "new"), NOT_RESTATEMENTS)
def test_not_a_restatement(old: Candidate, new: Candidate) -> None:
    v = verdict(old, new)
    assert v is None or v.kind != "restatement", v


# --- polarity -----------------------------------------------------------------------------------

POLARITY_FIRES = [
    (item("Users can delete their accounts", "functional.accounts"), item("Accounts are never deleted", "data.retention")),
    (item("The app shall work offline", "functional.offline"), item("The app shall not work offline", "functional.offline_2")),
    (item("The system stores card numbers encrypted", "security.cards"),
     item("The system shall never store card numbers", "compliance.pci")),
    (item("Guests can view prices and stock levels", "functional.guests"), item("Guests cannot view prices", "security.guests")),
    (item("Personal data is shared with partners", "functional.partners"),
     item("Personal data must not be shared", "compliance.privacy")),
    # the negation comes from the value, not from words
    (item("Orders are exported as CSV files", "functional.export"),
     item("Orders are exported as CSV", "functional.export_2", negated=True)),
    # deletion / deleted / deletes: one stem
    (item("Admins approve the deletion of accounts", "functional.admin"),
     item("Accounts are not deleted", "data.accounts")),
    # same key, same choice, opposite polarity
    (item("MongoDB is the primary database", DB, choice="MongoDB"),
     item("MongoDB must not be used", DB, choice="MongoDB", negated=True)),
]

POLARITY_DOES_NOT_FIRE = [
    # two negatives
    (item("Accounts are never deleted", "data.retention"), item("Users cannot delete accounts", "functional.accounts")),
    # unrelated subjects
    (item("Users can export reports", "functional.export"),
     item("Passwords are never stored in plain text", "security.passwords")),
    # a narrower denial is an exception, not a contradiction
    (item("Users can log in", "functional.login"), item("Users cannot log in with an expired password", "security.login")),
    # different actors
    (item("Users can delete their accounts", "functional.accounts"),
     item("Admins cannot delete user accounts", "security.admins")),
    # "no later than" is a deadline, not a negation
    (item("Invoices are sent by email", "functional.invoices"),
     item("Invoices are sent no later than 9 am", "operations.invoices")),
    # two positives
    (item("Users can delete their accounts", "functional.accounts"),
     item("Users can delete their accounts at any time", "functional.accounts_2")),
    # a negation with nothing to deny
    (item("Users can delete their accounts", "functional.accounts"), item("No.", "functional.free")),
    # the value says not negated, whatever the words
    (item("Users log out", "security.logout"), item("Users never log out", "security.sessions", negated=False)),
    # the positive side only names it in a condition
    (item("Data stays intact each time malicious data is input", "security.integrity"),
     item("Malicious data is never input", "security.input")),
    # "prevent" is a control, not a denial
    (item("Support staff reset passwords", "security.reset"), item("The system prevents weak passwords", "security.pw")),
    # a negated bound is a limit
    (item("The response time is logged", "operations.logs"),
     item("The response time must not exceed the logged time", "operations.limit")),
    # "whether or not"
    (item("Users can choose a theme", "usability.theme"),
     item("Users choose whether or not a theme applies", "usability.theme_2")),
]


@pytest.mark.parametrize(("old", "new"), POLARITY_FIRES)
def test_polarity_conflict_fires(old: Candidate, new: Candidate) -> None:
    v = verdict(old, new)
    assert v is not None and (v.kind, v.type, v.severity) == ("conflict", "polarity", "high"), v
    assert old.key in v.explanation and new.key in v.explanation
    # either side may be the new one
    w = verdict(new, old)
    assert w is not None and w.type == "polarity"


@pytest.mark.parametrize(("old", "new"), POLARITY_DOES_NOT_FIRE)
def test_polarity_conflict_does_not_fire(old: Candidate, new: Candidate) -> None:
    for a, b in ((old, new), (new, old)):
        v = verdict(a, b)
        assert v is None or v.type != "polarity", v


def test_polarity_explanation_names_both_items_and_the_subject() -> None:
    old = item("Users can delete their accounts", "functional.accounts")
    new = item("Accounts are never deleted", "data.retention")
    assert verdict(old, new).explanation == (
        'functional.accounts "Users can delete their accounts" vs data.retention "Accounts are never deleted": '
        '"accounts deleted" is both stated and denied'
    )
    long = item("Users can delete their accounts " + "and much more besides " * 5, "functional.long")
    text = verdict(long, new).explanation
    assert '..." vs data.retention' in text and len(text) < 200


@pytest.mark.parametrize(
    ("text", "negated"),
    [
        ("Accounts are never deleted", True),
        ("Users cannot delete accounts", True),
        ("Users can't delete accounts", True),
        ("No personal data is stored", True),
        ("Deleting invoices is forbidden", True),
        ("Accounts are no longer deleted", True),
        ("If the card is declined, the order is not shipped", True),
        ("Users can delete their accounts", False),
        ("The response time must not exceed 2 seconds", False),
        ("The response should not be more than 10 seconds", False),
        ("Invoices are sent no later than 9 am", False),
        ("Orders ship unless the card is not valid", False),
        ("The app not only exports CSV but also PDF", False),
        ("Users choose whether or not to subscribe", False),
        ("The system prevents weak passwords", False),
        ("Notes are synced to the phone", False),
    ],
)
def test_negation_words(text: str, negated: bool) -> None:
    assert cf._text_negated(text.lower()) is negated


def test_light_stemming() -> None:
    stems = {w: cf._stem(w) for w in "delete deleted deletes deleting deletion account accounts stopped".split()}
    assert len({stems[w] for w in ("delete", "deleted", "deletes", "deleting", "deletion")}) == 1
    assert stems["account"] == stems["accounts"] and stems["stopped"] == "stop"
    assert cf._stem("access") == cf._stem("accesses") and cf._stem("status") == "status"
    for word in ("copies", "deliveries", "storage", "permitted", "user's"):  # a stem keeps its word's first 3 letters
        assert cf._stem(word)[:3] == word[:3]


# --- exclusive ----------------------------------------------------------------------------------

EXCLUSIVE_FIRES = [
    (item("The system runs on-premises only", "constraints.hosting"),
     item("Files are stored in Amazon S3", "data.storage"), "hosting"),
    (item("An offline-only app for field workers", "constraints.connectivity"),
     item("Changes sync in real time between devices", "functional.sync"), "connectivity"),
    (item("Single-tenant: one instance per customer", "constraints.tenancy"),
     item("A multi-tenant SaaS", "constraints.architecture"), "tenancy"),
    (item("Mobile-only: no web version", "constraints.platform"),
     item("Staff sign in through the web app", "functional.login"), "client_platform"),
    (item("Reports are produced in nightly batches only", "data.reports"),
     item("Orders are processed synchronously", "functional.orders"), "processing"),
    (item("The product is released under the MIT license", "constraints.license"),
     item("The source code remains proprietary", "compliance.ip"), "licensing"),
    (item("Customer data never leaves the EU", "compliance.residency"),
     item("Servers run in us-east-1", "operations.region"), "data_residency"),
    (item("Login only via corporate SSO", "security.login"),
     item("Customers sign up with email and password", "functional.signup"), "authentication"),
    (item("It must run air-gapped in the plant", "constraints.hosting"),
     item("Deployed to Google Cloud", "operations.deploy"), "hosting"),
]

EXCLUSIVE_DOES_NOT_FIRE = [
    # two mere mentions can coexist
    (item("We ship an iOS app", "constraints.mobile"), item("We also have a web app", "constraints.web")),
    # a negated mention selects nothing
    (item("On-premises only", "constraints.hosting"), item("We will not use AWS", "constraints.cloud")),
    (item("On-premises only", "constraints.hosting"), item("Our own servers instead of AWS", "constraints.servers")),
    # the same option
    (item("A multi-tenant platform", "constraints.tenancy"), item("All customers share one database", "data.db")),
    # an item naming both options is ambiguous for the group
    (item("Supports single-tenant and multi-tenant deployments", "constraints.tenancy"),
     item("A multi-tenant platform", "constraints.architecture")),
    # options of different groups
    (item("On-premises only", "constraints.hosting"), item("A multi-tenant platform", "constraints.tenancy")),
    # "no internet connection is required" is not offline-only
    (item("No internet connection is required", "constraints.offline"),
     item("Changes sync in real time", "functional.sync")),
    # using open-source libraries is not releasing the product as open source
    (item("We use open-source libraries", "constraints.libraries"), item("The product is closed-source", "compliance.ip")),
    # on-premises without "only" leaves room for a hybrid
    (item("We deploy on-premises", "constraints.hosting"), item("Backups go to Azure", "reliability.backups")),
]


@pytest.mark.parametrize(("old", "new", "group"), EXCLUSIVE_FIRES)
def test_exclusive_conflict_fires(old: Candidate, new: Candidate, group: str) -> None:
    table = {g.name: g for g in exclusive_groups()}
    for a, b in ((old, new), (new, old)):
        v = verdict(a, b)
        assert v is not None and (v.kind, v.type) == ("conflict", "exclusive"), v
        assert v.severity == table[group].severity
        assert a.key in v.explanation and b.key in v.explanation
        assert v.explanation.index(a.key) < v.explanation.index(b.key)  # side a: the existing item


@pytest.mark.parametrize(("old", "new"), EXCLUSIVE_DOES_NOT_FIRE)
def test_exclusive_conflict_does_not_fire(old: Candidate, new: Candidate) -> None:
    for a, b in ((old, new), (new, old)):
        v = verdict(a, b)
        assert v is None or v.type != "exclusive", v


def test_exclusive_explanation_quotes_both_matches() -> None:
    old = item("The system runs on-premises only", "constraints.hosting")
    new = item("Files are stored in Amazon S3", "data.storage")
    assert verdict(old, new).explanation == (
        'constraints.hosting says on-premises only ("on-premises only") but data.storage says a public cloud '
        '("Amazon S3"): on-premises only rules out a public cloud'
    )


def test_exclusive_reads_the_choice_too() -> None:
    old = item("Hosting: on-premises only", "constraints.hosting", choice="on-premises")
    new = item("Our cloud provider is chosen", "constraints.cloud", choice="AWS")
    assert kind_of(old, new) == ("conflict", "exclusive", "high")


def test_the_prefilter_never_hides_a_match() -> None:
    """Group hints skip regexes only where no regex can match: same selections with and without them."""
    sentences = [c.text for row in EXCLUSIVE_FIRES + EXCLUSIVE_DOES_NOT_FIRE for c in row[:2]] + [
        "AIR-GAPPED network, ON-PREM ONLY", "Hosted in the US", "Data must stay within the EEA", "eu-west-1",
        "Only batch processing", "open-source the code next year", "No local accounts", "A PWA in the browser",
    ]
    for text in sentences:
        with_hints = dict(cf._exclusive_selections(text))
        brute = {i: s for i in range(len(exclusive_groups())) if (s := cf._exclusive_selection(text, i)) is not None}
        assert with_hints == brute, text


# --- precedence ---------------------------------------------------------------------------------


def test_restatement_beats_everything() -> None:
    # equal texts restate even though the values disagree (the text is what the user said)
    old = item("Primary database as agreed", DB, choice="PostgreSQL")
    new = item("primary database, as agreed!", DB, choice="MongoDB")
    assert kind_of(old, new)[0] == "restatement"


def test_value_beats_numeric() -> None:
    old = item("PostgreSQL, 2 nodes", DB, choice="PostgreSQL", number=2, unit="", metric="nodes")
    new = item("MongoDB, 20 nodes", DB, choice="MongoDB", number=20, unit="", metric="nodes")
    assert kind_of(old, new) == ("conflict", "value", "high")


def test_numeric_beats_exclusive() -> None:
    # the item texts pick exclusive options; the statements as given state the limits
    old = Candidate(1, P95, "performance", "On-premises only.",
                    {"text": "p95 under 200 ms", "number": 200, "unit": "ms", "metric": "latency_p95", "bound": "max"})
    new = Candidate(2, LAT, "performance", "Hosted on AWS.",
                    {"text": "2 s is fine", "number": 2, "unit": "s", "metric": "latency"})
    assert kind_of(old, new) == ("conflict", "numeric", "high")
    assert kind_of(Candidate(3, "constraints.hosting", "performance", "On-premises only.", {}), new)[1] == "exclusive"


def test_exclusive_beats_polarity() -> None:
    old = item("On-premises only; backups are copied to AWS", "constraints.hosting")
    new = item("Backups are copied to AWS", "reliability.backups", negated=True)
    assert kind_of(old, new)[1] == "exclusive"
    # without the exclusive group the same pair is a polarity conflict
    plain = item("Backups are copied to the tape library", "constraints.backups")
    assert kind_of(plain, item("Backups are copied to the tape library", "reliability.backups", negated=True))[1] == (
        "polarity"
    )


def test_numeric_beats_polarity() -> None:
    old = measured("Pages load within 2 s", LAT, 2, "s", "latency", "max")
    new = measured("Pages never load slower than 200 ms", LAT, 200, "ms", "latency", "max")
    assert kind_of(old, new)[1] == "numeric"


# --- detect: the whole project ------------------------------------------------------------------


def project() -> list[Candidate]:
    return [
        measured("p95 latency under 200 ms", P95, 200, "ms", "latency_p95", "max"),
        item("Users can delete their accounts", "functional.accounts"),
        item("PostgreSQL is the primary database", DB, choice="PostgreSQL"),
        item("The system runs on-premises only", "constraints.hosting"),
        item("Export orders as CSV", "functional.export"),
        measured("About 100 users", "scalability.users", 100, "users", "users"),
        item("Passwords are hashed with bcrypt", "security.passwords"),
    ]


def test_detect_skips_independent_items_and_keeps_their_order() -> None:
    items = project()
    new = item("Accounts are never deleted", "data.retention")
    assert [(c.key, v.type) for c, v in detect(new, items)] == [("functional.accounts", "polarity")]
    # negated where it is named: AWS and Azure select no option, so no exclusive conflict
    assert detect(item("Nothing runs on AWS or Azure", "constraints.cloud"), items) == []
    new = item("Hosted on AWS", "operations.hosting")
    assert [(c.key, v.type) for c, v in detect(new, items)] == [("constraints.hosting", "exclusive")]
    restated = item("export orders as CSV.", "functional.export")
    assert [(c.key, v.kind) for c, v in detect(restated, items)] == [("functional.export", "restatement")]
    assert detect(item("Passwords are hashed with bcrypt", "security.passwords"), []) == []


def test_detect_gives_one_verdict_per_existing_item() -> None:
    items = project() * 2  # the same objects twice: one verdict each time
    new = measured("2 seconds is fine", LAT, 2, "s", "latency")
    found = detect(new, items)
    assert [c for c, _ in found] == [items[0], items[7]]
    assert detect(items[0], [items[0]]) == []  # an item is not compared with itself


def test_detect_is_deterministic() -> None:
    items = project()
    news = [
        measured("2 seconds is fine", LAT, 2, "s", "latency"),
        item("Accounts are never deleted", "data.retention"),
        item("MongoDB as the primary database", DB, choice="MongoDB"),
        item("Hosted on AWS", "operations.hosting"),
    ]
    first = [[(c.id, v) for c, v in detect(n, items)] for n in news]
    for seed in range(5):
        for name in dir(cf):  # cold caches
            if hasattr(getattr(cf, name), "cache_clear"):
                getattr(cf, name).cache_clear()
        fresh = [Candidate(c.id, c.key, c.category, c.text, dict(c.value)) for c in items]
        order = list(range(len(news)))
        random.Random(seed).shuffle(order)
        again = {}
        for i in order:
            n = news[i]
            again[i] = [(c.id, v) for c, v in detect(Candidate(n.id, n.key, n.category, n.text, dict(n.value)), fresh)]
        assert [again[i] for i in range(len(news))] == first


def test_every_conflict_names_both_sides() -> None:
    cases = [(o, n) for o, n in VALUE_FIRES] + [(o, n) for o, n, _ in NUMERIC_FIRES] + list(POLARITY_FIRES) + [
        (o, n) for o, n, _ in EXCLUSIVE_FIRES
    ]
    for old, new in cases:
        v = verdict(old, new)
        assert v is not None and v.kind == "conflict" and v.type in CONFLICT_TYPES and v.severity in SEVERITIES
        assert "\n" not in v.explanation and len(v.explanation) < 300
        if old.key != new.key:
            assert old.key in v.explanation and new.key in v.explanation, v.explanation
        else:
            assert v.explanation.startswith(new.key) or new.key in v.explanation


# --- candidates and the judge wrapper -----------------------------------------------------------


def test_candidate_of_an_item_draft_and_equality() -> None:
    draft = ItemDraft(category="performance", key=P95, value={"text": "p95 under 200 ms", "number": 200, "unit": "ms",
                      "metric": "latency_p95", "bound": "max"}, text="The system shall respond within 200 ms.",
                      confidence=0.8)
    c = Candidate.of(draft, id="x")
    assert (c.id, c.key, c.category, c.text) == ("x", P95, "performance", "The system shall respond within 200 ms.")
    twin = Candidate.of(draft, id="x")
    detect(twin, [c])  # fills the memo of both
    assert c == twin and hash(c) == hash(twin)
    assert "_memo" not in repr(c)


def test_judge_keeps_the_same_key_semantics() -> None:
    def v(number: float, unit: str, bound: str = "max", metric: str = "latency_p95") -> dict[str, Any]:
        return {"text": f"p95 under {number} {unit}", "number": number, "unit": unit, "metric": metric, "bound": bound}

    assert judge("k", v(200, "ms"), v(0.2, "s")).kind == "restatement"
    high = judge("k", v(200, "ms"), v(2, "s"))
    assert (high.kind, high.type, high.severity, high.explanation) == ("conflict", "numeric", "high", "k: 200 ms vs 2 s")
    assert judge("k", v(200, "ms"), v(300, "ms")).severity == "medium"
    assert judge("k", v(200, "ms"), v(240, "ms")) == Verdict("independent")
    assert judge("k", {"text": "Export as CSV."}, {"text": "export as csv!"}).kind == "restatement"
    assert judge("k", {"text": "Export as CSV"}, {"text": "Export as PDF"}).kind == "independent"
    assert judge("k", v(200, "ms"), {"text": "Export as CSV"}).kind == "independent"
    assert judge("k", {"number": 0, "unit": "ms", "metric": "latency_p95"}, v(2, "s")).severity == "high"
    # the other rules apply to one key too
    assert judge("k", {"text": "x", "choice": "A"}, {"text": "y", "choice": "B"}).type == "value"
