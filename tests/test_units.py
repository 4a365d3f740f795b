"""The one measurement vocabulary (socrates_nb.quality.units): spellings, dimensions, conversions.

Every rate unit is tested against every other unit of its dimension, through the unit table
and through whole statements (extraction, then the conflict rules).
"""

from __future__ import annotations

import itertools
import re

import pytest

from socrates_nb.engine import QuestionDraft
from socrates_nb.engine.offline.extraction import extract_items
from socrates_nb.quality import units as u
from socrates_nb.quality.conflicts import Candidate, detect

RATE_UNITS = [s for s, unit in u.UNITS.items() if unit.quantity == "rate"]
RATE_PAIRS = [(a, b) for a, b in itertools.permutations(RATE_UNITS, 2) if u.dimension(a) == u.dimension(b)]


def test_every_unit_has_a_base_and_the_base_has_factor_one() -> None:
    for unit in u.UNITS.values():
        assert unit.dimension in u.BASE_UNITS, unit
    for dim, base in u.BASE_UNITS.items():
        assert u.UNITS[base].factor == 1.0 and u.UNITS[base].dimension == dim


@pytest.mark.parametrize(
    ("spelling", "symbol"),
    [
        ("ms", "ms"), ("Milliseconds", "ms"), ("sec", "s"), ("minutes", "min"), ("hrs", "h"), ("days", "d"), ("business days", "d"),
        ("weeks", "wk"), ("months", "mo"), ("yrs", "yr"),
        ("req/s", "req/s"), ("rps", "req/s"), ("qps", "req/s"), ("requests per second", "req/s"),
        ("req/min", "req/min"), ("rpm", "req/min"), ("requests/hour", "req/h"), ("requests an hour", "req/h"),
        ("req/day", "req/d"), ("requests per day", "req/d"), ("calls a day", "req/d"), ("queries per month", "req/mo"),
        ("tps", "tx/s"), ("transactions per hour", "tx/h"), ("transactions/day", "tx/d"),
        ("events per second", "msg/s"), ("messages/min", "msg/min"),
        ("/day", "items/d"), ("per hour", "items/h"), ("orders per day", "items/d"), ("bookings/week", "items/wk"),
        ("bytes", "B"), ("KB", "KB"), ("kilobytes", "KB"), ("KiB", "KiB"), ("MiB", "MiB"), ("gigabytes", "GB"),
        ("TB", "TB"),
        ("users", "users"), ("concurrent users", "users"), ("daily active users", "users"), ("records", "records"),
        ("%", "%"), ("per cent", "%"), ("percent", "%"), ("euros", "EUR"), ("dollars", "USD"),
    ],
)
def test_spellings_name_their_unit(spelling: str, symbol: str) -> None:
    assert u.canonical(spelling) == symbol
    assert u.canonical(spelling.upper()) == symbol


@pytest.mark.parametrize("spelling", ["", "parsecs", "a day", "each hour", "per fortnight", "widgets per day"])
def test_unknown_spellings_name_nothing(spelling: str) -> None:
    assert u.lookup(spelling) is None and u.dimension(spelling) is None


def test_conversions() -> None:
    assert u.convert(86_400, "req/d", "req/s") == pytest.approx(1)
    assert u.convert(3_600, "req/h", "req/s") == pytest.approx(1)
    assert u.convert(1, "req/s", "req/min") == pytest.approx(60)
    assert u.convert(1, "GiB", "MB") == pytest.approx(1073.741824)
    assert u.convert(1, "GB", "MB") == pytest.approx(1000)
    assert u.convert(1, "yr", "d") == pytest.approx(365.25)
    assert u.to_base(200, "ms") == pytest.approx(0.2)
    assert u.to_base(5, "parsecs") is None
    with pytest.raises(ValueError):
        u.convert(1, "req/s", "tx/s")  # requests and transactions are different things
    with pytest.raises(ValueError):
        u.convert(1, "s", "GB")


def test_availability_and_downtime() -> None:
    assert u.downtime_percent(99.9) == pytest.approx(0.1)
    assert u.allowed_downtime(99.9, "mo") / 60 == pytest.approx(43.83, abs=0.01)
    assert u.allowed_downtime(99.99, "yr") / 60 == pytest.approx(52.6, abs=0.1)
    with pytest.raises(ValueError):
        u.allowed_downtime(99.9, "GB")


@pytest.mark.parametrize(("a", "b"), RATE_PAIRS)
def test_every_rate_converts_to_every_rate_of_its_dimension(a: str, b: str) -> None:
    ua, ub = u.UNITS[a], u.UNITS[b]
    assert u.same_dimension(a, b)
    assert u.convert(1, a, b) == pytest.approx(ub.factor and ua.factor / ub.factor)
    assert u.convert(u.convert(7, a, b), b, a) == pytest.approx(7)


