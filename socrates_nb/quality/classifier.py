"""Requirement classifier: which of the 14 specification categories a statement belongs to.

``classify(text)`` returns a category name, ``classify_scores(text)`` a probability for every
category and ``is_functional(text)`` the functional-versus-non-functional decision.

How it works (no network, standard library only, deterministic):

* A linear model (one-vs-rest linear SVM over TF-IDF word 1-2-grams, character 3-5-grams inside
  word boundaries and hand-written lexicon features) trained by ``scripts/train_classifier.py`` on
  the PROMISE NFR data set. The data set labels eight of our categories (functional, reliability,
  compliance, usability, operations, performance, scalability, security); the model predicts those.
* A hand-written lexicon prior (``data/lexicon.json``) adds evidence for the categories the data
  set does not label (goals, users, data, integrations, acceptance, constraints): a matching
  pattern such as "acceptance criteria" or "integrate with" raises that category's score.

The model file is read on first use and cached for the life of the process. The text analysis
below reproduces scikit-learn's ``TfidfVectorizer`` analysers exactly (word tokens
``(?u)\\b\\w\\w+\\b`` on lower-cased text, ``char_wb`` n-grams), so this pure-Python inference gives
the same predictions as the training pipeline; the training script asserts that on every row.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from socrates_nb.categories import CATEGORIES
from socrates_nb.errors import ValidationError

MODEL_FILE = "classifier_model.json"
"""The trained model, under ``socrates_nb/quality/data/``."""

LEXICON_FILE = "lexicon.json"
"""The hand-written lexicon (features and category priors), under ``socrates_nb/quality/data/``."""

MODEL_FORMAT = "socrates_nb.classifier/1"

_DATA_PACKAGE = "socrates_nb.quality.data"
_TOKEN_PATTERN = re.compile(r"(?u)\b\w\w+\b")
_WHITE_SPACES = re.compile(r"\s\s+")


# --------------------------------------------------------------------------------------------
# Text analysis, shared with the training script (which feeds these to scikit-learn).
# --------------------------------------------------------------------------------------------


def word_ngrams(text: str, ngram_range: tuple[int, int] = (1, 2)) -> list[str]:
    """Word n-grams as scikit-learn's ``TfidfVectorizer(analyzer="word")`` makes them."""
    tokens = _TOKEN_PATTERN.findall(text.lower())
    low, high = ngram_range
    grams: list[str] = []
    for n in range(low, high + 1):
        for i in range(len(tokens) - n + 1):
            grams.append(" ".join(tokens[i : i + n]))
    return grams


def char_wb_ngrams(text: str, ngram_range: tuple[int, int] = (3, 5)) -> list[str]:
    """Character n-grams within word boundaries, as ``analyzer="char_wb"`` makes them."""
    text = _WHITE_SPACES.sub(" ", text.lower())
    low, high = ngram_range
    grams: list[str] = []
    for word in text.split():
        word = " " + word + " "
        length = len(word)
        for n in range(low, high + 1):
            offset = 0
            grams.append(word[offset : offset + n])
            while offset + n < length:
                offset += 1
                grams.append(word[offset : offset + n])
            if offset == 0:  # a short word (shorter than n) is counted once
                break
    return grams


@dataclass(frozen=True)
class _Lexicon:
    features: tuple[tuple[str, int, tuple[re.Pattern[str], ...]], ...]
    priors: dict[str, tuple[tuple[float, re.Pattern[str]], ...]]
    prior_base: float
    prior_absent: float


_lock = threading.Lock()
_lexicon_cache: _Lexicon | None = None
_model_cache: _Model | None = None


def _read_json(name: str) -> Any:
    with resources.files(_DATA_PACKAGE).joinpath(name).open("r", encoding="utf-8") as handle:
        return json.load(handle)


def _expand(pattern: str, lists: dict[str, str]) -> re.Pattern[str]:
    for key, value in lists.items():
        pattern = pattern.replace("{" + key + "}", value)
    return re.compile(pattern)


def _lexicon() -> _Lexicon:
    global _lexicon_cache
    if _lexicon_cache is None:
        with _lock:
            if _lexicon_cache is None:
                raw = _read_json(LEXICON_FILE)
                lists = raw.get("lists", {})
                features = tuple(
                    (f["name"], int(f["max_count"]), tuple(_expand(p, lists) for p in f["patterns"]))
                    for f in raw["features"]
                )
                priors = {
                    cat: tuple((float(e["weight"]), _expand(e["pattern"], lists)) for e in entries)
                    for cat, entries in raw["priors"].items()
                }
                _lexicon_cache = _Lexicon(features, priors, float(raw["prior_base"]), float(raw["prior_absent"]))
    return _lexicon_cache


def lexicon_terms(text: str) -> list[str]:
    """Lexicon feature names for ``text``, one per match (capped per feature)."""
    lowered = text.lower()
    terms: list[str] = []
    for name, max_count, patterns in _lexicon().features:
        count = sum(len(p.findall(lowered)) for p in patterns)
        terms.extend([name] * min(count, max_count))
    return terms


