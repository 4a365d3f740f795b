"""The benchmarks stay runnable: each runs end to end at a tiny size and reports its figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

POSTGRES_ENV = "SOCRATES_TEST_POSTGRES_URL"

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("script", "args", "keys"), [
    ("bench_answer_turn.py", ["--sizes", "10", "--turns", "3"], {"results"}),
    ("bench_analytics.py", ["--items", "400", "--repeat", "1"], {"b_over_c", "a_plus_b_over_c"}),
])
def test_benchmark_runs(script: str, args: list[str], keys: set[str], db_url: str) -> None:
    # on PostgreSQL a benchmark makes (and drops) its own schema in the server's database
    url = os.environ[POSTGRES_ENV] if db_url.startswith("postgresql") else db_url
    cmd = [sys.executable, str(ROOT / "benchmarks" / script), *args, "--url", url, "--json", "-"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert keys <= set(report), sorted(report)
