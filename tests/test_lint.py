"""Requirement lint: every rule with statements that must and must not trigger it.

All example sentences are written for these tests (none come from the PROMISE data set).
"""

from __future__ import annotations

import json
import re

import pytest

from socrates_nb.errors import ValidationError
from socrates_nb.quality.lint import EARS_PATTERNS, RULES, Finding, ears_pattern, has_quantity, lint

# rule -> [(text, category, quoted words or None for a whole-statement finding)]
MUST_TRIGGER: dict[str, list[tuple[str, str | None, str | None]]] = {
    "vague-term": [
        ("The dashboard shall be user-friendly.", None, "user-friendly"),
        ("The export shall complete quickly.", None, "quickly"),
        ("The installer shall be easy to use for clerks.", None, "easy to use"),
        ("The API shall return an adequate error message.", None, "adequate"),
        ("Search results shall appear in a seamless way.", None, "seamless"),
        ("The service shall use a state-of-the-art cache.", None, "state-of-the-art"),
        ("The weekly report shall include several charts.", None, "several"),
        ("The mobile app shall have a modern look.", None, "modern"),
        ("Uploads shall use minimal bandwidth.", None, "minimal"),
        ("The platform shall be highly scalable.", None, "highly scalable"),
        ("The setup wizard shall be easy-to-use.", None, "easy-to-use"),
        ("The scheduler shall be flexible.", None, "flexible"),
    ],
    "escape-clause": [
        ("The system shall compress images if possible.", None, "if possible"),
        ("Logs shall be rotated as needed.", None, "as needed"),
        ("The app shall cache map tiles where possible.", None, "where possible"),
        ("The service shall retry failed calls if necessary.", None, "if necessary"),
        ("The quarterly report shall be archived as required.", None, "as required"),
        ("The server shall encrypt backups to the extent possible.", None, "to the extent possible"),
        ("Administrators shall be alerted as appropriate.", None, "as appropriate"),
        ("The tool shall reduce memory use as far as possible.", None, "as far as possible"),
        ("The kiosk firmware shall be patched if practicable.", None, "if practicable"),
        ("The system may purge logs at the administrator's discretion.", None, "at the administrator's discretion"),
    ],
    "open-ended": [
        ("The export shall support CSV, JSON, XML, etc.", None, "etc."),
        ("The signup form shall ask for name, address and so on.", None, "and so on"),
        ("The system shall log events including but not limited to logins and payments.", None,
         "including but not limited to"),
        ("The app shall accept payment methods such as cards and vouchers.", None, "such as"),
        ("The dashboard shall show sales, returns and refunds, among others.", None, "among others"),
        ("Statements shall list refunds, credits and the like.", None, "and the like"),
        ("The importer shall read spreadsheets, text files and more.", None, "and more"),
        ("The UI shall support English, French, German, ...", None, "..."),
    ],
    "placeholder": [
        ("The API shall respond within TBD ms.", None, "TBD"),
        ("The retention period is TBC.", None, "TBC"),
        ("TODO: define the backup schedule.", None, "TODO"),
        ("The system shall support ??? concurrent users.", None, "???"),
        ("The system shall notify [insert team name] on failure.", None, "[insert team name]"),
        ("The <system name> shall log every export.", None, "<system name>"),
        ("The cache shall expire after XXX minutes.", None, "XXX"),
        ("FIXME the retry limit is wrong.", None, "FIXME"),
        ("The page shall load within X seconds.", None, "X"),
    ],
    "weak-verb": [
        ("The system should encrypt all backups.", None, "should"),
        ("Users may export their data as CSV.", None, "may"),
        ("Managers can approve refunds up to 500 EUR.", None, "can"),
        ("The gateway could retry failed payments.", None, "could"),
        ("The monthly report might include a chart.", None, "might"),
        ("Guests may not open the admin pages.", None, "may not"),
        ("Clerks cannot delete invoices.", None, "cannot"),
        ("The service should not store card numbers.", None, "should not"),
        ("The system shall log errors and should alert the operator.", None, "should"),
        ("The system may, at its discretion, purge old logs.", None, "may"),
    ],
    "not-singular": [
        ("The system shall export reports and/or charts.", None, "and/or"),
        ("The system shall encrypt backups and shall rotate keys monthly.", None, "and shall"),
        ("The app shall cache tiles. The app shall sync nightly.", None, "shall"),
        ("The system shall validate the form and notify the user.", None, "and notify"),
        ("The service must log each request and send an alert to the operator.", None, "and send"),
        ("The user must sign in, and the system shall record the time.", None, "shall"),
        ("The portal shall validate the address and then save it.", None, "and then save"),
    ],
    "absolute": [
        ("The service shall always be available.", None, "always"),
        ("The system shall never crash.", None, "never"),
        ("Customer data shall never be lost.", None, "never"),
        ("The platform shall deliver zero downtime.", None, "zero downtime"),
        ("The server shall answer 100% of requests.", None, "100%"),
        ("The API shall have 100% uptime.", None, "100%"),
        ("The archive shall be completely reliable.", None, "completely"),
        ("The kiosk shall work at all times.", None, "at all times"),
        ("The drive shall store unlimited files.", None, "unlimited"),
        ("Uploads shall succeed every time.", None, "every time"),
    ],
    "unmeasurable": [
        ("The API shall respond quickly.", None, "respond quickly"),
        ("The booking API shall have high availability.", None, "availability"),
        ("The platform shall scale to the expected load.", None, "scale to"),
        ("Response times shall be low.", None, "Response times"),
        ("The service shall be reliable.", None, "reliable"),
        ("The search shall keep working under heavy load.", None, "under heavy load"),
        ("The system shall cache search results.", "performance", None),
        ("The chat room shall support many simultaneous members.", "scalability", "many"),
        ("The portal shall be easy to learn.", "usability", "easy"),
        ("The vault shall be secure.", "security", "secure"),
        ("Deployments shall be quick.", "operations", "quick"),
        ("The service shall be highly available.", "reliability", "highly available"),
    ],
    "not-ears": [
        ("The system should export reports.", None, None),
        ("Reports are exported nightly.", None, None),
        ("When a user logs in the system shall show the dashboard.", None, None),
        ("The system shall lock the account if the password is wrong 3 times.", None, "if"),
        ("On checkout, the system shall send a receipt.", None, None),
        ("Fast pages matter. The system shall cache pages.", None, None),
        ("Then the system shall retry.", None, None),
        ("The app shall show a spinner while the page loads.", None, "while"),
        ("The system shall notify the user when the export is ready.", None, "when"),
    ],
}

