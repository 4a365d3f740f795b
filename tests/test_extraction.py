"""Offline extraction: statements, categories, stable keys, values, normalised text, findings, confidence.

All example sentences are written for these tests (none comes from the PROMISE data set).
"""

from __future__ import annotations

import json
import re
import pytest

from socrates_nb.categories import CATEGORIES
from socrates_nb.engine import EngineContext, QuestionDraft
from socrates_nb.engine.base import ItemDraft
from socrates_nb.engine.offline import OfflineEngine
from socrates_nb.engine.offline import extraction as ex
from socrates_nb.engine.offline.extraction import (
    UNITS,
    category_of,
    choice,
    comparable,
    confidence,
    dimension,
    extract_items,
    measure,
    measures,
    negated,
    normalise,
    probed_key,
    split_statements,
)
from socrates_nb.quality.conflicts import Candidate, detect
from socrates_nb.quality.lint import lint
from socrates_nb.templates import get_template


def q(category: str, key: str | None = None) -> QuestionDraft:
    return QuestionDraft(key=key or f"{category}.asked", category=category, text="Tell me?", why="Because it matters.")


def items(category: str | None, answer: str, key: str | None = None) -> list[ItemDraft]:
    return extract_items(q(category, key) if category else None, answer)


def one(category: str | None, answer: str, key: str | None = None) -> ItemDraft:
    found = items(category, answer, key)
    assert len(found) == 1, [i.text for i in found]
    return found[0]


# --- 1. statements -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("One. Two!  Three? four; five\n- six\n* seven\n\n", ["One.", "Two!", "Three?", "four", "five", "six", "seven"]),
        ("• bullet\n1. numbered\n2) numbered too\na) lettered", ["bullet", "numbered", "numbered too", "lettered"]),
        ("Availability is 99.9% per month. Done", ["Availability is 99.9% per month.", "Done"]),
        ("Latency is 1.5 s; throughput is 10 req/s", ["Latency is 1.5 s", "throughput is 10 req/s"]),
        ("Budget is 1,500.50 euros. Sign-off is in May.", ["Budget is 1,500.50 euros.", "Sign-off is in May."]),
        ("Use e.g. PostgreSQL vs. MySQL, i.e. a relational DB. Next one.",
         ["Use e.g. PostgreSQL vs. MySQL, i.e. a relational DB.", "Next one."]),
        ("US buyers (U.S. only) pay in dollars. Others pay in euros.",
         ["US buyers (U.S. only) pay in dollars.", "Others pay in euros."]),
        ('The button reads "Save. Then exit." and closes the form.',
         ['The button reads "Save. Then exit." and closes the form.']),
        ("Formats: CSV, PDF etc. Buyers choose one.", ["Formats: CSV, PDF etc.", "Buyers choose one."]),
        ("Formats: CSV, PDF etc. and more later.", ["Formats: CSV, PDF etc. and more later."]),
        ("Line one\r\nLine two", ["Line one", "Line two"]),
        ("Clerks search and filter orders.", ["Clerks search and filter orders."]),
        ("The system shall validate input and must reject bad IDs.",
         ["The system shall validate input and must reject bad IDs."]),  # one subject: not-singular, not split
        ("The API shall log every call and admins must review the log weekly.",
         ["The API shall log every call", "admins must review the log weekly."]),
        ("Yes, the app must work offline.", ["the app must work offline."]),
        ("Hmm, good question. Orders ship daily.", ["Orders ship daily."]),
        ("TBD", ["TBD"]),  # a placeholder is an (incomplete) item, not filler
        # issue 15: an elliptical part takes the verb of the clause before it
        ("Payment records are kept for 7 years; webhook delivery logs for 90 days.",
         ["Payment records are kept for 7 years", "webhook delivery logs are kept for 90 days."]),
        ("Invoices must be retained for 10 years; receipt photos for 2 years.",
         ["Invoices must be retained for 10 years", "receipt photos must be retained for 2 years."]),
        ("The invoice is kept for 10 years; receipts for 2 years.",
         ["The invoice is kept for 10 years", "receipts are kept for 2 years."]),
        ("p95 latency under 200 ms; p99 under 1 s", ["p95 latency under 200 ms", "p99 under 1 s"]),
    ],
)
def test_split_statements(answer: str, expected: list[str]) -> None:
    assert split_statements(answer) == expected


def test_an_elliptical_retention_part_is_data() -> None:
    for asked in ("data", "integrations"):
        found = items(asked, "Payment records are kept for 7 years; webhook delivery logs for 90 days.")
        assert [(i.category, i.key, i.value.get("number"), i.value.get("unit")) for i in found] == [
            ("data", "data.retention", 7, "yr"), ("data", "data.retention", 90, "d")
        ], found
        assert found[1].text == "Webhook delivery logs are kept for 90 days."
        assert detect(Candidate.of(found[1], id=2), [Candidate.of(found[0], id=1)]) == []  # two subjects


@pytest.mark.parametrize(
    "filler",
    ["Yes.", "No", "Good question!", "n/a", "N/A", "I don't know.", "Yes, definitely.", "ok", "  \n ", "Thanks!",
     "Hmm... not sure.", "See above.", "-", "???"],
)
def test_filler_gives_no_item(filler: str) -> None:
    assert split_statements(filler) == []
    assert items("goals", filler) == []


# --- 2. category ---------------------------------------------------------------------------

