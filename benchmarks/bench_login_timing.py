"""Compare the time of a failed login for an unknown user and for a wrong password (ASVS 6.3.8).

    .venv/bin/python benchmarks/bench_login_timing.py                  # SQLite, a temporary file
    .venv/bin/python benchmarks/bench_login_timing.py --url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python benchmarks/bench_login_timing.py --attempts 40 --json out/bench_login.json

``AuthService.login`` at the default scrypt cost, alternating an unknown username and a known
one with a wrong password (so drift hits both alike), each from its own client address so no
rate limit is reached. Reports the median and p90 of each in milliseconds and the ratio of the
medians (1.0 means the two cannot be told apart by their median time). The tests check the
deterministic part (both do exactly one scrypt derivation and answer alike:
``tests/test_rate_limit.py``); this measures what an attacker with a stopwatch would see.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import socrates_nb as snb
from socrates_nb.errors import UnauthorizedError
from socrates_nb.security.settings import AuthSettings
from socrates_nb.services.auth import AuthService

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_answer_turn import run_on_fresh_workspace  # noqa: E402

PASSWORD = "a long and correct passphrase"
WRONG = "a long but wrong passphrase"


def _timed_failure(auth: AuthService, username: str, client: str) -> float:
    start = time.perf_counter()
    try:
        auth.login(username, WRONG, client=client)
    except UnauthorizedError:
        return (time.perf_counter() - start) * 1000
    raise AssertionError("the login should have failed")


def run(ws: snb.Workspace, args: argparse.Namespace, out: Any) -> dict[str, Any]:
    settings = AuthSettings(login_max_failures=100_000)  # measure the check, not the limiter's refusal
    auth = AuthService(ws.db, settings)
    auth.register("known_user", PASSWORD)
    times: dict[str, list[float]] = {"unknown_user": [], "wrong_password": []}
    for i in range(args.warmup + args.attempts):
        client = f"198.51.100.{i % 250}"
        unknown = _timed_failure(auth, f"nobody_{i}", client)
        wrong = _timed_failure(auth, "known_user", client)
        if i >= args.warmup:
            times["unknown_user"].append(unknown)
            times["wrong_password"].append(wrong)
    report: dict[str, Any] = {"attempts": args.attempts, "scrypt_n": settings.scrypt_n, "backend": ws.db.dialect}
    for name, values in times.items():
        report[name] = {"median_ms": round(statistics.median(values), 2),
                        "p90_ms": round(statistics.quantiles(values, n=10)[-1], 2)}
    report["median_ratio"] = round(report["unknown_user"]["median_ms"] / report["wrong_password"]["median_ms"], 3)
    print(f"{'case':16} {'median ms':>10} {'p90 ms':>8}", file=out)
    for name in times:
        print(f"{name:16} {report[name]['median_ms']:>10} {report[name]['p90_ms']:>8}", file=out)
    print(f"unknown / wrong median ratio: {report['median_ratio']}", file=out)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Failed-login timing: unknown user vs wrong password.")
    parser.add_argument("--url", help="database URL (default: a new SQLite file in a temporary folder)")
    parser.add_argument("--attempts", type=int, default=30, help="timed attempts of each kind (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed attempts first (default 3)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON to PATH ('-' for stdout)")
    args = parser.parse_args(argv)
    return run_on_fresh_workspace(args, run, sys.stderr if args.json == "-" else sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