MUST_NOT_TRIGGER: dict[str, list[tuple[str, str | None]]] = {
    "vague-term": [
        ("The system shall send reminders as appropriate.", None),  # escape-clause reports it, once
        ("The client shall use the Simple Mail Transfer Protocol to send mail.", None),  # a proper name
        ("The player shall support fast-forward and rewind.", None),
        ("The operator shall secure the backup bucket with a key.", None),  # the verb
        ('The app shall display a "Quick Pay" button on the cart page.', None),  # a quoted name
        ("The API shall respond within 200 ms at the 95th percentile.", None),
        ("The test lab shall be typical of the branch offices.", None),
        ("The UI shall use the appropriate labels as defined in the style guide.", None),
        ("Clients shall connect over a 10 Mbit/s link or faster.", None),
    ],
    "escape-clause": [
        ("Records shall be kept for 7 years as required by HIPAA.", None),
        ("If the upload fails, then the app shall retry twice.", None),
        ("The system shall log every failed login attempt.", None),
        ("The possible values shall be listed on the help page.", None),
        ("The system shall show whether a review is required for each claim.", None),
        ("Where the premium module is included, the system shall export PDF reports.", None),
    ],
    "open-ended": [
        ("The export shall support CSV, JSON and XML.", None),
        ("The server shall reserve 5 GB and more for logs.", None),
        ("The system shall split such large files into 10 MB chunks.", None),
        ("The page shall list the other members of the team.", None),
        ("The catalogue shall show more than 20 products per page.", None),
        ("The invoice shall state the net amount, the tax and the total.", None),
        ('The splash screen shall read "Loading..." during start-up.', None),
    ],
    "placeholder": [
        ("The app shall show the user's todo list on the home page.", None),
        ("The p95 latency shall be < 200 ms and > 10 ms.", None),
        ("The wizard shall ask: what is your name?", None),
        ("Orders shall use ISO 4217 currency codes [1].", None),
        ("The migration shall drop the tbd_flag column.", None),
        ("The chart shall plot X against time.", None),
    ],
    "weak-verb": [
        ("The system shall provide a search so that users can find orders.", None),
        ("The system shall warn the user if the file may be corrupt.", None),
        ("Should the link fail, the app shall switch to offline mode.", None),
        ("The system shall verify that the user can sign in with SSO.", None),
        ("Reports generated in May shall be archived in June.", None),
        ("The trash can shall be emptied nightly.", None),
        ("The system shall allow editors who can publish to schedule posts.", None),
        ("The system must retain audit logs for 90 days.", None),
    ],
    "not-singular": [
        ("The system shall grant read and write access to editors.", None),
        ("The system shall encrypt and sign every message.", None),
        ("The system shall allow users to view and export reports.", None),
        ("The system shall store the names and addresses of customers.", None),
        ("The system shall display the name and address of the customer.", None),
        ("The system shall provide a search so that users can find orders.", None),
        ("The invoice shall show the total and the tax.", None),
    ],
    "absolute": [
        ("The system shall never store card numbers.", None),
        ("Passwords are never written to logs.", None),
        ("Every time a user saves a draft, the editor shall keep the previous version.", None),
        ("100% of the 12 field agents shall complete the training.", None),
        ("The system shall keep 7 daily backups.", None),
        ('The shop shall display a "never expires" badge on lifetime plans.', None),
    ],
    "unmeasurable": [
        ("The system shall export invoices as PDF.", None),
        ("The API shall respond within 200 ms at p95.", None),
        ("The service shall be available 99.9% of the time.", None),
        ("The system shall load the CSV file into the staging table.", None),
        ("The app shall scale the photo to fit the screen.", None),
        ("The app shall show product availability for each store.", None),
        ("The HR module shall store performance reviews.", None),
        ("The system shall handle 5,000 concurrent users.", "scalability"),
        ("Only administrators shall delete accounts.", "security"),
        ("The shop shall keep taking orders when the mail server is down.", "reliability"),
        ("The system shall respond quickly.", "functional"),
        ("The app shall sync every hour.", "performance"),
    ],
    "not-ears": [
        ("The system shall export reports as PDF.", None),
        ("When a user submits an order, the system shall send a confirmation email.", None),
        ("While the vehicle is moving, the infotainment unit shall disable video playback.", None),
        ("If the card is declined, then the checkout service shall show the decline reason.", None),
        ("Where the loyalty module is included, the shop shall show reward points.", None),
        ("While the app is offline, when the user saves a note, the app shall queue the change.", None),
        ("The system shall check if the user exists.", None),
        ("The order page shall show when the order was placed.", None),
        ("The audit log shall record the time when each user signs in.", None),
    ],
}