# (question category, statement, right category): labelled by hand for these tests.
# DEV_CASES chose OVERRIDE_THRESHOLD; SECOND_CASES were written after a first choice;
# THIRD_CASES after all tuning (see the OVERRIDE_THRESHOLD docstring).
DEV_CASES = [
    # answers that belong to the question's category
    ("goals", "Shops list their spare parts so that buyers find them in one place.", "goals"),
    ("goals", "We want to halve the time it takes to handle an order.", "goals"),
    ("goals", "Success means 30% fewer support calls about lost parcels.", "goals"),
    ("users", "Warehouse staff use it on handheld scanners during their shift.", "users"),
    ("users", "About 40 dispatchers and 3 supervisors.", "users"),
    ("functional", "Customers can export their orders as CSV.", "functional"),
    ("functional", "A manager approves every refund above 200 euros.", "functional"),
    ("functional", "The system sends a reminder email two days before the appointment.", "functional"),
    ("data", "Invoices are kept for 10 years.", "data"),
    ("data", "Each order has a customer, a delivery address and one or more lines.", "data"),
    ("data", "The CRM remains the source of truth for customer addresses.", "data"),
    ("integrations", "Orders are pushed to the ERP every 15 minutes.", "integrations"),
    ("integrations", "Payments go through Stripe.", "integrations"),
    ("constraints", "The budget is 80,000 euros for the first year.", "constraints"),
    ("constraints", "It has to run on our existing Windows servers.", "constraints"),
    ("constraints", "We must launch before the trade fair in March.", "constraints"),
    ("performance", "Search results appear within 1 second.", "performance"),
    ("performance", "The nightly import finishes before 6am.", "performance"),
    ("performance", "It should feel snappy.", "performance"),
    ("scalability", "We expect 5,000 orders a day by next year.", "scalability"),
    ("scalability", "Traffic triples during the Christmas sale.", "scalability"),
    ("security", "Only the account owner sees their invoices.", "security"),
    ("security", "Passwords are hashed with bcrypt.", "security"),
    ("security", "Staff sign in with their Microsoft accounts.", "security"),
    ("reliability", "If the payment provider is down, orders are queued and retried.", "reliability"),
    ("reliability", "Losing a day of orders would be a disaster for us.", "reliability"),
    ("usability", "New staff finish their first order within 5 minutes without training.", "usability"),
    ("usability", "It must work with a screen reader.", "usability"),
    ("usability", "Error messages tell the user which field is wrong.", "usability"),
    ("operations", "We deploy once a week from GitHub Actions.", "operations"),
    ("operations", "The on-call engineer is paged when the error rate passes 1%.", "operations"),
    ("compliance", "We handle personal data of EU citizens.", "compliance"),
    ("compliance", "Audit evidence must be kept for 7 years.", "compliance"),
    ("acceptance", "The warehouse lead signs off after a two-week pilot.", "acceptance"),
    ("acceptance", "All 20 checkout scenarios pass in staging.", "acceptance"),
    # answers that belong elsewhere
    ("goals", "Checkout pages must load in under 2 seconds.", "performance"),
    ("goals", "The shop must be available 99.9% of the time.", "reliability"),
    ("goals", "It must comply with GDPR.", "compliance"),
    ("users", "Users log in with two-factor authentication.", "security"),
    ("users", "The app must be easy to use for people over 70, with large fonts.", "usability"),
    ("functional", "Every page responds within 300 milliseconds at the 95th percentile.", "performance"),
    ("functional", "All traffic is encrypted with TLS 1.3.", "security"),
    ("functional", "The service must be up 99.95% of each month.", "reliability"),
    ("data", "Personal data must be deleted within 30 days of a GDPR erasure request.", "compliance"),
    ("constraints", "The system must handle 2,000 concurrent users.", "scalability"),
    ("integrations", "Calls to the shipping API time out after 5 seconds and the page still loads within 2 seconds.", "performance"),
    ("performance", "Admins must use multi-factor authentication.", "security"),
    ("acceptance", "Response time must stay below 500 ms under peak load.", "performance"),
    ("operations", "Only administrators can change user roles.", "security"),
    ("goals", "Pages load in 300 ms.", "performance"),
]

SECOND_CASES = [
    ("goals", "Dispatchers should spend less time on the phone chasing drivers.", "goals"),
    ("goals", "The main win is fewer double bookings of rooms.", "goals"),
    ("users", "Most clerks are over 50 and use the system daily.", "users"),
    ("users", "Some drivers are temporary staff hired for the peak season.", "users"),
    ("functional", "A booking can be cancelled up to 24 hours before the start.", "functional"),
    ("functional", "Drivers mark a delivery as done by scanning the parcel.", "functional"),
    ("data", "We store about 2 million parcels per year.", "data"),
    ("data", "Addresses are validated against the postal database.", "data"),
    ("integrations", "Invoices are sent to DATEV once a month.", "integrations"),
    ("constraints", "Everything must run in Docker on our own hardware.", "constraints"),
    ("performance", "Scanning a parcel must give feedback in under half a second.", "performance"),
    ("scalability", "The number of depots may double in two years.", "scalability"),
    ("security", "Drivers only see the parcels on their own route.", "security"),
    ("reliability", "The scanner app keeps working without network and syncs later.", "reliability"),
    ("usability", "The buttons must be big enough to hit with gloves on.", "usability"),
    ("operations", "Logs go to our Graylog server.", "operations"),
    ("compliance", "Signatures count as proof of delivery under local law.", "compliance"),
    ("acceptance", "We accept it when three depots have used it for a month without a blocker.", "acceptance"),
    ("goals", "The tracking page must respond in under one second at the 95th percentile.", "performance"),
    ("functional", "Booking data must be encrypted at rest with AES-256.", "security"),
    ("users", "The system must support 300 drivers online at the same time.", "scalability"),
    ("data", "The database must be backed up every hour and restorable within 2 hours.", "reliability"),
    ("integrations", "The app must meet WCAG 2.1 AA.", "usability"),
    ("constraints", "Uptime must be at least 99.5% during business hours.", "reliability"),
    ("acceptance", "Login requires a one-time code sent by SMS.", "security"),
]

THIRD_CASES = [
    ("goals", "Clinics lose referrals because faxes go missing.", "goals"),
    ("users", "Receptionists, doctors and a practice manager.", "users"),
    ("functional", "Doctors can forward a referral to a colleague.", "functional"),
    ("data", "Referrals older than 5 years are anonymised.", "data"),
    ("integrations", "Patient details come from the practice system over HL7.", "integrations"),
    ("constraints", "It has to be ready before the audit in October.", "constraints"),
    ("performance", "Opening a referral takes under 1 second.", "performance"),
    ("security", "Every access to a patient record is logged with the user and time.", "security"),
    ("reliability", "During an outage receptionists fall back to paper and enter it later.", "reliability"),
    ("usability", "The referral form fits on one screen without scrolling.", "usability"),
    ("goals", "The referral list must load within 800 ms.", "performance"),
    ("users", "Doctors sign in with two-factor authentication.", "security"),
    ("functional", "The portal must be available 99.5% of office hours.", "reliability"),
    ("data", "All referral data must comply with HIPAA.", "compliance"),
    ("constraints", "We need to support 150 simultaneous users.", "scalability"),
    ("acceptance", "Each page must meet WCAG 2.1 level AA.", "usability"),
]


