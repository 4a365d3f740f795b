"""One measurement vocabulary: units, their spellings, dimensions and conversions.

Every part of socrates_nb that reads or compares a quantity uses this module: extraction
(which number with which unit a statement states), the conflict rules (are two limits
compatible) and lint (does a statement state a number with a unit). There is no second
unit table anywhere.

* A :class:`Unit` has a canonical ``symbol`` ("ms", "req/d", "GB"), a ``dimension``
  (values of two dimensions never compare), a ``quantity`` (the broad kind the metric rules
  of ``keys.yaml`` are written for: time, rate, size, users, count, percent, money) and a
  ``factor`` to its dimension's base unit (:data:`BASE_UNITS`: seconds, bytes, things per
  second, users, records, percent, the currency itself).
* Rates are a thing per period. Things (:data:`RATE_THINGS`): requests (``req``: requests,
  calls, queries, hits), transactions (``tx``), messages and events (``msg``) and other
  counted items (``items``: orders, bookings, jobs, ...; and a bare "10k/day"). Periods
  (:data:`PERIODS`): s, min, h, d, wk, mo. A rate is spelled "<thing>/<period>",
  "<thing> per|a|an|each <period>", "/<period>" or "per <period>" ("10k/day",
  "transactions per hour", "requests a day"), or by an abbreviation (rps, qps, rpm, tps,
  tpm). Each thing is its own dimension: requests compare with requests in any period
  (86,400 req/d is 1 req/s), never with transactions.
* Availability is a percentage; :func:`downtime_percent` turns it into the share of time
  a service may be down (99.9% -> 0.1%), so two availabilities compare as allowed
  downtime (99.9% vs 99% is a 10x gap), and :func:`allowed_downtime` into seconds per
  period.
* Numbers written in words are values: :data:`NUMBER_WORDS_PATTERN` matches "five",
  "twenty-four", "two hundred and fifty", "a dozen", "half a(n)", and
  :func:`parse_number_words` reads them; :data:`SCALES` are the suffixes of "1k", "2M",
  "3 million".

Spellings are matched case-insensitively; :data:`UNIT_PATTERN` is a regex group built as
a trie (no alternative is tried twice), for use right after a number. Public API:
:data:`UNITS`, :data:`BASE_UNITS`, :class:`Unit`, :func:`lookup`, :func:`canonical`,
:func:`dimension`, :func:`to_base`, :func:`convert`, :func:`same_dimension`,
:func:`downtime_percent`, :func:`allowed_downtime`, :data:`UNIT_PATTERN`,
:func:`unit_words`, :data:`COUNTED_NOUNS`, :data:`NUMBER_WORDS`,
:data:`NUMBER_WORDS_PATTERN`, :func:`parse_number_words`, :data:`SCALES`,
:func:`alternation`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable

__all__ = [
    "BASE_UNITS", "COUNTED_NOUNS", "NUMBER_WORDS", "NUMBER_WORDS_PATTERN", "PERIODS", "RATE_THINGS", "SCALES",
    "UNITS", "UNIT_PATTERN", "Unit", "allowed_downtime", "alternation", "canonical", "convert", "dimension",
    "downtime_percent", "lookup", "parse_number_words", "same_dimension", "to_base", "unit_words",
]


@dataclass(frozen=True)
class Unit:
    """A canonical unit: ``number * factor`` is the value in ``BASE_UNITS[dimension]``."""

    symbol: str
    dimension: str
    quantity: str
    factor: float
    spellings: tuple[str, ...] = ()  # lower-case literal spellings; a space matches any whitespace

    def to_base(self, number: float) -> float:
        """``number`` of this unit in its dimension's base unit."""
        return float(number) * self.factor


# ---------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------

_SECOND, _MINUTE, _HOUR, _DAY = 1.0, 60.0, 3600.0, 86400.0
_WEEK, _MONTH, _YEAR = 7 * _DAY, 30.4375 * _DAY, 365.25 * _DAY  # a mean Gregorian month and year