TRIGGER_CASES = [(rule, *case) for rule, cases in MUST_TRIGGER.items() for case in cases]
NOT_TRIGGER_CASES = [(rule, *case) for rule, cases in MUST_NOT_TRIGGER.items() for case in cases]


def _of(rule: str, text: str, category: str | None = None) -> list[Finding]:
    return [f for f in lint(text, category) if f.rule == rule]


def test_examples_cover_every_rule_at_least_five_times() -> None:
    assert set(MUST_TRIGGER) == set(RULES) == set(MUST_NOT_TRIGGER)
    for rule in RULES:
        assert len(MUST_TRIGGER[rule]) >= 5, rule
        assert len(MUST_NOT_TRIGGER[rule]) >= 5, rule


def test_rules_is_the_single_list_of_rule_ids() -> None:
    assert list(RULES) == [
        "vague-term", "escape-clause", "open-ended", "placeholder", "weak-verb",
        "not-singular", "absolute", "unmeasurable", "not-ears",
    ]
    assert all(isinstance(d, str) and d for d in RULES.values())


@pytest.mark.parametrize(("rule", "text", "category", "quoted"), TRIGGER_CASES)
def test_must_trigger(rule: str, text: str, category: str | None, quoted: str | None) -> None:
    found = _of(rule, text, category)
    assert found, f"{rule} did not fire on {text!r}: {lint(text, category)}"
    if quoted is None:
        assert any(f.span is None for f in found) or rule == "not-ears"
        return
    spans = [text[f.span[0] : f.span[1]] for f in found if f.span is not None]
    assert quoted in spans, f"{rule}: expected span {quoted!r}, got {spans}"


