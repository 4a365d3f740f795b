"""Probing: follow-up questions that quote the weak words and ask for a measurable form.

All example sentences are written for these tests (none comes from the PROMISE data set).
"""

from __future__ import annotations

import re

import pytest

from socrates_nb.categories import CATEGORIES
from socrates_nb.engine import QuestionDraft
from socrates_nb.engine.base import ItemDraft
from socrates_nb.engine.offline.extraction import extract_items, probed_key
from socrates_nb.engine.offline.probing import (
    EXAMPLES,
    MAX_PROBES,
    OPTIONS,
    RANGES,
    needs_probe,
    probe_question,
    weak_words,
)


def item(category: str, answer: str, key: str | None = None) -> ItemDraft:
    question = QuestionDraft(key=key or f"{category}.asked", category=category, text="Tell me?", why="It matters.")
    [found] = extract_items(question, answer)
    return found


def test_the_probe_quotes_the_weak_words() -> None:
    vague = item("usability", "The order form should be fast and user-friendly.")
    probe = probe_question(vague, 0)
    assert probe is not None
    assert probe.text.startswith("You said 'fast' and 'user-friendly'.")
    assert "measurable" in probe.text and probe.text.endswith("?")
    assert weak_words(vague) == ["fast", "user-friendly"]


def test_quoted_words_come_from_the_item_text_in_order_without_repeats() -> None:
    vague = item("usability", "Screens should be simple, simple and intuitive, etc.")
    words = weak_words(vague)
    assert words == ["simple", "intuitive", "etc."]
    assert all(w in vague.text for w in words)
    assert "'simple', 'intuitive' and 'etc.'" in probe_question(vague, 0).text
    many = item("usability", "It should be easy, quick, intuitive, seamless and modern.")
    assert len(weak_words(many)) == 3  # at most three quoted


@pytest.mark.parametrize(
    ("category", "answer", "example_words"),
    [
        ("performance", "Search should be fast.", ["p95", "200 ms", "500 concurrent users"]),
        ("reliability", "The shop must be highly available.", ["99.9%", "availability"]),
        ("usability", "The app must be easy to learn.", ["first order within 5 minutes"]),
        ("scalability", "It must scale to many shops.", ["concurrent users"]),
        ("security", "Logins must be secure.", ["failed logins"]),
        ("operations", "Deployments should be quick.", ["30 minutes"]),
    ],
)
def test_the_example_fits_the_category(category: str, answer: str, example_words: list[str]) -> None:
    vague = item(category, answer)
    probe = probe_question(vague, 0)
    assert probe is not None and probe.category == vague.category == category
    assert probe.example == EXAMPLES[category]
    for word in example_words:
        assert word in probe.text, (word, probe.text)


def test_key_category_and_why() -> None:
    vague = item("performance", "Search should be fast.", key="performance.latency")
    first, second = probe_question(vague, 0), probe_question(vague, 1)
    assert first is not None and second is not None
    assert (first.key, second.key) == (f"probe.{vague.key}.1", f"probe.{vague.key}.2")
    assert probed_key(first.key) == probed_key(second.key) == vague.key
    assert first.category == second.category == "performance"
    assert "measured" in first.why and "tested" in first.why and "'fast'" in first.why
    assert "test" in second.why and len(second.why) > 40


def test_at_most_two_probes() -> None:
    vague = item("performance", "Search should be fast.")
    assert MAX_PROBES == 2
    assert probe_question(vague, 0) is not None
    assert probe_question(vague, 1) is not None
    assert probe_question(vague, 2) is None
    assert probe_question(vague, 3) is None
    assert probe_question(vague, -1) is None


def test_the_second_probe_is_worded_differently() -> None:
    for category, answer in [
        ("performance", "Search should be fast."),
        ("reliability", "The shop must be highly available."),
        ("usability", "The app must be easy to learn."),
        ("data", "Retention is TBD."),
    ]:
        vague = item(category, answer)
        first, second = probe_question(vague, 0), probe_question(vague, 1)
        assert first is not None and second is not None
        assert first.text != second.text and first.why != second.why
        assert not second.text.startswith("You said")
        assert all(option in second.text for option in OPTIONS[category])  # it offers choices
        assert RANGES[category] in second.text and "range" in second.text  # and asks for a range
        quoted = re.findall(r"'([^']+)'", first.text)
        assert quoted and all(f"'{w}'" in second.text for w in quoted)  # still about the same words


def test_no_probe_for_a_good_measurable_item() -> None:
    for category, answer in [
        ("performance", "p95 latency under 200 ms for 500 concurrent users."),
        ("reliability", "99.9% availability per month."),
        ("scalability", "10,000 registered users by the end of the year."),
        ("usability", "A new clerk completes a first order within 5 minutes without help."),
        ("functional", "Clerks print a packing list for every order."),
        ("constraints", "PostgreSQL"),
        ("security", "Only managers may approve refunds."),
    ]:
        good = item(category, answer)
        assert not needs_probe(good), (answer, good.findings)
        assert probe_question(good, 0) is None, answer