_TIME = (
    ("ms", 0.001, "ms msec msecs millisecond milliseconds"),
    ("s", _SECOND, "s sec secs second seconds"),
    ("min", _MINUTE, "min mins minute minutes"),
    ("h", _HOUR, "h hr hrs hour hours"),
    ("d", _DAY, "day|days|business day|business days|working day|working days|calendar day|calendar days"),
    ("wk", _WEEK, "wk wks week weeks"),
    ("mo", _MONTH, "month months"),
    ("yr", _YEAR, "yr yrs year years"),
)
_SIZE = (
    ("B", 1.0, "byte bytes"),
    ("KB", 1e3, "kb kilobyte kilobytes"), ("MB", 1e6, "mb megabyte megabytes"),
    ("GB", 1e9, "gb gigabyte gigabytes"), ("TB", 1e12, "tb terabyte terabytes"),
    ("PB", 1e15, "pb petabyte petabytes"),
    ("KiB", 2.0**10, "kib kibibyte kibibytes"), ("MiB", 2.0**20, "mib mebibyte mebibytes"),
    ("GiB", 2.0**30, "gib gibibyte gibibytes"), ("TiB", 2.0**40, "tib tebibyte tebibytes"),
    ("PiB", 2.0**50, "pib pebibyte pebibytes"),
)
_OTHER = (  # symbol, dimension, quantity, spellings
    ("%", "percent", "percent", "%|percent|per cent|pct"),
    ("users", "users", "users", "user users customers visitors subscribers members people"),
    ("records", "count", "count", "rows records documents events transactions orders messages"),
    ("USD", "money_usd", "money", "usd|dollar|dollars|us dollar|us dollars"),
    ("EUR", "money_eur", "money", "eur euro euros €"),
    ("GBP", "money_gbp", "money", "gbp pound pounds"),
    ("CHF", "money_chf", "money", "chf"),
)

PERIODS: dict[str, tuple[float, tuple[str, ...]]] = {
    "s": (_SECOND, ("s", "sec", "second")),
    "min": (_MINUTE, ("min", "minute")),
    "h": (_HOUR, ("h", "hr", "hour")),
    "d": (_DAY, ("d", "day")),
    "wk": (_WEEK, ("wk", "week")),
    "mo": (_MONTH, ("mo", "month")),
}
"""Periods of a rate: symbol -> (seconds, spellings after "/" or "per")."""

RATE_THINGS: dict[str, tuple[str, ...]] = {
    "req": ("req", "reqs", "request", "requests", "call", "calls", "query", "queries", "hit", "hits"),
    "tx": ("tx", "txn", "txns", "transaction", "transactions"),
    "msg": ("msg", "msgs", "message", "messages", "event", "events"),
    "items": (
        "order", "orders", "booking", "bookings", "job", "jobs", "email", "emails", "payment", "payments",
        "upload", "uploads", "download", "downloads", "document", "documents", "record", "records", "row",
        "rows", "file", "files", "report", "reports", "notification", "notifications", "login", "logins",
        "signup", "signups", "sign-up", "sign-ups", "search", "searches", "ticket", "tickets", "invoice",
        "invoices", "item", "items", "operation", "operations", "write", "writes", "read", "reads",
        "update", "updates", "insert", "inserts", "image", "images", "photo", "photos", "appointment",
        "appointments", "reservation", "reservations", "shipment", "shipments", "delivery", "deliveries",
    ),
}
"""Counted things of a rate: thing -> the nouns that name it. ``items`` is also the thing of a
bare "10k/day" or "500 per hour"."""
_RATE_ABBREVIATIONS = {"rps": "req/s", "qps": "req/s", "rpm": "req/min", "tps": "tx/s", "tpm": "tx/min"}
_RATE_CONNECTORS = ("per", "a", "an", "each")

BASE_UNITS: dict[str, str] = {
    "time": "s", "size": "B", "percent": "%", "users": "users", "count": "records",
    **{f"{thing}_rate" if thing != "req" else "rate": f"{thing}/s" for thing in RATE_THINGS},
    "money_usd": "USD", "money_eur": "EUR", "money_gbp": "GBP", "money_chf": "CHF",
}
"""Dimension -> its base unit (the unit whose factor is 1)."""

