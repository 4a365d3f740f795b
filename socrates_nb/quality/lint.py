"""Requirement lint: deterministic, offline quality rules for one requirement statement.

``lint(text, category=None)`` returns a sorted list of :class:`Finding` (rule id, message
quoting the offending words, character span, concrete suggestion, severity). Standard
library only (``re``); the same text always gives the same findings in the same order.

Rules and their sources
-----------------------
29148 = ISO/IEC/IEEE 29148:2018, 5.2.4 (requirement construct: "shall" binds, "should"
states a goal, "may" a permission, "will" a statement of fact), 5.2.5 (characteristics
of an individual requirement: unambiguous, complete, singular, feasible, verifiable) and
5.2.7 (requirements language criteria: avoid superlatives, subjective language, vague
adjectives and adverbs, open-ended terms such as "but not limited to", loopholes such as
"if possible" / "as appropriate", and "always"/"never"-style absolutes).
GtWR = INCOSE Guide to Writing Requirements (v3): C1-C9 characteristics, R-rules.
EARS = Mavin, Wilkinson, Harwood, Novak, "Easy Approach to Requirements Syntax", RE 2009.

==================  =====================================================  ========
rule id             source                                                 severity
==================  =====================================================  ========
``vague-term``      29148 5.2.5 unambiguous, 5.2.7; GtWR R7 vague terms,    warning
                    R35 indefinite temporal words (instantly, eventually)
``escape-clause``   29148 5.2.7 loopholes; GtWR R8 escape clauses           warning
``open-ended``      29148 5.2.5 complete, 5.2.7; GtWR R9 open-ended clauses warning
``placeholder``     29148 5.2.5 complete (no TBD/TBR); GtWR C4 complete     error
``weak-verb``       29148 5.2.4 (shall vs should/may/can); GtWR R1/R3       warning
                    (structured statement: subject + "shall" + verb); a
                    wish without a modal ("is highly encouraged")
``not-singular``    29148 5.2.5 singular; GtWR R18 single thought, R19      warning
                    combinators, R17 oblique symbol ("and/or")
``absolute``        29148 5.2.7; GtWR R26 absolutes                         warning
``unmeasurable``    29148 5.2.5 verifiable; GtWR R6 units, C7 verifiable    warning
                    (quantified performance targets)
``not-ears``        EARS (the five patterns and their combinations)        info
==================  =====================================================  ========

The word lists were grown for issue 15 from GtWR R7/R8/R9/R35 and from 158 sentences of real
public requirement documents (``tests/data/lint_sentences.yaml``, sources in
``quality/data/ATTRIBUTION.md``); ``scripts/lint_stats.py --labelled`` prints how many vague
sentences lint flags (a warning or error of :data:`VAGUENESS_RULES`) and how many precise ones.

Decisions on edge cases (each has a test in ``tests/test_lint.py``)
------------------------------------------------------------------
* Words inside a short quoted string ('the "Quick Pay" button', 'an "unlimited" plan') are
  names, not claims: ``vague-term`` and ``absolute`` skip them.
* ``vague-term`` words inside an escape clause, open-ended phrase or absolute ("as
  appropriate") are reported once, by the more specific rule. A capitalised vague word in
  mid-sentence is a proper name ("Simple Mail Transfer Protocol") and is skipped. When
  the same clause (up to a ';' or the end of the sentence) states a number with a unit
  ("fast: p95 under 200 ms") the finding stays but drops to severity ``info``: the criterion
  is there, the adjective is noise. A number in another clause ("suitable for small volumes;
  JSON up to 8 MB") or a mere frequency ("daily exports with flexible schema handling") is no
  criterion for the word, except a frequency for speed and freshness words. A parenthesis
  right after the words that enumerates or quantifies them defines them ("modern browsers
  (Chrome, Firefox, Safari, Edge)"); one of examples ("(e.g. Chrome)") does not. "clear"
  after a modal or "to" is the verb ("shall clear the cart"); "a defined" is vague where a
  rule belongs ("per a defined policy"), not where the user picks ("for a defined area").
* ``open-ended``: "etc.", "and so on", "including but not limited to", "and the like", ...
  leave a list open. "e.g.", "for example", "for instance" and "such as" do not: they give
  examples of a set the sentence names (issue 15).
* ``placeholder``: besides TBD/TODO/???/<...>, the spec-kit marker "[NEEDS CLARIFICATION:
  ...]" and "to be determined/confirmed/defined", "need(s) further definition" leave the
  requirement unfinished.
* ``weak-verb``: ``should/may/could/might/can`` count only as the verb of a main clause
  with a subject before them; the same word in a subordinate clause ("... so that users
  can retry", "if the file may be corrupt", "verify that the user can log in") or in an
  inversion ("Should the link fail, ...") is not a requirement verb. ``May`` capitalised
  in mid-sentence is the month. Negative forms (``may not``, ``cannot``, ``should not``)
  ARE reported: "may not" is ambiguous between a prohibition and a possibility, and a
  prohibition is written ``shall not``. "can only" / "may only" is a restriction a test can
  check ("Users can only perform actions granted by their role") and is not reported.
* ``not-singular``: reported for ``and/or``; for two or more main-clause modal verbs in
  one statement ("shall X and shall Y", or a second sentence with its own modal, whose
  message says so: often it is the fit criterion of the first); and for "shall <verb>
  <object> and <verb> <the/a/...>" where the second verb is a known action verb with its
  own object. A compound verb sharing one object ("shall encrypt and sign the message",
  "read and write access", "to view and export reports") is NOT reported: it is one
  testable action on one object, and flagging every "and" drowns the real cases.
* ``absolute``: ``never`` right after a modal or a form of *be* is a prohibition ("shall
  never store card numbers", "are never deleted") and is fine, unless the verb is a
  failure ("shall never fail / crash / lose data / be unavailable"), which is an
  unverifiable absolute. ``every time`` / ``each time`` introducing a clause ("Every time
  a user saves, ...") is an EARS event trigger, not an absolute. ``100%`` is an absolute
  when it is a rate over an unbounded future or a perfect quality ("100% of the time",
  "100% of all transactions", "100% uptime", "100% uncorrupted"); "100% of the
  representatives" is a finite, enumerable set (= "each"), which a test can cover.
* ``unmeasurable``: ``performance`` always needs a number with a unit. scalability,
  reliability, usability, security and operations need one when the statement makes a
  claim of that quality ("supports many users", "highly available", "easy to learn",
  "secure", "maintainable", "fast"): "Only administrators shall delete accounts" or "the
  shop shall keep taking orders when the mail server is down" are verifiable without a
  number. With no category, only speed/latency/load/throughput/availability/uptime/scale
  wording makes a statement non-functional. ``functional`` and the other categories never
  trigger it. Numbers count with a unit or a counted noun ("200 ms", "99.9%", "700
  movies"), as a frequency ("every hour", "daily") or as a time of day ("8am").
* ``not-ears`` is reported only where the analyst can act on it: the statement has a modal
  verb (it is written as a requirement) and no weak-verb finding already says what to change.
  A description with no modal ("Merchants receive webhooks over HTTPS.") gets none: in the
  ``make demo`` specification 29 of 32 items carried the same not-ears note, which told the
  analyst nothing; with this rule none does, while a condition after the response (with its
  rewrite), a "will", or an unclosed "When" clause is still reported.
  The response keyword is ``shall`` or ``must`` (binding modals; ``will``
  is a statement of fact in 29148). "If ..., the system shall" is accepted without
  ``then``; the precondition must be closed by a comma. A condition after the response
  ("shall lock the account if ...") is not EARS: EARS puts it first, and the suggestion
  shows the rewrite. "check/verify/show if" means "whether" and is not a condition.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from socrates_nb.categories import CATEGORIES
from socrates_nb.errors import ValidationError
from socrates_nb.quality.units import COUNTED_NOUNS, NUMBER_WORDS, alternation, unit_words

MAX_LENGTH = 20_000
"""The longest text ``lint`` accepts, in characters."""

RULES: dict[str, str] = {
    "vague-term": "A vague word (fast, user-friendly, adequate, ...) where a measurable criterion belongs.",
    "escape-clause": "An escape clause (if possible, as appropriate, as needed, ...) that makes it optional.",
    "open-ended": "An open-ended list (etc., and so on, including but not limited to, ...); not e.g./such as.",
    "placeholder": "A placeholder (TBD, TBC, TODO, FIXME, ???, XXX, [insert ...], <...>) left in the text.",
    "weak-verb": "A non-binding verb (should, may, could, might, can; is recommended, ...) as the requirement verb.",
    "not-singular": "More than one requirement in one statement (and/or, two modal clauses, two actions).",
    "absolute": "An unverifiable absolute (always, never fail, 100%, zero downtime, completely, ...).",
    "unmeasurable": "A non-functional requirement with no number and unit to test it against.",
    "not-ears": "The statement matches none of the EARS patterns.",
}
"""Every rule id (the single list) with a one-line description."""

SEVERITIES = ("error", "warning", "info")

VAGUENESS_RULES = ("vague-term", "unmeasurable", "escape-clause", "open-ended", "placeholder", "weak-verb")
"""The rules whose warning- or error-level findings mark a statement as vague (not verifiable as
written): what the probing rules and ``scripts/lint_stats.py --labelled`` count."""


def flags_vagueness(findings: Iterable[Finding]) -> bool:
    """True when one of ``findings`` is a warning or error of :data:`VAGUENESS_RULES`."""
    return any(f.rule in VAGUENESS_RULES and f.severity != "info" for f in findings)

NFR_STRICT = frozenset({"performance"})
"""Categories whose statements always need a number with a unit."""
NFR_CLAIM = frozenset({"scalability", "reliability", "usability", "security", "operations"})
"""Categories whose statements need a number with a unit when they make a quality claim."""


@dataclass(frozen=True)
class Finding:
    """One quality problem in a requirement statement."""

    rule: str
    message: str
    span: tuple[int, int] | None
    suggestion: str
    severity: str

    def to_dict(self) -> dict[str, Any]:
        """``{"rule", "message", "span": [start, end] or None, "suggestion", "severity"}``."""
        return {
            "rule": self.rule,
            "message": self.message,
            "span": list(self.span) if self.span is not None else None,
            "suggestion": self.suggestion,
            "severity": self.severity,
        }


# --------------------------------------------------------------------------------------
# Shared text helpers
# --------------------------------------------------------------------------------------

# Abbreviations whose dots are not sentence ends; masked (same length) in a working copy.
_ABBREV = re.compile(r"\b(?:e\.g|i\.e|etc|vs|approx|incl|fig|mr|mrs|dr|cf|ca)\.", re.I)
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['’][A-Za-z]+)*|[.;:!?](?=\s|$|[A-Z\"'(])|,(?!\d)|[()\[\]]")
_BOUNDARY = frozenset(".;:!?,()[]")
_SENTENCE_END = frozenset(".;:!?")


def _mask(text: str) -> str:
    """``text`` with the dots of abbreviations (e.g., i.e., etc.) blanked; offsets unchanged."""
    return _ABBREV.sub(lambda m: m.group(0)[:-1] + " ", text)


@dataclass(frozen=True)
class _Tok:
    text: str
    low: str
    start: int
    end: int

    @property
    def is_boundary(self) -> bool:
        return self.text in _BOUNDARY


def _tokens(masked: str) -> list[_Tok]:
    return [_Tok(m.group(0), m.group(0).lower().replace("’", "'"), m.start(), m.end()) for m in _TOKEN.finditer(masked)]


def _phrase_re(phrases: list[str] | tuple[str, ...], hyphen_after: bool = False) -> re.Pattern[str]:
    """A whole-word, case-insensitive alternation of ``phrases`` (longest first; a space
    matches any whitespace), built as a trie (units.alternation): a word start where no phrase
    begins costs a step or two, not one try per phrase. ``hyphen_after`` lets a phrase end
    before a hyphen ("easy-to-learn" contains "easy")."""
    after = r"(?!\w)" if hyphen_after else r"(?![\w-])"
    return re.compile(rf"(?<![\w-]){alternation(p.lower() for p in phrases)}{after}", re.IGNORECASE)


_QUOTED = re.compile(r'"[^"\n]{1,60}"|“[^”\n]{1,60}”')


class _Spans:
    """A fixed set of character spans with an O(log n) overlap test (spans may overlap)."""

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        self._spans = sorted(spans)
        self._starts = [a for a, _ in self._spans]
        self._reach = list(accumulate((b for _, b in self._spans), max))  # furthest end so far

    def __add__(self, other: _Spans) -> _Spans:
        return _Spans([*self._spans, *other._spans])

    def overlaps(self, span: tuple[int, int]) -> bool:
        """True when ``span`` overlaps one of the spans."""
        before = bisect_left(self._starts, span[1])  # the spans that start before ``span`` ends
        return before > 0 and self._reach[before - 1] > span[0]


def _quoted(text: str) -> _Spans:
    """Spans of short quoted strings: names ("Quick Pay", "unlimited plan"), not claims."""
    return _Spans((m.start(), m.end()) for m in _QUOTED.finditer(text))


CONTEXT = 120
"""How many characters before a match a rule reads for context: a bound, so the work per match
is constant however long the text is."""


def left_context(text: str, pos: int) -> str:
    """The (at most :data:`CONTEXT`) characters before ``pos``."""
    return text[max(0, pos - CONTEXT) : pos]


def _lower_article(phrase: str) -> str:
    """'The system' -> 'the system' (mid-sentence); names ('Program Administrators') stay."""
    first, _, rest = phrase.partition(" ")
    if first.lower() in _LEADING_DETERMINERS or (not rest and not first[1:2].isupper()):
        return f"{first.lower()} {rest}".rstrip()  # "The system", "Users"; not "CSRs"
    return phrase


_LEADING_DETERMINERS = frozenset({"the", "a", "an", "each", "every", "all", "any", "only", "no", "some", "this", "these"})


def _claim(kept: list[tuple[int, int]], span: tuple[int, int]) -> bool:
    """Add ``span`` to the sorted, non-overlapping ``kept`` unless it overlaps one of them."""
    at = bisect_left(kept, span)
    if (at > 0 and kept[at - 1][1] > span[0]) or (at < len(kept) and kept[at][0] < span[1]):
        return False
    kept.insert(at, span)
    return True


# Numbers with units: what makes a non-functional statement measurable. The unit and number
# words come from socrates_nb.quality.units, the one measurement vocabulary (units, rate things
# and periods, counted nouns, number words); lint adds only the words below, which name no unit
# there (physical units of screens, signals and distances; multipliers) but still make a
# number a criterion ("44 px", "10 Mbps", "3x", "five nines").
_NUMBER_WORDS = (*NUMBER_WORDS, "half")
_LINT_ONLY_UNIT_WORDS = tuple(
    """
    px pt dpi cm mm m meter meters km inch inches feet ft mile miles hz khz mhz ghz fps frame frames
    bit bits kbps mbps gbps times x fold nines point points quarter quarters year-old customer visitor
    concurrent simultaneous
    """.split()
)
_UNIT_WORDS = tuple(sorted({*unit_words(), *COUNTED_NOUNS, *_LINT_ONLY_UNIT_WORDS}))
_UNIT_ALT = alternation(_UNIT_WORDS)
# A whole run of digits and separators, read once: it starts only where no digit run goes
# on from the left and it is never re-read from a shorter end (possessive), so the unit
# branches after it are tried once per number, not once per digit.
_NUMBER_RUN = r"(?<!\d)(?<!\d[,.])\d++(?:[,.]\d++)*+"
_QUANTITY = re.compile(
    rf"""(?ix)
    (?:{_NUMBER_RUN}|\b{alternation(_NUMBER_WORDS)}\b|\b(?:a|an)\b(?=\s+(?:second|minute|hour|day|week|month|year)\b))
    \s*(?:-\s*)?
    (?:(?:%|percent\b|per\s+cent\b|x\b|/\d+\b)
      |(?:[a-z][a-z-]*+\s++){{0,2}}(?:{_UNIT_ALT})(?![a-z]))
    |\b\d+x\d+\b|\b24/7\b|\bp\d{{2}}\s*(?:<|<=|under|below|of)\s*\d
    |{_NUMBER_RUN}\s++(?:[a-z-]++\s++){{0,2}}(?!(?:is|was|has|does|this|its|as|us|plus|thus|times)\b)[a-z]{{2,}}s\b  # "700 movies"
    |\b(?:every|each|per|once\s+an?|twice\s+an?)\s+(?:second|minute|hour|day|week|month|quarter|year|night)\b
    |\b(?:hourly|daily|nightly|weekly|monthly|quarterly|yearly|annually)\b
    |\b\d{{1,2}}(?::\d{{2}})?\s*(?:am|pm|a\.m\.|p\.m\.)(?!\w)|\b\d{{1,2}}:\d{{2}}\b
    """
)


def has_quantity(text: str) -> bool:
    """True when ``text`` states a number with a unit ("200 ms", "99.9%", "10,000 users",
    "700 movies", "24/7", "every hour", "8am")."""
    return _QUANTITY.search(text) is not None


# --------------------------------------------------------------------------------------
# escape-clause: INCOSE GtWR R8 "Avoid escape clauses"; 29148 5.2.7 verifiable
# --------------------------------------------------------------------------------------

ESCAPE_CLAUSES: tuple[str, ...] = (
    "if possible", "where possible", "wherever possible", "whenever possible", "as far as possible",
    "so far as is possible", "as far as is possible", "as much as possible", "as little as possible",
    "to the extent possible", "to the extent practicable", "to the extent practical",
    "to the extent necessary", "if practicable", "where practicable", "if practical", "where practical",
    "if feasible", "where feasible", "when feasible", "as appropriate", "where appropriate",
    "if appropriate", "when appropriate", "as deemed appropriate", "as deemed necessary", "as required",
    "if required", "where required", "when required", "as necessary", "if necessary", "where necessary",
    "when necessary", "as needed", "if needed", "when needed", "where needed", "as applicable",
    "where applicable", "if applicable", "if it should prove necessary", "if desired", "as desired",
    # grown for issue 15 (GtWR R8 and real documents)
    "when possible", "whenever practical", "wherever practical", "as far as practical", "if time permits",
    "as time permits", "where reasonable", "if reasonable", "to the extent reasonable", "within reason",
    "ideally", "preferably", "best effort", "best-effort", "on a best-effort basis",
)
_ESCAPE = re.compile(
    _phrase_re(ESCAPE_CLAUSES).pattern + r"|\bat\s+(?:the\s+)?(?:[\w-]+(?:['’]s)?\s+)?discretion(?:\s+of)?\b",
    re.IGNORECASE,
)
# "as required by law", "if required under GDPR": a reference to a rule, not an escape clause.
_REFERENCE_AFTER = re.compile(r"\s+(?:by|under|in|per|from|of)\b", re.I)


def _escape_clauses(text: str) -> list[Finding]:
    out = []
    for m in _ESCAPE.finditer(text):
        phrase = m.group(0)
        if re.search(r"required$", phrase, re.I) and _REFERENCE_AFTER.match(text, m.end()):
            continue
        out.append(
            Finding(
                "escape-clause",
                f"'{phrase}' is an escape clause: it lets the requirement be skipped, so it cannot be verified",
                (m.start(), m.end()),
                f"Delete '{phrase}' and state the exact condition instead, e.g. "
                '"If the network is unavailable, then the app shall queue the upload."',
                "warning",
            )
        )
    return out


# --------------------------------------------------------------------------------------
# open-ended: INCOSE GtWR R9 "Avoid open-ended clauses"; 29148 5.2.5 complete
# --------------------------------------------------------------------------------------

OPEN_ENDED: tuple[str, ...] = (
    "etc.", "etc", "et cetera", "and so on", "and so forth", "including but not limited to",
    "including, but not limited to", "but not limited to", "among others", "amongst others",
    "and the like", "and/or more", "and more", "or similar", "or equivalent", "and others",
    "or others", "and other", "or other", "or the like", "and similar", "among other things",
)
"""Phrases that leave a list open. "e.g.", "for example", "for instance" and "such as" are not
among them: they introduce examples of a set the sentence names ("payment channels with custom
names (e.g., CBE Birr, Telebirr)"), not an open list (issue 15)."""
_OPEN = re.compile(
    r"(?<![\w-])(?:"
    + "|".join(
        re.escape(p).replace(r"\ ", r"\s+").replace(" ", r"\s+") + (r"(?![\w-])" if p[-1].isalnum() else "")
        for p in sorted(OPEN_ENDED, key=len, reverse=True)
    )
    + ")",
    re.IGNORECASE,
)
# "and more" is a lower bound after a number ("5 GB and more"); "such as" in "such as to" is not a list.
_OPEN_SKIP_BEFORE = re.compile(r"\d\s*[%\w]*\s*$")
_OTHER_THAN = re.compile(r"\s+(?:than|hand|words)\b", re.I)


_ELLIPSIS = re.compile(r"(?<!\.)(?:\.{3}|…)(?!\.)")


def _open_ended(text: str) -> list[Finding]:
    out = []
    quoted = _quoted(text)
    matches = sorted([*_OPEN.finditer(text), *_ELLIPSIS.finditer(text)], key=lambda m: m.start())
    for m in matches:
        phrase = m.group(0)
        if quoted.overlaps((m.start(), m.end())):
            continue  # 'shows "Loading..."': a quoted UI string
        low = re.sub(r"\s+", " ", phrase.lower())
        if low == "and more" and _OPEN_SKIP_BEFORE.search(left_context(text, m.start())):
            continue
        if low in ("and other", "or other") and _OTHER_THAN.match(text, m.end()):
            continue
        message = f"'{phrase}' leaves the list open: the requirement cannot be verified against an unknown set"
        suggestion = f"Replace '{phrase}' with the complete list of items, or a reference to the table that defines it"
        out.append(Finding("open-ended", message, (m.start(), m.end()), suggestion, "warning"))
    return out


# --------------------------------------------------------------------------------------
# placeholder: 29148 5.2.5 complete ("no TBD, TBS, TBR"); INCOSE GtWR C4 complete
# --------------------------------------------------------------------------------------

_PLACEHOLDERS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?<![\w-])TB[DCASR](?![\w-])", re.I),            # TBD, TBC, TBA, TBS, TBR
    re.compile(r"(?<![\w-])(?:TODO|XXX+|XX)(?![\w-])"),           # upper case only: "todo list" is a feature
    re.compile(r"(?<![\w-])FIXME(?![\w-])", re.I),
    re.compile(r"\?{2,}"),
    re.compile(r"\[\s*(?:insert|add|fill|enter|specify|placeholder|tbd|todo|to be)\b[^\]\n]{0,80}\]", re.I),
    re.compile(r"\[\s*NEEDS\b[^\]\n]{0,80}\]"),                   # spec-kit "[NEEDS CLARIFICATION: ...]"
    re.compile(
        r"(?i)(?<![\w-])(?:(?:yet\s+)?to\s+be\s+(?:determined|decided|defined|confirmed|clarified|specified|agreed)|"
        r"(?:needs?|requires?|requiring|needing)\s+(?:further|more)\s+(?:definition|clarification|discussion|"
        r"analysis|investigation|refinement|detail)|not\s+yet\s+(?:defined|specified|decided|determined|known))"
        r"(?![\w-])"
    ),
    re.compile(r"<[A-Za-z][\w .'/-]{0,58}>"),                     # "<system name>"; not "< 200 ms"
    re.compile(r"(?<![\w-])[XN](?=\s+(?:ms|seconds?|minutes?|hours?|days?|users|requests|%|percent)\b)"),
)


