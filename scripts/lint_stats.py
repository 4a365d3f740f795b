"""Figures for socrates_nb's requirement lint.

Usage:
    .venv/bin/python scripts/lint_stats.py --labelled              # recall / false flags on tests/data/lint_sentences.yaml
    .venv/bin/python scripts/lint_stats.py --labelled --show miss --split tune  # missed vague sentences (also: false, all)
    .venv/bin/python scripts/lint_stats.py                 # rule counts on the PROMISE NFR set (../shared/data)
    .venv/bin/python scripts/lint_stats.py --sample RULE   # 20 random hits of RULE (seed 0) to review
    .venv/bin/python scripts/lint_stats.py --sample RULE --with-category --n 30

``--labelled``: real sentences quoted from public requirement documents, each labelled vague or
precise (tests/data/lint_sentences.yaml records the sources). A sentence counts as flagged when
``lint(text)`` has a warning- or error-level finding of one of
:data:`socrates_nb.quality.lint.VAGUENESS_RULES`. Printed per split (``tune``: the sentences the
word lists were grown from; ``test``: six whole documents held out) and overall: the share of
vague sentences flagged (target >= 85%) and of precise sentences flagged (target <= 10%).

Without ``--labelled``, two passes over the PROMISE NFR development set: ``category=None`` (the
wording decides whether a statement is non-functional) and ``category`` mapped from the PROMISE
class (the mapping of data/README.md). Only the ``unmeasurable`` rule reads the category.
Columns: findings, statements with at least one finding, and how many of those statements are
labelled functional (F) / non-functional. The data set is CC BY-SA 3.0 (tera-PROMISE,
Cleland-Huang 2007); it is read, not copied.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from socrates_nb.quality.lint import RULES, flags_vagueness, lint

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "promise_nfr.csv"
LABELLED = ROOT / "tests" / "data" / "lint_sentences.yaml"
CLASS_TO_CATEGORY = {
    "F": "functional", "A": "reliability", "FT": "reliability", "L": "compliance", "LF": "usability",
    "US": "usability", "MN": "operations", "O": "operations", "PE": "performance", "PO": "constraints",
    "SC": "scalability", "SE": "security",
}
RECALL_TARGET = 0.85
FALSE_FLAG_TARGET = 0.10


def load(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [(row["text"], row["class"]) for row in csv.DictReader(fh)]


def load_labelled(path: Path = LABELLED) -> list[dict[str, Any]]:
    """The labelled sentences: dicts with id, text, vague, words, source, split."""
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)["sentences"]


def labelled_figures(sentences: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per split and ``all``: vague, vague_flagged, precise, precise_flagged."""
    out: dict[str, dict[str, int]] = {}
    for s in sentences:
        flagged = flags_vagueness(lint(s["text"]))
        for split in (s["split"], "all"):
            row = out.setdefault(split, Counter())
            kind = "vague" if s["vague"] else "precise"
            row[kind] += 1
            row[f"{kind}_flagged"] += flagged
    return {k: dict(v) for k, v in out.items()}


def _pct(n: int, d: int) -> str:
    return f"{n}/{d} = {100 * n / d:.1f}%" if d else "-"