@pytest.mark.parametrize(("rule", "text", "category"), NOT_TRIGGER_CASES)
def test_must_not_trigger(rule: str, text: str, category: str | None) -> None:
    assert _of(rule, text, category) == [], lint(text, category)


@pytest.mark.parametrize(("rule", "text", "category", "quoted"), TRIGGER_CASES)
def test_span_is_the_quoted_words(rule: str, text: str, category: str | None, quoted: str | None) -> None:
    for f in lint(text, category):
        assert f.rule in RULES
        assert f.severity in ("error", "warning", "info")
        assert f.message and f.suggestion
        if f.span is None:
            continue
        start, end = f.span
        assert 0 <= start < end <= len(text)
        words = text[start:end]
        assert f"'{words}'" in f.message, (f.message, words)


def test_findings_without_a_span_say_why() -> None:
    [f] = _of("unmeasurable", "The system shall cache search results.", "performance")
    assert f.span is None and "performance" in f.message and "ms" in f.suggestion
    [e] = _of("not-ears", "Reports are exported nightly.")
    assert e.span is None and "shall" in e.message


# ---- edge-case decisions -------------------------------------------------------------


def test_as_appropriate_is_an_escape_clause_not_a_vague_term() -> None:
    rules = [f.rule for f in lint("Admins shall be alerted as appropriate.")]
    assert "escape-clause" in rules and "vague-term" not in rules


def test_vague_term_with_a_measure_is_info_and_without_is_warning() -> None:
    [measured] = _of("vague-term", "The page shall load fast: p95 under 200 ms.")
    [bare] = _of("vague-term", "The page shall load fast.")
    assert (measured.severity, bare.severity) == ("info", "warning")
    assert 'p95 under 200 ms' in bare.message


def test_vague_message_quotes_and_suggests_concretely() -> None:
    [f] = _of("vague-term", "The search shall be fast.")
    assert f.message == "'fast' is vague: state a measurable criterion (e.g. \"p95 under 200 ms\")"
    assert "ms" in f.suggestion and "requests per second" in f.suggestion


def test_never_in_a_prohibition_is_fine_but_never_fail_is_absolute() -> None:
    assert _of("absolute", "The API shall never store card numbers.") == []
    assert _of("absolute", "The API shall never fail.")
    assert _of("absolute", "Users never see the admin menu.")  # not a modal prohibition


def test_hundred_percent_of_a_finite_set_is_not_absolute_but_of_the_time_is() -> None:
    assert _of("absolute", "100% of the 40 call-centre agents shall pass the quiz.") == []
    assert _of("absolute", "The sync shall succeed 100% of the time.")