def _accuracy(cases: list[tuple[str, str, str]], threshold: float | None = None) -> int:
    old = ex.OVERRIDE_THRESHOLD
    if threshold is not None:
        ex.OVERRIDE_THRESHOLD = threshold
    try:
        right = 0
        for asked, statement, gold in cases:
            first = ex._primary(measures(statement, asked), asked)
            right += category_of(statement, asked, first.metric if first else None) == gold
        return right
    finally:
        ex.OVERRIDE_THRESHOLD = old


def test_the_labelled_sets_are_well_formed() -> None:
    assert (len(DEV_CASES), len(SECOND_CASES), len(THIRD_CASES)) == (50, 25, 16)
    for asked, statement, gold in DEV_CASES + SECOND_CASES + THIRD_CASES:
        assert asked in CATEGORIES and gold in CATEGORIES and len(split_statements(statement)) == 1, statement


def test_category_accuracy_on_the_labelled_sets() -> None:
    assert _accuracy(DEV_CASES) == 49
    assert _accuracy(SECOND_CASES) == 24
    assert _accuracy(THIRD_CASES) == 16
    # the baseline: always the question's category
    assert sum(a == g for a, _, g in DEV_CASES) == 35


def test_the_threshold_sits_on_the_plateau() -> None:
    grid = [x / 100 for x in range(20, 101, 4)]
    dev = {t: _accuracy(DEV_CASES, t) for t in grid}
    second = {t: _accuracy(SECOND_CASES, t) for t in grid}
    best = {t for t in grid if dev[t] == max(dev.values()) and second[t] == max(second.values())}
    assert min(best) <= ex.OVERRIDE_THRESHOLD <= max(best), sorted(best)
    assert _accuracy(DEV_CASES, 1.01) < _accuracy(DEV_CASES)  # the classifier step earns its place


@pytest.mark.parametrize(
    ("asked", "statement", "expected"),
    [
        ("goals", "Checkout pages must load in under 2 seconds.", "performance"),  # classifier, 0.96
        ("goals", "Pages load in 300 ms.", "performance"),  # metric owner: a latency
        ("functional", "The portal must be up 99.5% of each month.", "reliability"),  # metric owner: availability
        ("integrations", "The app must meet WCAG 2.1 AA.", "usability"),  # strong subject
        ("acceptance", "Login needs a one-time code sent by SMS.", "security"),  # strong subject
        ("users", "Mechanics buy spare parts for their garages.", "users"),  # never moved into functional
        ("integrations", "Orders are pushed to the ERP every 15 minutes.", "integrations"),  # own subject
        ("scalability", "p95 stays under 500 ms at 10,000 users.", "scalability"),
        ("goals", "We want to halve the time it takes to handle an order.", "goals"),
        # a functional question's answers describe behaviour: only the rules move them, never
        # the classifier (which reads these as usability 0.60, security 0.64, constraints 0.92)
        ("functional", "They create a simple, grocery or countdown list.", "functional"),
        ("functional", "Every list is private when it is created.", "functional"),
        ("functional", "Push notifications for countdown deadlines are optional.", "functional"),
        ("functional", "Countdowns are displayed as X days, Y hours, Z minutes, W seconds.", "functional"),
        ("functional", "Booking data must be encrypted at rest with AES-256.", "security"),  # strong subject
    ],
)
def test_category_override(asked: str, statement: str, expected: str) -> None:
    assert one(asked, statement).category == expected


def test_performance_and_scalability_do_not_take_each_others_measures() -> None:
    old = ex.OVERRIDE_THRESHOLD
    ex.OVERRIDE_THRESHOLD = 1.01  # the rules alone
    try:
        assert category_of("We need 500 concurrent users.", "performance", "concurrent_users") == "performance"
        assert category_of("We need 500 concurrent users.", "goals", "concurrent_users") == "scalability"
        assert category_of("p95 stays under 1 s.", "scalability", "latency_p95") == "scalability"
    finally:
        ex.OVERRIDE_THRESHOLD = old


def test_free_answers_are_classified() -> None:
    assert one(None, "Customers can export their orders as CSV.").category == "functional"
    assert one(None, "The shop must be available 99.9% of the time.").category == "reliability"
    assert one(None, "It must comply with GDPR.").category == "compliance"


@pytest.mark.parametrize(
    ("asked", "statement", "expected"),
    [
        # issue 15: a role whose name holds a category word is a user role
        ("users", "Security agents clock in at the gate.", "users"),
        ("users", "Support staff investigate failed payments.", "users"),
        ("functional", "Support staff investigate failed payments.", "functional"),
        ("users", "Security officers check badges at the entrance.", "users"),
        ("users", "Customer support agents answer chats during office hours.", "users"),
        ("users", "IT security staff review failed logins every morning.", "users"),
        ("operations", "Only administrators can change user roles.", "security"),  # no named role: may move
        # ... while a statement about another category still moves
        ("users", "Users log in with two-factor authentication.", "security"),
        ("goals", "Pages load in 300 ms.", "performance"),
    ],
)
def test_role_names_do_not_move_a_statement(asked: str, statement: str, expected: str) -> None:
    assert one(asked, statement).category == expected