def _placeholders(text: str) -> list[Finding]:
    spans: dict[tuple[int, int], str] = {}
    kept: list[tuple[int, int]] = []
    for pattern in _PLACEHOLDERS:
        for m in pattern.finditer(text):
            if _claim(kept, (m.start(), m.end())):
                spans[(m.start(), m.end())] = m.group(0)
    return [
        Finding(
            "placeholder",
            f"'{word}' is a placeholder: the requirement is incomplete",
            span,
            f"Replace '{word}' with the actual value, or record it as an open question with an owner and a due date",
            "error",
        )
        for span, word in spans.items()
    ]


# --------------------------------------------------------------------------------------
# absolute: INCOSE GtWR R26 "Avoid absolutes"; 29148 5.2.7 verifiable / feasible
# --------------------------------------------------------------------------------------

_ABSOLUTE = _phrase_re(
    (
        "always", "never", "at all times", "all the time", "every time", "each time", "under all circumstances",
        "under all conditions", "in all cases", "in every case", "without exception", "zero downtime",
        "no downtime", "completely", "totally", "entirely", "error-free", "error free", "bug-free", "bug free",
        "fault-free", "failure-free", "unlimited", "infinite", "infinitely", "zero defects",
    )
)
_HUNDRED = re.compile(r"(?<![\d.,])100(?:\.0+)?\s*(?:%|percent\b|per\s+cent\b)", re.I)
# 100% is an absolute when it is a rate over an unbounded future (time, a stream of events)
# or a perfect quality ("100% uptime", "100% uncorrupted"); "100% of the representatives"
# is a finite, enumerable set (= "each"), which a test can cover.
_HUNDRED_UNBOUNDED = re.compile(
    r"(?i)\s*(?:of\s+(?:all\s+)?(?:the\s+)?(?:\w+\s+){0,2}?(?:time|times|transactions?|requests?|logons?|logins?|"
    r"queries|query|messages?|inputs?|attempts?|calls?|operations?|cases|occurrences?|sessions?|uploads?|"
    r"downloads?|payments?|orders?|searches|events?|hours|days)(?![\w-])|"
    r"(?:up\s*time|uptime|availability|available|reliable|reliability|accurate|accuracy|uncorrupted|correct|"
    r"secure|safe|error[- ]free|bug[- ]free|guaranteed|fault[- ]free|success(?:ful)?|compliant|protected)\b)"
)
_HUNDRED_BEFORE = re.compile(r"(?i)\b(?:available|reliable|accurate|secure|correct|up)\s+$")
_PROHIBITION_BEFORE = re.compile(
    r"\b(?:shall|must|will|should|may|can|is|are|be|been|was|were|gets|get)\s+$", re.I
)
_FAILURE_AFTER = re.compile(
    r"\s+(?:\w+\s+)?(?:fail|fails|crash|crashes|lose|loses|go\s+down|be\s+down|be\s+unavailable|"
    r"be\s+offline|be\s+interrupted|stop|stops|hang|hangs|freeze|freezes|break|breaks|time\s+out|"
    r"corrupt|be\s+corrupted|be\s+lost|error|go\s+offline)\b",
    re.I,
)
_CLAUSE_AFTER = re.compile(r"\s+(?:a|an|the|that|this|when|we|you|i|he|she|they|it|someone|anyone|users?|\w+s)\b", re.I)

