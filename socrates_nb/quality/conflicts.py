"""Conflict rules: how a new specification item relates to the project's current items.

``detect(new, existing)`` compares one new item with every current item and returns,
for each pair that is not independent, one ``Verdict`` (precedence: restatement > value >
numeric > exclusive > polarity):

* ``restatement`` (same key): the same value again — text equal ignoring case and
  punctuation, the same number after unit normalisation (with compatible bounds and the
  same subject), or the same ``choice`` with the same polarity. The newer item supersedes
  the older one (the service does that).
* ``value`` (same key, high): two different ``choice`` values, neither negated
  ("PostgreSQL" vs "MongoDB" as ``constraints.primary_database``).
* ``numeric`` (same category; performance and scalability count as one): incompatible
  limits on one metric family. Families:
  ``latency``, ``latency_p95``, ``response_time`` are one family; ``users`` and
  ``concurrent_users`` another. Two *qualified* metrics with different qualifiers
  (``latency_p95`` vs ``latency_p99``) are not compared, nor are two statements with
  different subjects ("pages load in 2 s" vs "sessions time out after 30 s"; a subject is
  the content words of ``value["text"]`` without metric, unit and bound words, plus its
  other numbers ("98% of tasks", "on a 56k connection"), and two subjects match when one
  contains the other, so "p95 under 200 ms" speaks about every latency of its category).
  Different keys need a metric on both sides. Units are normalised by
  :mod:`socrates_nb.quality.units` (the one unit table: any time, size, rate per
  s/min/h/d/wk/mo, count, percent; a stored unit may be a symbol or a spelling, "req/d"
  or "requests per day"), so 86,400 req/day is 1 req/s; availability is compared as
  allowed downtime (``units.downtime_percent``: 100 - x), so 99.9% vs 99% is a 10x gap. Bounds (``max``, ``min``, ``exact``; missing
  means ``exact``):

  - ``max`` below ``min``: high (``max`` at or above ``min`` is a range: no conflict);
  - any other pair (``max``/``max``, ``min``/``min``, ``exact`` with anything): ratio
    >= 1.25 medium, >= 2 high. ``exact`` is a limit stated without a direction ("p95
    latency of 200 ms", "2 seconds is fine"), so it meets the other bound as an equal.

* ``exclusive`` (any keys): options of one group of ``data/exclusive.yaml`` (on-premises
  only vs a named public cloud, offline-only vs real-time sync, ...); severity and
  explanation template come from the table.
* ``polarity`` (any keys, high): one statement states and the other denies one subject.
  Negation is ``value["negated"]`` when it is a bool, else negation words outside
  condition clauses and negated bounds ("must not exceed 2 s" is a limit). The denied
  statement's content words (lightly stemmed: delete/deleted/deletion,
  account/accounts) must all occur in the other statement outside its condition clauses
  ("if/when/each time/as a result of ..."): "Accounts are never deleted" contradicts
  "Users can delete their accounts", but "Users cannot log in with an expired password"
  (a narrower denial) does not contradict "Users can log in". Two negatives never
  conflict, nor do two measured items (the numeric rule's domain). Same key and same
  ``choice`` with opposite negation is also a polarity conflict.

``judge(key, old, new)`` applies the same rules to two values of one key (a thin wrapper
kept for the answer turn). ``Candidate.of(row_or_draft, id=...)`` builds a candidate.

Everything is pure and deterministic. Text features are memoised per text (bounded LRU
caches) and per ``Candidate``, so comparing one new item with hundreds of existing ones
costs simple set and number comparisons per pair.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Mapping, NamedTuple, Sequence

import yaml

from socrates_nb.quality import units

CONFLICT_TYPES = ("value", "numeric", "polarity", "exclusive")
MAX_CONFLICTS_PER_ITEM = 3
"""The most conflicts one new item records (with the newest items it contradicts first)."""
MAX_CONFLICTS_PER_TURN = 20
"""The most conflicts one answer records; further contradicting pairs are only counted
(``conflicts_omitted``), so one answer cannot fill the database with pairs."""
SEVERITIES = ("high", "medium", "low")

_SIGNIFICANT_RATIO = 1.25
_HIGH_RATIO = 2.0
_SHORT = 60  # characters of an item's text quoted in an explanation


@dataclass(frozen=True)
class Verdict:
    """How a new item relates to an existing one."""

    kind: str  # "restatement" | "conflict" | "independent"
    type: str = ""  # for conflicts: one of CONFLICT_TYPES
    severity: str = ""  # for conflicts: one of SEVERITIES
    explanation: str = ""


_INDEPENDENT = Verdict("independent")


@dataclass(frozen=True)
class Candidate:
    """One specification item as the conflict rules see it.

    ``value`` follows the ``ItemDraft`` contract (``text``; where stated ``number``,
    ``unit``, ``metric``, ``bound``, ``choice``, ``negated``). ``id`` is opaque: it is
    handed back with the verdicts. Equality compares the fields; the hash uses ``id``,
    ``key`` and ``text`` (``value`` is a dict). Features the rules need are computed
    once per candidate, on first use.
    """

    id: object
    key: str
    category: str
    text: str
    value: Mapping[str, Any]
    _memo: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __hash__(self) -> int:
        return hash((self.id, self.key, self.text))

    @classmethod
    def of(cls, item: Any, id: object = None) -> "Candidate":  # noqa: A002 - the field is called id
        """A candidate from any object with ``key``, ``category``, ``text``, ``value`` (an ORM row, an ItemDraft)."""
        return cls(
            id=getattr(item, "id", None) if id is None else id,
            key=item.key,
            category=item.category,
            text=item.text or "",
            value=item.value or {},
        )


# --- public API -------------------------------------------------------------------------------


def detect(new: Candidate, existing: Sequence[Candidate]) -> list[tuple[Candidate, Verdict]]:
    """Restatements and conflicts between ``new`` and each of ``existing`` (independent pairs are left out).

    The result keeps the order of ``existing``; each pair gets at most one verdict. In a
    conflict's explanation side *a* is the existing item, side *b* the new one.
    """
    ctx = _NewContext(new)
    found: list[tuple[Candidate, Verdict]] = []
    for old in existing:
        if old is new:
            continue
        verdict = _compare(old, ctx)
        if verdict is not None:
            found.append((old, verdict))
    return found


def judge(key: str, old: dict[str, Any], new: dict[str, Any]) -> Verdict:
    """Compare the values of two items that share ``key`` (a thin wrapper around the rules of ``detect``)."""
    category = key.split(".", 1)[0]
    a = Candidate(id="old", key=key, category=category, text=str(old.get("text", "")), value=old)
    b = Candidate(id="new", key=key, category=category, text=str(new.get("text", "")), value=new)
    return _compare(a, _NewContext(b)) or _INDEPENDENT


# --- features ---------------------------------------------------------------------------------


class _Measure(NamedTuple):
    x: float  # in base units (s, B, req/s, users, %); availability as downtime %
    own: tuple[float, bool]  # the number as stated, and whether it is a percentage
    dim: str
    bound: str  # max | min | exact (after the availability flip)
    family: str
    qual: str
    shown: str  # "200 ms"
    stated_bound: str  # the bound as stated (before the availability flip)


class _Feat(NamedTuple):
    source: str  # the text the rules read: the item text (or value.text), plus the choice
    lower: str
    measure: _Measure | None
    choice: str  # normalised choice, "" when none
    negated: bool | None  # value["negated"] when it is a bool, else None (read the text)
    maybe_negated: bool  # a cheap necessary condition of being negated
    stated: str  # value["text"] (the statement as given) lower-cased, else ``lower``: numeric subjects


def _feat(c: Candidate) -> _Feat:
    f = c._memo.get("f")
    if f is None:
        value = c.value
        source = c.text or str(value.get("text") or "")
        raw_choice = value.get("choice")
        choice = ""
        if raw_choice not in (None, ""):
            choice = _NON_ALNUM.sub("", str(raw_choice).lower())
            if str(raw_choice).lower() not in source.lower():
                source = f"{source} ({raw_choice})"
        flag = value.get("negated")
        lower = source.lower()
        f = _Feat(
            source, lower, _measure_of(value) if "number" in value else None, choice,
            flag if isinstance(flag, bool) else None,
            flag if isinstance(flag, bool) else any(w in lower for w in _NEGATION_HINTS),
            str(value.get("text") or "").lower() or lower,
        )
        c._memo["f"] = f
    return f


def _is_negated(f: _Feat) -> bool:
    if f.negated is not None:
        return f.negated
    return f.maybe_negated and _text_negated(f.lower)


class _NewContext:
    """What ``detect`` computes once about the new item."""

    __slots__ = ("item", "f", "negated", "content", "hints", "groups")

    def __init__(self, item: Candidate) -> None:
        self.item = item
        self.f = _feat(item)
        self.negated = _is_negated(self.f)
        # a denial counts in full; a statement without the conditions it is stated under
        self.content = _content(self.f.lower) if self.negated else _unconditional_content(self.f.lower)
        # The first 3 letters of a stem are the first 3 of its word: a cheap substring prefilter.
        self.hints = tuple(sorted({s[:3] for s in self.content}))
        self.groups = _exclusive_selections(self.f.source)


# --- one pair ---------------------------------------------------------------------------------


def _compare(a: Candidate, ctx: _NewContext) -> Verdict | None:
    b, fb = ctx.item, ctx.f
    fa = _feat(a)
    same_key = a.key == b.key
    if same_key:
        verdict = _restatement(a, b, fa, fb) or _value_conflict(a, b, fa, fb)
        if verdict is not None:
            return verdict
    if fa.measure is not None and fb.measure is not None and (same_key or _same_scope(a.category, b.category)):
        verdict = _numeric_conflict(a, b, fa, fb, same_key)
        if verdict is not None:
            return verdict
    if ctx.groups:
        verdict = _exclusive_conflict(a, b, fa, ctx.groups)
        if verdict is not None:
            return verdict
    return _polarity_conflict(a, fa, ctx, same_key)


_SIBLING_CATEGORIES = frozenset({"performance", "scalability"})
"""Categories that state the same metrics (throughput, users): their limits compare as if one category."""


def _same_scope(a: str, b: str) -> bool:
    return a == b or (a in _SIBLING_CATEGORIES and b in _SIBLING_CATEGORIES)


def _restatement(a: Candidate, b: Candidate, fa: _Feat, fb: _Feat) -> Verdict | None:
    ma, mb = fa.measure, fb.measure
    why = ""
    if _same_text(a, b):
        why = "the same text"
    elif ma is not None and mb is not None:
        if (
            ma.dim == mb.dim
            and _close(ma.x, mb.x)
            and (ma.bound == mb.bound or "exact" in (ma.bound, mb.bound))
            and _subject_of(fa.stated, ma.own) == _subject_of(fb.stated, mb.own)
        ):
            why = f"the same value ({_BOUND_WORDS[mb.stated_bound]}{mb.shown})"
    elif fa.choice and fa.choice == fb.choice and _is_negated(fa) == _is_negated(fb):
        why = f"the same choice ({b.value.get('choice')})"
    if not why:
        return None
    return Verdict("restatement", "", "", f"{b.key}: restates {why}")


def _same_text(a: Candidate, b: Candidate) -> bool:
    """Equal item texts or equal stated texts (``value["text"]``), ignoring case and punctuation."""
    ta, tb = _normalised(a.text.lower()), _normalised(b.text.lower())
    if ta and ta == tb:
        return True
    sa, sb = str(a.value.get("text") or ""), str(b.value.get("text") or "")
    return bool(sa) and _normalised(sa.lower()) == _normalised(sb.lower()) != ""


def _value_conflict(a: Candidate, b: Candidate, fa: _Feat, fb: _Feat) -> Verdict | None:
    if not fa.choice or not fb.choice or fa.choice == fb.choice or _is_negated(fa) or _is_negated(fb):
        return None
    return Verdict("conflict", "value", "high", f"{b.key}: {a.value.get('choice')} vs {b.value.get('choice')}")


def _numeric_conflict(a: Candidate, b: Candidate, fa: _Feat, fb: _Feat, same_key: bool) -> Verdict | None:
    ma, mb = fa.measure, fb.measure
    assert ma is not None and mb is not None
    if ma.dim != mb.dim:
        return None
    if ma.family != mb.family and (not same_key or (ma.family and mb.family)):
        return None  # one key without a metric on one side still compares
    if not same_key and not ma.family:
        return None  # different keys and no metric: nothing says they measure one thing
    if ma.qual != mb.qual and ma.qual and mb.qual:
        return None  # latency_p95 vs latency_p99
    severity = _bound_conflict(ma, mb)
    if severity is None:
        return None
    sa, sb = _subject_of(fa.stated, ma.own), _subject_of(fb.stated, mb.own)
    if not (sa <= sb or sb <= sa):
        return None  # "pages load in 2 s" vs "sessions time out after 30 s"
    shown_a, shown_b = _fmt_pair(ma, mb)
    explanation = f"{b.key}: {shown_a} vs {shown_b}" if same_key else f"{a.key} {shown_a} vs {b.key} {shown_b}"
    return Verdict("conflict", "numeric", severity, explanation)


def _bound_conflict(ma: _Measure, mb: _Measure) -> str | None:
    """The severity of two incompatible limits, or None when they are compatible.

    ``exact`` is a limit without a direction ("p95 latency of 200 ms", "2 seconds is
    fine"): it takes the other side's bound, so only a ``max`` and a ``min`` can be
    compatible while apart.
    """
    if {ma.bound, mb.bound} == {"max", "min"}:
        top, bottom = (ma.x, mb.x) if ma.bound == "max" else (mb.x, ma.x)
        return "high" if top < bottom and not _close(top, bottom) else None
    return _ratio_severity(ma.x, mb.x)


def _ratio_severity(x: float, y: float) -> str | None:
    if _close(x, y):
        return None
    low, high = (x, y) if x < y else (y, x)
    ratio = high / low if low > 0 else math.inf
    if ratio >= _HIGH_RATIO:
        return "high"
    if ratio >= _SIGNIFICANT_RATIO:
        return "medium"
    return None


def _exclusive_conflict(
    a: Candidate, b: Candidate, fa: _Feat, b_groups: tuple[tuple[int, "_Selection"], ...]
) -> Verdict | None:
    memo = a._memo
    for index, b_sel in b_groups:
        group = _EXCLUSIVE_GROUPS[index]
        try:
            a_sel = memo[index]
        except KeyError:
            if group.hints is not None and not any(h in fa.lower for h in group.hints):
                a_sel = None  # no regex of the group can match
            else:
                a_sel = _exclusive_selection(fa.source, index)
            memo[index] = a_sel
        if a_sel is None or a_sel.option == b_sel.option or not (a_sel.strong or b_sel.strong):
            continue
        explanation = group.explanation.format(
            group=group.name, a_key=a.key, b_key=b.key,
            a_option=group.options[a_sel.option].label, b_option=group.options[b_sel.option].label,
            a_match=a_sel.match, b_match=b_sel.match,
        )
        return Verdict("conflict", "exclusive", group.severity, explanation)
    return None


def _polarity_conflict(a: Candidate, fa: _Feat, ctx: _NewContext, same_key: bool) -> Verdict | None:
    b, fb = ctx.item, ctx.f
    if fa.measure is not None and fb.measure is not None:
        return None  # two limits: the numeric rule's domain
    if same_key and fa.choice and fa.choice == fb.choice and _is_negated(fa) != ctx.negated:
        return _polarity_verdict(a, b, str(b.value.get("choice")))  # "MongoDB" vs "not MongoDB"
    if ctx.negated:
        # a must state what b denies: every word b denies occurs in a
        if not ctx.content or not all(h in fa.lower for h in ctx.hints) or _is_negated(fa):
            return None
        denied, neg_text = ctx.content, fb.lower
        if not denied <= _unconditional_content(fa.lower):
            return None
    else:
        if not fa.maybe_negated:
            return None
        denied = _content(fa.lower)
        if not denied or not denied <= ctx.content or not _is_negated(fa):
            return None
        neg_text = fa.lower
    return _polarity_verdict(a, b, _subject_words(neg_text, denied))


def _polarity_verdict(a: Candidate, b: Candidate, subject: str) -> Verdict:
    explanation = f'{_side(a)} vs {_side(b)}: "{subject}" is both stated and denied'
    return Verdict("conflict", "polarity", "high", explanation)


# --- measures ---------------------------------------------------------------------------------

_FAMILY_ALIASES = {
    "response_time": "latency", "response": "latency", "uptime": "availability",
    "rps": "throughput", "qps": "throughput", "tps": "throughput", "request_rate": "throughput",
}
_QUAL_PREFIX = re.compile(
    r"^(p\d+(?:\.\d+)?|concurrent|simultaneous|active|peak|total|registered|avg|average|mean|median"
    r"|max|maximum|min|minimum)_(.+)$"
)
_QUAL_SUFFIX = re.compile(r"^(.+?)_(p\d+(?:\.\d+)?|avg|average|mean|median|max|peak)$")
_BOUNDS = ("max", "min", "exact")
_FLIP = {"max": "min", "min": "max", "exact": "exact"}
_BOUND_WORDS = {"max": "at most ", "min": "at least ", "exact": ""}


@lru_cache(maxsize=1024)
def _family(metric: str) -> tuple[str, str]:
    """(family, qualifier): latency_p95 -> (latency, p95), concurrent_users -> (users, concurrent)."""
    metric = metric.strip().lower().replace("-", "_").replace(" ", "_")
    metric = _FAMILY_ALIASES.get(metric, metric)
    qual = ""
    if m := _QUAL_PREFIX.match(metric):
        qual, metric = m.group(1), m.group(2)
    elif m := _QUAL_SUFFIX.match(metric):
        metric, qual = m.group(1), m.group(2)
    return _FAMILY_ALIASES.get(metric, metric), qual


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, str):
        try:
            raw = float(raw.replace(",", "").strip())
        except ValueError:
            return None
    if not isinstance(raw, (int, float)) or not math.isfinite(raw):
        return None
    return float(raw)


def _fmt_number(n: float) -> str:
    if n.is_integer():
        return f"{int(n):,}"
    return f"{n:,.6f}".rstrip("0").rstrip(".")


def _measure_of(value: Mapping[str, Any]) -> _Measure | None:
    number = _number(value.get("number"))
    if number is None:
        return None
    unit = str(value.get("unit") or "").strip()
    known = units.lookup(unit)
    dim, factor = (known.dimension, known.factor) if known else (f"unit:{unit.lower()}", 1.0)
    family, qual = _family(str(value.get("metric") or ""))
    bound = value.get("bound")
    bound = bound if bound in _BOUNDS else "exact"
    shown = f"{_fmt_number(number)}{'' if unit == '%' else ' '}{unit}".rstrip()
    x, stated = number * factor, bound
    if family == "availability" and dim == "percent":
        x, bound = units.downtime_percent(x), _FLIP[bound]  # compare allowed downtime: 99.9% vs 99% is 0.1 vs 1
    return _Measure(x, (number, unit == "%"), dim, bound, family, qual, shown, stated)


def _fmt_pair(ma: _Measure, mb: _Measure) -> tuple[str, str]:
    """Both limits for an explanation; bound words only where the bounds differ ("at most 200 ms vs 2 s")."""
    if ma.stated_bound == mb.stated_bound:
        return ma.shown, mb.shown
    return _BOUND_WORDS[ma.stated_bound] + ma.shown, _BOUND_WORDS[mb.stated_bound] + mb.shown


def _close(x: float, y: float) -> bool:
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)  # 700 ms * 0.001 != 0.7 s in floats


# --- text features (on lower-cased text) ------------------------------------------------------

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
# Keep "." inside numbers (99.9) but not at the end: "... as CSV." restates "... as CSV!".
_NORM = re.compile(r"[^a-z0-9%.]+")


@lru_cache(maxsize=8192)
def _normalised(lower: str) -> str:
    return _NORM.sub(" ", lower).strip(" .")


# Every negation below contains one of these (cheap substring prefilter).
_NEGATION_HINTS = ("no", "never", "neither", "n't", "n’t", "prohibit", "forbid", "disallow")
_NEGATION = re.compile(
    r"\b(?:not(?!\s+only\b)|never|cannot|nobody|nothing|neither|nor|no\s+(?:one|longer))\b"
    r"|n[’']t\b"
    r"|\bno\b(?!\s+(?:later|more|less|fewer|earlier|longer|sooner|matter|than)\b)(?!-)"
    r"|\b(?:prohibits?|prohibited|forbids?|forbidden|disallows?|disallowed)\b"
)
# Not denials: "whether or not"; a negated bound ("must not exceed 2 s", "should not be more than 10 s").
_NOT_NEGATION = re.compile(
    r"\bwhether\s+or\s+not\b"
    r"|\b(?:not|never|n[’']t)\s+(?:to\s+)?(?:be\s+)?(?:exceed\w*|more|less|longer|shorter|greater|higher|lower|fewer"
    r"|above|below|over|under|later|earlier|slower|faster|bigger|larger|smaller)\b"
)


@lru_cache(maxsize=8192)
def _text_negated(lower: str) -> bool:
    """Whether ``lower`` forbids or denies (the fallback when ``value['negated']`` is absent).

    A negated bound is a limit ("must not exceed 2 s"), and a negation inside a condition
    ("if the card is not valid, ...") does not deny the statement. "Prevent" is not read
    as a denial: "prevent malicious input" is a control, and its threat is named elsewhere.
    """
    if not any(w in lower for w in _NEGATION_HINTS):
        return False
    main = _CONDITION.sub(" ", _NOT_NEGATION.sub(" ", lower))
    return _NEGATION.search(main) is not None


_WORD = re.compile(r"[a-z][a-z0-9]*(?:[’'][a-z]+)?")
_SUFFIXES = (
    ("ations", ""), ("ation", ""), ("ions", ""), ("ion", ""), ("ings", ""), ("ing", ""), ("ments", ""),
    ("ment", ""), ("ages", ""), ("age", ""), ("ies", "y"), ("ied", "y"), ("sses", "ss"), ("ed", ""),
    ("es", ""), ("ly", ""), ("s", ""),
)


@lru_cache(maxsize=16384)
def _stem(word: str) -> str:
    """A light stemmer: delete/deleted/deletion/deletes -> delet, accounts -> account.

    It only changes a word after its third letter, so a stem starts like its word.
    """
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    if len(word) <= 3:
        return word
    for suffix, repl in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                break
            word = word[: -len(suffix)] + repl
            break
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]  # stopped -> stop, permitted -> permit
    return word


_STOP_WORDS = frozenset(
    """
    a an the this that these those it its it's they them their theirs we us our ours you your yours he she his her
    i me my who whom whose which what when where why how there here
    is are was were be been being am do does did done doing have has had having
    can could may might must shall should will would need needs needed ought
    cannot can't couldn't won't wouldn't shouldn't mustn't don't doesn't didn't isn't aren't wasn't weren't
    hasn't haven't hadn't shan't can’t won’t don’t doesn’t isn’t aren’t
    not never no nobody nothing neither nor none without
    prevent prevents prevented prohibit prohibits prohibited forbid forbids forbidden disallow disallows disallowed
    and or but if then else also only just even still again ever always any all every each some both either
    of to in on at by for from with as into onto about than via per within under over up down out off
    so such too very much many more most less least few fewer
    system systems app apps application applications software product platform solution tool service
    allow allows allowed allowing able ability enable enables enabled permit permits permitted
    support supports supported provide provides provided let lets possible option optionally
    sure yes ok okay fine acceptable enough given good great
    honestly basically really actually probably maybe perhaps roughly approximately around nearly almost
    typically usually normally generally currently today now think guess want like say said
    """.split()
)
# Words that name a metric, a unit or a bound: a numeric subject is what is left. The unit
# words come from the one unit table (units.unit_words without the counted nouns); these are
# the metric, bound and verb words around them.
_MEASURE_WORDS = frozenset(
    _stem(w)
    for w in """
    latency latencies response responses time times p50 p90 p95 p99 p999 percentile percentiles th
    availability available uptime downtime throughput request requests transaction transactions
    user users concurrent concurrently simultaneous simultaneously active peak total registered
    d monthly yearly annual annually daily weekly hourly size storage capacity
    under below within max maximum minimum exceed exceeds exceeding above least most upto
    limit limits target targets budget goal goals stay stays remain remains keep kept handle handles
    serve serves expect expected take takes measured average mean median
    respond responds sustain sustains return returns returned come comes back arrive arrives reply replies
    answer answers answered finish finishes finished call calls query queries
    """.split()
) | frozenset(_stem(part) for word in units.unit_words(counted=False) for part in word.split("/") if part)


@lru_cache(maxsize=8192)
def _words(lower: str) -> tuple[tuple[str, str], ...]:
    """(word, stem) of the content words of ``lower``, in order."""
    out = []
    for word in _WORD.findall(lower):
        if word in _STOP_WORDS:
            continue
        stem = _stem(word)
        if stem not in _STOP_WORDS:
            out.append((word, stem))
    return tuple(out)


@lru_cache(maxsize=8192)
def _content(lower: str) -> frozenset[str]:
    return frozenset(stem for _, stem in _words(lower))


# "if ...", "each time ...", "as a result of ..." up to the next comma: a condition, not a claim.
_CONDITION = re.compile(
    r"\b(?:if|when|whenever|each\s+time|every\s+time|in\s+case|in\s+the\s+event|as\s+a\s+result\s+of|unless"
    r"|upon|once|after)\b[^,;:.!?]*"
)


@lru_cache(maxsize=8192)
def _unconditional_content(lower: str) -> frozenset[str]:
    """Content stems outside condition clauses: "data stays intact each time malicious data is input" does
    not state that malicious data is input."""
    return _content(_CONDITION.sub(" ", lower)) if _CONDITION.search(lower) else _content(lower)


_NUMBER_TOKEN = re.compile(r"(?<![\w.,])(\d+(?:[.,]\d+)*)(%|[a-z]+)?")


@lru_cache(maxsize=8192)
def _subject_of(lower: str, own: tuple[float, bool]) -> frozenset[str]:
    """The words a limit is about: content stems that are not metric, unit or bound words, plus the
    numbers of the statement other than the limit itself ("98% of tasks", "on a 56k connection").

    "Pages load in 2 s" -> {page, load}; "p95 latency under 200 ms" -> {}.
    """
    stems = {stem for _, stem in _words(lower) if stem not in _MEASURE_WORDS}
    number, percent = own
    for digits, suffix in _NUMBER_TOKEN.findall(lower):
        try:
            if float(digits.replace(",", "")) == number and (suffix == "%") == percent:
                continue  # the limit itself
        except ValueError:  # pragma: no cover - "1.2.3"
            pass
        stems.add(digits + suffix)
    return frozenset(stems)


def _subject_words(lower: str, stems: frozenset[str]) -> str:
    seen: list[str] = []
    for word, stem in _words(lower):
        if stem in stems and word not in seen:
            seen.append(word)
    return " ".join(seen)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SHORT else text[: _SHORT - 3].rstrip() + "..."


def _side(c: Candidate) -> str:
    return f'{c.key} "{_short(_feat(c).source)}"'


# --- the exclusive table ----------------------------------------------------------------------


@dataclass(frozen=True)
class ExclusiveOption:
    """One option of an exclusive group: ``patterns`` choose it exclusively, ``mentions`` only name it."""

    name: str
    label: str
    patterns: re.Pattern[str] | None
    mentions: re.Pattern[str] | None


@dataclass(frozen=True)
class ExclusiveGroup:
    """Options that exclude each other, with the severity and explanation of their conflict.

    ``hints``: lower-case strings one of which occurs in every text a pattern of the group
    matches (derived from the regexes; None when some regex has no required literal).
    """

    name: str
    severity: str
    explanation: str
    options: tuple[ExclusiveOption, ...]
    hints: tuple[str, ...] | None = None


class _Selection(NamedTuple):
    option: int
    strong: bool
    match: str


def _required_literals(items: Any) -> frozenset[str] | None:
    """Strings one of which every match of the parsed regex ``items`` contains (the longest found), or None."""
    from re import _constants as C  # type: ignore[attr-defined]

    best: frozenset[str] | None = None

    def offer(candidate: frozenset[str] | None) -> None:
        nonlocal best
        # prefer the longest shortest string, then the fewest strings: "prem" over "only|solely|..."
        if candidate and all(candidate) and (best is None or _rank(candidate) > _rank(best)):
            best = candidate

    run: list[str] = []
    for op, arg in list(items) + [(None, None)]:
        if op is C.LITERAL:
            run.append(chr(arg))
            continue
        if run:
            offer(frozenset({"".join(run).lower()}))
            run = []
        if op is C.SUBPATTERN:
            offer(_required_literals(arg[-1]))
        elif op is C.BRANCH:
            branches = [_required_literals(b) for b in arg[1]]
            if all(b is not None for b in branches):
                offer(frozenset().union(*branches))  # type: ignore[arg-type]
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT) and arg[0] >= 1:
            offer(_required_literals(arg[2]))
    return best


def _rank(literals: frozenset[str]) -> tuple[int, int]:
    return min(map(len, literals)), -len(literals)


def _group_hints(patterns: Sequence[str]) -> tuple[str, ...] | None:
    """The union of the required literals of the regexes ``patterns``, or None (no prefilter)."""
    try:
        from re import _parser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - a Python without re._parser: always run the regexes
        return None
    hints: set[str] = set()
    for pattern in patterns:
        try:
            found = _required_literals(_parser.parse(pattern, re.IGNORECASE))
        except Exception:  # noqa: BLE001 - any surprise: no prefilter rather than a wrong one
            return None
        if not found:
            return None
        hints |= found
    return tuple(sorted(hints))


def _compile(patterns: Any, where: str) -> re.Pattern[str] | None:
    if patterns is None:
        return None
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
        raise ValueError(f"{where}: expected a list of regex strings")
    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            raise ValueError(f"{where}: bad regex {p!r}: {exc}") from exc
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE) if patterns else None


def load_exclusive_groups(text: str | None = None) -> tuple[ExclusiveGroup, ...]:
    """Parse and check the exclusive table (``data/exclusive.yaml`` unless ``text`` is given)."""
    if text is None:
        text = resources.files("socrates_nb.quality.data").joinpath("exclusive.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    if not isinstance(raw, dict) or not isinstance(raw.get("groups"), list):
        raise ValueError("exclusive table: expected a mapping with a 'groups' list")
    groups: list[ExclusiveGroup] = []
    for n, g in enumerate(raw["groups"]):
        if not isinstance(g, dict) or not isinstance(g.get("name"), str) or not g["name"]:
            raise ValueError(f"exclusive group #{n + 1}: needs a name")
        groups.append(_load_group(g, {x.name for x in groups}))
    return tuple(groups)


def _load_group(g: dict[str, Any], taken: set[str]) -> ExclusiveGroup:
    name = g["name"]
    where = f"exclusive group {name!r}"
    if name in taken:
        raise ValueError(f"{where}: duplicate name")
    severity = g.get("severity")
    if severity not in SEVERITIES:
        raise ValueError(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
    explanation = g.get("explanation")
    if not isinstance(explanation, str) or not explanation:
        raise ValueError(f"{where}: needs an explanation template")
    try:
        explanation.format(group="g", a_key="a", b_key="b", a_option="x", b_option="y", a_match="m", b_match="n")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"{where}: bad explanation template: {exc!r}") from exc
    options_raw = g.get("options")
    if not isinstance(options_raw, list) or len(options_raw) < 2:
        raise ValueError(f"{where}: needs at least 2 options")
    options: list[ExclusiveOption] = []
    all_patterns: list[str] = []
    for o in options_raw:
        if not isinstance(o, dict) or not isinstance(o.get("name"), str) or not o["name"]:
            raise ValueError(f"{where}: every option needs a name")
        ow = f"{where}, option {o['name']!r}"
        if o["name"] in {x.name for x in options}:
            raise ValueError(f"{ow}: duplicate option name")
        option = ExclusiveOption(
            name=o["name"], label=str(o.get("label") or o["name"]),
            patterns=_compile(o.get("patterns"), f"{ow} patterns"),
            mentions=_compile(o.get("mentions"), f"{ow} mentions"),
        )
        if option.patterns is None and option.mentions is None:
            raise ValueError(f"{ow}: needs patterns or mentions")
        all_patterns += list(o.get("patterns") or []) + list(o.get("mentions") or [])
        options.append(option)
    if not any(o.patterns is not None for o in options):
        raise ValueError(f"{where}: at least one option needs patterns (mentions alone never conflict)")
    return ExclusiveGroup(name, severity, explanation, tuple(options), _group_hints(all_patterns))


_EXCLUSIVE_GROUPS = load_exclusive_groups()

# A match does not select its option when its clause negates it just before:
# "we will not use AWS", "instead of AWS", "migrating away from AWS".
_CLAUSE_BREAK = re.compile(r"[,;:.!?()]|\bbut\b|\bwhile\b|\bwhereas\b", re.IGNORECASE)
_LOCAL_NEGATION = re.compile(
    r"\b(?:not|never|no|nothing|nobody|none|neither|nor|cannot|without|unlike|except"
    r"|instead\s+of|rather\s+than|other\s+than|away\s+from|replac\w*|migrat\w*\s+(?:off|from)"
    r"|mov\w*\s+(?:off|from)|leav\w*)\b|n[’']t\b",
    re.IGNORECASE,
)


def _negated_here(text: str, start: int) -> bool:
    parts = _CLAUSE_BREAK.split(text[max(0, start - 60): start])
    words = parts[-1].split()[-6:]
    return bool(words) and _LOCAL_NEGATION.search(" ".join(words)) is not None


def _first_match(pattern: re.Pattern[str] | None, text: str) -> str | None:
    if pattern is None:
        return None
    for m in pattern.finditer(text):
        if not _negated_here(text, m.start()):
            return " ".join(m.group(0).split())
    return None


@lru_cache(maxsize=16384)
def _exclusive_selection(text: str, index: int) -> _Selection | None:
    """The option of group ``index`` that ``text`` selects, or None (no option, or several).

    An option matched by its ``patterns`` beats options only mentioned; two options of
    one strength make the text ambiguous for the group.
    """
    strong: list[_Selection] = []
    weak: list[_Selection] = []
    for n, option in enumerate(_EXCLUSIVE_GROUPS[index].options):
        hit = _first_match(option.patterns, text)
        if hit is not None:
            strong.append(_Selection(n, True, hit))
            continue
        hit = _first_match(option.mentions, text)
        if hit is not None:
            weak.append(_Selection(n, False, hit))
    if strong:
        return strong[0] if len(strong) == 1 else None
    return weak[0] if len(weak) == 1 else None


@lru_cache(maxsize=8192)
def _exclusive_selections(text: str) -> tuple[tuple[int, _Selection], ...]:
    """(group index, selection) for every group of the table that ``text`` selects an option of."""
    lower = text.lower()
    out = []
    for index, group in enumerate(_EXCLUSIVE_GROUPS):
        if group.hints is not None and not any(h in lower for h in group.hints):
            continue
        sel = _exclusive_selection(text, index)
        if sel is not None:
            out.append((index, sel))
    return tuple(out)


def exclusive_groups() -> tuple[ExclusiveGroup, ...]:
    """The loaded exclusive table."""
    return _EXCLUSIVE_GROUPS
