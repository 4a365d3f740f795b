"""Requests per second and latency of the REST API against a bare Jupyter handler, in one run.

    .venv/bin/python benchmarks/bench_http.py                 # SQLite, a temporary file
    .venv/bin/python benchmarks/bench_http.py --url postgresql://postgres@127.0.0.1:5432/test
    .venv/bin/python benchmarks/bench_http.py --json out/bench_http.json --duration 10

Starts two ``jupyter server`` processes on 127.0.0.1 over one database: one with the
read cache on (the default) and one with it off (``SOCRATES_CACHE_TTL=0``). Both also load
``bare_extension`` (a bare ``APIHandler`` answering ``{}``), the baseline. A user is
registered over HTTP and given ``--rows`` projects (bulk insert); wrk then drives, at each
concurrency, for ``--duration`` seconds after a warm-up:

* ``bare``: ``GET /bench/bare`` on the cached server;
* ``projects_uncached``: ``GET projects`` (20 of the rows) on the uncached server;
* ``projects_cached``: the same on the cached server;
* ``answers``: ``POST sessions/{id}/answers`` on the cached server.

Every request carries the bearer token. The report gives requests/s, p50 and p99 in ms,
and each row's requests/s over the bare handler's at the same concurrency. Needs ``wrk``
(Debian package ``wrk``; ``make bench`` installs it).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bare_extension import BARE_PATH  # noqa: E402
from bench_answer_turn import ANSWERS, run_on_fresh_workspace  # noqa: E402

import socrates_nb as snb  # noqa: E402
from socrates_nb.services.projects import recount_projects  # noqa: E402
from socrates_nb.storage import models  # noqa: E402
from socrates_nb.storage.models import utcnow  # noqa: E402

PASSWORD = "bench password 1234"
API = "/socrates/api/v1"
SCENARIOS = ("bare", "projects_uncached", "projects_cached", "answers")
LOGGING_ROUNDS = 4
"""What logging costs: ``POST answers`` on two fresh servers alike but for the log file (one logging at
INFO, one with the file off and the console at WARNING), alternating in this many rounds on fresh
sessions, so drift and the sessions' growth hit both alike; ``logging_ratio`` is logged over unlogged req/s."""