_ABSOLUTE_ADVICE = {
    "always": 'state the conditions and a rate instead, e.g. "in 99.9% of requests" or "while the app is open"',
    "never": (
        'state a failure budget, e.g. "at most 1 failed transaction in 10,000"; '
        'a prohibition is written "shall not ..."'
    ),
    "100%": 'state a tolerance or an exact finite set, e.g. "99.95% of transactions" or "all 12 listed reports"',
    "downtime": 'state a budget, e.g. "at most 5 minutes of planned downtime per month"',
    "time": 'state the conditions and a rate, e.g. "in 99.9% of attempts"',
    "default": (
        'replace it with a bounded, testable statement, '
        'e.g. "removes the record from the database and all backups within 30 days"'
    ),
}


def _absolutes(text: str) -> list[Finding]:
    out = []
    quoted = _quoted(text)
    for m in _ABSOLUTE.finditer(text):
        word = m.group(0)
        if quoted.overlaps((m.start(), m.end())):
            continue
        low = re.sub(r"\s+", " ", word.lower())
        if low == "never":
            prohibition = _PROHIBITION_BEFORE.search(left_context(text, m.start())) is not None
            if prohibition and not _FAILURE_AFTER.match(text, m.end()):
                continue
            advice = _ABSOLUTE_ADVICE["never"]
        elif low in ("every time", "each time"):
            if _CLAUSE_AFTER.match(text, m.end()):  # "Every time a user saves, ..." is an event trigger
                continue
            advice = _ABSOLUTE_ADVICE["time"]
        elif low == "always" or low in ("at all times", "all the time"):
            advice = _ABSOLUTE_ADVICE["always"]
        elif "downtime" in low:
            advice = _ABSOLUTE_ADVICE["downtime"]
        else:
            advice = _ABSOLUTE_ADVICE["default"]
        out.append(
            Finding(
                "absolute",
                f"'{word}' is an absolute: no finite test can verify it",
                (m.start(), m.end()),
                f"Replace '{word}': {advice}",
                "warning",
            )
        )
    for m in _HUNDRED.finditer(text):
        word = m.group(0)
        if not (_HUNDRED_UNBOUNDED.match(text, m.end()) or _HUNDRED_BEFORE.search(left_context(text, m.start()))):
            continue
        out.append(
            Finding(
                "absolute",
                f"'{word}' is an absolute: no finite test can verify it",
                (m.start(), m.end()),
                f"Replace '{word}': {_ABSOLUTE_ADVICE['100%']}",
                "warning",
            )
        )
    return out


