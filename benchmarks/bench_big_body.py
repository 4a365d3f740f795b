"""Peak memory of a ``jupyter server`` process sent one over-limit request body.

    .venv/bin/python benchmarks/bench_big_body.py                     # 300 MB with Content-Length
    .venv/bin/python benchmarks/bench_big_body.py --chunked           # the same, chunked (no Content-Length)
    .venv/bin/python benchmarks/bench_big_body.py --mb 100 --path projects

Starts a ``jupyter server`` on 127.0.0.1 with socrates_nb on a SQLite file in a temporary
folder, reads the server's ``VmHWM`` (peak resident memory) and ``VmRSS`` from
``/proc/<pid>/status``, then sends ``POST socrates/api/v1/<path>`` with a body of ``--mb``
MB from a raw socket on loopback: as fast as the server takes it, stopping when the server
closes the connection. It prints how much the client could send (what the server read, plus
what the sockets' buffers held), the answer's status line, the seconds until it came, and
``VmHWM`` before and after. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

MB = 1_000_000
PIECE = 1 << 20


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory_kb(pid: int) -> dict[str, int]:
    """``VmHWM`` and ``VmRSS`` of a process, in kB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            fields[name] = int(value.split()[0])
    return fields


@contextmanager
def jupyter_server(root: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A ``jupyter server`` with socrates_nb on a SQLite file in ``root``, answering on ``port``."""
    env = {**os.environ, "SOCRATES_DATA_DIR": str(root / "data"), "SOCRATES_DATABASE_URL": f"sqlite:///{root / 'db.sqlite'}",
           "JUPYTER_CONFIG_DIR": str(root / "config"), "JUPYTER_DATA_DIR": str(root / "jupyter_data"),
           "JUPYTER_RUNTIME_DIR": str(root / "runtime"), "SOCRATES_LOG_FILE": "off"}
    cmd = [sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={secrets.token_hex(16)}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    with (root / "server.log").open("wb") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise SystemExit((root / "server.log").read_text(errors="replace")[-3000:])
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/socrates/api/v1/health", timeout=10):  # noqa: S310
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the server did not start") from None
                    time.sleep(0.3)
            yield proc
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def send_body(port: int, path: str, size: int, chunked: bool) -> tuple[int, str, float]:
    """Send ``size`` bytes as a request body; returns (bytes the server took, status line, seconds)."""
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    head = (f"POST /socrates/api/v1/{path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\n{framing}\r\n\r\n").encode()
    piece = b" " * PIECE
    sent = 0
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(head)
        try:
            while sent < size:
                data = piece[: min(PIECE, size - sent)]
                sock.sendall(b"%x\r\n%s\r\n" % (len(data), data) if chunked else data)
                sent += len(data)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: the rest was never read
        try:
            answer = sock.recv(4096)
        except ConnectionResetError:
            answer = b""
    status = answer.split(b"\r\n", 1)[0].decode(errors="replace") or "(connection closed, no answer)"
    return sent, status, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=300, help="body size in MB (default 300)")
    parser.add_argument("--path", default="auth/login", help="the route, under socrates/api/v1/ (default auth/login)")
    parser.add_argument("--chunked", action="store_true", help="send the body chunked, without Content-Length")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        with jupyter_server(Path(tmp), port) as proc:
            before = memory_kb(proc.pid)
            sent, status, seconds = send_body(port, args.path, args.mb * MB, args.chunked)
            time.sleep(0.5)
            after = memory_kb(proc.pid)
    framing = "chunked" if args.chunked else "Content-Length"
    print(f"body: {args.mb} MB ({framing}) to POST {args.path}")
    print(f"client sent:  {sent / MB:.1f} MB in {seconds:.2f} s before the answer: {status}")
    print(f"VmHWM before: {before['VmHWM'] / 1024:.1f} MiB (VmRSS {before['VmRSS'] / 1024:.1f} MiB)")
    print(f"VmHWM after:  {after['VmHWM'] / 1024:.1f} MiB (VmRSS {after['VmRSS'] / 1024:.1f} MiB)")
    print(f"peak growth:  {(after['VmHWM'] - before['VmHWM']) / 1024:.1f} MiB")


if __name__ == "__main__":
    main()