def call(url: str, method: str = "GET", body: Any = None, token: str | None = None) -> Any:
    """One JSON request; raises on a non-2xx answer."""
    request = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (local server)
        raw = response.read()
        return json.loads(raw) if raw else None


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def jupyter_server(url: str, workdir: Path, env_extra: dict[str, str]) -> Iterator[str]:
    """A ``jupyter server`` with socrates_nb and the bare handler; yields its root URL."""
    port = free_port()
    config_dir = workdir / f"config-{port}"
    config_dir.mkdir()
    (config_dir / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {"jpserver_extensions": {
        "socrates_nb": True, "bare_extension": True, "jupyter_server_terminals": False}}}))
    bench_dir = str(Path(__file__).resolve().parent)
    env = {**os.environ, "SOCRATES_LOG_FILE": str(workdir / f"socrates-{port}.log"), **env_extra,
           "SOCRATES_DATABASE_URL": url, "SOCRATES_DATA_DIR": str(workdir),
           "JUPYTER_CONFIG_DIR": str(config_dir),
           "PYTHONPATH": os.pathsep.join(filter(None, [bench_dir, os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "jupyter", "server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--ServerApp.root_dir={workdir}", f"--IdentityProvider.token={secrets.token_hex(16)}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log_path = workdir / f"server-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        root = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
                try:
                    call(f"{root}{API}/health")
                    call(f"{root}{BARE_PATH}")
                    break
                except (OSError, urllib.error.HTTPError):
                    time.sleep(0.3)
            yield root
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def add_projects(ws: snb.Workspace, user_id: uuid.UUID, rows: int) -> None:
    """``rows`` projects of one user, inserted in bulk, newest first one second apart."""
    now = utcnow()
    batch: list[dict[str, Any]] = []
    with ws.db.engine.begin() as conn:  # a benchmark fills the table directly
        for i in range(rows):
            at = now - timedelta(seconds=rows - i)
            batch.append({"id": uuid.uuid4(), "user_id": user_id, "name": f"Bulk project {i:06d}",
                          "description": "Filler for the HTTP benchmark", "template": "web-api",
                          "status": "active" if i % 5 else "archived", "version": 1,
                          "created_at": at, "updated_at": at})
            if len(batch) == 5_000:
                conn.execute(insert(models.Project), batch)
                batch.clear()
        if batch:
            conn.execute(insert(models.Project), batch)
    recount_projects(ws.db)


WRK_LINE = re.compile(r"^\s*(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.M)
UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, token: str, concurrency: int, duration: int, workdir: Path, body: str | None = None) -> dict[str, Any]:
    """Drive ``url`` with wrk; returns requests/s, p50 and p99 (ms) and the count of bad answers."""
    script = workdir / "wrk.lua"
    lines = [f'wrk.headers["Authorization"] = "Bearer {token}"', 'wrk.headers["Content-Type"] = "application/json"']
    if body is not None:
        # rotate the answers so turns stay realistic (measured values, vague statements)
        bodies = ", ".join(json.dumps(json.dumps({"text": text})) for text in json.loads(body))
        lines += ['wrk.method = "POST"', f"local bodies = {{{bodies}}}", "local n = 0",
                  "request = function() n = n + 1; return wrk.format(nil, nil, nil, bodies[n % #bodies + 1]) end"]
    script.write_text("\n".join(lines) + "\n")
    cmd = ["wrk", "-t1", f"-c{concurrency}", f"-d{duration}s", "--latency", "-s", str(script), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    latency = {f"p{pct}_ms": round(float(value) * UNIT_MS[unit], 3) for pct, value, unit in WRK_LINE.findall(out)}
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"rps": round(rps, 1), **latency, "non_2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": errors.group(0) if errors else None}


def failures(workdir: Path) -> list[str]:
    """The servers' log lines of requests that did not succeed."""
    return [line for log in sorted(workdir.glob("socrates-*.log"))
            for line in log.read_text(errors="replace").splitlines(keepends=True)
            if '"event": "request"' in line and '"status": 2' not in line]


def logging_cost(
    logged: str, unlogged: str, project_id: str, token: str, concurrency: int, args: argparse.Namespace, workdir: Path
) -> float:
    """Requests answered by the logging server over the quiet one, in ``--logging-rounds`` alternating
    rounds (in the order AB, BA, AB, ...), each on a fresh session."""
    served = {logged: 0.0, unlogged: 0.0}
    seconds = max(1, args.duration // 2)
    for round_ in range(args.logging_rounds):
        for server in (logged, unlogged) if round_ % 2 == 0 else (unlogged, logged):
            session = call(f"{logged}{API}/projects/{project_id}/sessions", "POST", {}, token)["session"]
            row = wrk(f"{server}{API}/sessions/{session['id']}/answers", token, concurrency, seconds, workdir,
                      json.dumps(list(ANSWERS)))
            served[server] += row["rps"]
    return round(served[logged] / served[unlogged], 3)


def run(ws: snb.Workspace, args: argparse.Namespace, out: Any) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("bench_http needs wrk: apt-get install wrk (make bench installs it)")
    url = ws.db.url.render_as_string(hide_password=False)
    with tempfile.TemporaryDirectory(prefix="socrates-bench-http-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        env = {"SOCRATES_ACCESS_TTL": "7200"}
        cached = stack.enter_context(jupyter_server(url, workdir, env))
        uncached = stack.enter_context(jupyter_server(url, workdir, {**env, "SOCRATES_CACHE_TTL": "0"}))
        # two fresh servers alike but for the log file, for the cost of logging (logging_cost)
        logged = stack.enter_context(jupyter_server(url, workdir, env))
        unlogged = stack.enter_context(jupyter_server(url, workdir, {**env, "SOCRATES_LOG_FILE": "off"}))
        username = f"http_{uuid.uuid4().hex[:8]}"
        call(f"{cached}{API}/auth/register", "POST", {"username": username, "password": PASSWORD})
        token = call(f"{cached}{API}/auth/login", "POST", {"username": username, "password": PASSWORD})["access_token"]
        user_id = uuid.UUID(call(f"{cached}{API}/auth/me", token=token)["user"]["id"])
        project = call(f"{cached}{API}/projects", "POST", {"name": "Answers", "template": "web-api"}, token)["project"]
        session = call(f"{cached}{API}/projects/{project['id']}/sessions", "POST", {}, token)["session"]
        add_projects(ws, user_id, args.rows)
        page = call(f"{uncached}{API}/projects?limit=20", token=token)
        assert page["total"] == args.rows + 1 and len(page["items"]) == 20, page["total"]

        targets = {
            "bare": (f"{cached}{BARE_PATH}", None),
            "projects_uncached": (f"{uncached}{API}/projects?limit=20", None),
            "projects_cached": (f"{cached}{API}/projects?limit=20", None),
            "answers": (f"{cached}{API}/sessions/{session['id']}/answers", json.dumps(list(ANSWERS))),
        }
        results: dict[str, dict[str, Any]] = {}
        for concurrency in args.concurrency:
            for name in SCENARIOS:
                target, body = targets[name]
                wrk(target, token, concurrency, min(2, args.duration), workdir, body)  # warm-up
                row = wrk(target, token, concurrency, args.duration, workdir, body)
                if row["non_2xx"]:
                    raise SystemExit(f"{name} at c={concurrency}: {row['non_2xx']} answers were not 2xx:\n"
                                     + "".join(failures(workdir)[-5:]))
                results[f"{name}@c{concurrency}"] = {"scenario": name, "concurrency": concurrency, **row}
        for row in results.values():
            row["ratio_to_bare"] = round(row["rps"] / results[f"bare@c{row['concurrency']}"]["rps"], 3)
        logging_ratio = {c: logging_cost(logged, unlogged, project["id"], token, c, args, workdir) for c in args.concurrency}

    print(f"{'scenario':<20}{'c':>4}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'x bare':>8}", file=out)
    for row in results.values():
        print(f"{row['scenario']:<20}{row['concurrency']:>4}{row['rps']:>10.1f}{row.get('p50_ms', 0):>9.2f}"
              f"{row.get('p99_ms', 0):>9.2f}{row['ratio_to_bare']:>8.3f}", file=out)
    print(f"POST answers, logging at INFO over logging off (req/s): {logging_ratio}", file=out)
    return {"rows": args.rows, "duration_s": args.duration, "results": list(results.values()),
            "logging_ratio": logging_ratio}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="REST API throughput against a bare Jupyter handler.")
    parser.add_argument("--url", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--rows", type=int, default=100_000, help="projects of the benchmark user")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measurement")
    parser.add_argument("--concurrency", type=lambda s: [int(c) for c in s.split(",")], default=[1, 16],
                        help="comma-separated connection counts (default 1,16)")
    parser.add_argument("--logging-rounds", type=int, default=LOGGING_ROUNDS,
                        help=f"alternating rounds measuring the cost of logging (default {LOGGING_ROUNDS})")
    parser.add_argument("--json", help="also write the report as JSON (- for stdout)")
    args = parser.parse_args(argv)
    out = sys.stderr if args.json == "-" else sys.stdout
    return run_on_fresh_workspace(args, run, out)


if __name__ == "__main__":
    raise SystemExit(main())