# --- 3. keys -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "statement", "key"),
    [
        ("performance", "p95 latency under 200 ms", "performance.latency_p95"),
        ("performance", "The 99th percentile stays below 1 s.", "performance.latency_p99"),
        ("performance", "Search responds within 1 s.", "performance.latency"),
        ("performance", "Pages load in under 2 seconds.", "performance.page_load"),
        ("performance", "At least 1,000 requests per second at peak.", "performance.throughput"),
        ("scalability", "5,000 concurrent users at peak.", "scalability.concurrent_users"),
        ("scalability", "10,000 registered users by the end of the year.", "scalability.users"),
        ("scalability", "The database grows by 20% per year.", "scalability.growth"),
        ("scalability", "About 3 TB of documents.", "scalability.data_volume"),
        ("reliability", "99.9% monthly availability.", "reliability.availability"),
        ("reliability", "RTO of 4 hours.", "reliability.rto"),
        ("reliability", "We can lose at most 15 minutes of data.", "reliability.rpo"),
        ("reliability", "Nightly backups to a second region.", "reliability.backup"),
        ("security", "Staff sign in with SSO and MFA.", "security.authentication"),
        ("security", "Only managers may approve refunds.", "security.authorization"),
        ("security", "Invoices are encrypted at rest with AES-256.", "security.encryption_at_rest"),
        ("security", "All traffic uses TLS 1.2 or later.", "security.encryption_in_transit"),
        ("security", "Every change to prices is written to an audit trail.", "security.audit"),
        ("data", "Invoices are kept for 10 years.", "data.retention"),
        ("constraints", "The main database is PostgreSQL.", "constraints.primary_database"),
        ("constraints", "Everything runs on AWS.", "constraints.cloud"),
        ("constraints", "On-premises only.", "constraints.hosting"),
        ("constraints", "The backend is written in Kotlin.", "constraints.language"),
        ("constraints", "The budget is EUR 80,000.", "constraints.budget"),
        ("constraints", "Go-live is by March 2026.", "constraints.deadline"),
        ("usability", "The app meets WCAG 2.1 AA.", "usability.accessibility"),
        ("usability", "A new clerk completes a first order within 5 minutes without help.", "usability.learnability"),
        ("operations", "Releases are deployed with one click from CI.", "operations.deployment"),
        ("operations", "Alerts go to the on-call engineer.", "operations.monitoring"),
        ("compliance", "We must follow GDPR.", "compliance.gdpr"),
        ("compliance", "Card handling is PCI DSS compliant.", "compliance.pci"),
        ("compliance", "Patient data falls under HIPAA.", "compliance.hipaa"),
        ("integrations", "Payments go through Stripe.", "integrations.stripe"),
        ("integrations", "Contacts sync with Salesforce every night.", "integrations.salesforce"),
        ("integrations", "Invoices are posted to the ERP.", "integrations.erp"),
    ],
)
def test_known_subjects_get_table_keys(asked: str, statement: str, key: str) -> None:
    item = one(asked, statement)
    assert item.key == key
    assert item.category == key.split(".")[0]


def test_keys_are_stable_whatever_the_position_and_the_answer() -> None:
    statement = "p95 latency under 200 ms."
    alone = one("performance", statement).key
    first = items("performance", f"{statement} Pages should feel fast.")[0].key
    last = items("performance", f"Pages should feel fast. Search is paged. {statement}")[-1].key
    other_question = one("performance", statement, key="performance.peak").key
    assert alone == first == last == other_question == "performance.latency_p95"
    # the same statement twice in one answer keeps one key: they restate each other
    assert [i.key for i in items("performance", f"{statement} {statement}")] == ["performance.latency_p95"] * 2


def test_fallback_keys_follow_the_question() -> None:
    found = items("goals", "Shops list their parts. Buyers pay by card! Invoices are PDF files", key="goals.problem")
    assert [i.key for i in found] == ["goals.problem", "goals.problem_2", "goals.problem_3"]
    # a statement moved to another category keeps the question in its key, in its category's namespace
    moved = items("goals", "Buyers pay by card. Pages load fast, in under 2 s, p95 of course.", key="goals.problem")
    assert [(i.category, i.key) for i in moved] == [("goals", "goals.problem"), ("performance", "performance.latency_p95")]
    odd = one("goals", "The shop must be up 99.5% of each month.", key="goals.problem")
    assert (odd.category, odd.key) == ("reliability", "reliability.availability")
    law = one("goals", "The software must comply with the national e-invoicing law.", key="goals.problem")
    assert (law.category, law.key) == ("compliance", "compliance.goals_problem")
    # a free answer: <category>.free
    assert one(None, "Customers can export their orders as CSV.").key == "functional.free"


def test_every_key_is_category_dot_slug() -> None:
    answer = (
        "p95 under 200 ms. 99.9% availability. We use PostgreSQL. Payments go through Stripe. "
        "Staff sign in with SSO. Orders are exported as CSV. Invoices are kept for 10 years."
    )
    for asked in CATEGORIES:
        for item in items(asked, answer):
            assert re.fullmatch(r"[a-z]+\.[a-z0-9_]+", item.key), item.key
            assert item.key.split(".")[0] == item.category, item


def test_a_fixed_choice_lands_on_its_key_from_any_question() -> None:
    for asked in ("data", "operations", "goals"):
        item = one(asked, "Everything lives in PostgreSQL 16.")
        assert (item.category, item.key, item.value["choice"]) == ("constraints", "constraints.primary_database", "PostgreSQL")
    assert one("data", "We host it on Azure.").key == "constraints.cloud"
    # a statement naming two options does not jump: no choice can be recorded
    assert one("data", "MySQL and PostgreSQL both hold orders.").category == "data"
    assert one("data", "Orders move from MySQL to PostgreSQL.").value["choice"] == "PostgreSQL"


def test_answers_to_a_probe_fall_back_to_the_probed_item_key() -> None:
    assert probed_key("probe.performance.latency_2.1") == "performance.latency_2"
    assert probed_key("performance.latency") is None
    probe = q("performance", "probe.performance.latency_2.1")
    refined = extract_items(probe, "Snappy means every screen is ready in a blink for the clerk.")
    assert [i.key for i in refined] == ["performance.latency_2"]
    measured = extract_items(probe, "p95 under 300 ms.")
    assert [i.key for i in measured] == ["performance.latency_p95"]


def test_a_product_name_alone_is_no_choice_subject() -> None:
    """Issue 15: a problem statement that mentions PostgreSQL landed on constraints.primary_database,
    so the later "We use PostgreSQL 16 as the primary database" superseded it as a restatement."""
    problem = one("goals", "Clinics lose bookings because their spreadsheet on PostgreSQL is shared by email.")
    assert (problem.category, problem.key) == ("goals", "goals.asked") and "choice" not in problem.value
    chosen = one("constraints", "We use PostgreSQL 16 as the primary database.", key="constraints.stack")
    assert chosen.key == "constraints.primary_database" and chosen.value["choice"] == "PostgreSQL"
    assert detect(Candidate.of(chosen, id=2), [Candidate.of(problem, id=1)]) == []
    for statement in ("The backend runs on PostgreSQL.", "PostgreSQL, not MongoDB.", "Data is stored in MySQL.",
                      "Use PostgreSQL."):
        assert one("goals", statement).key == "constraints.primary_database", statement
    assert one("constraints", "Reports are exported from PostgreSQL every night.").key == "constraints.asked"