def print_labelled(path: Path, show: str | None, only: str | None = None) -> int:
    sentences = load_labelled(path)
    figures = labelled_figures(sentences)
    print(f"{len(sentences)} labelled sentences from {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    print(f"flagged = a warning/error finding of vague-term, unmeasurable, escape-clause, open-ended, placeholder, weak-verb\n")
    print(f"{'split':<6} {'vague flagged (>= 85%)':>26} {'precise flagged (<= 10%)':>28}")
    ok = True
    for name in ("tune", "test", "all"):
        row = figures.get(name, {})
        v, vf, p, pf = (row.get(k, 0) for k in ("vague", "vague_flagged", "precise", "precise_flagged"))
        print(f"{name:<6} {_pct(vf, v):>26} {_pct(pf, p):>28}")
        if name == "all":
            ok = v > 0 and vf / v >= RECALL_TARGET and (pf / p if p else 0) <= FALSE_FLAG_TARGET
    if show:
        print()
        for s in sentences:
            if only and s["split"] != only:
                continue
            findings = lint(s["text"])
            flagged = flags_vagueness(findings)
            wrong = flagged != s["vague"]
            if show == "all" or (show == "miss" and s["vague"] and not flagged) or (
                show == "false" and not s["vague"] and flagged
            ):
                mark = "WRONG" if wrong else "ok"
                rules = ", ".join(
                    f"{f.rule}:{s['text'][f.span[0]:f.span[1]] if f.span else '-'}({f.severity})" for f in findings
                )
                print(f"[{s['id']} {s['split']} {'vague' if s['vague'] else 'precise'} {mark}] {s['text']}\n    {rules}")
    print("\ntargets met" if ok else "\ntargets NOT met")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labelled", nargs="?", const=LABELLED, type=Path, metavar="YAML",
                        help="figures on the labelled sentences (default tests/data/lint_sentences.yaml)")
    parser.add_argument("--show", choices=("miss", "false", "all"), help="with --labelled: list sentences")
    parser.add_argument("--split", choices=("tune", "test"), help="with --show: only this split")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--sample", metavar="RULE", choices=sorted(RULES))
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--with-category", action="store_true", help="sample from the category pass")
    args = parser.parse_args(argv)

    if args.labelled:
        return print_labelled(args.labelled, args.show, args.split)

    if not args.data.exists():
        print(f"{args.data} not found; try --labelled", file=sys.stderr)
        return 2
    rows = load(args.data)
    passes = {
        "none": [lint(text) for text, _ in rows],
        "cat": [lint(text, CLASS_TO_CATEGORY[cls]) for text, cls in rows],
    }

    if args.sample:
        source = passes["cat" if args.with_category else "none"]
        hits = [(i, f) for i, fs in enumerate(source) for f in fs if f.rule == args.sample]
        random.Random(args.seed).shuffle(hits)
        for i, f in hits[: args.n]:
            text, cls = rows[i]
            quoted = text[f.span[0] : f.span[1]] if f.span else "-"
            print(f"[row {i + 2} {cls}] {quoted!r}: {f.message}\n    {text}\n")
        print(f"{min(args.n, len(hits))} of {len(hits)} hits of {args.sample}")
        return 0

    print(f"{len(rows)} statements from {args.data.name} "
          f"({sum(c == 'F' for _, c in rows)} F, {sum(c != 'F' for _, c in rows)} NFR)\n")
    cols = f"{'findings':>9}{'stmts':>7}{'on F':>6}{'on NFR':>8}"
    head = f"{'rule':<15}{cols} | {cols}"
    print(f"{'':<15}{'category=None':^30} | {'category from class':^30}")
    print(head)
    print("-" * len(head))
    for rule in RULES:
        cells = []
        for name in ("none", "cat"):
            findings = Counter()
            stmts, on_f = 0, 0
            for (text, cls), fs in zip(rows, passes[name]):
                n = sum(f.rule == rule for f in fs)
                findings[rule] += n
                if n:
                    stmts += 1
                    on_f += cls == "F"
            cells.append(f"{findings[rule]:>9}{stmts:>7}{on_f:>6}{stmts - on_f:>8}")
        print(f"{rule:<15}{cells[0]} | {cells[1]}")
    total = [sum(len(fs) for fs in passes[n]) for n in ("none", "cat")]
    clean = [sum(not fs for fs in passes[n]) for n in ("none", "cat")]
    print("-" * len(head))
    print(f"{'total':<15}{total[0]:>9}{'':>21} | {total[1]:>9}")
    print(f"statements with no finding: {clean[0]} (category=None), {clean[1]} (category from class)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