# --------------------------------------------------------------------------------------
# vague-term: INCOSE GtWR R7 "Avoid vague terms"; 29148 5.2.5 unambiguous, 5.2.7 verifiable
# --------------------------------------------------------------------------------------

# family -> (example criterion for the message, suggestion)
_VAGUE_FAMILIES: dict[str, tuple[str, str]] = {
    "speed": ("p95 under 200 ms", 'a time bound, e.g. "p95 response time under 200 ms at 100 requests per second"'),
    "fresh": ("changes visible within 5 minutes", 'a freshness bound, e.g. "changes are visible to readers within 5 minutes"'),
    "ease": (
        "90% of first-time users finish in under 3 minutes",
        'a usability criterion, e.g. "90% of first-time users complete checkout in under 3 minutes without help"',
    ),
    "flexible": (
        "supports PostgreSQL 15 and MySQL 8 by configuration",
        'the variations it must support, e.g. "switches between PostgreSQL 15 and MySQL 8 by configuration only"',
    ),
    "robust": (
        "99.9% monthly availability",
        'a failure or availability target, e.g. "99.9% monthly availability; no data loss when one node fails"',
    ),
    "efficient": (
        "under 512 MB RAM at 100 req/s",
        'a resource bound, e.g. "uses under 512 MB of RAM and one CPU core at 100 requests per second"',
    ),
    "enough": (
        "at least 20 GB free disk",
        'the exact value or rule, e.g. "at least 20 GB of free disk" or "the error message names the invalid field"',
    ),
    "minimal": ("at most 5 minutes downtime per month", 'an upper bound, e.g. "at most 5 minutes of downtime per month"'),
    "seamless": (
        "sessions survive a restart without a new login",
        'what the user must not notice, e.g. "sessions survive a server restart without a new login"',
    ),
    "modern": (
        "last two versions of Chrome, Firefox, Safari and Edge",
        'the technologies or versions, e.g. "runs on the last two versions of Chrome, Firefox, Safari and Edge"',
    ),
    "standard": ("conforms to WCAG 2.1 level AA", 'the standard by name and version, e.g. "conforms to WCAG 2.1 level AA"'),
    "amount": ("up to 50 items per page", 'the number, e.g. "up to 50 items per page"'),
    "scale": (
        "10,000 concurrent users",
        'the load, e.g. "10,000 concurrent users with p95 response time under 500 ms"',
    ),
    "quality": ("passes the 12 acceptance tests in appendix A", "the acceptance criterion that makes it good enough"),
    "direction": ("page weight under 1 MB", 'a target value instead of a direction, e.g. "page weight under 1 MB"'),
    "graceful": (
        "queue the message and retry every 5 minutes for 24 hours",
        'what the system does when it fails, e.g. "If the mail server is unreachable, then the system shall '
        'queue the message and retry every 5 minutes for 24 hours"',
    ),
    "temporal": (
        "within 2 seconds of the event",
        'a time bound (GtWR R35: no indefinite temporal words), e.g. "within 2 seconds of the event"',
    ),
    "clarity": (
        "the message names the invalid field and its allowed range",
        'what it must contain, e.g. "the error message names the invalid field and its allowed range"',
    ),
    "undefined": (
        "3 retries, 5 minutes apart (section 5.2)",
        'the value itself, or a reference to where it is defined, e.g. "3 retries, 5 minutes apart (section 5.2)"',
    ),
    "approx": ("between 90 and 110 users", 'a range or a tolerance, e.g. "between 90 and 110 users"'),
    "load": (
        "at 200 requests per second",
        'the load it holds under, e.g. "at 200 requests per second and 500 concurrent users"',
    ),
    "maintain": (
        "a new developer adds a report field in under 1 day",
        'a maintenance criterion, e.g. "a developer new to the code adds a report field in under 1 day"',
    ),
    "security": (
        "TLS 1.2+ in transit, AES-256 at rest",
        'the controls, e.g. "TLS 1.2 or later in transit, AES-256 at rest, lockout after 5 failed logins"',
    ),
}

VAGUE_TERMS: dict[str, str] = {
    # speed and freshness
    "fast": "speed", "faster": "speed", "fastest": "speed", "quick": "speed", "quickly": "speed",
    "quicker": "speed", "rapid": "speed", "rapidly": "speed", "speedy": "speed", "promptly": "speed",
    "timely": "speed", "in a timely manner": "speed", "in a timely fashion": "speed", "as soon as possible": "speed",
    "asap": "speed", "without delay": "speed", "high-performance": "speed", "high performance": "speed",
    "highly performant": "speed", "performant": "speed", "in a reasonable time": "speed",
    "reasonable time": "speed", "acceptable time": "speed", "acceptable response time": "speed",
    "up-to-date": "fresh", "up to date": "fresh",
    # ease of use
    "user-friendly": "ease", "user friendly": "ease", "easy": "ease", "easily": "ease", "easier": "ease",
    "easy to use": "ease", "easy-to-use": "ease", "intuitive": "ease", "intuitively": "ease", "simple": "ease",
    "straightforward": "ease", "convenient": "ease", "conveniently": "ease", "self-explanatory": "ease",
    "ergonomic": "ease", "attractive": "ease", "aesthetically pleasing": "ease", "pleasing": "ease",
    "appealing": "ease",
    # flexibility, robustness, efficiency
    "flexible": "flexible", "flexibly": "flexible", "extensible": "flexible", "versatile": "flexible",
    "adaptable": "flexible", "expandable": "flexible",
    "robust": "robust", "reliable": "robust", "reliably": "robust", "resilient": "robust",
    "highly available": "robust", "fault-tolerant": "robust",
    "efficient": "efficient", "efficiently": "efficient", "lightweight": "efficient", "optimal": "efficient",
    "optimally": "efficient",
    # sufficiency (GtWR R7 "ambiguous adjectives": adequate, appropriate, sufficient, ...)
    "adequate": "enough", "adequately": "enough", "appropriate": "enough", "appropriately": "enough",
    "sufficient": "enough", "sufficiently": "enough", "reasonable": "enough", "reasonably": "enough",
    "acceptable": "enough", "suitable": "enough", "proper": "enough", "properly": "enough",
    "typical": "enough", "customary": "enough",
    "minimal": "minimal", "minimally": "minimal", "negligible": "minimal",
    "seamless": "seamless", "seamlessly": "seamless", "smooth": "seamless", "smoothly": "seamless",
    "modern": "modern", "state-of-the-art": "modern", "state of the art": "modern", "cutting-edge": "modern",
    "latest technology": "modern", "latest technologies": "modern",
    "best practice": "standard", "best practices": "standard", "industry standard": "standard",
    "industry-standard": "standard", "industry standards": "standard",
    # amounts (GtWR R7: some, several, many, a few, a lot of, ...)
    "several": "amount", "many": "amount", "a few": "amount", "few": "amount", "a lot of": "amount",
    "lots of": "amount", "numerous": "amount", "a large number of": "amount", "large number of": "amount",
    "large amounts of": "amount", "significant": "amount", "significantly": "amount", "substantial": "amount",
    "various": "amount",
    # scale
    "scalable": "scale", "highly scalable": "scale", "massive": "scale", "high volume": "scale",
    "high-volume": "scale",
    # generic quality and comparatives (29148 5.2.7: superlatives, comparatives, subjective language)
    "good": "quality", "nice": "quality", "better": "quality", "high quality": "quality",
    "high-quality": "quality", "well-designed": "quality", "professional": "quality", "effectively": "quality",
    # a direction instead of a target
    "maximize": "direction", "maximise": "direction", "minimize": "direction", "minimise": "direction",
    # security as an adjective
    "secure": "security", "securely": "security", "highly secure": "security",
    # grown for issue 15 from GtWR R7/R35 and real documents (tests/data/lint_sentences.yaml, tune split)
    "graceful": "graceful", "gracefully": "graceful", "graceful degradation": "graceful",
    "instant": "temporal", "instantly": "temporal", "instantaneous": "temporal", "instantaneously": "temporal",
    "immediate": "temporal", "immediately": "temporal", "eventually": "temporal",
    "clear": "clarity", "clearly": "clarity", "actionable": "clarity", "meaningful": "clarity",
    "understandable": "clarity", "easy to understand": "ease", "non-cryptic": "clarity",
    "a defined": "undefined", "an agreed": "undefined",
    "approximately": "approx", "roughly": "approx", "almost": "approx", "nearly": "approx",
    "usually": "approx", "typically": "approx", "normally": "approx", "generally": "approx",
    "normal load": "load", "normal loads": "load", "normal conditions": "load", "normal operating conditions": "load",
    "standard load": "load", "standard loads": "load", "typical load": "load", "peak times": "load",
    "maintainable": "maintain", "easily maintainable": "maintain", "easy to maintain": "maintain",
    "high maintainability": "maintain", "highly maintainable": "maintain",
    "high usability": "ease", "highly usable": "ease", "fully usable": "ease", "high readability": "ease",
    "high-readability": "ease", "mobile-friendly": "ease", "mobile friendly": "ease",
    "highly reliable": "robust", "high reliability": "robust", "fully functional": "quality",
    "highly responsive": "speed", "optimized": "efficient", "optimised": "efficient",
    "short-lived": "enough", "common": "enough", "effective": "quality", "cost-effective": "quality",
    "cost effective": "quality",
    "noticeable": "minimal", "noticeably": "minimal", "perceptible": "minimal",
    "small-to-medium": "amount", "small to medium": "amount",
    # "real time" without a deadline (GtWR R7: timing words must be quantified); the eval documents
    "real time": "temporal", "real-time": "temporal", "realtime": "temporal", "near real time": "temporal",
    "near real-time": "temporal", "near-real-time": "temporal",
    "comprehensive": "quality", "helpful": "clarity",
}
"""Vague word or phrase -> family (which fixes the example criterion and the suggestion)."""

