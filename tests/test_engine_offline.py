"""The offline engine without a database: question choice, the bank, extraction, conflict rules."""

from __future__ import annotations

import re
from types import MappingProxyType

import pytest

import socrates_nb as snb
from socrates_nb.categories import CATEGORIES, CATEGORY_INFO, require_category
from socrates_nb.engine import Engine, EngineContext, QuestionDraft, get_engine
from socrates_nb.engine.offline import OfflineEngine
from socrates_nb.engine.offline.bank import load_bank, questions_for
from socrates_nb.engine.offline.extraction import comparable, measure, split_statements
from socrates_nb.quality.conflicts import judge
from socrates_nb.templates import CategoryGoal, Template, get_template

ENGINE = OfflineEngine()


def ctx(template: str | Template = "generic", sums: dict[str, float] | None = None, asked: set[str] = frozenset()) -> EngineContext:  # type: ignore[assignment]
    tpl = get_template(template) if isinstance(template, str) else template
    return EngineContext(template=tpl, confidence_sums=sums or {}, asked_keys=frozenset(asked))


def covered(*categories: str) -> dict[str, float]:
    return {c: 10.0 for c in categories}


def all_but(*categories: str) -> dict[str, float]:
    return covered(*(c for c in CATEGORIES if c not in categories))


def drive(template: str | Template, sums: dict[str, float] | None = None, limit: int = 500) -> list[QuestionDraft]:
    """Every question the engine asks, in order, when answers add no coverage."""
    asked: list[QuestionDraft] = []
    while (q := ENGINE.next_question(ctx(template, sums, {a.key for a in asked}))) is not None:
        asked.append(q)
        assert len(asked) < limit
    return asked


# --- choosing the next question ------------------------------------------------------------


def test_engine_protocol_and_lookup() -> None:
    assert isinstance(ENGINE, Engine) and ENGINE.name == "offline"
    assert isinstance(get_engine("offline"), OfflineEngine)
    with pytest.raises(snb.ValidationError, match="unknown engine 'llm'; valid engines: offline"):
        get_engine("llm")


def test_first_question_is_the_basic_goals_question() -> None:
    q = ENGINE.next_question(ctx())
    assert q is not None and (q.key, q.category) == ("goals.problem", "goals")
    assert q.why and q.example and q.text.endswith("?")


def test_categories_are_visited_in_canonical_order_when_equally_covered() -> None:
    sums: dict[str, float] = {}
    order = []
    for _ in CATEGORIES:
        q = ENGINE.next_question(ctx(sums=sums))
        order.append(q.category)
        sums[q.category] = 0.6  # every category gets the same partial coverage
    assert order == list(CATEGORIES)


def test_least_covered_category_comes_first() -> None:
    sums = {c: 1.0 for c in CATEGORIES}
    sums["functional"] = 6.0  # the generic target: six capabilities
    sums["security"] = 0.2
    sums["data"] = 0.5
    assert ENGINE.next_question(ctx(sums=sums)).category == "security"
    sums["security"] = 0.9
    assert ENGINE.next_question(ctx(sums=sums)).category == "data"


def test_usability_is_not_asked_before_users() -> None:
    # everything covered but users and usability: users first
    q = ENGINE.next_question(ctx(sums=all_but("users", "usability")))
    assert q.category == "users"
    # walk the whole remaining bank: no usability question before the first users question
    cats = [q.category for q in drive("generic", all_but("users", "usability"))]
    assert cats.index("users") < cats.index("usability")
    for template in snb.TEMPLATES:
        cats = [q.category for q in drive(template)]
        assert cats.index("users") < cats.index("usability") if "usability" in cats else True
        assert cats.index("goals") < cats.index("acceptance") and cats.index("functional") < cats.index("acceptance")


def test_usability_is_asked_once_users_is_done() -> None:
    users_keys = {q.key for q in questions_for("generic", "users")}
    # users exhausted (every users question asked, still uncovered): usability may go ahead
    q = ENGINE.next_question(ctx(sums=all_but("users", "usability"), asked=users_keys))
    assert q.category == "usability"
    # users covered: usability is next
    q = ENGINE.next_question(ctx(sums=all_but("usability")))
    assert q.category == "usability"


