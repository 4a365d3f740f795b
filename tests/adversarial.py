"""Adversarial texts at the longest accepted answer: what makes a backtracking regex slow.

Each case repeats a short unit (digits, separators, units, "if", commas, brackets, mixed
scripts, ...) up to ``size`` characters. The tests run lint, classification and whole
offline turns on every case with a hard time limit; ``benchmarks/bench_adversarial.py``
prints the worst case.
"""

from __future__ import annotations

MAX_ANSWER = 20_000

_UNITS: dict[str, str] = {
    "digits": "1",
    "digits-spaced": "1 ",
    "number-ms": "1 ms ",
    "hundreds": "100 ",
    "comma-digits": "1,",
    "dot-digits": "1.",
    "dash-digits": "1-",
    "colon-digits": "1:",
    "percent": "1% ",
    "times": "1x",
    "p95": "p95 ",
    "range": "1-2 ",
    "between": "between 1 and ",
    "if": "if ",
    "if-comma": "if x, ",
    "when-then": "when x then ",
    "commas": ", ",
    "and": "and ",
    "shall-and": "shall x and ",
    "the-system-shall": "The system shall ",
    "sentences": "Pages load fast. ",
    "words": "fast ",
    "letters": "a",
    "letter-space": "a ",
    "capitals": "A ",
    "hyphens": "a-",
    "dots": ".",
    "ellipsis": "... ",
    "abbrev": "e.g. ",
    "spaces": " ",
    "tabs": "\t",
    "newlines": "a\n",
    "quotes": '"',
    "quoted": '"a" ',
    "parens": "(",
    "brackets": "[",
    "angle": "<a",
    "less-than": "< 1 ",
    "slashes": "a/",
    "apostrophes": "a'",
    "mixed-scripts": "ab中文 1.5 сек и ",
    "emoji": "🙂 1 ",
    "at-least": "at least ",
    "no-more-than": "no more than 1 ",
    "of-the": "of the ",
    "per": "1 per ",
    "tbd": "TBD ",
    "not": "not ",
}


def corpus(size: int = MAX_ANSWER) -> dict[str, str]:
    """Name -> text of exactly ``size`` characters (plus a closing-bracket variant of each
    opening bracket, and a digit run ending in a non-digit)."""
    cases = {name: (unit * (size // len(unit) + 1))[:size] for name, unit in _UNITS.items()}
    half = size // 2
    cases["nested-parens"] = "(" * half + ")" * (size - half)
    cases["nested-brackets"] = "[" * half + "]" * (size - half)
    cases["digits-bang"] = "1" * (size - 1) + "!"
    return cases