@pytest.mark.parametrize(
    "statement",
    [
        "Use a relational database, e.g. PostgreSQL.",
        "A relational database such as PostgreSQL or MySQL.",
        "Any managed database, for example Amazon Aurora PostgreSQL.",
        "A mainstream language, for instance Python.",
    ],
)
def test_an_example_is_no_choice(statement: str) -> None:
    """Issue 15: "e.g." / "for example" / "such as" introduce examples: an option named as an
    example is not the project's decision (it would conflict with the option chosen later)."""
    assert "choice" not in one("constraints", statement).value


def test_an_option_chosen_beside_an_example_is_the_choice() -> None:
    assert one("constraints", "We use PostgreSQL for orders, e.g. for invoices and refunds.").value["choice"] == "PostgreSQL"
    mysql, other = items("constraints", "We use MySQL; no other database such as PostgreSQL.")
    assert mysql.value["choice"] == "MySQL" and "choice" not in other.value


def test_one_target_stated_twice_is_one_restatement() -> None:
    first = one("performance", "API responses within 2 s.", key="performance.response_time")
    for later in ("API responses must come back within 2 seconds.", "The API responds in under 2 s.",
                  "API calls return within 2 s."):
        again = one("performance", later, key="performance.peak")
        found = detect(Candidate.of(again, id=2), [Candidate.of(first, id=1)])
        assert [v.kind for _, v in found] == ["restatement"], (later, again.key, found)


# --- 4. values -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "number", "unit"),
    [
        ("in 300 ms", 300, "ms"), ("in 300 milliseconds", 300, "ms"), ("in 2 s", 2, "s"), ("in 2s", 2, "s"),
        ("in 1.5 seconds", 1.5, "s"), ("in 1 second", 1, "s"), ("for 5 minutes", 5, "min"), ("for 5 min", 5, "min"),
        ("for 4 hours", 4, "h"), ("for 4 h", 4, "h"), ("for 30 days", 30, "d"), ("for 3 business days", 3, "d"),
        ("for 6 weeks", 6, "wk"), ("for 2 months", 2, "mo"), ("for 7 years", 7, "yr"),
        ("500 req/s", 500, "req/s"), ("500 rps", 500, "req/s"), ("500 requests per second", 500, "req/s"),
        ("600 requests per minute", 600, "req/min"), ("2M requests per day", 2_000_000, "req/d"),
        ("50 transactions per second", 50, "tx/s"), ("100 tps", 100, "tx/s"),
        ("800 users", 800, "users"), ("800 concurrent users", 800, "users"), ("800 simultaneous users", 800, "users"),
        ("3 KB", 3, "KB"), ("50MB", 50, "MB"), ("5 GB", 5, "GB"), ("2 TB", 2, "TB"), ("1 PB", 1, "PB"),
        ("7 gigabytes", 7, "GB"), ("20%", 20, "%"), ("20 %", 20, "%"), ("20 percent", 20, "%"),
        ("99.9% availability", 99.9, "%"), ("three nines", 99.9, "%"), ("five nines", 99.999, "%"),
        ("10,000 users", 10_000, "users"), ("1.5k users", 1500, "users"), ("2M users", 2_000_000, "users"),
        ("2 million users", 2_000_000, "users"), ("10 million records", 10_000_000, "records"),
        ("EUR 80,000", 80_000, "EUR"), ("$50k", 50_000, "USD"), ("30,000 euros", 30_000, "EUR"), ("£200", 200, "GBP"),
    ],
)
def test_every_unit(text: str, number: float, unit: str) -> None:
    m = measure(text)
    assert m is not None, text
    assert (m["number"], m["unit"]) == (number, unit)
    assert isinstance(m["number"], int) == float(number).is_integer()
    assert m["unit"] in UNITS


@pytest.mark.parametrize(
    ("text", "number", "unit", "bound"),
    [
        ("Sessions time out after five minutes.", 5, "min", "exact"),
        ("Search responds in half a second.", 0.5, "s", "exact"),
        ("At most a dozen concurrent users.", 12, "users", "max"),
        ("Two hundred requests per second at peak.", 200, "req/s", "exact"),
        ("Logs are kept for twenty-four hours.", 24, "h", "exact"),
        ("Logs are kept for twenty four hours.", 24, "h", "exact"),
        ("Up to two hundred and fifty users.", 250, "users", "max"),
        ("Restore service within an hour.", 1, "h", "max"),
        ("Downtime of at most half an hour.", 0.5, "h", "max"),
        ("Within one hour.", 1, "h", "max"),
        ("Three thousand orders per day.", 3000, "items/d", "exact"),
        ("1k users", 1000, "users", "exact"),
        ("We expect 10k/day.", 10_000, "items/d", "exact"),
        ("1.5k users sign up", 1500, "users", "exact"),
        ("at most 86,400 req/day", 86_400, "req/d", "max"),
        ("5 transactions per hour", 5, "tx/h", "exact"),
    ],
)
def test_number_words_and_scaled_numbers_are_values(text: str, number: float, unit: str, bound: str) -> None:
    """Issue 15: "five minutes", "half a second", "a dozen", "two hundred", "twenty-four hours"
    stated no number."""
    m = measure(text)
    assert m is not None, text
    assert (m["number"], m["unit"], m["bound"]) == (number, unit, bound), m


@pytest.mark.parametrize(
    "text",
    [
        "Users add a second factor.", "One of the users approves each refund.", "Backups run twice a day.",
        "One day customers will pay online.", "A user can have one role.", "Five and ten minutes.",
        "Someone often checks the queue.", "The seventh day is a rest day.", "A one-time code is sent.",
    ],
)
def test_words_that_are_not_measures(text: str) -> None:
    assert measure(text) is None, (text, measure(text))


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ("under 200 ms", "max"), ("below 200 ms", "max"), ("less than 200 ms", "max"), ("at most 200 ms", "max"),
        ("within 2 s", "max"), ("no more than 3 days", "max"), ("<= 300 ms", "max"), ("< 300 ms", "max"),
        ("up to 50 MB", "max"), ("must not exceed 1 s", "max"), ("200 ms or less", "max"), ("2 s max", "max"),
        ("in under 2 s", "max"), ("maximum of 5 minutes", "max"), ("200 ms or better", "max"),
        ("at least 99.9%", "min"), ("over 500 users", "min"), ("more than 1,000 req/s", "min"),
        (">= 10 GB", "min"), ("minimum 2 TB", "min"), ("500 users or more", "min"), ("10,000+ users", "min"),
        ("no fewer than 20 users", "min"), ("99.95% or better", "min"),
        ("exactly 200 ms", "exact"), ("in 2 s", "exact"), ("99.9% availability", "exact"),
    ],
)
def test_every_bound(text: str, bound: str) -> None:
    m = measure(text)
    assert m is not None and m["bound"] == bound, (text, m)


