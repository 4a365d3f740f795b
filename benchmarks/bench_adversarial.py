"""The worst case of lint, classification and a whole offline answer turn over adversarial texts.

    .venv/bin/python benchmarks/bench_adversarial.py                  # 20,000 characters, SQLite
    .venv/bin/python benchmarks/bench_adversarial.py --size 5000 --json -
    .venv/bin/python benchmarks/bench_adversarial.py --url postgresql://postgres@127.0.0.1:5432/test

Each text of ``tests/adversarial.py`` (repeated digits, separators, units, "if", commas,
brackets, mixed scripts, ...) goes through ``snb.lint``, ``snb.classify`` and
``Session.answer`` (the service layer: validation, extraction with no transaction open,
one write transaction); a turn refused by the 50-statement limit counts with the time its
refusal took. Each step is timed with ``time.perf_counter`` (best of ``--repeat``) and cut
off after ``--timeout`` seconds (SIGALRM: the regex engine checks for signals), so the
report also works on a version whose rules are super-linear.

Also measured: the rows one answer of 700 statements "Pages must load in {100+i} ms."
creates, and those of 50 such statements (the most one answer may hold), twice.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import socrates_nb as snb  # noqa: E402
from adversarial import corpus  # noqa: E402
from socrates_nb.errors import SocratesError  # noqa: E402
from socrates_nb.storage import models  # noqa: E402


class _Timeout(Exception):
    pass


def _alarm(*_: object) -> None:
    raise _Timeout


def timed(call: Callable[[], object], repeat: int, timeout: float) -> float | None:
    """Best wall time in ms of ``repeat`` calls; None when one takes over ``timeout`` s.
    A refusal (a SocratesError) is a result too: its time counts."""
    best = float("inf")
    for _ in range(repeat):
        signal.setitimer(signal.ITIMER_REAL, timeout)
        start = time.perf_counter()
        try:
            call()
        except _Timeout:
            return None
        except SocratesError:
            pass
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        best = min(best, (time.perf_counter() - start) * 1000)
    return best


def rows_of(url: str, project_id: uuid.UUID) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                name: conn.scalar(select(func.count()).select_from(table).where(table.c.project_id == project_id)) or 0
                for name, table in (("spec_items", models.SpecItem.__table__), ("conflicts", models.Conflict.__table__))
            }
    finally:
        engine.dispose()


def statements(n: int) -> str:
    return " ".join(f"Pages must load in {100 + i} ms." for i in range(n))


def flood_turn(url: str, project: Any, n: int) -> dict[str, Any]:
    """One answer of ``n`` contradicting statements in a new session of ``project``: time, outcome, rows."""
    session = project.start_session()
    start = time.perf_counter()
    try:
        turn = session.answer(statements(n))
        outcome = f"stored, {len(turn.items)} items, {len(turn.conflicts)} conflicts"
        outcome += f", {getattr(turn, 'conflicts_omitted', 0)} omitted"
    except SocratesError as exc:
        outcome = f"refused: {exc}"
    return {"turn_ms": round((time.perf_counter() - start) * 1000, 1), "outcome": outcome,
            "rows": rows_of(url, project.id)}


def run(url: str, size: int, repeat: int, timeout: float) -> dict[str, Any]:
    signal.signal(signal.SIGALRM, _alarm)
    ws = snb.connect(url, user="bench")
    project = ws.create_project(f"Adversarial {uuid.uuid4().hex[:8]}", template="web-app")
    results = []
    for name, case in corpus(size).items():
        row: dict[str, Any] = {"case": name}
        row["lint_ms"] = timed(lambda: snb.lint(case), repeat, timeout) if case.strip() else 0.0
        row["classify_ms"] = timed(lambda: snb.classify(case), repeat, timeout) if case.strip() else 0.0
        session = project.start_session()  # a fresh session each time: the turn meets a pending question
        row["turn_ms"] = timed(lambda: session.answer(case), 1, timeout)
        results.append(row)

    flood_700 = ws.create_project(f"Flood 700 {uuid.uuid4().hex[:8]}", template="web-app")
    flood_50 = ws.create_project(f"Flood 50 {uuid.uuid4().hex[:8]}", template="web-app")
    flood = {"700": flood_turn(url, flood_700, 700), "50": flood_turn(url, flood_50, 50),
             "50 again": flood_turn(url, flood_50, 50)}
    ws.close()

    def worst(key: str) -> dict[str, Any]:
        timed_out = [r["case"] for r in results if r[key] is None]
        top = max((r for r in results if r[key] is not None), key=lambda r: r[key])
        return {"case": top["case"], "ms": round(top[key], 1), "timed_out": timed_out}

    return {
        "size": size,
        "results": results,
        "worst": {key: worst(key) for key in ("lint_ms", "classify_ms", "turn_ms")},
        "flood": flood,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000, help="characters per text (default 20,000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of lint and classify per text")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a step is cut off")
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--json", help="write the report as JSON to this file ('-' for stdout)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        if url.startswith("postgresql"):
            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(url)
            with admin.begin() as conn:
                conn.execute(text(f"CREATE SCHEMA {schema}"))
            sep = "&" if "?" in url else "?"
            try:
                report = run(f"{url}{sep}options=-csearch_path%3D{schema}", args.size, args.repeat, args.timeout)
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
                admin.dispose()
        else:
            report = run(url, args.size, args.repeat, args.timeout)
    if args.json == "-":
        print(json.dumps(report, indent=2))
        return 0
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    print(f"{'case':18} {'lint ms':>9} {'classify ms':>12} {'turn ms':>9}")
    for r in report["results"]:
        cells = [f"{r[k]:.1f}" if r[k] is not None else f">{args.timeout:g}s" for k in ("lint_ms", "classify_ms", "turn_ms")]
        print(f"{r['case']:18} {cells[0]:>9} {cells[1]:>12} {cells[2]:>9}")
    for key, w in report["worst"].items():
        late = f"; cut off after {args.timeout:g} s: {', '.join(w['timed_out'])}" if w["timed_out"] else ""
        print(f"worst {key}: {w['ms']} ({w['case']}){late}")
    for n, f in report["flood"].items():
        print(f"answer of {n} statements: {f['turn_ms']} ms, {f['outcome']}; rows {f['rows']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