def prior_logits(text: str) -> dict[str, float]:
    """Scores of the lexicon-only categories: base + the strongest matching pattern's weight."""
    lex = _lexicon()
    lowered = text.lower()
    out: dict[str, float] = {}
    for category, entries in lex.priors.items():
        best = max((w for w, p in entries if p.search(lowered)), default=None)
        out[category] = lex.prior_absent if best is None else lex.prior_base + best
    return out


ANALYZERS: dict[str, Callable[..., list[str]]] = {
    "word": word_ngrams,
    "char_wb": char_wb_ngrams,
    "lexicon": lambda text, _range=None: lexicon_terms(text),
}


# --------------------------------------------------------------------------------------------
# The linear model.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    analyzer: str
    ngram_range: tuple[int, int]
    weight: float
    sublinear_tf: bool
    table: dict[str, tuple[float, tuple[float, ...]]]  # term -> (idf, coefficient per class)


@dataclass(frozen=True)
class _Model:
    classes: tuple[str, ...]
    intercepts: tuple[float, ...]
    blocks: tuple[_Block, ...]
    temperature: float
    attribution: dict[str, Any]


def _load_model() -> _Model:
    raw = _read_json(MODEL_FILE)
    if raw.get("format") != MODEL_FORMAT:
        raise ValueError(f"{MODEL_FILE}: unsupported format {raw.get('format')!r}, expected {MODEL_FORMAT!r}")
    blocks = []
    for b in raw["blocks"]:
        table = {term: (idf, tuple(coef)) for term, idf, coef in zip(b["terms"], b["idf"], b["coef"], strict=True)}
        blocks.append(
            _Block(b["analyzer"], tuple(b["ngram_range"]), float(b["weight"]), bool(b["sublinear_tf"]), table)
        )
    return _Model(
        classes=tuple(raw["classes"]),
        intercepts=tuple(raw["intercepts"]),
        blocks=tuple(blocks),
        temperature=float(raw["temperature"]),
        attribution=raw["attribution"],
    )


def model() -> _Model:
    """The cached model (loaded on first use)."""
    global _model_cache
    if _model_cache is None:
        with _lock:
            if _model_cache is None:
                _model_cache = _load_model()
    return _model_cache


def model_attribution() -> dict[str, Any]:
    """Source, authors, licence and URL of the data the shipped model was trained on."""
    return dict(model().attribution)


def _check(text: object) -> str:
    if not isinstance(text, str):
        raise ValidationError(f"classify() needs a requirement statement as a string, got {type(text).__name__}")
    if not text.strip():
        raise ValidationError("classify() needs a non-empty requirement statement")
    return text


def decision_scores(text: str) -> dict[str, float]:
    """Raw linear-model scores of the trained categories (one-vs-rest decision values)."""
    m = model()
    z = list(m.intercepts)
    k = len(z)
    for block in m.blocks:
        counts: dict[str, int] = {}
        for term in ANALYZERS[block.analyzer](text, block.ngram_range):
            if term in block.table:
                counts[term] = counts.get(term, 0) + 1
        if not counts:
            continue
        values = []
        for term, count in counts.items():
            tf = 1.0 + math.log(count) if block.sublinear_tf else float(count)
            idf, coef = block.table[term]
            values.append((tf * idf, coef))
        norm = math.sqrt(sum(v * v for v, _ in values))  # > 0: every idf >= 1
        scale = block.weight / norm
        for v, coef in values:
            x = v * scale
            for j in range(k):
                z[j] += x * coef[j]
    return dict(zip(m.classes, z, strict=True))


def combine(decisions: dict[str, float], text: str) -> dict[str, float]:
    """Logits of all 14 categories: the model's scores, then the lexicon prior of the others.

    A category the model was not trained on scores ``prior_base + weight`` of its strongest
    matching lexicon pattern, or ``prior_absent`` when none matches (see ``data/lexicon.json``).
    """
    priors = prior_logits(text)
    absent = _lexicon().prior_absent
    return {c: decisions[c] if c in decisions else priors.get(c, absent) for c in CATEGORIES}


def argmax(scores: dict[str, float]) -> str:
    """The best category; ties go to the earlier one in ``CATEGORIES`` order."""
    return max(CATEGORIES, key=lambda c: (scores[c], -CATEGORIES.index(c)))


def _softmax(logits: dict[str, float], temperature: float) -> dict[str, float]:
    top = max(logits.values())
    exps = {c: math.exp(temperature * (v - top)) for c, v in logits.items()}
    total = sum(exps.values())
    return {c: exps[c] / total for c in CATEGORIES}


def classify_scores(text: str) -> dict[str, float]:
    """A probability for each of the 14 categories (they sum to 1), in ``CATEGORIES`` order."""
    _check(text)
    return _softmax(combine(decision_scores(text), text), model().temperature)


def classify(text: str) -> str:
    """The category of a requirement statement, one of ``socrates_nb.CATEGORIES``.

    >>> classify("The system shall respond to a search within 2 seconds.")
    'performance'
    """
    _check(text)
    return argmax(combine(decision_scores(text), text))


def is_functional(text: str) -> bool:
    """True if the statement says what the software does rather than how well (F versus NFR)."""
    _check(text)
    scores = decision_scores(text)
    return max(scores, key=lambda c: (scores[c], c == "functional")) == "functional"