def test_a_vague_word_next_to_a_number_is_not_probed() -> None:
    # lint keeps the vague-term finding at info severity: the criterion is there
    fine = item("performance", "Search must be fast: p95 under 200 ms.")
    assert any(f["rule"] == "vague-term" and f["severity"] == "info" for f in fine.findings)
    assert probe_question(fine, 0) is None


def test_a_measured_category_without_a_number_is_probed_even_without_weak_words() -> None:
    bare = ItemDraft(category="scalability", key="scalability.growth", value={"text": "Growth follows sales."},
                     text="Growth follows sales.", confidence=0.6, findings=[])
    probe = probe_question(bare, 0)
    assert probe is not None
    assert probe.text.startswith('You said "Growth follows sales", which gives no number with a unit.')
    assert probe_question(bare, 1) is not None and '"Growth follows sales"' in probe_question(bare, 1).text
    # the same statement outside performance/scalability/reliability is fine
    assert probe_question(ItemDraft("functional", "functional.x", {"text": "x"}, "Growth follows sales.", 0.6), 0) is None


@pytest.mark.parametrize(
    ("category", "answer", "quoted", "asks"),
    [
        ("data", "Retention is TBD.", "'TBD'", "What is the actual value, or who decides it and by when?"),
        ("functional", "Export to CSV, PDF etc.", "'etc.'", "What is the complete list?"),
        ("functional", "The clerk gets a receipt by email if possible.", "'if possible'",
         "Under which exact conditions must it hold"),
    ],
)
def test_placeholders_lists_and_escape_clauses(category: str, answer: str, quoted: str, asks: str) -> None:
    vague = item(category, answer)
    probe = probe_question(vague, 0)
    assert probe is not None and probe.text.startswith(f"You said {quoted}.") and asks in probe.text
    assert quoted in probe.why


def test_open_lists_get_a_list_question_the_second_time() -> None:
    probe = probe_question(item("functional", "Export to CSV, PDF etc."), 1)
    assert probe is not None and "name every item" in probe.text and "'etc.'" in probe.text


def test_probing_is_deterministic() -> None:
    vague = item("performance", "Search should be fast and scalable if possible.")
    assert [probe_question(vague, a) for a in (0, 1, 2)] == [probe_question(vague, a) for a in (0, 1, 2)]
    again = item("performance", "Search should be fast and scalable if possible.")
    assert probe_question(again, 0) == probe_question(vague, 0)


def test_every_category_has_an_example_options_and_a_range() -> None:
    for category in CATEGORIES:
        assert EXAMPLES[category] and len(OPTIONS[category]) == 3 and RANGES[category]
        assert re.search(r"\d", EXAMPLES[category]), category  # the example is measurable


def test_a_probe_answer_refines_the_probed_item() -> None:
    vague = item("performance", "Search should be fast.", key="performance.latency")
    probe = probe_question(vague, 0)
    assert probe is not None
    # a refined answer with a number lands on its table key; one without keeps the probed key
    [measured] = extract_items(probe, "p95 under 300 ms at 200 concurrent users.")
    assert (measured.key, measured.value["metric"], measured.confidence) == ("performance.latency_p95", "latency_p95", 0.9)
    assert probe_question(measured, 1) is None
    [still_vague] = extract_items(probe, "Faster than today, really quick.")
    assert still_vague.key == vague.key
    follow_up = probe_question(still_vague, 1)
    assert follow_up is not None and follow_up.key == f"probe.{vague.key}.2"


def test_the_offline_engine_probes_with_probe_question() -> None:
    from socrates_nb.engine import EngineContext
    from socrates_nb.engine.offline import OfflineEngine
    from socrates_nb.templates import get_template

    ctx = EngineContext(template=get_template("generic"), confidence_sums={}, asked_keys=frozenset())
    vague = item("performance", "Search should be fast.")
    for attempt in (0, 1, 2):
        assert OfflineEngine().probe(ctx, vague, attempt) == probe_question(vague, attempt)


def test_a_vague_word_lint_lowered_for_a_frequency_is_still_quoted() -> None:
    # lint sees "nightly" as a quantity and lowers 'fast' to info; the value has no number with a unit
    vague = item("performance", "Nightly exports should be fast.")
    assert "number" not in vague.value
    probe = probe_question(vague, 0)
    assert probe is not None and probe.text.startswith("You said 'fast'.") and "measurable" in probe.text
    # in a measured category an open list is asked about as a measure, not only as a list
    both = probe_question(item("performance", "Exports should be fast, etc."), 0)
    assert both is not None and both.text.startswith("You said 'fast' and 'etc.'.") and "measurable" in both.text
