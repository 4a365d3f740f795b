"""Time the analytics snapshot and a group-by over 100,000 spec items, DuckDB vs the database.

    .venv/bin/python benchmarks/bench_analytics.py                 # SQLite, a temporary file
    .venv/bin/python benchmarks/bench_analytics.py --url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python benchmarks/bench_analytics.py --items 100000 --json out/bench_analytics.json

One project of a new user is filled with SQLAlchemy core bulk inserts (``fill`` of
bench_answer_turn.py: the items spread over the 14 categories with realistic keys, about
15% superseded, one answer per two items) on the real schema (``snb.connect`` runs the
migrations). Then, in one run:

(a) ``Analytics`` open: the snapshot load (one SELECT per table, Arrow, DuckDB views);
(b) the group-by ``count(*), avg(confidence) per category`` over every spec item, in DuckDB;
(c) the same group-by sent to the database through SQLAlchemy (a read transaction);

each the median of ``--repeat`` timed runs after one warm-up, and the ratios (b)/(c) and
(a+b)/(c): what a one-off analytics query costs against asking the database directly.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

import duckdb
import pyarrow
import sqlalchemy
from sqlalchemy import func, select

import socrates_nb as snb
from socrates_nb.analytics import Analytics
from socrates_nb.storage import models

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_answer_turn import fill, run_on_fresh_workspace, run_sql  # noqa: E402

DUCKDB_GROUP_BY = (
    "SELECT category, count(*) AS items, avg(confidence) AS avg_confidence FROM spec_items "
    "GROUP BY category ORDER BY category"
)


def database_group_by(ws: snb.Workspace) -> list[tuple[str, int, float]]:
    """The same group-by in the database, limited to the acting user's projects as analytics is."""
    item = models.SpecItem
    query = (
        select(item.category, func.count(), func.avg(item.confidence))
        .join(models.Project, item.project_id == models.Project.id)
        .where(models.Project.user_id == ws.user.id)
        .group_by(item.category)
        .order_by(item.category)
    )
    with ws.db.read() as orm:
        return [(c, int(n), float(avg)) for c, n, avg in orm.execute(query)]


def timed(work: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median milliseconds of ``repeat`` runs after one warm-up, and the last result."""
    result = work()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def run(ws: snb.Workspace, args: argparse.Namespace, out: Any) -> dict[str, Any]:
    """Fill, time (a), (b), (c), print the table; returns the JSON report."""
    backend = ws.db.dialect
    print(f"backend {backend} ({ws.db.url.set(query={}).render_as_string(hide_password=True)}), "
          f"{args.items:,} items, median of {args.repeat} runs, python {platform.python_version()}, "
          f"duckdb {duckdb.__version__}, pyarrow {pyarrow.__version__}, sqlalchemy {sqlalchemy.__version__}, "
          f"{os.cpu_count()} cpus", file=out)
    started = time.perf_counter()
    project = ws.create_project("bench analytics", template="web-api")
    fill(ws, project.id, args.items, random.Random(args.seed))
    run_sql(ws, [], out)  # PostgreSQL: VACUUM ANALYZE, as autovacuum would after a bulk load
    print(f"filled {args.items:,} items in {time.perf_counter() - started:.1f} s", file=out)

    analytics = Analytics.open(ws)  # warm-up
    load_times = []
    for _ in range(args.repeat):
        analytics.close()
        started = time.perf_counter()
        analytics = Analytics.open(ws)
        load_times.append((time.perf_counter() - started) * 1000)
    load_ms = statistics.median(load_times)
    duck_ms, duck_rows = timed(lambda: analytics.sql(DUCKDB_GROUP_BY).fetchall(), args.repeat)
    db_ms, db_rows = timed(lambda: database_group_by(ws), args.repeat)
    rows = analytics.row_counts
    analytics.close()
    same = [(c, n) for c, n, _ in duck_rows] == [(c, n) for c, n, _ in db_rows] and all(
        abs(a[2] - b[2]) < 1e-9 for a, b in zip(duck_rows, db_rows)
    )
    if not same:
        raise SystemExit("DuckDB and the database disagree on the group-by")

    report = {
        "backend": backend, "items": args.items, "repeat": args.repeat, "rows_loaded": rows,
        "python": platform.python_version(), "duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__,
        "sqlalchemy": sqlalchemy.__version__, "socrates_nb": snb.__version__, "cpus": os.cpu_count(),
        "a_snapshot_load_ms": load_ms, "b_duckdb_group_by_ms": duck_ms, "c_database_group_by_ms": db_ms,
        "b_over_c": duck_ms / db_ms, "a_plus_b_over_c": (load_ms + duck_ms) / db_ms,
    }
    print(f"snapshot rows: {', '.join(f'{k} {v:,}' for k, v in rows.items())}", file=out)
    print(f"\n{'step':<44}  {'median ms':>9}", file=out)
    print(f"{'(a) Analytics open (snapshot load)':<44}  {load_ms:>9.1f}", file=out)
    print(f"{'(b) group-by in DuckDB':<44}  {duck_ms:>9.2f}", file=out)
    print(f"{'(c) group-by in ' + backend + ' via SQLAlchemy':<44}  {db_ms:>9.2f}", file=out)
    print(f"\n(b)/(c) = {report['b_over_c']:.3f}   (a+b)/(c) = {report['a_plus_b_over_c']:.1f}   "
          f"results identical: {same}", file=out)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the analytics snapshot and a 100k-item group-by.")
    parser.add_argument("--url", help="database URL (default: a new SQLite file in a temporary folder)")
    parser.add_argument("--items", type=int, default=100_000, help="spec items to insert (default 100000)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs of each step (default 5)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH ('-' for stdout)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    out = sys.stderr if args.json == "-" else sys.stdout

    return run_on_fresh_workspace(args, run, out)


if __name__ == "__main__":
    sys.exit(main())