_VAGUE = _phrase_re(tuple(VAGUE_TERMS), hyphen_after=True)
# Compounds and senses where the word is not vague.
_VAGUE_EXCEPTIONS: dict[str, re.Pattern[str]] = {
    "fast": re.compile(r"-(?:forward|track)|\s+(?:forward|track)\b", re.I),
    "quick": re.compile(r"-(?:start|look)\b|\s+(?:links?|views?|search|reply|replies|start|filters?|menu|actions?|tips?|guide)\b", re.I),
    "secure": re.compile(r"\s+(?:the|a|an|all|each|every|its|their|our|access|data|information|it|them)\b", re.I),
    "good": re.compile(r"\s+(?:standing|faith)\b", re.I),
    "simple": re.compile(r"\s+(?:search|mode|interest|majority|view)\b", re.I),
    "typical": re.compile(r"\s+of\b", re.I),  # "an office typical of the nursing department": a reference
    "immediate": re.compile(r"\s*\)|\s+(?:family|supervisor|manager|parent|child|children|neighbou?rs?)\b", re.I),
    "effective": re.compile(r"\s+(?:date|dates|from|as\s+of|on|immediately)\b", re.I),  # "effective date"
    "common": re.compile(
        r"\s+(?:name|names|law|carrier|area|areas|room|rooms|expense|expenses|ground|core|lisp|prefix|"
        r"ancestor|denominator|stock)\b", re.I,
    ),
    "clear": re.compile(  # the verb: "clear the cart", "clear all filters", "clear cache"
        r"\s+(?:the|all|any|a|an|its|their|his|her|my|your|our|this|these|those|it|them|out|up|cache|"
        r"caches|cookies|history|filters?|cart|form|fields?|input|selection|session|sessions|data|logs?|"
        r"queue|screen|search|text)\b|-text\b", re.I,  # "clear text" is plaintext
    ),
    "instant": re.compile(r"\s+(?:messag\w*|messenger)\b", re.I),  # "instant messaging": a feature
    "nice": re.compile(r"[\s-]+to[\s-]+have\b", re.I),  # a priority (weak-verb says it), not a quality
}
# A vague word right after one of these is a verb or a noun, not an adjective ("shall clear", "to clear").
_VAGUE_VERB_BEFORE: dict[str, re.Pattern[str]] = {
    # "a defined" is vague where a rule should be ("per a defined policy", "on a defined schedule"),
    # not where the user picks the value ("for a defined area")
    "a defined": re.compile(r"(?i)\b(?:for|of|over|select|selects|choose|chooses|enter|enters|given)\s+$"),
    "an agreed": re.compile(r"(?i)\b(?:for|of|over|select|selects|choose|chooses|enter|enters|given)\s+$"),
    # "it would be nice / helpful": a wish, which weak-verb reports
    "nice": re.compile(r"(?i)\bwould\s+be\s+$"),
    "helpful": re.compile(r"(?i)\bwould\s+be\s+$"),
    "clear": re.compile(
        r"(?i)\b(?:shall|must|will|should|can|could|may|might|to|and|or|then|also|automatically|not|"
        r"cannot|never|please)\s+$"
    ),
}
# A vague word whose meaning the same sentence hands to a reference is defined, not vague.
_DEFINED_AFTER = re.compile(
    r"(?i)[^.;!?]{0,60}?\b(?:as\s+defined|as\s+specified|as\s+listed|defined\s+(?:in|by)|specified\s+in|"
    r"set\s+forth\s+(?:in|by)|listed\s+in)\b"
)
_AFTER_SENTENCE_END = re.compile(r"[.!?:;]\s*[\"'(]*$")
# "112k or faster", "TLS 1.2 or later": a bound, not a vague comparative.
_OR_BEFORE = re.compile(r"(?i)\bor\s+$")
_COMPARATIVES = frozenset({"faster", "quicker", "better", "easier"})


# "modern browsers (Chrome, Firefox, Safari, Edge)", "typical load (50 concurrent users)": a
# parenthesis right after the vague words that enumerates or quantifies defines them; examples
# ("(e.g. ...)", "(such as ...)") or an open list ("(..., etc.)") do not.
_PAREN_AFTER = re.compile(r"(?:\s+[\w/-]+){0,2}\s*\(([^()\n]{1,120})\)")
_PAREN_NOT_A_DEFINITION = re.compile(r"(?i)^\s*(?:e\.g|i\.e|for\s+example|for\s+instance|such\s+as|see|like)\b|\betc\b")
# Where a clause ends: a vague word is lowered to info only by a quantity in its own clause.
_CLAUSE_END = re.compile(r"[;!?\n]|\.(?=\s|$)")
# A frequency ("daily", "every hour") is a criterion for freshness and speed words only.
_FREQUENCY_ONLY = re.compile(
    r"(?i)(?:every|each|per|once\s+an?|twice\s+an?)\s+\w+|hourly|daily|nightly|weekly|monthly|quarterly|yearly|annually"
)
_FREQUENCY_FAMILIES = frozenset({"speed", "fresh", "temporal", "load"})


def _defined_by_parenthesis(text: str, end: int) -> bool:
    m = _PAREN_AFTER.match(text, end)
    if m is None:
        return False
    inside = m.group(1)
    return not _PAREN_NOT_A_DEFINITION.search(inside) and ("," in inside or any(ch.isdigit() for ch in inside))


class _Clauses:
    """The clauses of a text (split at ';', '!', '?', a line break or a sentence-ending '.')
    and which of them state a quantity: which vague words have a criterion next to them.
    Built once per text; each question is a binary search, so the work stays linear."""

    def __init__(self, text: str, quantities: list[re.Match[str]]) -> None:
        self._ends = [m.start() for m in _CLAUSE_END.finditer(_mask(text))]
        self._with_frequency: set[int] = set()  # clauses with any quantity
        self._with_measure: set[int] = set()  # clauses with a quantity that is not a mere frequency
        for q in quantities:
            clause = self._clause(q.start())
            self._with_frequency.add(clause)
            if not _FREQUENCY_ONLY.fullmatch(q.group(0).strip()):
                self._with_measure.add(clause)

    def _clause(self, pos: int) -> int:
        return bisect_left(self._ends, pos)

    def measured(self, span: tuple[int, int], family: str) -> bool:
        """True when a quantity in the clause of ``span`` gives the vague word a criterion."""
        clauses = self._with_frequency if family in _FREQUENCY_FAMILIES else self._with_measure
        return self._clause(span[0]) in clauses


def _vague_terms(text: str, taken: _Spans, clauses: _Clauses) -> list[Finding]:
    out = []
    taken = taken + _quoted(text)
    first_word = len(text) - len(text.lstrip())
    for m in _VAGUE.finditer(text):
        word = m.group(0)
        span = (m.start(), m.end())
        if taken.overlaps(span):
            continue
        key = re.sub(r"\s+", " ", word.lower())
        family = VAGUE_TERMS[key]
        before = left_context(text, m.start())
        at_sentence_start = m.start() <= first_word or _AFTER_SENTENCE_END.search(before) is not None
        if word[0].isupper() and not at_sentence_start and not word.isupper():
            continue  # "Simple Mail Transfer Protocol", "Quick Search": a proper name
        exception = _VAGUE_EXCEPTIONS.get(key)
        if exception is not None and exception.match(text, m.end()):
            continue
        verb_before = _VAGUE_VERB_BEFORE.get(key)
        if verb_before is not None and verb_before.search(before):
            continue  # "shall clear the cart": the verb
        if _DEFINED_AFTER.match(text, m.end()) or _defined_by_parenthesis(text, m.end()):
            continue
        if key in _COMPARATIVES and _OR_BEFORE.search(before):
            continue
        example, advice = _VAGUE_FAMILIES[family]
        out.append(
            Finding(
                "vague-term",
                f"'{word}' is vague: state a measurable criterion (e.g. \"{example}\")",
                span,
                f"Replace '{word}' with {advice}",
                "info" if clauses.measured(span, family) else "warning",
            )
        )
    return out