def test_may_not_and_cannot_are_reported_with_shall_not_suggestion() -> None:
    [f] = _of("weak-verb", "Guests may not open the admin pages.")
    assert f.span is not None and "ambiguous" in f.message and "shall not" in f.suggestion
    [g] = _of("weak-verb", "The service should not keep raw logs.")
    assert "prohibition" in g.message and "shall not" in g.suggestion


def test_weak_can_suggests_a_binding_rewrite() -> None:
    [f] = _of("weak-verb", "Managers can approve refunds.")
    assert '"The system shall allow managers to approve ..."' in f.suggestion
    [g] = _of("weak-verb", "The system should encrypt all backups.")
    assert '"The system shall encrypt ..."' in g.suggestion


def test_second_sentence_and_second_clause_have_different_messages() -> None:
    [sentence] = _of("not-singular", "The app shall cache tiles. The app shall sync nightly.")
    [clause] = _of("not-singular", "The app shall cache tiles and shall sync nightly.")
    assert "second sentence" in sentence.message and "fit criterion" in sentence.suggestion
    assert "same sentence" in clause.message


def test_unmeasurable_needs_category_or_nfr_wording() -> None:
    text = "The system shall be easy to learn."
    assert _of("unmeasurable", text) == []  # no speed/load/availability wording
    assert _of("unmeasurable", text, "usability")
    assert _of("unmeasurable", text, "functional") == []
    assert _of("unmeasurable", "The search shall be fast.", "functional") == []
    assert _of("unmeasurable", "The search shall be fast.")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("p95 under 200 ms", True),
        ("99.9% availability", True),
        ("10,000 concurrent users", True),
        ("500 requests per second", True),
        ("within two seconds", True),
        ("every hour", True),
        ("between 8am and 6pm", True),
        ("at least 700 movies", True),
        ("24/7", True),
        ("10x faster", True),
        ("very fast", False),
        ("Release 2.", False),
        ("ISO 27001", False),
    ],
)
def test_has_quantity(text: str, expected: bool) -> None:
    assert has_quantity(text) is expected


# ---- EARS ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("The system shall export reports as PDF.", "ubiquitous"),
        ("The billing service must keep invoices for 10 years.", "ubiquitous"),
        ("When a user submits an order, the system shall send a confirmation email.", "event-driven"),
        ("Whenever a sensor reports a fault, the controller shall raise an alarm.", "event-driven"),
        ("While the vehicle is moving, the infotainment unit shall disable video playback.", "state-driven"),
        ("If the card is declined, then the checkout service shall show the decline reason.", "unwanted-behaviour"),
        ("If the payment fails, the system shall keep the cart.", "unwanted-behaviour"),
        ("Where the loyalty module is included, the shop shall show reward points.", "optional"),
        ("While the app is offline, when the user saves a note, the app shall queue the change.", "complex"),
        ("Where dark mode is included, while it is night, the app shall use the dark theme.", "complex"),
        ("The system shall check if the user exists.", "ubiquitous"),
        ("1. The system shall log every export.", "ubiquitous"),
        ("- When a user saves, the app shall sync.", "event-driven"),
        ("The system should export reports.", None),
        ("Reports are exported nightly.", None),
        ("When a user logs in the system shall show the dashboard.", None),
        ("The system shall lock the account if the password is wrong 3 times.", None),
        ("Then the system shall retry.", None),
    ],
)
def test_ears_pattern(text: str, pattern: str | None) -> None:
    assert ears_pattern(text) == pattern
    assert (pattern is None) == bool(_of("not-ears", text))


def test_ears_patterns_constant_lists_every_pattern() -> None:
    assert EARS_PATTERNS == ("ubiquitous", "event-driven", "state-driven", "unwanted-behaviour", "optional", "complex")