def test_dependency_on_a_category_the_template_ignores_does_not_block() -> None:
    base = get_template("generic")
    goals = dict(base.goals)
    goals["users"] = CategoryGoal(weight=0.0, target=1.0)
    tpl = Template("no-users", "users do not matter", MappingProxyType(goals))
    q = ENGINE.next_question(ctx(tpl, all_but("users", "usability")))
    assert q.category == "usability"


def test_nothing_left_when_every_weighted_category_is_covered() -> None:
    depth = frozenset(q.key for q in load_bank() if q.depth)
    assert ENGINE.next_question(ctx(sums=covered(*CATEGORIES), asked=depth)) is None
    # data-pipeline gives usability weight 0: it never needs to be covered
    assert ENGINE.next_question(ctx("data-pipeline", all_but("usability"), asked=depth)) is None
    # generic needs it
    assert ENGINE.next_question(ctx("generic", all_but("usability"))).category == "usability"


def test_a_covered_category_still_asks_its_depth_questions() -> None:
    # four capabilities can meet functional's target: its rules and edge cases are still asked,
    # in bank order, after every uncovered category
    asked: set[str] = set()
    for expected in ("functional.inputs_outputs", "functional.business_rules", "functional.edge_cases"):
        q = ENGINE.next_question(ctx(sums=covered(*CATEGORIES), asked=frozenset(asked)))
        assert q.key == expected
        asked.add(q.key)
    assert ENGINE.next_question(ctx(sums=all_but("usability"))).category == "usability"
    assert {q.key for q in load_bank() if q.depth} == set(asked)


def test_zero_weight_categories_are_never_asked() -> None:
    cats = {q.category for q in drive("data-pipeline")}
    assert "usability" not in cats and len(cats) == 13


def test_every_question_is_asked_once_and_then_nothing() -> None:
    for template in snb.TEMPLATES:
        asked = drive(template)
        keys = [q.key for q in asked]
        assert len(keys) == len(set(keys)), template
        expected = {q.key for q in load_bank() if q.applies_to(template) and get_template(template).weight(q.category) > 0}
        assert set(keys) == expected, template


def test_template_specific_questions_appear_for_their_template_only() -> None:
    specific = [q for q in load_bank() if "all" not in q.templates]
    assert len(specific) >= 30
    asked = {t: {q.key for q in drive(t)} for t in snb.TEMPLATES}
    for q in specific:
        for template in snb.TEMPLATES:
            assert (q.key in asked[template]) == (template in q.templates), (q.key, template)
    assert not any("all" not in q.templates for q in questions_for("generic", "functional"))


def test_template_specific_questions_come_right_after_the_first_basic_one() -> None:
    keys = [q.key for q in questions_for("web-api", "functional")]
    assert keys[:3] == ["functional.core_tasks", "functional.api_error_format", "functional.api_pagination"]
    cli = [q.key for q in questions_for("cli-tool", "functional")]
    assert cli[1:3] == ["functional.cli_exit_codes", "functional.cli_config"]
    # in a session: the second functional question of a web-api project is the API one
    asked = [q for q in drive("web-api") if q.category == "functional"]
    assert [q.key for q in asked[:2]] == ["functional.core_tasks", "functional.api_error_format"]


# --- the question bank ---------------------------------------------------------------------


def test_the_bank_is_well_formed() -> None:
    bank = load_bank()
    keys = [q.key for q in bank]
    assert len(keys) == len(set(keys))
    for q in bank:
        assert q.category in CATEGORIES, q.key
        assert re.fullmatch(rf"{q.category}\.[a-z0-9_]+", q.key), q.key
        assert q.text.endswith("?") and len(q.why) > 20 and q.example, q.key
        assert all(t == "all" or t in snb.TEMPLATES for t in q.templates), q.key
        assert (q.order >= 100) == ("all" not in q.templates), q.key
    for template in snb.TEMPLATES:
        for cat in CATEGORIES:
            assert len(questions_for(template, cat)) >= 3, (template, cat)