def test_ranges_keep_the_upper_limit_and_both_ends() -> None:
    for text in ("between 200 and 500 ms", "200-500 ms", "200 ms to 500 ms", "from 200 to 500 ms"):
        assert measure(text) == {"number": 500, "unit": "ms", "metric": "duration", "bound": "max", "range": [200, 500]}


@pytest.mark.parametrize(
    ("text", "metric"),
    [
        ("p95 latency under 200 ms", "latency_p95"), ("the 95th percentile stays below 300 ms", "latency_p95"),
        ("p99 of 800 ms", "latency_p99"), ("median 100 ms", "latency_p50"), ("response time of 1 s", "latency"),
        ("the page loads in 2 s", "latency"), ("99.9% availability", "availability"), ("99.5% uptime", "availability"),
        ("500 concurrent users", "concurrent_users"), ("500 users at the same time", "concurrent_users"),
        ("10,000 users", "users"), ("5,000 daily active users", "active_users"), ("500 req/s", "throughput"),
        ("kept for 7 years", "retention"), ("retained 30 days", "retention"), ("RTO of 4 hours", "rto"),
        ("restore within 4 h", "rto"), ("RPO of 15 minutes", "rpo"), ("lose at most 15 minutes of data", "rpo"),
        ("backups every 6 hours", "backup_interval"), ("sessions time out after 30 minutes", "timeout"),
        ("error rate below 0.1%", "error_rate"), ("grows 20% per year", "growth"), ("CPU below 70%", "utilisation"),
        ("uploads up to 50 MB", "file_size"), ("stores 5 GB per customer", "data_volume"),
        ("launch within 6 months", "deadline"), ("a budget of EUR 50k", "budget"),
        ("sync every 5 minutes", "interval"), ("the job runs for 15 minutes", "duration"),
        ("couriers lose 1 hour a day finding parcels", "duration"),  # not an RPO: no data is lost
        ("couriers search for 1 hour a day", "duration"),  # a latency is in ms or s
    ],
)
def test_metrics_from_context(text: str, metric: str) -> None:
    m = measure(text)
    assert m is not None and m["metric"] == metric, (text, m)


def test_the_primary_measure_depends_on_the_category() -> None:
    text = "p95 under 200 ms for 500 concurrent users"
    assert measure(text, "performance")["metric"] == "latency_p95"
    assert measure(text, "scalability")["metric"] == "concurrent_users"
    assert [m.metric for m in measures(text)] == ["latency_p95", "concurrent_users"]


@pytest.mark.parametrize(
    "text",
    ["3 servers in two regions", "version 10.5.3 s", "no numbers at all", "1,5 s (a decimal comma)", "about 1,00 users",
     "room 42", "HTTP 500 errors", "IPv4 only", "Windows 10 users", "PostgreSQL 16 users", "3D models", "1.5 users"],
)
def test_no_measure_where_there_is_none(text: str) -> None:
    assert measure(text) is None


def test_comparable_values_are_in_base_units() -> None:
    assert comparable({"number": 200, "unit": "ms"}) == pytest.approx(0.2)
    assert comparable({"number": 2, "unit": "min"}) == 120
    assert comparable({"number": 1, "unit": "yr"}) == pytest.approx(365.25 * 86400)
    assert comparable({"number": 500, "unit": "MB"}) == pytest.approx(5e8)  # bytes
    assert comparable({"number": 600, "unit": "req/min"}) == pytest.approx(10)
    assert comparable({"text": "no number"}) is None
    assert dimension("ms") == dimension("yr") == "time" and dimension("GB") == "size" and dimension("parsecs") is None


@pytest.mark.parametrize(
    ("text", "vocab", "expected"),
    [
        ("We use PostgreSQL.", "db", "PostgreSQL"), ("Postgres 16", "db", "PostgreSQL"), ("MySQL 8", "db", "MySQL"),
        ("MariaDB", "db", "MariaDB"), ("MongoDB Atlas", "db", "MongoDB"), ("SQLite on the device", "db", "SQLite"),
        ("Oracle 19c", "db", "Oracle"), ("MS SQL Server 2019", "db", "SQL Server"), ("DynamoDB", "db", "DynamoDB"),
        ("Redis as the primary database", "db", "Redis"),
        ("Redis for caching and PostgreSQL for everything else", "db", "PostgreSQL"),
        ("We use PostgreSQL, not MongoDB.", "db", "PostgreSQL"),
        ("PostgreSQL instead of Oracle", "db", "PostgreSQL"),
        ("Must not use Oracle.", "db", "Oracle"),
        ("PostgreSQL or MySQL, not decided yet.", "db", None),
        ("Oracle Cloud", "db", None),
        ("Hosted on Amazon Web Services", "cloud", "AWS"), ("AWS eu-central-1", "cloud", "AWS"),
        ("Microsoft Azure", "cloud", "Azure"), ("GCP", "cloud", "Google Cloud"), ("Google Cloud", "cloud", "Google Cloud"),
        ("Azure AD for login", "cloud", None),
        ("on-prem only", "hosting", "on-premises"), ("self-hosted in our own data centre", "hosting", "on-premises"),
        ("on premises", "hosting", "on-premises"),
        ("written in Go", "language", "Go"), ("Go live in March", "language", None),
        ("Python 3.12", "language", "Python"), ("Java 21 with Spring", "language", "Java"),
        ("JavaScript frontend", "language", "JavaScript"), ("TypeScript", "language", "TypeScript"),
        ("C# and .NET 8", "language", "C#"), ("C++ core", "language", "C++"), ("Kotlin", "language", "Kotlin"),
    ],
)
def test_choices(text: str, vocab: str, expected: str | None) -> None:
    assert choice(text, vocab) == expected


