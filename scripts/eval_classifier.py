"""Leave-one-project-out evaluation of the requirement classifier on the PROMISE NFR data set.

    .venv/bin/python scripts/eval_classifier.py [--data PATH] [--json]

For each of the 15 projects: choose the hyperparameters by an inner leave-one-project-out
cross-validation over the other 14 projects only (the same ``select_params`` that picks the
shipped model's hyperparameters on all 15), train on those 14 projects, predict the held-out
project. Predictions of the 15 folds are pooled and scored on the coarse labels of
``data/README.md``: F versus NFR (``is_functional``), then our categories (``classify``, lexicon
prior included); an O row counts as correct when predicted operations, constraints or
integrations. Needs the ``dev`` extra (scikit-learn).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support

sys.path.insert(0, str(Path(__file__).resolve().parent))

import train_classifier as tc  # noqa: E402

PRESENT = ("functional", "reliability", "compliance", "usability", "operations", "performance", "constraints",
           "scalability", "security")
"""Our categories that the data set labels (PO is constraints; O also accepts constraints)."""


def lopo_predictions(data: tc.Dataset, grid: Sequence[dict] = tc.GRID,
                     projects: Sequence[str] | None = None) -> dict:
    """Nested leave-one-project-out predictions, pooled over the held-out projects."""
    fz = tc.FoldFeaturizer(data)
    idx = np.arange(len(data.texts))
    rows_out, cats, functional, chosen = [], [], [], {}
    for p in projects or data.project_ids:
        train, test = idx[data.projects != p], idx[data.projects == p]
        params, _ = tc.select_params(fz, train, grid)
        d = fz.decisions(train, test, params)
        c, f = fz.predict(test, d)
        rows_out.append(test)
        cats += c
        functional += f
        chosen[p] = params
        fz.clear()
    return {"rows": np.concatenate(rows_out), "categories": cats, "functional": functional, "params": chosen}


def lopo_fixed(data: tc.Dataset, params: dict) -> dict:
    """Leave-one-project-out predictions with fixed hyperparameters (no inner selection).

    With the shipped model's hyperparameters this is the quick regression check of the tests;
    it equals ``lopo_predictions`` whenever the nested selection picks those hyperparameters in
    every fold (as it does for the shipped model).
    """
    fz = tc.FoldFeaturizer(data)
    idx = np.arange(len(data.texts))
    rows_out, cats, functional = [], [], []
    for p in data.project_ids:
        train, test = idx[data.projects != p], idx[data.projects == p]
        c, f = fz.predict(test, fz.decisions(train, test, params))
        rows_out.append(test)
        cats += c
        functional += f
    return {"rows": np.concatenate(rows_out), "categories": cats, "functional": functional,
            "params": {p: dict(params) for p in data.project_ids}}


def summarize(data: tc.Dataset, pred: dict) -> dict:
    rows, cats = pred["rows"], pred["categories"]
    is_f = data.labels[rows] == "functional"
    pf = np.array(pred["functional"])
    p, r, f, _ = precision_recall_fscore_support(~is_f, ~pf, average="binary", zero_division=0)
    f_f1 = f1_score(is_f, pf, zero_division=0)
    strict_pf = np.array([c == "functional" for c in cats])
    strict_nfr = f1_score(~is_f, ~strict_pf, zero_division=0)

    gold = tc.gold_for(data, rows, cats)
    per_class = {}
    pr, rc, f1, support = precision_recall_fscore_support(gold, cats, labels=list(PRESENT), zero_division=0)
    for i, c in enumerate(PRESENT):
        per_class[c] = {"precision": float(pr[i]), "recall": float(rc[i]), "f1": float(f1[i]),
                        "support": int(support[i])}
    macro = float(np.mean(f1))
    frequent = ("usability", "security", "operations", "performance")  # US+LF, SE, O+MN, PE
    outside = Counter(c for c in cats if c not in PRESENT)
    o_rows = [i for i, r_ in enumerate(rows) if data.classes[r_] == "O"]
    return {
        "rows": int(len(rows)),
        "f_vs_nfr": {"nfr_precision": float(p), "nfr_recall": float(r), "nfr_f1": float(f), "f_f1": float(f_f1),
                     "macro_f1": float((f + f_f1) / 2), "nfr_f1_from_classify": float(strict_nfr)},
        "macro_f1_categories": macro,
        "macro_f1_frequent_nfr": float(np.mean([per_class[c]["f1"] for c in frequent])),
        "accuracy_categories": float(np.mean([g == c for g, c in zip(gold, cats, strict=True)])),
        "per_class": per_class,
        "predicted_outside_data_categories": dict(sorted(outside.items())),
        "o_rows_predicted": dict(sorted(Counter(cats[i] for i in o_rows).items())),
        "params": pred["params"],
    }


def render(s: dict, seconds: float) -> str:
    fv = s["f_vs_nfr"]
    lines = [
        f"PROMISE NFR, leave-one-project-out (15 projects, {s['rows']} rows), nested hyperparameter selection",
        "",
        "(1) F vs NFR (is_functional)",
        f"    NFR precision {fv['nfr_precision']:.3f}  recall {fv['nfr_recall']:.3f}  F1 {fv['nfr_f1']:.3f}",
        f"    F   F1 {fv['f_f1']:.3f}",
        f"    macro-F1 (F, NFR) {fv['macro_f1']:.3f}",
        f"    (NFR F1 if 'functional' is taken from classify(), lexicon prior included: "
        f"{fv['nfr_f1_from_classify']:.3f})",
        "",
        f"(2) macro-F1 over our {len(s['per_class'])} categories present in the data: "
        f"{s['macro_f1_categories']:.3f}   (accuracy {s['accuracy_categories']:.3f}; "
        f"macro-F1 of usability/security/operations/performance: {s['macro_f1_frequent_nfr']:.3f})",
        "",
        "(3) per category (classify(); an O row counts as correct if operations/constraints/integrations)",
        f"    {'category':<12} {'precision':>9} {'recall':>7} {'F1':>6} {'support':>8}",
    ]
    for c, m in s["per_class"].items():
        lines.append(f"    {c:<12} {m['precision']:>9.3f} {m['recall']:>7.3f} {m['f1']:>6.3f} {m['support']:>8d}")
    lines += [
        f"    predicted outside those categories: {s['predicted_outside_data_categories'] or 'none'}",
        f"    O rows predicted as: {s['o_rows_predicted']}",
        "",
        "hyperparameters chosen per held-out project (C, lexicon weight, min projects per word feature):",
    ]
    chosen = Counter((p["C"], p["lex_weight"], p["word_min_projects"]) for p in s["params"].values())
    for combo, n in chosen.most_common():
        lines.append(f"    C={combo[0]} lex_weight={combo[1]} word_min_projects={combo[2]}: {n} folds")
    lines.append(f"\n{seconds:.1f}s")
    return "\n".join(lines)


def evaluate(data_path: Path = tc.DEFAULT_DATA) -> dict:
    data = tc.load_dataset(data_path)
    return summarize(data, lopo_predictions(data))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=tc.DEFAULT_DATA)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    summary = evaluate(args.data)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(render(summary, time.perf_counter() - t0))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