# --------------------------------------------------------------------------------------
# Modal verbs: weak-verb (29148 5.2.4; GtWR R1/R3) and not-singular (29148 5.2.5; GtWR R18/R19)
# --------------------------------------------------------------------------------------

_MODALS: dict[str, tuple[str, bool]] = {
    "shall": ("shall", False), "must": ("must", False), "will": ("will", False),
    "should": ("should", False), "may": ("may", False), "could": ("could", False),
    "might": ("might", False), "can": ("can", False), "cannot": ("can", True), "can't": ("can", True),
    "shouldn't": ("should", True), "couldn't": ("could", True), "mightn't": ("might", True),
    "mustn't": ("must", True), "won't": ("will", True), "shan't": ("shall", True),
}
BINDING_MODALS = frozenset({"shall", "must", "will"})
WEAK_MODALS = frozenset({"should", "may", "could", "might", "can"})
# Words that open a subordinate clause: a modal after one of them (in the same clause) is
# not the requirement verb ("... so that users can retry", "if the file may be corrupt").
_SUBORDINATORS = frozenset(
    {
        "if", "when", "whenever", "while", "whilst", "where", "wherever", "unless", "until", "because", "since",
        "although", "though", "whether", "that", "which", "who", "whom", "whose", "so", "once", "how",
        "what", "than", "why", "lest",
    }
)
_DETERMINERS = frozenset(
    {
        "a", "an", "the", "this", "that", "these", "those", "its", "their", "his", "her", "our", "your", "my",
        "each", "every", "all", "any", "some", "no", "them", "it", "him", "us", "me",
    }
)
# A modal followed by one of these is not a verb phrase ("a can of", "the will of").
_NOT_VERB_NEXT = frozenset(
    {"a", "an", "the", "of", "and", "or", "to", "in", "on", "for", "with", "by", "at", "from", "is", "are",
     "was", "were", "this", "these", "those"}
)
# A modal preceded by one of these is a noun ("a must", "at will", "free will", "the can").
_NOT_SUBJECT_PREV = frozenset(
    {"a", "an", "the", "of", "at", "to", "in", "on", "for", "with", "by", "from", "free", "good", "ill", "trash"}
)


@dataclass(frozen=True)
class _Modal:
    index: int                 # token index of the modal
    base: str                  # shall/must/will/should/may/could/might/can
    negated: bool
    main: bool                 # the verb of a main clause that has a subject
    span: tuple[int, int]      # the modal plus a following "not"
    coordinated: bool          # directly after and/or/but ("shall X and shall Y")
    clause_start: int          # token index where its clause starts


def _modals(toks: list[_Tok]) -> list[_Modal]:
    found = []
    clause_start = 0  # token index where the current clause starts
    subordinate_at = -1  # token index of the current clause's latest subordinator
    for i, t in enumerate(toks):
        if t.is_boundary:
            clause_start = i + 1
            continue
        if t.low in _SUBORDINATORS:
            subordinate_at = i
        if t.low not in _MODALS:
            continue
        base, negated = _MODALS[t.low]
        if base == "may" and t.text[0].isupper():
            continue  # "in May"; or sentence-initial "May ...", a wish or question
        has_clause = i > clause_start
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        prev = toks[i - 1] if has_clause else None
        if nxt is not None and nxt.text == "," and has_clause:
            pass  # "The system may, at its discretion, purge logs": a parenthetical after the modal
        elif nxt is None or nxt.is_boundary or nxt.low in _NOT_VERB_NEXT or nxt.low in _MODALS:
            continue
        if prev is not None and prev.low in _NOT_SUBJECT_PREV:
            continue
        subordinate = subordinate_at >= clause_start
        coordinated = prev is not None and prev.low in ("and", "or", "but")
        main = has_clause and not subordinate  # no subject: an inversion ("Should the link fail, ...")
        end = t.end
        if nxt.low == "not":
            negated, end = True, nxt.end
        found.append(_Modal(i, base, negated, main, (t.start, end), coordinated, clause_start))
    return found


_WEAK_MEANING = {
    "should": "a goal, not an obligation",
    "may": "a permission, not an obligation",
    "could": "a possibility, not an obligation",
    "might": "a possibility, not an obligation",
    "can": "a capability, not an obligation",
}
_SYSTEM_SUBJECT = re.compile(
    r"(?i)\b(?:system|product|application|app|service|server|platform|api|tool|software|website|site|portal|"
    r"database|interface|module|component)$"
)


# A wish stated without a modal: "is highly encouraged", "is recommended", "would be nice".
_WEAK_PHRASE = re.compile(
    r"(?i)(?<![\w-])(?:(?:is|are|be|being)\s+(?:(?:highly|strongly|also)\s+)?"
    r"(?:encouraged|recommended|preferred|desired|desirable|suggested|advised|advisable)|"
    r"it\s+would\s+be\s+(?:nice|good|great|ideal|desirable|helpful)|nice[- ]to[- ]have|would\s+like\s+to)(?![\w-])"
)


def _weak_verbs(text: str, toks: list[_Tok], modals: list[_Modal]) -> list[Finding]:
    out = []
    for m in _WEAK_PHRASE.finditer(text):
        phrase = m.group(0)
        out.append(
            Finding(
                "weak-verb",
                f"'{phrase}' states a wish, not an obligation",
                (m.start(), m.end()),
                f"Replace '{phrase}' with 'shall' if it is mandatory; if it is optional, record it as a goal instead",
                "warning",
            )
        )
    for md in modals:
        if not md.main or md.base not in WEAK_MODALS:
            continue
        after = toks[md.index + 1] if md.index + 1 < len(toks) else None
        if md.base in ("can", "may") and not md.negated and after is not None and after.low == "only":
            continue  # "Users can only perform actions granted by their role": a restriction a test can check
        quoted = text[md.span[0] : md.span[1]]
        if md.negated and md.base == "should":
            message = f"'{quoted}' is a weak prohibition: it states a goal, not a binding prohibition"
            suggestion = f"Replace '{quoted}' with 'shall not' if it is mandatory"
        elif md.negated:
            message = (
                f"'{quoted}' is ambiguous: it reads as a prohibition or as a mere possibility; "
                "a prohibition is written 'shall not'"
            )
            suggestion = f"Replace '{quoted}' with 'shall not' (e.g. \"Guest users shall not open the admin pages.\")"
        else:
            message = f"'{quoted}' is a weak verb: it states {_WEAK_MEANING[md.base]}"
            subject = text[toks[md.clause_start].start : toks[md.index - 1].end]
            verb = toks[md.index + 1].text if toks[md.index + 1].text != "," else "..."
            if md.base in ("can", "may") and not _SYSTEM_SUBJECT.search(subject) and not md.coordinated:
                subject = _lower_article(subject)
                suggestion = (
                    f"Make it binding: \"The system shall allow {subject} to {verb} ...\"; "
                    "if it is optional, record it as a goal instead"
                )
            else:
                suggestion = (
                    f"Replace '{quoted}' with 'shall' if it is mandatory (\"{subject} shall {verb} ...\"); "
                    "if it is optional, record it as a goal instead"
                )
        out.append(Finding("weak-verb", message, md.span, suggestion, "warning"))
    return out


# Verbs that, after "and", start a second action ("shall validate the form and notify the user").
_ACTION_VERBS = frozenset(
    """notify validate generate encrypt decrypt send delete create retrieve calculate compute verify
    authenticate authorize authorise prevent provide allow enable disable prompt redirect reject
    display show print export import store save update remove archive email alert log record
    lock unlock block cancel submit approve deny reset restart retry refresh reload download upload
    transmit forward publish schedule assign check close open return inform warn apply charge
    """.split()
)
# Of those, the ones that are often nouns too ("the order and print"): they need a determiner after them.
_NOUNISH_VERBS = frozenset(
    {"display", "show", "print", "export", "import", "store", "update", "log", "record", "email", "alert", "check",
     "close", "open", "return", "schedule", "save", "lock", "block", "cancel", "submit", "reset", "retry",
     "refresh", "archive", "remove", "forward", "publish", "download", "upload", "charge", "apply", "warn"}
)
_AND_OR = re.compile(r"(?<![\w/])(?:and/or|or/and)(?![\w/])(?!\s+more\b)", re.I)