def test_choice_values_in_items() -> None:
    assert one("constraints", "PostgreSQL").value == {"text": "PostgreSQL", "choice": "PostgreSQL"}
    forbidden = one("constraints", "We must not use Oracle.")
    assert forbidden.value == {"text": "We must not use Oracle.", "choice": "Oracle", "negated": True}
    assert "choice" not in one("constraints", "PostgreSQL or MySQL, not decided yet.").value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Users must not delete invoices.", True), ("The system shall not store card numbers.", True),
        ("Accounts are never deleted.", True), ("No user may see another tenant's data.", True),
        ("Guests cannot see prices.", True), ("Do not log passwords.", True), ("We don't need SSO.", True),
        ("Sharing accounts is not allowed.", True), ("Nobody outside the EU may access the data.", True),
        ("Card numbers are prohibited in logs.", True),
        ("Response time must not exceed 200 ms.", False), ("No more than 3 retries.", False),
        ("If the payment does not clear, the order shall be cancelled.", False),
        ("The app shall retry when the ERP does not respond.", False),
        ("Users can delete their accounts.", False), ("The system shall allow no more than 5 login attempts.", False),
    ],
)
def test_negation(text: str, expected: bool) -> None:
    assert negated(text) is expected
    item = one("security", text)
    assert item.value.get("negated", False) is expected
    assert "negated" not in item.value or item.value["negated"] is True  # only stated when true


# --- 5. normalised text --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "answer", "text"),
    [
        ("performance", "Checkout must load in 2 s", "Checkout shall load in 2 s."),
        ("performance", "p95 latency under 200 ms for 500 concurrent users",
         "The system shall respond with a p95 latency under 200 ms for 500 concurrent users."),
        ("performance", "Response time under 1 s", "The system shall have a response time under 1 s."),
        ("performance", "Within 2 s", "The system shall respond within 2 s."),
        ("performance", "Under 200 ms for search", "The system shall respond in under 200 ms for search."),
        ("performance", "1,000 req/s at peak", "The system shall handle 1,000 req/s at peak."),
        ("performance", "Must not exceed 1 second", "The system shall not exceed 1 second."),
        ("reliability", "99.9% availability per month", "The system shall provide 99.9% availability per month."),
        ("reliability", "Availability of 99.9%", "The system shall have an availability of 99.9%."),
        ("reliability", "RTO of 4 hours", "The system shall meet an RTO of 4 hours."),
        ("scalability", "500 concurrent users at peak", "The system shall support 500 concurrent users at peak."),
        ("functional", "It must work offline", "The system shall work offline."),
        ("functional", "Customers can export their orders as CSV",
         "The system shall allow customers to export their orders as CSV."),
        ("security", "Guests cannot see prices", "The system shall not allow guests to see prices."),
        ("security", "Only admins can delete invoices", "The system shall allow only admins to delete invoices."),
        ("security", "Never store card numbers", "The system shall never store card numbers."),
        ("security", "Don't log passwords", "The system shall not log passwords."),
        ("constraints", "Use PostgreSQL", "The system shall use PostgreSQL."),
        ("constraints", "Postgres", "The system shall use Postgres."),
        ("constraints", "On-premises only", "The system shall run on-premises only."),
        ("compliance", "GDPR", "The system shall comply with GDPR."),
        ("integrations", "Stripe for payments", "The system shall integrate with Stripe for payments."),
        # a verb the rules do not know: a sentence, kept as said (no "shall integrate with ... carries")
        ("integrations", "Kafka Connect carries the data, with Debezium as the source.",
         "Kafka Connect carries the data, with Debezium as the source."),
        ("functional", "When a user submits an order, the system must send an email.",
         "When a user submits an order, the system shall send an email."),
        # kept as written: changing these would change their meaning or strength
        ("performance", "Pages should feel fast", "Pages should feel fast."),
        ("constraints", "We must launch by March", "We must launch by March."),
        ("functional", "The app will work offline", "The app will work offline."),
        ("functional", "Store locations are listed on a map", "Store locations are listed on a map."),
        ("functional", "The system shall encrypt data at rest.", "The system shall encrypt data at rest."),
        ("constraints", "iOS app first", "iOS app first."),
        ("functional", "orders ship daily", "Orders ship daily."),
        # issue 15: a verb that is also a noun ("support staff", "log files", "store managers")
        ("functional", "Support staff investigate failed payments", "Support staff investigate failed payments."),
        ("users", "Support agents answer tickets from customers", "Support agents answer tickets from customers."),
        ("functional", "Log files older than 30 days are archived", "Log files older than 30 days are archived."),
        ("functional", "Log files rotate daily", "Log files rotate daily."),
        ("functional", "Store managers approve refunds", "Store managers approve refunds."),
        ("functional", "Order history shows the last 50 orders", "Order history shows the last 50 orders."),
        # ... while an imperative is still one
        ("functional", "Support multiple currencies", "The system shall support multiple currencies."),
        ("functional", "Log every failed login", "The system shall log every failed login."),
        ("functional", "Export reports as CSV", "The system shall export reports as CSV."),
        ("functional", "Let customers choose a delivery slot", "The system shall let customers choose a delivery slot."),
        ("functional", "Send customers a reminder two days before", "The system shall send customers a reminder two days before."),
        ("functional", "Support staff can refund payments", "The system shall allow support staff to refund payments."),
    ],
)
def test_normalised_text(asked: str, answer: str, text: str) -> None:
    item = one(asked, answer)
    assert item.text == text
    assert item.value["text"] == answer  # the statement as given stays in the value


def test_normalise_keeps_the_original_words() -> None:
    original = "Checkout must load the basket, the address and the payment form in 2 s"
    out = normalise(original)
    assert out == "Checkout shall load the basket, the address and the payment form in 2 s."
    assert set(re.findall(r"\w+", original)) - {"must"} <= set(re.findall(r"\w+", out))


# --- 6. findings and confidence ------------------------------------------------------------


def test_findings_are_lint_of_the_item_text() -> None:
    for asked, answer in [
        ("usability", "The app should be easy to use, intuitive etc."),
        ("performance", "Pages should feel fast and load quickly if possible."),
        ("data", "Retention is TBD."),
        ("security", "Only admins can delete invoices."),
    ]:
        for item in items(asked, answer):
            assert item.findings == [f.to_dict() for f in lint(item.text, item.category)]
            for f in item.findings:
                if f["span"]:
                    assert item.text[slice(*f["span"])].strip(), f  # spans index ItemDraft.text
    vague = one("performance", "Pages should feel fast.")
    assert [vague.text[slice(*f["span"])] for f in vague.findings if f["rule"] == "vague-term"] == ["fast"]