def test_not_ears_rewrites_a_trailing_condition() -> None:
    [f] = _of("not-ears", "The system shall lock the account if the password is wrong 3 times.")
    assert f.severity == "info"
    assert '"If the password is wrong 3 times, then the system shall lock the account."' in f.suggestion
    rewrite = re.search(r'"(.+)"', f.suggestion).group(1)
    assert ears_pattern(rewrite) == "unwanted-behaviour"


def test_not_ears_explains_why() -> None:
    [f] = _of("not-ears", "When a user logs in the system shall show the dashboard.")
    assert "'When' clause is not closed by a comma" in f.message
    [g] = _of("not-ears", "Once a game starts, the app shall show the grid.")
    assert "'Once', which is not an EARS keyword" in g.message
    [h] = _of("not-ears", "The portal will email a receipt.")
    assert "'will'" in h.message


# ---- input, order, shape, determinism ---------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((None,), "expects the requirement text as a str, got NoneType"),
        ((42,), "expects the requirement text as a str, got int"),
        ((b"The system shall",), "expects the requirement text as a str, got bytes"),
        (("",), "needs a non-empty requirement text"),
        (("   \n\t",), "needs a non-empty requirement text"),
        (("x" * 20_001,), "at most 20,000 characters and the text has 20,001"),
        (("The system shall log.", "nope"), "unknown category 'nope'"),
        (("The system shall log.", 3), "expects category as a str or None, got int"),
    ],
)
def test_bad_input_raises_validation_error(args: tuple, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        lint(*args)
    assert message in info.value.message
    assert info.value.code == "validation_error"


def test_ears_pattern_rejects_non_strings() -> None:
    with pytest.raises(ValidationError, match="ears_pattern\\(\\) expects the requirement text as a str"):
        ears_pattern(7)  # type: ignore[arg-type]


def test_exactly_the_limit_is_accepted() -> None:
    text = ("The system shall log every export. " * 600)[:20_000]
    assert len(text) == 20_000
    assert isinstance(lint(text), list)


MESSY = (
    "The portal should be fast and user-friendly, etc. If possible it shall never crash and/or "
    "lose data, and it shall export reports and notify the admins. TBD: <owner>."
)


def test_findings_are_sorted_by_span_start_then_rule() -> None:
    findings = lint(MESSY)
    assert len({f.rule for f in findings}) >= 7
    spanned = [f for f in findings if f.span is not None]
    keys = [(f.span[0], f.rule) for f in spanned]
    assert keys == sorted(keys)
    assert findings[: len(spanned)] == spanned  # whole-statement findings come last


def test_long_pathological_text_is_linted_quickly() -> None:
    import time

    text = ("The system shall log the data and send it " * 500)[:20_000]
    start = time.perf_counter()
    lint(text)
    assert time.perf_counter() - start < 3.0


def test_determinism() -> None:
    first = [f.to_dict() for f in lint(MESSY, "performance")]
    for _ in range(3):
        assert [f.to_dict() for f in lint(MESSY, "performance")] == first


def test_to_dict_shape() -> None:
    findings = lint(MESSY)
    dicts = [f.to_dict() for f in findings]
    for f, d in zip(findings, dicts):
        assert list(d) == ["rule", "message", "span", "suggestion", "severity"]
        assert d["span"] is None or (isinstance(d["span"], list) and len(d["span"]) == 2)
        assert d["span"] == (list(f.span) if f.span else None)
    assert any(d["span"] is None for d in dicts)
    json.dumps(dicts)


def test_finding_is_frozen() -> None:
    f = lint("The system should log.")[0]
    with pytest.raises(AttributeError):
        f.rule = "other"  # type: ignore[misc]


def test_clean_requirement_has_no_findings() -> None:
    assert lint("When a user submits an order, the system shall send a confirmation email within 60 seconds.") == []
    assert lint("The API shall answer 95% of requests within 200 ms at 500 requests per second.") == []