def _second_action(text: str, toks: list[_Tok], md: _Modal) -> Finding | None:
    """'shall <verb> <object> and <verb> <object>': two actions, each with its own object."""
    verb_at = md.index + 1
    if toks[verb_at].low == "not":
        verb_at += 1
    j = verb_at + 2  # at least one word (the first object) between the verb and "and"
    while j < len(toks) - 2 and toks[j].text not in _SENTENCE_END:
        tok = toks[j]
        if tok.low in _MODALS:
            return None  # a second modal clause: reported as such
        if tok.low == "and" and toks[j - 2].low != "to":  # "to view and export reports": one action
            verb, after = toks[j + 1], toks[j + 2]
            if verb.low == "then" and not after.is_boundary:
                verb, ok = after, after.low in _ACTION_VERBS
            elif verb.low in _ACTION_VERBS and not after.is_boundary:
                ok = after.low in _DETERMINERS or (verb.low not in _NOUNISH_VERBS and after.low not in _NOT_VERB_NEXT)
            else:
                ok = False
            if ok:
                span = (tok.start, verb.end)
                words = text[span[0] : span[1]]
                return Finding(
                    "not-singular",
                    f"'{words}' adds a second action with its own object: two requirements in one statement",
                    span,
                    f"Split it: one statement for the action before '{tok.text}', another for '{verb.text} ...'",
                    "warning",
                )
        j += 1
    return None


def _not_singular(text: str, toks: list[_Tok], modals: list[_Modal]) -> list[Finding]:
    out = []
    for m in _AND_OR.finditer(text):
        word = m.group(0)
        out.append(
            Finding(
                "not-singular",
                f"'{word}' joins two requirements (or an ambiguous choice) in one statement",
                (m.start(), m.end()),
                f"Replace '{word}' with 'and' or with 'or', whichever is meant, or split it into two statements",
                "warning",
            )
        )
    main = [md for md in modals if md.main]
    for prev, md in zip(main, main[1:]):
        start = toks[md.index - 1].start if md.coordinated else md.span[0]
        span = (start, md.span[1])
        words = text[span[0] : span[1]]
        new_sentence = any(t.text in ".!?" for t in toks[prev.index : md.index])
        if new_sentence:
            message = f"'{words}' starts a second sentence with its own requirement: one statement per requirement"
            suggestion = (
                "Split it into separate statements; if the second sentence is the fit criterion of the first, "
                "keep only the measurable one (e.g. \"The system shall ... within 2 seconds.\")"
            )
        else:
            message = f"'{words}' starts a second requirement in the same sentence: state one requirement per statement"
            suggestion = "Split it into separate statements, each with one 'shall' and one verifiable response"
        out.append(Finding("not-singular", message, span, suggestion, "warning"))
    for md in main:
        finding = _second_action(text, toks, md)
        if finding is not None:
            out.append(finding)
    return out


# --------------------------------------------------------------------------------------
# unmeasurable: 29148 5.2.5 verifiable; GtWR R6 units, C7 verifiable
# --------------------------------------------------------------------------------------

_NFR_SIGNALS: dict[str, re.Pattern[str]] = {
    "performance": re.compile(
        r"(?i)\b(?:latency|latencies|response\s+times?|respond(?:s)?\s+(?:quickly|fast|promptly|immediately)|"
        r"throughput|performance(?!\s+(?:reviews?|appraisals?|evaluations?|ratings?|goals?|plans?|bonus|indicators?))|"
        r"(?:acceptable|reasonable|timely)\s+(?:time|manner|fashion|period)|"
        r"performant|fast(?:er|est)?(?!-)|quickly|quicker|slow(?:ly|er)?|"
        r"load(?:ing)?\s+times?|under\s+(?:heavy\s+|peak\s+|high\s+)?load|peak\s+load|heavy\s+load|high\s+load|"
        r"responsiveness|processing\s+time|turnaround\s+time)\b"
    ),
    "scalability": re.compile(
        r"(?i)\b(?:scalab(?:le|ility)|scale\s+(?:up|out|horizontally|vertically|with)|scale\s+to(?!\s+fit)|"
        r"(?:concurrent|simultaneous)\s+(?:users|sessions|requests|connections|transactions|logins)|"
        r"high\s+volumes?|heavy\s+traffic|peak\s+traffic|large\s+(?:number|numbers|volume|volumes)\s+of)\b"
    ),
    "reliability": re.compile(
        r"(?i)\b(?:(?<!product\s)(?<!room\s)(?<!stock\s)(?<!seat\s)(?<!item\s)(?<!table\s)(?<!slot\s)"
        r"(?<!staff\s)(?<!ticket\s)availability|highly\s+available|uptime|downtime|reliab(?:le|ility)|"
        r"fault[- ]toleran(?:t|ce)|recovery\s+(?:time|point)|disaster\s+recovery|recover\s+from|"
        r"mtbf|mttr|failover|fail[- ]over|resilien(?:t|ce))\b"
    ),
}
_CLAIM_SIGNALS: dict[str, re.Pattern[str]] = {
    "scalability": re.compile(
        r"(?i)\b(?:scal(?:e|es|able|ability|ing)|grow(?:s|th|ing)?|increas(?:e|es|ing)|expan(?:d|ds|sion)|"
        r"volumes?|many|multiple\s+(?:\w+\s+)?(?:users|sessions|requests|clients)|more\s+(?:users|data|load|traffic|"
        r"requests|transactions|records)|capacity|peak|load|concurren(?:t|cy)|simultaneous(?:ly)?)\b"
    ),
    "reliability": re.compile(
        r"(?i)\b(?:availab(?:le|ility)|uptime|up\s+time|downtime|down\s+time|reliab(?:le|ility)|robust(?:ness)?|"
        r"stable|stability|resilien(?:t|ce)|recover(?:y|able)?|mtbf|mttr|failover|fault[- ]toleran(?:t|ce)|outages?)\b"
    ),
    "usability": re.compile(
        r"(?i)(?<!\bfor\s)\b(?:easy|easily|easier|intuitive(?:ly)?|user[- ]friendly|simple|learn(?:able|ability)?|"
        r"understandab(?:le|ility)|usable|usability(?!\s+test)|efficient(?:ly)?|satisf(?:action|ied)|convenient|"
        r"self-explanatory|quick(?:ly)?|fast|pleasing|attractive|appealing)\b"
    ),
    "security": re.compile(
        r"(?i)\b(?:secure(?:d|ly)?(?!\s+(?:the|all|each|its|their)\b)|safe(?:ly)?|robust|"
        r"hard\s+to|difficult\s+to|resistant|tamper[- ]proof|strong)\b"
    ),
    "operations": re.compile(
        r"(?i)\b(?:maintainab(?:le|ility)|easy|easily|easier|quick(?:ly)?|fast|portab(?:le|ility)|"
        r"minimal\s+effort|supportab(?:le|ility)|simple|efficient(?:ly)?|low\s+cost|cheap)\b"
    ),
}
_MEASURE_EXAMPLE = {
    "performance": '"p95 response time under 300 ms at 200 requests per second"',
    "scalability": '"supports 10,000 concurrent users with p95 under 500 ms"',
    "reliability": '"99.9% monthly availability; recovery within 15 minutes"',
    "usability": '"90% of first-time users complete checkout within 3 minutes without help"',
    "security": '"lock the account for 15 minutes after 5 failed logins within 10 minutes"',
    "operations": '"one operator deploys a release in under 30 minutes"',
}


def _first(matches: list[tuple[re.Match[str] | None, str]]) -> tuple[re.Match[str], str] | None:
    found = [(m, cat) for m, cat in matches if m is not None]
    return min(found, key=lambda h: (h[0].start(), h[1])) if found else None


def _unmeasurable(text: str, category: str | None, measured: bool) -> list[Finding]:
    if measured:
        return []
    nfr = [(p.search(text), cat) for cat, p in _NFR_SIGNALS.items()]
    if category is None:
        hit = _first(nfr)
        if hit is None:
            return []
        m, cat = hit
    elif category in NFR_STRICT:
        cat = category
        own = _NFR_SIGNALS[category].search(text)
        hit = (own, cat) if own is not None else _first(nfr)
        m = hit[0] if hit else None
    elif category in NFR_CLAIM:
        cat = category
        hit = _first([(_CLAIM_SIGNALS[category].search(text), cat), *nfr])
        if hit is None:
            return []
        m = hit[0]
    else:
        return []
    if m is not None:
        word = m.group(0)
        message = f"'{word}' has no number with a unit: {cat} requirements need a measurable target"
        span: tuple[int, int] | None = (m.start(), m.end())
    else:
        message = f"this {cat} requirement states no number with a unit, so no test can pass or fail it"
        span = None
    return [
        Finding(
            "unmeasurable",
            message,
            span,
            f"Add a target with a unit and the conditions it holds under, e.g. {_MEASURE_EXAMPLE[cat]}",
            "warning",
        )
    ]


# --------------------------------------------------------------------------------------
# not-ears: EARS (Mavin et al., RE 2009)
# --------------------------------------------------------------------------------------

EARS_PATTERNS = ("ubiquitous", "event-driven", "state-driven", "unwanted-behaviour", "optional", "complex")
_EARS_KEYWORDS = {
    "when": "event-driven", "whenever": "event-driven", "while": "state-driven", "if": "unwanted-behaviour",
    "where": "optional",
}
_RESPONSE = re.compile(r"\b(shall|must)\b", re.I)
_SUBJECT = re.compile(r"^(?:then\s+)?[A-Za-z][\w'’/&()-]*(?:\s+[\w'’/&()-]+){0,9}$")
# Words that cannot be inside the "<system name>" of an EARS sentence (a buried condition).
_SUBJECT_STOP = frozenset(
    {"if", "when", "whenever", "while", "whilst", "where", "wherever", "unless", "until", "because", "since",
     "although", "though", "once", "then"}
)
_TRAILING_CONDITION = re.compile(r"(?i)(,\s*|\s+)(if|whenever|while|unless|when)\b")
_NOT_A_CONDITION_BEFORE = re.compile(
    r"(?i)\b(?:check|checks|verify|verifies|determine|determines|ask|asks|know|knows|indicate|indicates|test|"
    r"tests|see|sees|show|shows|display|displays|tell|tells|decide|decides|detect|detects|confirm|confirms|"
    r"validate|validates|record|records|report|reports|state|states|find\s+out|as|even\s+though)$"
)
_LIST_MARKER = re.compile(r"(?:[\s:;,*•>#–-]+|\(?\d{1,3}[.)](?=\s)|\(?[a-z][.)](?=\s))*")
_NOT_EARS_OPENERS = frozenset({"once", "after", "before", "upon", "on", "unless", "until", "during", "as", "whilst"})
_RELATIVE_WHEN_BEFORE = re.compile(
    r"(?i)\b(?:time|times|date|dates|moment|day|days|hour|point|period|cases?|situations?|occasions?|know|knows)$"
)
_SENTENCE_BREAK = re.compile(r"[.!?](?:\s+|$)|[.!?](?=[A-Z])")


