"""Non-answers and scope decisions, statement by statement (quality.nonanswer.classify)."""

from __future__ import annotations

import time

import pytest

from socrates_nb.quality.nonanswer import classify

UNKNOWN = [
    "Not specified.", "not specified", "TBD", "Latency: TBD", "The retention period is unknown.",
    "We don't know yet.", "No latency number is given.", "The document is silent on availability.",
    "The document doesn't say.", "n/a for now", "N/A", "To be decided.", "Still open.", "We haven't decided yet.",
    "Unknown", "Not sure.", "I don't know.", "Availability target not stated in the PRD.", "Users: not stated.",
    "Nothing is specified about backups.", "The feature is not defined yet.", "1 1 1 1 1", "...", "the of and",
    "word " * 4000, "?", "To be confirmed by the client.", "No daily volume or growth figure is given.",
    "The spec has no success metric.", "The SRS gives no number for that.", "The SRS names operating systems, not browsers.",
]
OUT_OF_SCOPE = [
    "Not applicable.", "Out of scope for this release.", "None.", "We have no integrations.",
    "No integrations are needed.", "This does not apply to us.", "Not relevant here.",
]
REQUIREMENTS = [
    "The API shall respond within TBD ms.", "Pages load within 2 s.", "PostgreSQL.", "500", "Payment is pending.",
    "The API is open to partners.", "Security agents clock in at the gate.", "No data is stored on the device.",
    "There is no admin role.", "Users are not authenticated.", "Passwords are not stored in clear text.",
    "The system shall log every call; the document does not specify retention.",
    "Страница loads быстро within 2 s.", "The spec requires TLS.", "The specification shall be reviewed yearly.",
]


@pytest.mark.parametrize("text", UNKNOWN)
def test_non_answers_are_unknown(text: str) -> None:
    assert classify(text) == "unknown"


@pytest.mark.parametrize("text", OUT_OF_SCOPE)
def test_not_applicable_is_a_scope_decision(text: str) -> None:
    assert classify(text) == "out_of_scope"


@pytest.mark.parametrize("text", REQUIREMENTS)
def test_requirements_and_facts_are_not_non_answers(text: str) -> None:
    assert classify(text) is None


def test_the_rules_are_linear_on_long_crafted_text() -> None:
    worst = 0.0
    for text in ("a " * 10_000, "not " * 5_000, "Latency " * 2_500 + ": TBD", "no " * 6_000 + "is given",
                 "x" * 20_000, "document " * 2_000 + "is silent"):
        start = time.perf_counter()
        classify(text)
        worst = max(worst, time.perf_counter() - start)
    assert worst < 5.0, worst  # a super-linear rule takes minutes here


@pytest.mark.parametrize("text", [
    "Not specified: the spec leaves conflicting offline edits open.",
    "Not specified for anything else.",
    "TBD, pending legal review.",
    "TBD (legal).",
    "Unclear as of today.",
])
def test_a_non_answer_with_its_reason_is_unknown(text: str) -> None:
    assert classify(text) == "unknown"


@pytest.mark.parametrize("text", ["Unknown callers are blocked.", "Undefined behaviour must never crash the app."])
def test_requirements_opening_with_an_unknown_word_stay_requirements(text: str) -> None:
    assert classify(text) is None
