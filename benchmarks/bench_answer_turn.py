"""Time one answer turn at 10, 1,000 and 10,000 stored specification items.

    .venv/bin/python benchmarks/bench_answer_turn.py                 # SQLite, a temporary file
    .venv/bin/python benchmarks/bench_answer_turn.py --url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python benchmarks/bench_answer_turn.py --json out/bench.json --queries

For each size a project is created and filled fast with SQLAlchemy core inserts: the
items spread over the 14 categories with the keys real sessions produce (question-bank
keys, their ``_2``.. ``_4`` statement variants, measured metrics, ``functional.free``),
about 15% of them superseded, plus one filler answer per two items in a completed
session (a real project with 10,000 items has thousands of answers). All projects are
filled before any turn is timed, so every size is measured against the same table sizes.

The measured turn is the public API call ``Session.answer(text)`` (service layer, one
write transaction, then the session reload), timed with ``time.perf_counter``. Each
size gets a few warm-up turns, then ``--turns`` timed ones; the table reports the
median and p95 in milliseconds and their ratio to the smallest size.

``--queries`` also times every SQL statement of the turns (median per statement and
size) and prints the query plan of the statements that grow, which is how a slow turn
is traced to its query and index.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

import sqlalchemy
from sqlalchemy import event, insert, text

import socrates_nb as snb
from socrates_nb.categories import CATEGORIES, CATEGORY_INFO
from socrates_nb.config import normalize_database_url
from socrates_nb.engine.offline.bank import load_bank
from socrates_nb.storage import models
from socrates_nb.storage.models import utcnow

DEFAULT_SIZES = (10, 1_000, 10_000)
WARMUP_TURNS = 5

# What analysts type: measured values, vague statements, several statements in one answer.
ANSWERS = (
    "The checkout page shall respond within 300 ms at p95 for 500 concurrent users.",
    "Refunds are issued within 5 days. Support staff can see every refund in the back office.",
    "Card data never touches our servers; the payment provider tokenises it.",
    "The service must be available 99.9% of the time, measured monthly.",
    "Merchants export their settlements as CSV. The export covers up to 12 months.",
    "Operators get an alert when the error rate is above 1% for 5 minutes.",
    "It should be fast and easy to use for the accounting team.",
    "Personal data is deleted 30 days after an account is closed, as GDPR requires.",
)

_METRIC_KEYS = {
    "performance": ("performance.latency_p95", "performance.throughput", "performance.latency"),
    "scalability": ("scalability.concurrent_users", "scalability.size"),
    "reliability": ("reliability.availability", "reliability.duration"),
    "data": ("data.size", "data.duration"),
}


def _filler_keys() -> dict[str, list[str]]:
    """Realistic keys per category: bank keys, statement variants, metrics, free answers."""
    keys: dict[str, list[str]] = defaultdict(list)
    for q in load_bank():
        keys[q.category].append(q.key)
        keys[q.category].extend(f"{q.key}_{n}" for n in range(2, 5))
    for category, metric_keys in _METRIC_KEYS.items():
        keys[category].extend(metric_keys)
    keys["functional"].extend(["functional.free", "functional.free_2", "functional.free_3"])
    return keys


def fill(ws: snb.Workspace, project_id: uuid.UUID, n_items: int, rng: random.Random) -> None:
    """Bulk-insert ``n_items`` spec items (and n_items // 2 answers) into a project."""
    if n_items <= 0:
        return
    keys = _filler_keys()
    now = utcnow()
    session_id = uuid.uuid4()
    n_answers = max(1, n_items // 2)
    sessions = [{
        "id": session_id, "project_id": project_id, "engine": "offline", "status": "completed",
        "answer_count": n_answers, "question_count": 0, "created_at": now - timedelta(days=30), "completed_at": now,
    }]
    answers = [
        {
            "id": uuid.uuid4(), "session_id": session_id, "question_id": None, "seq": i + 1,
            "text": f"Filler answer {i}: the system shall support case {i}.", "maturity_after": 0.0,
            "created_at": now - timedelta(days=30) + timedelta(seconds=i),
        }
        for i in range(n_answers)
    ]
    ref_seq: dict[str, int] = defaultdict(int)
    items: list[dict[str, Any]] = []
    for i in range(n_items):
        category = CATEGORIES[i % len(CATEGORIES)]
        key = rng.choice(keys[category])
        prefix = CATEGORY_INFO[category].ref_prefix
        ref_seq[prefix] += 1
        # Text values only: numeric ones would make every measured answer conflict with
        # every filler item of its metric, which measures the filler, not the turn.
        value: dict[str, Any] = {"text": f"{category} statement {i}"}
        items.append({
            "id": uuid.uuid4(), "project_id": project_id, "answer_id": answers[i // 2 % n_answers]["id"],
            "ref_prefix": prefix, "ref_seq": ref_seq[prefix], "category": category, "key": key, "value": value,
            "text": f"The system shall handle {category} case {i}.", "confidence": rng.choice([0.35, 0.6, 0.6, 0.9]),
            "findings": [], "is_current": rng.random() > 0.15, "superseded_by": None,
            "created_at": now - timedelta(days=30) + timedelta(seconds=i),
        })
    with ws.db.engine.begin() as conn:
        conn.execute(insert(models.Session), sessions)
        conn.execute(insert(models.Answer), answers)
        for start in range(0, len(items), 2_000):
            conn.execute(insert(models.SpecItem), items[start:start + 2_000])


class StatementTimer:
    """Times every SQL statement sent by an engine, grouped by statement text."""

    def __init__(self, engine: sqlalchemy.Engine) -> None:
        self.engine = engine
        self.active = False
        self.times: dict[str, list[float]] = defaultdict(list)
        self.samples: dict[str, tuple[str, Any]] = {}
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        if not self.active:
            return
        elapsed = time.perf_counter() - conn.info.pop("bench_t0", time.perf_counter())
        label = " ".join(statement.split())
        self.times[label].append(elapsed)
        self.samples[label] = (statement, parameters)  # the last size measured is the largest

    def reset(self) -> None:
        self.times = defaultdict(list)


def short(label: str, width: int = 96) -> str:
    """A readable one-line name of a statement: verb, table, where clause."""
    verb = label.split()[0]
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+(\w+)", label)
    where = re.search(r"\bWHERE (.*?)(?: GROUP BY| ORDER BY| LIMIT| FOR UPDATE|$)", label)
    cols = ""
    if verb == "SELECT":
        cols = label[7:label.find(" FROM")]
        cols = cols if len(cols) < 40 else cols[:37] + "..."
    text_ = f"{verb} {cols + ' ' if cols else ''}{table.group(1) if table else ''}"
    if where:
        cond = re.sub(r"%\(\w+\)s(::\w+(\[\])?)?|\?|\(__\[POSTCOMPILE_\w+\]\)", "?", where.group(1))
        cond = re.sub(r"\b\w+\.(\w+)", r"\1", cond)
        text_ += f" WHERE {cond}"
    if " GROUP BY " in label:
        text_ += " GROUP BY"
    if " ORDER BY " in label:
        text_ += " ORDER BY"
    return text_ if len(text_) <= width else text_[: width - 3] + "..."


def explain(ws: snb.Workspace, statement: str, parameters: Any) -> list[str]:
    """The query plan of one statement (SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN ANALYZE)."""
    with ws.db.engine.connect() as conn:
        if ws.db.is_sqlite:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            return [str(r[-1]) for r in rows]
        rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + statement, parameters).all()
        conn.rollback()
        return [str(r[0]) for r in rows]


def private_schema(url: str) -> tuple[str, str]:
    """A new PostgreSQL schema for this run; returns the URL that uses it and its name."""
    schema = f"socrates_bench_{uuid.uuid4().hex[:10]}"
    engine = sqlalchemy.create_engine(normalize_database_url(url))
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}", schema


def drop_schema(url: str, schema: str) -> None:
    engine = sqlalchemy.create_engine(normalize_database_url(url))
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def percentile(values: list[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time one answer turn at several numbers of stored spec items.")
    parser.add_argument("--url", help="database URL (default: a new SQLite file in a temporary folder)")
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="comma-separated item counts")
    parser.add_argument("--turns", type=int, default=50, help="timed turns per size (default 50)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH ('-' for stdout)")
    parser.add_argument("--queries", action="store_true", help="time each SQL statement and EXPLAIN the growing ones")
    parser.add_argument("--sql", action="append", default=[], metavar="STATEMENT",
                        help="extra SQL run after filling, e.g. a candidate index (repeatable)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    out = sys.stderr if args.json == "-" else sys.stdout

    return run_on_fresh_workspace(args, run, out)


def run_on_fresh_workspace(
    args: argparse.Namespace, run: Callable[[snb.Workspace, argparse.Namespace, Any], dict[str, Any]], out: Any
) -> int:
    """Run ``run`` as a new user on ``args.url`` (default: a temporary SQLite file; on PostgreSQL a
    private schema, dropped afterwards), then write its report as JSON when ``args.json`` asks."""
    with tempfile.TemporaryDirectory(prefix="socrates-bench-") as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        schema = None
        if normalize_database_url(url).get_backend_name() == "postgresql":
            url, schema = private_schema(url)  # dropped at the end, with any --sql index
        try:
            ws = snb.connect(url, user=f"bench_{uuid.uuid4().hex[:8]}")
            try:
                report = run(ws, args, out)
            finally:
                ws.close()
        finally:
            if schema:
                drop_schema(args.url, schema)

    if args.json:
        payload = json.dumps(report, indent=2)
        if args.json == "-":
            print(payload)
        else:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(payload + "\n")
    return 0


def run_sql(ws: snb.Workspace, statements: list[str], out: Any) -> None:
    """Run ``--sql`` statements (autocommit on PostgreSQL, so VACUUM works), then refresh statistics."""
    if ws.db.is_sqlite:
        with ws.db.engine.begin() as conn:
            for statement in statements:
                print(f"sql: {statement}", file=out)
                conn.execute(text(statement))
        return
    with ws.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for statement in statements:
            print(f"sql: {statement}", file=out)
            conn.execute(text(statement))
        conn.execute(text("VACUUM ANALYZE"))  # what autovacuum does soon after a bulk load


def run(ws: snb.Workspace, args: argparse.Namespace, out: Any) -> dict[str, Any]:
    """Fill one project per size, time the turns, print the table; returns the JSON report."""
    sizes = sorted(int(s) for s in args.sizes.split(","))
    rng = random.Random(args.seed)
    backend = ws.db.dialect
    print(f"backend {backend} ({ws.db.url.set(query={}).render_as_string(hide_password=True)}), "
          f"{args.turns} turns per size, python {platform.python_version()}, sqlalchemy {sqlalchemy.__version__}",
          file=out)

    t0 = time.perf_counter()
    projects = {}
    for n in sizes:
        project = ws.create_project(f"bench {n} items", template="web-api")
        fill(ws, project.id, n, rng)
        projects[n] = project
    run_sql(ws, args.sql, out)
    print(f"filled {sum(sizes):,} items in {time.perf_counter() - t0:.1f} s", file=out)

    timer = StatementTimer(ws.db.engine) if args.queries else None
    results: list[dict[str, Any]] = []
    per_query: dict[int, dict[str, float]] = {}
    for n in sizes:
        session = projects[n].start_session()
        for i in range(WARMUP_TURNS):
            session.answer(ANSWERS[i % len(ANSWERS)])
        if timer:
            timer.reset()
            timer.active = True
        times = []
        asked = 0
        for i in range(args.turns):
            started = time.perf_counter()
            turn = session.answer(ANSWERS[i % len(ANSWERS)])
            times.append((time.perf_counter() - started) * 1000)
            asked += turn.next_question is not None
        if timer:
            timer.active = False
            per_query[n] = {label: statistics.median(v) * 1000 for label, v in timer.times.items()}
        results.append({
            "items": n, "turns": args.turns, "turns_asking_a_question": asked,
            "median_ms": statistics.median(times), "p95_ms": percentile(times, 95),
            "mean_ms": statistics.fmean(times), "min_ms": min(times), "max_ms": max(times),
        })

    base = results[0]
    for r in results:
        r["median_ratio"] = r["median_ms"] / base["median_ms"]
        r["p95_ratio"] = r["p95_ms"] / base["p95_ms"]

    print(f"\n{'stored items':>12}  {'median ms':>9}  {'p95 ms':>8}  {'x median':>8}  {'x p95':>6}  {'asked':>5}", file=out)
    for r in results:
        print(f"{r['items']:>12,}  {r['median_ms']:>9.2f}  {r['p95_ms']:>8.2f}  "
              f"{r['median_ratio']:>8.2f}  {r['p95_ratio']:>6.2f}  {r['turns_asking_a_question']:>5}", file=out)

    report: dict[str, Any] = {
        "backend": backend, "python": platform.python_version(), "sqlalchemy": sqlalchemy.__version__,
        "socrates_nb": snb.__version__, "turns_per_size": args.turns, "extra_sql": args.sql, "results": results,
    }
    if timer:
        report.update(query_report(ws, timer, per_query, sizes[0], sizes[-1], out))
    return report


def query_report(
    ws: snb.Workspace, timer: StatementTimer, per_query: dict[int, dict[str, float]], small: int, large: int, out: Any
) -> dict[str, Any]:
    """Per-statement medians at the smallest and largest size, and the plans of the growing ones."""
    labels = sorted(per_query[large], key=lambda lb: -per_query[large][lb])
    print(f"\nper statement, median ms over the timed turns ({small:,} vs {large:,} items), slowest first:", file=out)
    print(f"{small:>9,}  {large:>9,}  statement", file=out)
    rows = []
    for label in labels:
        a, b = per_query[small].get(label, float("nan")), per_query[large][label]
        print(f"{a:>9.3f}  {b:>9.3f}  {short(label)}", file=out)
        rows.append({"statement": short(label, 400), f"ms_{small}": a, f"ms_{large}": b})
    growing = [
        lb for lb in labels
        if per_query[large][lb] > 1.5 * per_query[small].get(lb, float("inf")) and per_query[large][lb] > 0.05
    ]
    plans: dict[str, list[str]] = {}
    for label in growing:
        statement, parameters = timer.samples[label]
        plans[short(label, 400)] = plan = explain(ws, statement, parameters)
        print(f"\nplan of: {short(label)}", file=out)
        for line in plan:
            print(f"    {line}", file=out)
    if not growing:
        print("\nno statement grows more than 1.5x between the smallest and the largest size", file=out)
    return {"statements": rows, "plans": plans}


if __name__ == "__main__":
    sys.exit(main())