@dataclass(frozen=True)
class _Ears:
    pattern: str | None
    reason: str = ""
    span: tuple[int, int] | None = None
    rewrite: str = ""


def _ears(text: str) -> _Ears:
    masked = _mask(text)
    lead = _LIST_MARKER.match(masked).end()  # "1. ", "- ", ": " before the statement
    body = masked[lead:].rstrip()
    m = _RESPONSE.search(body)
    if m is None:
        other = re.search(r"(?i)\b(?:will|should|may|can|could|might|cannot)\b", body)
        if other is not None:
            verb = other.group(0)
            why = "states a fact or intent" if verb.lower() == "will" else "is not binding"
            return _Ears(None, f"its verb is '{verb}', which {why}; EARS uses 'shall'")
        return _Ears(None, "it has no 'shall' (or 'must') response")
    head = body[: m.start()]
    if _SENTENCE_BREAK.search(head):
        return _Ears(None, "another sentence comes before the requirement sentence")
    first = re.match(r"[A-Za-z]+", head)
    first_word = first.group(0).lower() if first else ""
    comma = head.rfind(",")
    pre, subj = (head[:comma].strip(), head[comma + 1 :].strip()) if comma >= 0 else ("", head.strip())
    if not pre and first_word in _EARS_KEYWORDS:
        return _Ears(None, f"the '{first.group(0)}' clause is not closed by a comma before the system name")
    if first_word in _NOT_EARS_OPENERS:
        return _Ears(None, f"it starts with '{first.group(0)}', which is not an EARS keyword (When/While/If/Where)")
    if not subj or not _SUBJECT.match(subj):
        return _Ears(None, "the words before 'shall' are not a plain system name")
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", subj)]
    has_then = words[0] == "then"
    if any(w in _SUBJECT_STOP for w in words[1 if has_then else 0 :]):
        return _Ears(None, "a condition is buried in the subject before 'shall'")
    kinds: list[str] = []
    if pre:
        for segment in re.split(r",\s*", pre):
            seg_words = re.findall(r"[A-Za-z]+", segment.lower())
            if seg_words[:1] == ["and"]:
                seg_words = seg_words[1:]
            if seg_words and seg_words[0] in _EARS_KEYWORDS:
                kinds.append(_EARS_KEYWORDS[seg_words[0]])
            elif not kinds:
                return _Ears(None, f"it starts with '{first.group(0)}': neither a system name nor When/While/If/Where")
    elif has_then:
        return _Ears(None, "'then' without an 'If' clause before it")
    rest = body[m.end() :]
    brk = _SENTENCE_BREAK.search(rest)
    response = rest[: brk.start()] if brk else rest
    for tm in _TRAILING_CONDITION.finditer(response):
        kw = tm.group(2)
        if kw.lower() == "when" and "," not in tm.group(1) and _RELATIVE_WHEN_BEFORE.search(response[: tm.start()]):
            continue  # "shall record the time when ...": a relative 'when'
        if _NOT_A_CONDITION_BEFORE.search(response[: tm.start()].rstrip()):
            continue  # "shall check if the user exists": 'if' means 'whether'
        start = lead + m.end() + tm.start(2)
        action = response[: tm.start()].strip().rstrip(",")
        cond = response[tm.end(2) :].strip().rstrip(".")
        system = _lower_article(subj)
        if kw.lower() == "unless":
            rewrite = f"If not ({cond}), then {system} {m.group(1)} {action}."
        elif kw.lower() == "if":
            rewrite = f"If {cond}, then {system} {m.group(1)} {action}."
        else:
            rewrite = f"{kw.capitalize()} {cond}, {system} {m.group(1)} {action}."
        return _Ears(
            None,
            f"the condition '{text[start:start + len(kw)]}' comes after the response; EARS puts it first",
            (start, start + len(kw)),
            rewrite,
        )
    if not kinds:
        return _Ears("ubiquitous")
    if len(kinds) >= 2:
        return _Ears("complex")
    return _Ears(kinds[0])


def ears_pattern(text: str) -> str | None:
    """The EARS pattern ``text`` follows, or None.

    "ubiquitous" (The <system> shall <response>), "event-driven" (When <trigger>, the
    <system> shall ...), "state-driven" (While <state>, ...), "unwanted-behaviour" (If
    <condition>, [then] the <system> shall ...), "optional" (Where <feature is included>,
    ...) or "complex" (two or more precondition clauses: "While ..., when ..., the ...
    shall ..."). The response keyword is "shall" or "must".
    """
    _validate(text, None, "ears_pattern")
    return _ears(text).pattern


def _not_ears(text: str, modals: list[_Modal], weak_verb: bool) -> list[Finding]:
    """A not-ears finding where the analyst can act on it: the statement is written as a
    requirement (it has a modal verb) and no other finding already says what to change. A
    statement with no modal verb at all ("Merchants receive webhooks over HTTPS.") is a
    description; saying that it is not EARS told the analyst nothing (30 of the 32 items of
    ``make demo`` carried it), and a weak verb is reported by weak-verb with its fix."""
    if not modals or weak_verb:
        return []
    result = _ears(text)
    if result.pattern is not None:
        return []
    if result.rewrite:
        suggestion = f'Put the condition first: "{result.rewrite}"'
    else:
        suggestion = (
            "Rewrite it as one EARS sentence: \"The <system> shall <response>\", or start with "
            "When <trigger> / While <state> / If <condition>, then / Where <feature is included>, e.g. "
            "\"When a user submits an order, the system shall send a confirmation email.\""
        )
    return [Finding("not-ears", f"no EARS pattern matches: {result.reason}", result.span, suggestion, "info")]


# --------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------


def _validate(text: Any, category: Any, func: str = "lint") -> None:
    if not isinstance(text, str):
        raise ValidationError(f"{func}() expects the requirement text as a str, got {type(text).__name__}")
    if not text.strip():
        raise ValidationError(f"{func}() needs a non-empty requirement text (got an empty or blank string)")
    if len(text) > MAX_LENGTH:
        raise ValidationError(
            f"{func}() accepts at most {MAX_LENGTH:,} characters and the text has {len(text):,}: "
            "lint one statement at a time"
        )
    if category is not None:
        if not isinstance(category, str):
            raise ValidationError(f"{func}() expects category as a str or None, got {type(category).__name__}")
        if category not in CATEGORIES:
            raise ValidationError(f"unknown category {category!r}; valid categories: {', '.join(CATEGORIES)}")


def lint(text: str, category: str | None = None) -> list[Finding]:
    """Quality findings for one requirement statement, sorted by span start then rule id.

    ``category`` (one of :data:`socrates_nb.categories.CATEGORIES`, or None to infer it
    from the wording) only affects the ``unmeasurable`` rule. Findings without a span
    (about the whole statement) come last. Raises :class:`ValidationError` for a
    non-string, blank or over-long (> 20,000 characters) text, or an unknown category.
    """
    _validate(text, category)
    toks = _tokens(_mask(text))
    modals = _modals(toks)
    quantities = list(_QUANTITY.finditer(text))
    measured = bool(quantities)

    escapes, opens, absolutes = _escape_clauses(text), _open_ended(text), _absolutes(text)
    taken = _Spans(f.span for f in (*escapes, *opens, *absolutes) if f.span is not None)
    weak = _weak_verbs(text, toks, modals)
    findings = [
        *escapes,
        *opens,
        *absolutes,
        *_placeholders(text),
        *_vague_terms(text, taken, _Clauses(text, quantities)),
        *weak,
        *_not_singular(text, toks, modals),
        *_unmeasurable(text, category, measured),
        *_not_ears(text, modals, bool(weak)),
    ]
    unique: dict[tuple[str, tuple[int, int] | None], Finding] = {}
    for f in findings:
        unique.setdefault((f.rule, f.span), f)
    return sorted(
        unique.values(),
        key=lambda f: (f.span is None, f.span[0] if f.span else 0, f.rule, f.span[1] if f.span else 0, f.message),
    )


__all__ = [
    "BINDING_MODALS", "EARS_PATTERNS", "ESCAPE_CLAUSES", "Finding", "MAX_LENGTH", "NFR_CLAIM", "NFR_STRICT",
    "OPEN_ENDED", "RULES", "SEVERITIES", "VAGUE_TERMS", "VAGUENESS_RULES", "WEAK_MODALS", "ears_pattern",
    "flags_vagueness", "has_quantity", "left_context", "lint",
]