USER_QUALIFIERS = (
    "concurrent simultaneous active daily monthly weekly registered named internal external total paying new "
    "unique logged-in logged in online end"
).split()
"""Words that may stand (up to three) between a number and a user noun ("500 concurrent users")."""


def _rate_dimension(thing: str) -> str:
    return "rate" if thing == "req" else f"{thing}_rate"


def _build() -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for symbol, factor, spelled in _TIME:
        units[symbol] = Unit(symbol, "time", "time", factor, tuple(_split(spelled)))
    for symbol, factor, spelled in _SIZE:
        units[symbol] = Unit(symbol, "size", "size", factor, tuple(_split(spelled)))
    for symbol, dim, quantity, spelled in _OTHER:
        units[symbol] = Unit(symbol, dim, quantity, 1.0, tuple(_split(spelled)))
    for thing in RATE_THINGS:
        for period, (seconds, _) in PERIODS.items():
            symbol = f"{thing}/{period}"
            abbreviations = tuple(a for a, s in _RATE_ABBREVIATIONS.items() if s == symbol)
            units[symbol] = Unit(symbol, _rate_dimension(thing), "rate", 1.0 / seconds, abbreviations)
    return units


def _split(spelled: str) -> list[str]:
    """'a b|c d' -> ['a b', 'c d']; 'a b c' (no bar) -> ['a', 'b', 'c']."""
    return spelled.split("|") if "|" in spelled else spelled.split()


UNITS: dict[str, Unit] = _build()
"""Canonical symbol -> :class:`Unit`, in a stable order (time, size, percent, counts, money, rates)."""

COUNTED_NOUNS: tuple[str, ...] = tuple(
    """
    session sessions connection connections client clients item items page pages job jobs task tasks
    operation operations file files click clicks step steps attempt attempts retry retries error errors
    failure failures incident incidents defect defects fault faults crash crashes outage outages node nodes
    server servers instance instances cpu cpus core cores replica replicas screen screens field fields
    character characters language languages device devices tenant tenants site sites location locations
    booking bookings email emails payment payments report reports notification notifications ticket tickets
    invoice invoices image images photo photos appointment appointments
    """.split()
)
"""Nouns that count things but are no unit of :data:`UNITS` ("3 clicks", "5 retries"): with a
number they make a statement measurable (lint), yet extraction does not read them as a measure."""


# ---------------------------------------------------------------------------------------
# Lookup and conversion
# ---------------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def _by_spelling() -> dict[str, str]:
    table: dict[str, str] = {}
    for unit in UNITS.values():
        for spelling in (unit.symbol.lower(), *unit.spellings):
            table.setdefault(spelling, unit.symbol)
    table.update({"w": "wk", "y": "yr", "d": "d", "sec": "s"})  # short symbols seen in stored values
    return table


_BY_SPELLING = _by_spelling()
_PERIOD_BY_WORD = {w: p for p, (_, ws) in PERIODS.items() for w in ws} | {
    w + "s": p for p, (_, ws) in PERIODS.items() for w in ws if len(w) > 2
}
_THING_BY_NOUN = {noun: thing for thing, nouns in RATE_THINGS.items() for noun in nouns}
_RATE_SHAPE = re.compile(r"(?P<noun>[a-z-]*)\s*(?:/|\s*\b(?:per|an?|each)\s+)(?P<period>[a-z]+)")


@lru_cache(maxsize=4096)
def lookup(spelling: str) -> Unit | None:
    """The unit a spelling names ("ms", "Seconds", "requests per day", "10k/day"'s "/day",
    "concurrent users", "req/d", "GiB"), case-insensitively; None when it names none."""
    key = _SPACES.sub(" ", spelling.strip().lower())
    if not key:
        return None
    symbol = _BY_SPELLING.get(key)
    if symbol is None:
        symbol = _rate_symbol(key)
    if symbol is None:
        words = key.split(" ")
        while len(words) > 1 and words[0] in USER_QUALIFIERS:
            words = words[1:]
        symbol = _BY_SPELLING.get(" ".join(words)) if len(words) < len(key.split(" ")) else None
    return UNITS.get(symbol) if symbol else None