def test_rates_of_different_things_never_compare() -> None:
    things = {u.dimension(s) for s in RATE_UNITS}
    assert things == {"rate", "tx_rate", "msg_rate", "items_rate"}
    assert not u.same_dimension("req/s", "tx/s") and not u.same_dimension("req/s", "s")


_AFTER_NUMBER = re.compile(r"\d\s*(?P<unit>" + u.UNIT_PATTERN + r")(?![\w/%])", re.IGNORECASE)


@pytest.mark.parametrize(
    ("text", "symbol"),
    [
        ("86400 req/day", "req/d"), ("5 req/s", "req/s"), ("10/day", "items/d"), ("10 per day", "items/d"),
        ("5 transactions per hour", "tx/h"), ("500 concurrent users", "users"), ("5 orders per day", "items/d"),
        ("5 orders", "records"), ("3 hours", "h"), ("5 per cent", "%"), ("7 years", "yr"), ("2 GiB", "GiB"),
    ],
)
def test_the_pattern_reads_a_unit_after_a_number(text: str, symbol: str) -> None:
    m = _AFTER_NUMBER.search(text)
    assert m is not None and u.canonical(m.group("unit")) == symbol


@pytest.mark.parametrize("text", ["3D printing", "2b or not", "Section 4 of the contract"])
def test_the_pattern_reads_no_unit_in_labels(text: str) -> None:
    assert _AFTER_NUMBER.search(text) is None


_WORDS = re.compile(r"(?<![\w-])" + u.NUMBER_WORDS_PATTERN, re.IGNORECASE)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("five", 5), ("twenty-four", 24), ("twenty four", 24), ("two hundred", 200), ("two hundred and fifty", 250),
        ("a dozen", 12), ("two dozen", 24), ("a hundred", 100), ("three thousand", 3000), ("one hundred twenty", 120),
        ("five hundred thousand", 500_000), ("two million", 2_000_000), ("half a", 0.5), ("half an", 0.5), ("an", 1),
        ("zero", 0), ("nineteen", 19),
    ],
)
def test_number_words(text: str, value: float) -> None:
    m = _WORDS.fullmatch(text)
    assert m is not None and u.parse_number_words(m.group(0)) == value


@pytest.mark.parametrize("text", ["five and ten", "fivefold", "often", "seventh", "one-time"])
def test_not_number_words(text: str) -> None:
    m = _WORDS.search(text)
    assert m is None or m.group(0) != text or u.parse_number_words(text) is None


def test_unit_words_for_lint() -> None:
    words = u.unit_words()
    for w in ("ms", "seconds", "req/s", "requests", "gb", "users", "%", "day"):
        assert w in words
    for w in ("per", "a", "b", "d"):
        assert w not in words
    own = u.unit_words(counted=False)
    assert {"ms", "seconds", "req/s", "wk", "users", "rps"} <= set(own) and not {"orders", "customers"} & set(own)
    assert "clicks" in u.COUNTED_NOUNS and not set(u.COUNTED_NOUNS) & {"ms", "users"}


def test_the_patterns_are_linear_on_adversarial_input() -> None:
    import time

    pattern = re.compile(r"(?<![\w-])" + u.NUMBER_WORDS_PATTERN + r"|\d\s*" + u.UNIT_PATTERN, re.IGNORECASE)
    for unit in ("one ", "twenty-", "a ", "1 per ", "1 requests per ", "1 concurrent ", "half a ", "1/"):
        text = (unit * (20_000 // len(unit) + 1))[:20_000]
        start = time.perf_counter()
        list(pattern.finditer(text))
        assert time.perf_counter() - start < 1.0, unit


# --- whole statements: extraction reads the unit, the conflict rules compare in base units ----


def _statement(bound: str, per_second: float, unit: str) -> Candidate:
    number = round(u.convert(per_second, u.BASE_UNITS[u.dimension(unit)], unit), 6)
    shown = f"{number:,.0f}" if float(number).is_integer() else f"{number:,}"
    question = QuestionDraft(key="performance.asked", category="performance", text="How many?", why="Sizing.")
    (draft,) = extract_items(question, f"Throughput must be {bound} {shown} {unit}.")
    assert draft.value["unit"] == unit and draft.value["metric"] == "throughput", draft.value
    return Candidate.of(draft, id=f"{bound} {unit}")


@pytest.mark.parametrize(("a", "b"), RATE_PAIRS)
def test_every_rate_limit_meets_every_rate_of_its_dimension(a: str, b: str) -> None:
    """"at most 86,400 req/day" vs "at least 5 req/s" is a high conflict, as in any other pair of units."""
    cap = _statement("at most", 1, a)
    (found,) = detect(_statement("at least", 5, b), [cap])
    assert (found[1].kind, found[1].type, found[1].severity) == ("conflict", "numeric", "high"), found
    (same,) = detect(_statement("at most", 1, b), [cap])
    assert same[1].kind == "restatement", same
    assert detect(_statement("at least", 0.5, b), [cap]) == []  # a range: at least half, at most one per second
