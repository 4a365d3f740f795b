"""Rule counts of socrates_nb's requirement lint on the PROMISE NFR development set.

Usage:
    .venv/bin/python scripts/lint_stats.py                 # the table
    .venv/bin/python scripts/lint_stats.py --sample RULE   # 20 random hits of RULE (seed 0) to review
    .venv/bin/python scripts/lint_stats.py --sample RULE --with-category --n 30

Two passes: ``category=None`` (the wording decides whether a statement is non-functional)
and ``category`` mapped from the PROMISE class (the mapping of data/README.md). Only the
``unmeasurable`` rule reads the category. Columns: findings, statements with at least one
finding, and how many of those statements are labelled functional (F) / non-functional.
The data set is CC BY-SA 3.0 (tera-PROMISE, Cleland-Huang 2007); it is read, not copied.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from collections import Counter
from pathlib import Path

from socrates_nb.quality.lint import RULES, lint

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "promise_nfr.csv"
CLASS_TO_CATEGORY = {
    "F": "functional", "A": "reliability", "FT": "reliability", "L": "compliance", "LF": "usability",
    "US": "usability", "MN": "operations", "O": "operations", "PE": "performance", "PO": "constraints",
    "SC": "scalability", "SE": "security",
}


def load(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [(row["text"], row["class"]) for row in csv.DictReader(fh)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--sample", metavar="RULE", choices=sorted(RULES))
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--with-category", action="store_true", help="sample from the category pass")
    args = parser.parse_args(argv)

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
