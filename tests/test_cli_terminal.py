"""`socrates session run` in a real terminal (a pseudo-terminal): answers typed, Ctrl-D saves and exits."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import socrates_nb as snb


def _read_until(fd: int, needle: bytes, timeout: float = 20.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out waiting for {needle!r}; got {seen.decode(errors='replace')}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_typed_answers_then_ctrl_d(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'term.db'}"
    with snb.connect(url, user="alice") as ws:
        ws.create_project("Parcels")
    exe = Path(sys.executable).parent / "socrates"
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [exe, "--db", url, "--user", "alice", "session", "run", "Parcels"],
        stdin=secondary, stdout=secondary, stderr=secondary, close_fds=True,
        env={**os.environ, "TERM": "dumb"},
    )
    os.close(secondary)
    try:
        assert b"Q1 [goals]" in _read_until(primary, b"\n> ")
        os.write(primary, b"Couriers lose 1 hour a day finding parcels.\n")
        out = _read_until(primary, b"\n> ")
        assert b"GOAL-001" in out and b"Q2 [" in out
        os.write(primary, b"\x04")  # Ctrl-D at an empty prompt: end of input
        assert b"Saved." in _read_until(primary, b"Saved.")
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
        os.close(primary)
    with snb.connect(url, user="alice") as ws:
        [session] = ws.project("Parcels").sessions()
        assert session.status == "active" and session.answer_count == 1
        assert [i.ref for i in ws.project("Parcels").specification().items] == ["GOAL-001"]
