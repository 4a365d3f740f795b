"""Train the requirement classifier on the PROMISE NFR data set and write its model file.

    .venv/bin/python scripts/train_classifier.py [--data PATH] [--out PATH] [--no-write]

Needs the ``dev`` extra (scikit-learn, numpy, scipy); the shipped classifier does not.

Steps:
1. choose hyperparameters (C, lexicon weight, minimum projects per word feature) by
   leave-one-project-out cross-validation over the 15 projects (``select_params``);
2. fit the scikit-learn pipeline (TF-IDF word 1-2-grams + char_wb 3-5-grams + lexicon features,
   one-vs-rest LinearSVC) on all rows with those hyperparameters;
3. write ``socrates_nb/quality/data/classifier_model.json`` (vocabulary, idf, coefficients and
   the CC BY-SA attribution of the data set; no sentence of the data set);
4. verify: the pure-Python inference in ``socrates_nb.quality.classifier`` predicts exactly what
   the scikit-learn pipeline predicts on every row, and the fast cross-validation featuriser used
   by ``eval_classifier.py`` gives the pipeline's decision values.

The functions here are shared with ``scripts/eval_classifier.py``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from socrates_nb.categories import CATEGORIES  # noqa: E402
from socrates_nb.quality import classifier as clf  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("SOCRATES_PROMISE_CSV", REPO.parent / "shared" / "data" / "promise_nfr.csv"))
DEFAULT_OUT = REPO / "socrates_nb" / "quality" / "data" / clf.MODEL_FILE

# PROMISE class -> our category (primary answer); O also accepts constraints or integrations.
CLASS_MAP = {
    "F": "functional", "A": "reliability", "FT": "reliability", "L": "compliance", "LF": "usability",
    "US": "usability", "MN": "operations", "O": "operations", "PE": "performance", "PO": "constraints",
    "SC": "scalability", "SE": "security",
}
ACCEPTED = {"O": ("operations", "constraints", "integrations")}
# Categories the model is trained on; PO (one row, constraints) is left to the lexicon prior.
TRAINED = (
    "functional", "reliability", "compliance", "usability", "operations", "performance", "scalability", "security",
)

WORD_RANGE = (1, 2)
CHAR_RANGE = (3, 5)
CHAR_MIN_DF = 2
TEMPERATURE = 3.0
GRID = tuple(
    {"C": c, "lex_weight": lw, "word_min_projects": mp}
    for mp, lw, c in product((1,), (0.5, 1.0), (0.03, 0.1, 0.3))
)

ATTRIBUTION = {
    "data_set": "PROMISE NFR data set (tera-PROMISE repository), 625 requirement statements from 15 projects",
    "authors": "Jane Cleland-Huang et al. (2007)",
    "reference": ("J. Cleland-Huang, R. Settimi, X. Zou, P. Solc: Automated classification of non-functional "
                  "requirements. Requirements Engineering 12(2):103-120, 2007"),
    "url": "http://openscience.us/repo/requirements/nfr.html",
    "licence": "Creative Commons Attribution-ShareAlike 3.0 (CC BY-SA 3.0)",
    "licence_url": "http://creativecommons.org/licenses/by-sa/3.0/",
    "changes": ("This file is a derived work: a linear model (vocabulary, idf and coefficients) trained on "
                "the data set; no requirement statement of the data set is included. It is distributed "
                "under CC BY-SA 3.0."),
}


@dataclass(frozen=True)
class Dataset:
    texts: list[str]
    classes: np.ndarray  # PROMISE class per row
    labels: np.ndarray  # our category per row (primary answer)
    projects: np.ndarray  # project id per row (str)

    @property
    def project_ids(self) -> list[str]:
        return sorted(set(self.projects.tolist()), key=int)


def load_dataset(path: Path = DEFAULT_DATA) -> Dataset:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return Dataset(
        texts=[r["text"] for r in rows],
        classes=np.array([r["class"] for r in rows]),
        labels=np.array([CLASS_MAP[r["class"]] for r in rows]),
        projects=np.array([r["project_id"] for r in rows]),
    )


# --------------------------------------------------------------------------------------------
# The reference pipeline (scikit-learn objects) and the model file written from it.
# --------------------------------------------------------------------------------------------


def _word_vocabulary(texts: Sequence[str], projects: Sequence[str], min_projects: int) -> list[str] | None:
    """Word n-grams that occur in at least ``min_projects`` distinct projects (None: no filter)."""
    if min_projects <= 1:
        return None
    seen: dict[str, set[str]] = {}
    for text, project in zip(texts, projects, strict=True):
        for term in set(clf.word_ngrams(text, WORD_RANGE)):
            seen.setdefault(term, set()).add(project)
    return sorted(t for t, ps in seen.items() if len(ps) >= min_projects)


def build_pipeline(params: dict, texts: Sequence[str], projects: Sequence[str]) -> Pipeline:
    """An unfitted pipeline; the word vocabulary filter is computed from the training rows."""
    vocab = _word_vocabulary(texts, projects, params["word_min_projects"])
    union = FeatureUnion(
        [
            ("word", TfidfVectorizer(ngram_range=WORD_RANGE, sublinear_tf=True, vocabulary=vocab)),
            ("char_wb", TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_RANGE, min_df=CHAR_MIN_DF,
                                        sublinear_tf=True)),
            ("lexicon", TfidfVectorizer(analyzer=clf.lexicon_terms, sublinear_tf=True)),
        ],
        transformer_weights={"word": 1.0, "char_wb": 1.0, "lexicon": params["lex_weight"]},
    )
    svm = LinearSVC(C=params["C"], class_weight="balanced", random_state=0, max_iter=20000)
    return Pipeline([("features", union), ("svm", svm)])


def fit_pipeline(data: Dataset, rows: np.ndarray, params: dict) -> Pipeline:
    rows = rows[np.isin(data.labels[rows], TRAINED)]
    texts = [data.texts[i] for i in rows]
    pipe = build_pipeline(params, texts, data.projects[rows].tolist())
    pipe.fit(texts, data.labels[rows])
    return pipe


def pipeline_decisions(pipe: Pipeline, texts: Sequence[str]) -> list[dict[str, float]]:
    d = pipe.decision_function(list(texts))
    classes = pipe.named_steps["svm"].classes_.tolist()
    return [dict(zip(classes, map(float, row), strict=True)) for row in d]


def export_model(pipe: Pipeline, params: dict, path: Path, n_rows: int) -> dict:
    union: FeatureUnion = pipe.named_steps["features"]
    svm: LinearSVC = pipe.named_steps["svm"]
    coef = svm.coef_
    blocks = []
    offset = 0
    specs = {"word": WORD_RANGE, "char_wb": CHAR_RANGE, "lexicon": (1, 1)}
    for name, vec in union.transformer_list:
        vocab = vec.vocabulary_
        terms = sorted(vocab, key=vocab.get)
        n = len(terms)
        block_coef = coef[:, offset : offset + n].T
        offset += n
        blocks.append({
            "analyzer": name,
            "ngram_range": list(specs[name]),
            "weight": union.transformer_weights[name],
            "sublinear_tf": True,
            "terms": terms,
            "idf": [float(f"{v:.10g}") for v in vec.idf_],
            "coef": [[float(f"{v:.6g}") for v in row] for row in block_coef],
        })
    assert offset == coef.shape[1]
    doc = {
        "format": clf.MODEL_FORMAT,
        "attribution": ATTRIBUTION,
        "description": ("One-vs-rest linear SVM over TF-IDF word 1-2-grams, char_wb 3-5-grams and lexicon "
                        "features; score = intercept + sum over blocks of weight * l2-normalised "
                        "(1 + ln tf) * idf * coef. Trained by scripts/train_classifier.py."),
        "trained_rows": n_rows,
        "hyperparameters": params,
        "classes": svm.classes_.tolist(),
        "intercepts": [float(f"{v:.6g}") for v in svm.intercept_],
        "temperature": TEMPERATURE,
        "blocks": blocks,
    }
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    path.write_text(text + "\n", encoding="utf-8")
    return doc


# --------------------------------------------------------------------------------------------
# Fast cross-validation: count matrices computed once, TF-IDF per fold (same maths as above).
# --------------------------------------------------------------------------------------------


class FoldFeaturizer:
    """TF-IDF features for any training subset without re-tokenising.

    ``features(train_rows, params)`` equals what ``build_pipeline(params, ...)`` fitted on
    ``train_rows`` produces for all rows (checked by ``verify_fast_path``).
    """

    def __init__(self, data: Dataset) -> None:
        self.data = data
        self.n = len(data.texts)
        self.project_index = {p: i for i, p in enumerate(data.project_ids)}
        self.row_project = np.array([self.project_index[p] for p in data.projects])
        self.blocks = {}
        analyzers = {
            "word": lambda t: clf.word_ngrams(t, WORD_RANGE),
            "char_wb": lambda t: clf.char_wb_ngrams(t, CHAR_RANGE),
            "lexicon": clf.lexicon_terms,
        }
        for name, analyzer in analyzers.items():
            counts = CountVectorizer(analyzer=analyzer).fit_transform(data.texts).astype(float).tocsr()
            present = (counts > 0).astype(float).tocsr()
            sub = counts.copy()
            sub.data = np.log(sub.data) + 1.0
            self.blocks[name] = (sub.tocsc(), present)
        self.prior = [clf.prior_logits(t) for t in data.texts]
        self._cache: dict = {}

    def features(self, train_rows: np.ndarray, params: dict) -> sp.csr_matrix:
        key_rows = train_rows.tobytes()
        parts = []
        for name, (sub, present) in self.blocks.items():
            mp = params["word_min_projects"] if name == "word" else 1
            key = (key_rows, name, mp)
            if key not in self._cache:
                n_train = len(train_rows)
                df = np.asarray(present[train_rows].sum(0)).ravel()
                keep = df >= (CHAR_MIN_DF if name == "char_wb" else 1)
                if mp > 1:
                    groups = self.row_project[train_rows]
                    onehot = sp.csr_matrix((np.ones(n_train), (groups, np.arange(n_train))),
                                           shape=(len(self.project_index), n_train))
                    per_project = onehot @ present[train_rows]
                    keep &= np.asarray((per_project > 0).sum(0)).ravel() >= mp
                cols = np.where(keep)[0]
                idf = np.log((1.0 + n_train) / (1.0 + df[cols])) + 1.0
                block = (sub[:, cols] @ sp.diags(idf)).tocsr()
                norms = np.sqrt(np.asarray(block.multiply(block).sum(1)).ravel())
                norms[norms == 0] = 1.0
                self._cache[key] = sp.diags(1.0 / norms) @ block
            weight = params["lex_weight"] if name == "lexicon" else 1.0
            parts.append(weight * self._cache[key])
        return sp.hstack(parts).tocsr()

    def clear(self) -> None:
        self._cache.clear()

    def decisions(self, train_rows: np.ndarray, test_rows: np.ndarray, params: dict) -> np.ndarray:
        """Decision values (rows x TRAINED) for ``test_rows`` of a model fitted on ``train_rows``."""
        train_rows = train_rows[np.isin(self.data.labels[train_rows], TRAINED)]
        x = self.features(train_rows, params)
        svm = LinearSVC(C=params["C"], class_weight="balanced", random_state=0, max_iter=20000)
        svm.fit(x[train_rows], self.data.labels[train_rows])
        out = np.full((len(test_rows), len(TRAINED)), -10.0)
        d = svm.decision_function(x[test_rows])
        for j, c in enumerate(svm.classes_):
            out[:, TRAINED.index(c)] = d[:, j]
        return out

    def predict(self, rows: np.ndarray, decisions: np.ndarray) -> tuple[list[str], list[bool]]:
        """Categories (with the lexicon prior) and F/NFR decisions from decision values."""
        cats, functional = [], []
        fi = TRAINED.index("functional")
        for r, d in zip(rows, decisions, strict=True):
            dec = dict(zip(TRAINED, d.tolist(), strict=True))
            logits = {c: dec[c] if c in dec else self.prior[r].get(c, -3.0) for c in CATEGORIES}
            cats.append(clf.argmax(logits))
            functional.append(bool(d[fi] >= d.max()))
        return cats, functional


# --------------------------------------------------------------------------------------------
# Scoring and hyperparameter selection.
# --------------------------------------------------------------------------------------------


def gold_for(data: Dataset, rows: np.ndarray, predicted: Sequence[str]) -> list[str]:
    """Gold category per row; an O row counts as correct for any of its accepted categories."""
    gold = []
    for r, p in zip(rows, predicted, strict=True):
        accepted = ACCEPTED.get(str(data.classes[r]))
        gold.append(p if accepted and p in accepted else str(data.labels[r]))
    return gold


def selection_score(data: Dataset, rows: np.ndarray, cats: Sequence[str], functional: Sequence[bool]) -> float:
    """Mean of the NFR-class F1 (F vs NFR) and the macro-F1 over categories: the tuning target."""
    from sklearn.metrics import f1_score

    gold = gold_for(data, rows, cats)
    is_f = data.labels[rows] == "functional"
    nfr_f1 = f1_score(~is_f, ~np.array(functional), zero_division=0)
    labels = sorted(set(gold))
    macro = f1_score(gold, list(cats), labels=labels, average="macro", zero_division=0)
    return 0.5 * (nfr_f1 + macro)


def select_params(fz: FoldFeaturizer, rows: np.ndarray, grid: Sequence[dict] = GRID) -> tuple[dict, float]:
    """Best grid point by leave-one-project-out cross-validation restricted to ``rows``."""
    data = fz.data
    inner_projects = sorted(set(data.projects[rows].tolist()), key=int)
    best, best_score = None, -1.0
    for params in grid:
        pooled_rows, cats, functional = [], [], []
        for p in inner_projects:
            test = rows[data.projects[rows] == p]
            train = rows[data.projects[rows] != p]
            d = fz.decisions(train, test, params)
            c, f = fz.predict(test, d)
            pooled_rows.append(test)
            cats += c
            functional += f
        score = selection_score(data, np.concatenate(pooled_rows), cats, functional)
        if score > best_score + 1e-12:
            best, best_score = params, score
    assert best is not None
    return dict(best), best_score


# --------------------------------------------------------------------------------------------
# Verification.
# --------------------------------------------------------------------------------------------


def verify_pure_python(pipe: Pipeline, data: Dataset) -> int:
    """Assert the shipped pure-Python inference predicts what the pipeline predicts, on every row."""
    clf._model_cache = None  # re-read the file just written
    decisions = pipeline_decisions(pipe, data.texts)
    mismatches = 0
    max_diff = 0.0
    for text, dec in zip(data.texts, decisions, strict=True):
        mine = clf.decision_scores(text)
        max_diff = max(max_diff, max(abs(mine[c] - dec[c]) for c in dec))
        same_cat = clf.classify(text) == clf.argmax(clf.combine(dec, text))
        same_top = max(mine, key=mine.get) == max(dec, key=dec.get)
        mismatches += (not same_cat) + (not same_top)
    assert mismatches == 0, f"pure-Python inference disagrees with scikit-learn on {mismatches} predictions"
    print(f"verified: pure-Python == scikit-learn on all {len(data.texts)} rows "
          f"(category and top trained class; max |decision difference| {max_diff:.2e})")
    return len(data.texts)


def verify_fast_path(fz: FoldFeaturizer, data: Dataset, params: dict, holdout: str = "3") -> None:
    """Assert the cross-validation featuriser reproduces the pipeline on one fold."""
    idx = np.arange(len(data.texts))
    train, test = idx[data.projects != holdout], idx[data.projects == holdout]
    pipe = fit_pipeline(data, train, params)
    ref = pipeline_decisions(pipe, [data.texts[i] for i in test])
    fast = fz.decisions(train, test, params)
    diff = max(abs(fast[i, TRAINED.index(c)] - v) for i, r in enumerate(ref) for c, v in r.items())
    assert diff < 1e-6, f"fast cross-validation features differ from the pipeline by {diff}"
    print(f"verified: fast cross-validation path == pipeline on held-out project {holdout} (max diff {diff:.1e})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-write", action="store_true", help="select and fit, but do not write the model")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    data = load_dataset(args.data)
    fz = FoldFeaturizer(data)
    rows = np.arange(len(data.texts))
    params, score = select_params(fz, rows)
    print(f"selected by leave-one-project-out over {len(data.project_ids)} projects: {params} (score {score:.4f})")
    verify_fast_path(fz, data, params)
    pipe = fit_pipeline(data, rows, params)
    if args.no_write:
        return 0
    trained_rows = int(np.isin(data.labels, TRAINED).sum())
    doc = export_model(pipe, params, args.out, trained_rows)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1e6:.2f} MB, {sum(len(b['terms']) for b in doc['blocks'])} features, "
          f"{len(doc['classes'])} classes)")
    verify_pure_python(pipe, data)
    print(f"done in {time.perf_counter() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
