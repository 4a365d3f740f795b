"""The benchmarks stay runnable: each runs end to end at a tiny size and reports its figures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

POSTGRES_ENV = "SOCRATES_TEST_POSTGRES_URL"

ROOT = Path(__file__).resolve().parent.parent


def run_benchmark(script: str, args: list[str], db_url: str) -> dict[str, Any]:
    """Run a benchmark on the test's backend and return its JSON report."""
    # on PostgreSQL a benchmark makes (and drops) its own schema in the server's database
    url = os.environ[POSTGRES_ENV] if db_url.startswith("postgresql") else db_url
    cmd = [sys.executable, str(ROOT / "benchmarks" / script), *args, "--url", url, "--json", "-"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@pytest.mark.parametrize(("script", "args", "keys"), [
    ("bench_answer_turn.py", ["--sizes", "10", "--turns", "3"], {"results"}),
    ("bench_analytics.py", ["--items", "400", "--repeat", "1"], {"b_over_c", "a_plus_b_over_c"}),
    ("bench_login_timing.py", ["--attempts", "2", "--warmup", "0"], {"unknown_user", "wrong_password", "median_ratio"}),
    ("bench_llm_turn.py", ["--turns", "2"], {"results", "llm_overhead_ms", "cached_overhead_ms"}),
])
def test_benchmark_runs(script: str, args: list[str], keys: set[str], db_url: str) -> None:
    report = run_benchmark(script, args, db_url)
    assert keys <= set(report), sorted(report)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # a smoke run of the script (PostgreSQL figures: benchmarks/README.md)
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make test installs Debian's wrk)")
def test_http_benchmark_runs(db_url: str) -> None:
    args = ["--rows", "300", "--duration", "1", "--concurrency", "1,4", "--logging-rounds", "1"]
    report = run_benchmark("bench_http.py", args, db_url)
    rows = {(r["scenario"], r["concurrency"]): r for r in report["results"]}
    assert set(rows) == {(s, c) for s in ("bare", "projects_uncached", "projects_cached", "answers") for c in (1, 4)}
    assert set(report["logging_ratio"]) == {"1", "4"} and all(r > 0 for r in report["logging_ratio"].values())
    for row in rows.values():
        assert row["rps"] > 0 and 0 < row["p50_ms"] <= row["p99_ms"] and row["non_2xx"] == 0, row
        assert row["ratio_to_bare"] == round(row["rps"] / rows[("bare", row["concurrency"])]["rps"], 3)