def test_categories_are_the_one_list() -> None:
    assert CATEGORIES == (
        "goals", "users", "functional", "data", "integrations", "constraints", "performance",
        "scalability", "security", "reliability", "usability", "operations", "compliance", "acceptance",
    )
    assert CATEGORY_INFO["usability"].depends_on == ("users",)
    prefixes = [CATEGORY_INFO[c].ref_prefix for c in CATEGORIES]
    assert len(set(prefixes)) == 14
    assert require_category("data") == "data"
    with pytest.raises(snb.ValidationError, match="unknown category 'ux'; valid categories: goals, users"):
        require_category("ux")
    for cat in CATEGORIES:  # every dependency points at an earlier category
        for dep in CATEGORY_INFO[cat].depends_on:
            assert CATEGORIES.index(dep) < CATEGORIES.index(cat)


# --- extraction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("p95 latency under 200 ms", (200, "ms", "latency_p95")),
        ("the 95th percentile stays below 300 milliseconds", (300, "ms", "latency_p95")),
        ("p99 latency of 1.5 seconds", (1.5, "s", "latency_p99")),
        ("respond within 2 s", (2, "s", "latency")),
        ("respond within 2s", (2, "s", "latency")),
        ("handles 500 req/s at peak", (500, "req/s", "throughput")),
        ("handles 1,200 requests per second", (1200, "req/s", "throughput")),
        ("about 100 rps", (100, "req/s", "throughput")),
        ("10,000 users in the first year", (10000, "users", "users")),
        ("500 concurrent users", (500, "users", "concurrent_users")),
        ("one admin user per shop: 1 user", (1, "users", "users")),
        ("stores 5 GB per customer", (5, "GB", "data_volume")),
        ("uploads up to 50MB", (50, "MB", "file_size")),
        ("2 TB of logs", (2, "TB", "data_volume")),
        ("a 3 MB bundle", (3, "MB", "page_weight")),
        ("20% of traffic is mobile", (20, "%", "percent")),
        ("99.9% availability per month", (99.9, "%", "availability")),
        ("99.95 % uptime", (99.95, "%", "availability")),
        ("backups every 15 minutes", (15, "min", "backup_interval")),
        ("restore within 4 h", (4, "h", "rto")),
        ("the job runs for 15 minutes", (15, "min", "duration")),
        # issue 15: number words, scaled numbers and every spelling of a rate
        ("backups every five minutes", (5, "min", "backup_interval")),
        ("search responds in half a second", (0.5, "s", "latency")),
        ("a dozen concurrent users", (12, "users", "concurrent_users")),
        ("two hundred requests per second", (200, "req/s", "throughput")),
        ("restore within twenty-four hours", (24, "h", "rto")),
        ("1k users", (1000, "users", "users")),
        ("we expect 10k/day", (10_000, "items/d", "throughput")),
        ("at most 86,400 req/day", (86_400, "req/d", "throughput")),
        ("5 transactions per hour", (5, "tx/h", "throughput")),
        ("1.5k users", (1500, "users", "users")),
    ],
)
def test_numbers_with_units(statement: str, expected: tuple[float, str, str]) -> None:
    m = measure(statement)
    assert m is not None
    assert (m["number"], m["unit"], m["metric"]) == expected
    assert isinstance(m["number"], int) == float(expected[0]).is_integer()


@pytest.mark.parametrize(
    "statement",
    ["3 servers in two regions", "version 10.5.3 s", "no numbers at all", "1,5 s (a decimal comma)", "about 1,00 users",
     "room 42", "HTTP 500 errors", "IPv4 only", "a second factor is required", "one of the users approves",
     "One day, customers will pay online", "twice a day", "3D printing"],
)
def test_no_measure_where_there_is_none(statement: str) -> None:
    assert measure(statement) is None


def test_comparable_values_are_in_base_units() -> None:
    assert comparable({"number": 200, "unit": "ms"}) == pytest.approx(0.2)
    assert comparable({"number": 2, "unit": "min"}) == 120
    assert comparable({"number": 3, "unit": "h"}) == 10800
    assert comparable({"number": 5, "unit": "GB"}) == 5e9  # bytes
    assert comparable({"text": "no number"}) is None