def _rate_symbol(key: str) -> str | None:
    m = _RATE_SHAPE.fullmatch(key)
    if m is None:
        return None
    noun, period = m.group("noun"), _PERIOD_BY_WORD.get(m.group("period"))
    thing = _THING_BY_NOUN.get(noun) if noun else "items"
    if thing is None or period is None or (not noun and key.startswith(("a ", "an ", "each "))):
        return None
    return f"{thing}/{period}"


def canonical(spelling: str) -> str | None:
    """The canonical symbol of a spelling ("requests per day" -> "req/d"), else None."""
    unit = lookup(spelling)
    return unit.symbol if unit else None


def dimension(unit: str) -> str | None:
    """The dimension of a unit (symbol or spelling): "time", "size", "rate", ...; None if unknown."""
    found = lookup(unit)
    return found.dimension if found else None


def same_dimension(a: str, b: str) -> bool:
    """True when values in units ``a`` and ``b`` can be compared."""
    da = dimension(a)
    return da is not None and da == dimension(b)


def to_base(number: float, unit: str) -> float | None:
    """``number`` in ``unit`` expressed in its dimension's base unit, else None (unknown unit)."""
    found = lookup(unit)
    return found.to_base(number) if found else None


def convert(number: float, unit: str, to: str) -> float:
    """``number`` of ``unit`` in unit ``to`` (86,400 req/d -> 1 req/s). ValueError when the
    units are unknown or of different dimensions."""
    a, b = lookup(unit), lookup(to)
    if a is None or b is None or a.dimension != b.dimension:
        raise ValueError(f"cannot convert {unit!r} to {to!r}")
    return a.to_base(number) / b.factor


def downtime_percent(availability: float) -> float:
    """The share of time a service may be down for an availability in percent (99.9 -> 0.1)."""
    return 100.0 - float(availability)


def allowed_downtime(availability: float, period: str = "mo") -> float:
    """Seconds of allowed downtime per ``period`` (a time unit) for an availability in percent:
    99.9% a month is about 43.8 minutes (2,629.8 s)."""
    span = to_base(1, period)
    if span is None or dimension(period) != "time":
        raise ValueError(f"not a period: {period!r}")
    return span * downtime_percent(availability) / 100.0


# ---------------------------------------------------------------------------------------
# Patterns
# ---------------------------------------------------------------------------------------