def test_confidence_formula() -> None:
    assert one("performance", "p95 under 200 ms.").confidence == 0.9  # measured 0.8 + NFR 0.1
    assert one("goals", "Order handling drops from 3 days to 1 day.").confidence == 0.8  # measured, not an NFR
    assert one("constraints", "PostgreSQL").confidence == 0.8  # choice
    assert one("functional", "The system shall send a receipt by email.").confidence == 0.7  # requirement
    assert one("functional", "Clerks print a packing list.").confidence == 0.6  # statement (not-ears is info)
    # should (weak-verb), fast (vague-term), unmeasurable: 0.6 - 3 x 0.1
    assert one("performance", "Pages should feel fast.").confidence == 0.3
    # placeholder costs 0.25: 0.6 - 0.25
    assert one("data", "Retention is TBD.").confidence == 0.35
    # escape clause 0.25 + weak verb 0.1
    assert one("functional", "Clerks should get a receipt if possible.").confidence == 0.25
    # never below 0.1
    assert one("usability", "It should be easy, quick, simple and intuitive, if possible, etc., TBD.").confidence == 0.1
    value = {"text": "x", "number": 1, "unit": "s"}
    assert confidence(value, "x", "performance", [{"rule": "not-ears", "severity": "info"}]) == 0.9


def test_a_measured_statement_beats_a_vague_one() -> None:
    measured, plain, vague = items(
        "performance", "Search responds within 1 s at p95. Search results are listed by date. Search should be fast."
    )
    assert measured.confidence > plain.confidence > vague.confidence
    for asked in ("reliability", "scalability", "usability"):
        good, bad = items(asked, "99.9% of attempts succeed within 5 minutes for 500 users. It should be robust and easy.")
        assert good.confidence > bad.confidence, asked


# --- the whole step ------------------------------------------------------------------------


def _contract(item: ItemDraft) -> None:
    v = item.value
    assert isinstance(v["text"], str) and v["text"]
    if "number" in v:
        assert isinstance(v["number"], (int, float)) and v["unit"] in UNITS and v["metric"]
        assert v["bound"] in ("max", "min", "exact")
    if "choice" in v:
        assert isinstance(v["choice"], str) and v["choice"]
    if "negated" in v:
        assert v["negated"] is True
    assert set(v) <= {"text", "number", "unit", "metric", "bound", "range", "choice", "negated"}
    assert 0.1 <= item.confidence <= 1.0 and round(item.confidence, 2) == item.confidence
    assert item.text.endswith((".", "!", "?"))
    json.dumps(v)


REALISTIC = [
    ("performance", "performance.latency",
     "Search must answer within 300 ms at p95 for 200 concurrent users; checkout may take up to 2 s. "
     "Nightly exports should be fast, etc."),
    ("constraints", "constraints.technology",
     "We use PostgreSQL, not MongoDB. Hosted on AWS in eu-central-1. Backend in Python 3.12; budget is EUR 50k."),
    ("reliability", "reliability.availability",
     "99.9% availability per month. RTO of 4 hours and we can lose at most 15 minutes of data.\n"
     "- Backups every 24 hours, kept for 30 days\n- The shop must never lose a paid order"),
    ("security", "security.authentication",
     "Staff sign in with SSO via Okta. Card numbers must never be stored. Only admins can delete invoices."),
    (None, None, "Export orders as CSV. The shop must be available 99.9% of the time. It must comply with GDPR."),
]


@pytest.mark.parametrize(("asked", "key", "answer"), REALISTIC)
def test_realistic_answers_honour_the_value_contract(asked: str | None, key: str | None, answer: str) -> None:
    found = items(asked, answer, key)
    assert found
    for item in found:
        _contract(item)


def test_realistic_answers_give_these_items() -> None:
    asked, key, answer = REALISTIC[2]
    found = items(asked, answer, key)
    assert [(i.key, i.value.get("number"), i.value.get("unit"), i.value.get("metric"), i.value.get("bound"))
            for i in found] == [
        ("reliability.availability", 99.9, "%", "availability", "exact"),
        ("reliability.rto", 4, "h", "rto", "exact"),
        ("reliability.backup", 24, "h", "backup_interval", "exact"),
        ("reliability.availability_4", None, None, None, None),
    ]
    assert found[3].value.get("negated") is True
    asked, key, answer = REALISTIC[1]
    constraints = items(asked, answer, key)
    assert [(i.key, i.value.get("choice") or i.value.get("number")) for i in constraints] == [
        ("constraints.primary_database", "PostgreSQL"), ("constraints.cloud", "AWS"),
        ("constraints.language", "Python"), ("constraints.budget", 50_000),
    ]


def test_extraction_is_deterministic() -> None:
    for asked, key, answer in REALISTIC:
        first = items(asked, answer, key)
        ex._table.cache_clear()
        assert items(asked, answer, key) == first


def test_the_engine_uses_extract_items() -> None:
    ctx = EngineContext(template=get_template("generic"), confidence_sums={}, asked_keys=frozenset())
    for asked, key, answer in REALISTIC:
        question = q(asked, key) if asked else None
        assert OfflineEngine().extract(ctx, question, answer) == extract_items(question, answer)


def test_huge_statements_are_linted_within_the_limit() -> None:
    [item] = items("goals", "é" * 20_000)
    assert len(item.text) == 20_001 and item.confidence >= 0.1


def test_leading_punctuation_is_dropped() -> None:
    assert split_statements("Clerks are happy. : 90% of clerks finish in 5 minutes. ‘ 3 files load nightly.") == [
        "Clerks are happy.", "90% of clerks finish in 5 minutes.", "3 files load nightly.",
    ]
    assert split_statements('"Quick Pay" is the button name.') == ['"Quick Pay" is the button name.']


def test_an_and_inside_a_subordinate_clause_does_not_split() -> None:
    assert split_statements("The system shall ensure that reports and invoices can be exported.") == [
        "The system shall ensure that reports and invoices can be exported.",
    ]
    assert split_statements("Clerks must save drafts and managers can approve them.") == [
        "Clerks must save drafts", "managers can approve them.",
    ]


def test_space_thousands_separator_and_negated_bound() -> None:
    [users] = extract_items(None, "The system shall support 10 000 users.")
    assert users.value["number"] == 10000
    [limit] = extract_items(None, "A search should not be more than 10 seconds.")
    assert limit.value["bound"] == "max" and not limit.value.get("negated")
