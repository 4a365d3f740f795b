"""Worker functions for tests/test_concurrency.py, run in real processes (multiprocessing "spawn").

Each worker opens its own workspace with ``snb.connect`` (its own engine and
connections), waits at a barrier shared with the other workers so they really start
at the same moment, does its job, and writes a JSON report to ``report`` (a file
path). Every exception a worker meets is recorded in the report instead of being
raised, so the parent can assert that none reached the caller.

This module is imported by name in the child processes, so it must stay importable
without side effects (no test code runs at import time).
"""

from __future__ import annotations

import json
import os
import signal
import time
import traceback
from pathlib import Path
from typing import Any

BARRIER_TIMEOUT = 60.0


def _error(exc: BaseException, where: str) -> dict[str, Any]:
    return {
        "where": where,
        "type": f"{type(exc).__module__}.{type(exc).__name__}",
        "message": str(exc)[:500],
        "traceback": traceback.format_exc()[-2000:],
    }


def _write(report: str, data: dict[str, Any]) -> None:
    tmp = Path(report + ".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(report)  # atomic: the parent never reads half a report


def answer_text(worker: int, i: int) -> str:
    """A unique one-statement answer with no number-plus-unit in it: exactly one item (or one criterion)."""
    return f"Worker {worker} states requirement number {i}: the system shall keep record w{worker}r{i}."


def answer_loop(url: str, user: str, session_id: str, worker: int, count: int, barrier: Any, report: str) -> None:
    """Answer ``count`` times (without question_id) on ``session_id``; report stored seqs and errors."""
    out: dict[str, Any] = {"worker": worker, "pid": os.getpid(), "stored": [], "errors": []}
    try:
        import socrates_nb as snb

        ws = snb.connect(url, user=user)
        session = ws.session(session_id)
    except BaseException as exc:  # noqa: BLE001 - everything goes to the parent
        out["errors"].append(_error(exc, "connect"))
        barrier.abort()
        _write(report, out)
        return
    barrier.wait(BARRIER_TIMEOUT)
    started = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process on the machine
    for i in range(count):
        try:
            turn = session.answer(answer_text(worker, i))
            out["stored"].append({"i": i, "answer_id": str(turn.answer_id), "seq": turn.seq,
                                  "items": len(turn.items), "criteria": len(turn.criteria)})
        except BaseException as exc:  # noqa: BLE001
            out["errors"].append(_error(exc, f"answer {i}"))
    out["window"] = [started, time.monotonic()]  # the parent checks that the workers' answering overlapped
    out["seconds"] = out["window"][1] - started
    ws.close()
    _write(report, out)


def answer_race(url: str, user: str, session_id: str, worker: int, rounds: int, free: int, barrier: Any, report: str) -> None:
    """Answer the same session as another worker, always passing the question_id this worker saw.

    ``rounds`` lock-step rounds: both workers read the pending question, meet at the
    barrier, then both answer it, so exactly one of the two must be refused. Then
    ``free`` attempts without lock-step (read, answer, as fast as possible).
    Each attempt is recorded as stored (answer id, seq, question id) or refused
    (ConflictError); anything else is an error.
    """
    out: dict[str, Any] = {"worker": worker, "stored": [], "refused": [], "errors": [], "attempted": 0, "no_question": 0}
    try:
        import socrates_nb as snb

        ws = snb.connect(url, user=user)
        session = ws.session(session_id)
    except BaseException as exc:  # noqa: BLE001
        out["errors"].append(_error(exc, "connect"))
        barrier.abort()
        _write(report, out)
        return

    def attempt(label: str, question: Any) -> None:
        out["attempted"] += 1
        try:
            turn = session.answer(answer_text(worker, out["attempted"]), question_id=question.id)
        except snb.ConflictError as exc:
            out["refused"].append({"attempt": label, "question_id": str(question.id), "message": str(exc)})
        except BaseException as exc:  # noqa: BLE001
            out["errors"].append(_error(exc, label))
        else:
            out["stored"].append(
                {"attempt": label, "answer_id": str(turn.answer_id), "seq": turn.seq, "question_id": str(question.id)}
            )

    for r in range(rounds):
        try:
            barrier.wait(BARRIER_TIMEOUT)  # the previous round's answers are all done
            question = session.next_question()
            barrier.wait(BARRIER_TIMEOUT)  # both have read the same pending question
        except BaseException as exc:  # noqa: BLE001
            out["errors"].append(_error(exc, f"round {r}"))
            break
        if question is None:
            out["no_question"] += 1
            continue
        attempt(f"round {r}", question)
    for k in range(free):
        try:
            question = session.next_question()
        except BaseException as exc:  # noqa: BLE001
            out["errors"].append(_error(exc, f"free {k} read"))
            continue
        if question is None:
            out["no_question"] += 1
            continue
        attempt(f"free {k}", question)
    ws.close()
    _write(report, out)


def killed_mid_answer(url: str, user: str, session_id: str, hook: str, report: str) -> None:
    """Answer once, but SIGKILL this process from inside the answer's transaction.

    ``hook`` is the ORM event that kills: ``before_commit`` (everything flushed, COMMIT
    not sent) or ``after_flush`` (after the first flush of the turn). The report is
    written only if the process survives, which is itself a failure.
    """
    import sqlalchemy
    import sqlalchemy.orm

    import socrates_nb as snb

    ws = snb.connect(url, user=user)
    session = ws.session(session_id)
    Path(report + ".ready").write_text("ready")
    sqlalchemy.event.listen(sqlalchemy.orm.Session, hook, lambda *a: os.kill(os.getpid(), signal.SIGKILL))
    try:
        session.answer("The system shall never be half stored. Killed before the commit.")
    except BaseException as exc:  # noqa: BLE001
        _write(report, {"survived": True, "error": _error(exc, "answer")})
        return
    _write(report, {"survived": True})


def first_start(urls: list[str], user: str, worker: int, barrier: Any, report: str) -> None:
    """For each URL in turn: meet the other workers at the barrier, then ``snb.connect`` it at once."""
    out: dict[str, Any] = {"worker": worker, "ok": [], "errors": []}
    import socrates_nb as snb

    for url in urls:
        try:
            barrier.wait(BARRIER_TIMEOUT)
            ws = snb.connect(url, user=user)
            ws.create_project(f"started by worker {worker}")
            out["ok"].append({"url": url, "user_id": str(ws.user.id)})
            ws.close()
        except BaseException as exc:  # noqa: BLE001
            out["errors"].append(_error(exc, url))
    _write(report, out)


def run_at_once(target: Any, args: tuple[Any, ...], workers: int, reports_dir: Path) -> list[dict[str, Any]]:
    """Run ``target(*args, barrier, report)`` in ``workers`` spawned processes sharing one barrier; their reports."""
    import multiprocessing

    spawn = multiprocessing.get_context("spawn")
    barrier = spawn.Barrier(workers)
    reports = [reports_dir / f"{target.__name__}-{w}.json" for w in range(workers)]
    procs = [spawn.Process(target=target, args=(*args, barrier, str(r))) for r in reports]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [p.exitcode for p in procs] == [0] * workers, [p.exitcode for p in procs]
    return [json.loads(r.read_text()) for r in reports]