def alternation(phrases: Iterable[str]) -> str:
    """A regex group matching any of ``phrases`` literally (a space in a phrase matches any
    run of whitespace), built as a trie: where none matches, trying it costs a step or two,
    not one try per phrase. Longer phrases are preferred; the caller adds the boundary that
    must follow."""
    trie: dict[str, dict] = {}
    for phrase in phrases:
        node = trie
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, dict]) -> str:
        branches = [(r"\s+" if ch == " " else re.escape(ch)) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 and "" not in node else f"(?:{'|'.join(branches)})"
        return f"{body}?" if "" in node else body

    return f"(?:{build(trie)})"


def _unit_pattern() -> str:
    period = alternation(_PERIOD_BY_WORD)
    thing = alternation(_THING_BY_NOUN)
    rate = rf"(?:{thing}(?:/|\s+(?:{'|'.join(_RATE_CONNECTORS)})\s+)|/|per\s+){period}"
    plain = alternation(
        s for u in UNITS.values() if u.quantity not in ("users", "count") for s in (*u.spellings, u.symbol.lower())
        if s not in ("b", "d")  # a bare "b" or "d" after a number is more often a label ("2b", "3D")
    )
    users = rf"(?:{alternation(USER_QUALIFIERS)}\s+){{0,3}}{alternation(UNITS['users'].spellings)}"
    counts = rf"{alternation(UNITS['records'].spellings)}(?!\s+(?:per|an?|each)\s)"
    return rf"(?:{rate}|{plain}|{users}|{counts})"


UNIT_PATTERN = _unit_pattern()
"""A regex group (use it case-insensitively, right after a number and optional space) that
matches the spelling of any unit; :func:`lookup` names the unit of what it matched. Follow it
with a boundary such as ``(?![\\w/%])``."""


def unit_words(counted: bool = True) -> tuple[str, ...]:
    """Every single word that names a unit or a rate's thing or period after a number
    ("ms", "seconds", "req/s", "requests", "gb", "users", "%"), sorted; multi-word
    spellings contribute their words except connectors ("per", "a", "an", "each"). The
    one-letter "b" and "d" are left out (a label more often than a unit: "2b", "3D").

    With ``counted=False``, only words that name a unit itself: not the nouns that name
    what is counted ("users", "orders", "requests"), which say what a limit is about; the
    symbols ("users", "req/s", "items/d") and abbreviations ("rps") stay."""
    words: set[str] = set(_PERIOD_BY_WORD)
    for unit in UNITS.values():
        words.add(unit.symbol.lower())
        if counted or unit.quantity not in ("users", "count"):
            for spelling in unit.spellings:
                words.update(spelling.split(" "))
    if counted:
        words.update(_THING_BY_NOUN)
    return tuple(sorted(words - set(_RATE_CONNECTORS) - {"b", "d", "us"}))


# ---------------------------------------------------------------------------------------
# Numbers in words
# ---------------------------------------------------------------------------------------

_SMALL = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen"
).split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_MULTIPLIERS = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000, "dozen": 12}
NUMBER_WORDS: dict[str, int] = {
    **{w: n for n, w in enumerate(_SMALL)},
    **{w: 20 + 10 * n for n, w in enumerate(_TENS)},
    **_MULTIPLIERS,
}
"""Number words and their values ("a"/"an" count as one before a multiplier; "half a(n)" is 0.5)."""

SCALES: dict[str, float] = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "billion": 1e9, "bn": 1e9}
"""Scale words and suffixes after a digit number ("1k", "1.5k", "2M", "3 million")."""

_WORD = alternation(NUMBER_WORDS) + r"(?![\w])"
_MULTIPLIER = alternation(_MULTIPLIERS)
NUMBER_WORDS_PATTERN = (
    rf"(?:half\s+an?(?![\w-])"
    rf"|(?:an?\s+(?={_MULTIPLIER}(?![\w])))?{_WORD}(?:(?:\s+and)?[\s-]+{_WORD}){{0,7}}+"
    rf"|an?(?![\w-]))"
)
"""A regex group matching a number in words ("five", "twenty-four", "two hundred and fifty",
"a dozen", "half an", or a lone "a"/"an"), read once (possessive: no re-reads). Put a
boundary such as ``(?<![\\w-])`` before it. A lone "a"/"an" is one: callers decide where
that reading is meant ("within an hour", not "a second factor")."""


def parse_number_words(text: str) -> float | None:
    """The value of a number in words ("twenty-four" 24, "two hundred and fifty" 250, "a dozen"
    12, "half a" 0.5, "an" 1), else None (not a number, or "and" joining two small numbers as
    in "five and ten")."""
    tokens = [t for t in re.split(r"[\s-]+", text.strip().lower()) if t]
    if tokens[:1] == ["half"] and tokens[1:] in (["a"], ["an"]):
        return 0.5
    total, current, previous = 0.0, 0.0, ""
    for token in tokens:
        if token in ("a", "an") and previous == "":
            current = 1.0
        elif token == "and":
            if previous not in ("hundred", "thousand", "million", "billion"):
                return None
        elif token in ("hundred", "dozen"):
            current = (current or 1.0) * _MULTIPLIERS[token]
        elif token in _MULTIPLIERS:
            total, current = total + (current or 1.0) * _MULTIPLIERS[token], 0.0
        elif token in NUMBER_WORDS:
            current += NUMBER_WORDS[token]
        else:
            return None
        previous = token
    return total + current if tokens else None