def test_vague_words_become_lint_findings() -> None:
    # the old vague_findings() is replaced by quality.lint: spans index the item text
    q = QuestionDraft(key="usability.first_task", category="usability", text="How easy?", why="Because.")
    [item] = ENGINE.extract(ctx(), q, "A fast and user-friendly UI that is easy to use, etc.")
    vague = [f for f in item.findings if f["rule"] == "vague-term"]
    assert [item.text[slice(*f["span"])] for f in vague] == ["fast", "user-friendly", "easy to use"]
    assert any(f["rule"] == "open-ended" for f in item.findings)
    measured = QuestionDraft(key="performance.page_load", category="performance", text="How fast?", why="Because.")
    [ok] = ENGINE.extract(ctx(), measured, "Pages load in 300 ms at p95.")
    assert not [f for f in ok.findings if f["rule"] == "vague-term"]
    [word] = ENGINE.extract(ctx(), q, "breakfast is steady")  # whole words only
    assert not [f for f in word.findings if f["rule"] == "vague-term"]


def test_split_statements() -> None:
    assert split_statements("One. Two!  Three? four; five\n- six\n* seven\n\n") == [
        "One.", "Two!", "Three?", "four", "five", "six", "seven",
    ]
    assert split_statements("Availability is 99.9% per month. Done") == ["Availability is 99.9% per month.", "Done"]
    assert split_statements("ok") == [] and split_statements("  \n ") == []


def test_extract_makes_one_item_per_statement() -> None:
    q = QuestionDraft(key="performance.latency", category="performance", text="How fast?", why="Because.")
    items = ENGINE.extract(ctx(), q, "p95 latency under 200 ms. Pages should feel fast. Search results are paged")
    assert [i.category for i in items] == ["performance"] * 3
    assert [i.key for i in items] == ["performance.latency_p95", "performance.latency_2", "performance.latency_3"]
    assert [i.confidence for i in items] == [0.9, 0.3, 0.5]
    assert items[0].value == {
        "number": 200, "unit": "ms", "metric": "latency_p95", "bound": "max", "text": "p95 latency under 200 ms.",
    }
    assert {"vague-term", "unmeasurable"} <= {f["rule"] for f in items[1].findings}
    assert [i.text for i in items] == [
        "The system shall respond with a p95 latency under 200 ms.", "Pages should feel fast.", "Search results are paged.",
    ]


def test_extract_without_a_question_is_classified() -> None:
    items = ENGINE.extract(ctx(), None, "export orders as CSV")
    assert [(i.category, i.key, i.text) for i in items] == [
        ("functional", "functional.free", "The system shall export orders as CSV."),
    ]
    assert ENGINE.extract(ctx(), None, "ok") == []


# --- conflict rules ------------------------------------------------------------------------


def v(text: str) -> dict:
    m = measure(text)
    return {**m, "text": text} if m else {"text": text}


def test_judge_restatement_conflict_independent() -> None:
    assert judge("k", v("p95 under 200 ms"), v("p95 under 0.2 s")).kind == "restatement"
    for ms, sec in ((700, "0.7"), (1100, "1.1"), (300, "0.3"), (2900, "2.9")):  # not equal as floats
        assert judge("k", v(f"p95 under {ms} ms"), v(f"p95 under {sec} s")).kind == "restatement", ms
    high = judge("k", v("p95 under 200 ms"), v("p95 under 2 s"))
    assert (high.kind, high.type, high.severity) == ("conflict", "numeric", "high")
    assert high.explanation == "k: 200 ms vs 2 s"
    assert judge("k", v("p95 under 200 ms"), v("p95 under 300 ms")).severity == "medium"
    assert judge("k", v("p95 under 200 ms"), v("p95 under 240 ms")).kind == "independent"  # < 25% apart
    assert judge("k", v("pages in 200 ms"), v("pages in 2 s")).severity == "high"  # one subject, 10x apart
    # availability is compared as allowed downtime: 0.1% vs 1% is 10x
    assert judge("k", v("99.9% availability"), v("99% availability")).severity == "high"
    assert judge("k", v("pages in 200 ms"), v("sessions time out after 2 s")).kind == "independent"  # two subjects
    assert judge("k", v("500 concurrent users"), v("5,000 concurrent users")).severity == "high"
    assert judge("k", v("Export as CSV."), v("export as csv!")).kind == "restatement"
    assert judge("k", v("Export as CSV"), v("Export as PDF")).kind == "independent"
    assert judge("k", v("p95 under 200 ms"), v("Export as CSV")).kind == "independent"
    assert judge("k", {"number": 0, "unit": "ms", "metric": "latency_p95"}, v("p95 under 2 s")).severity == "high"
