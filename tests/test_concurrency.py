"""Concurrency and crash safety with real processes (multiprocessing "spawn", never threads).

* several processes answering on one database file: nothing lost, duplicated or locked;
* two processes answering the same question: one stored, the other refused cleanly;
* a process SIGKILLed inside the answer transaction leaves no trace of the turn;
* processes starting at once on a new database all get the migrated schema.

Every test runs on SQLite and, when SOCRATES_TEST_POSTGRES_URL is set, on PostgreSQL
(through the ``db_url`` fixture). The workers live in tests/_workers.py.
"""

from __future__ import annotations

import json
import multiprocessing
import signal
import sqlite3
import sys
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest
from sqlalchemy import Engine, create_engine, func, select, text

import socrates_nb as snb
from socrates_nb.config import normalize_database_url
from socrates_nb.storage import models
from socrates_nb.storage.migrate import head_revision
from socrates_nb.workspace import Workspace

sys.path.insert(0, str(Path(__file__).parent))
import _workers  # noqa: E402  (the child processes import it by this name)

SPAWN = multiprocessing.get_context("spawn")
WORKER_TIMEOUT = 120.0


# --- helpers -----------------------------------------------------------------------------


def run_workers(target: Callable[..., None], argsets: list[tuple[Any, ...]], tmp_path: Path) -> list[dict[str, Any]]:
    """Run ``target(*args, report)`` in one spawned process per argset; return their reports."""
    reports = [str(tmp_path / f"report-{target.__name__}-{i}.json") for i in range(len(argsets))]
    procs = [SPAWN.Process(target=target, args=(*args, report)) for args, report in zip(argsets, reports)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(WORKER_TIMEOUT)
    hung = [p.pid for p in procs if p.is_alive()]
    for proc in procs:
        if proc.is_alive():
            proc.kill()
            proc.join()
    assert not hung, f"workers {hung} did not finish within {WORKER_TIMEOUT} s"
    assert [p.exitcode for p in procs] == [0] * len(procs), "a worker process died"
    return [json.loads(Path(r).read_text()) for r in reports]


def explain_errors(reports: list[dict[str, Any]]) -> str:
    lines = []
    for rep in reports:
        for err in rep["errors"][:3]:
            lines.append(f"worker {rep['worker']} at {err['where']}: {err['type']}: {err['message']}")
    first = next((e for rep in reports for e in rep["errors"]), None)
    if first is not None:
        lines.append(f"first traceback:\n{first['traceback']}")
    total = sum(len(rep["errors"]) for rep in reports)
    return f"{total} errors in the workers:\n" + "\n".join(lines)


def engine_for(url: str) -> Engine:
    """A plain engine on the test database, for checking what is really stored."""
    return create_engine(normalize_database_url(url))


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def sqlite_checks(url: str) -> None:
    """``PRAGMA integrity_check`` is ok and no foreign key is dangling."""
    path = normalize_database_url(url).database
    assert path
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        con.close()


def session_answers(engine: Engine, session_id: uuid.UUID) -> list[tuple[uuid.UUID, int, uuid.UUID | None]]:
    """(id, seq, question_id) of a session's answers, by seq."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(models.Answer.id, models.Answer.seq, models.Answer.question_id)
            .where(models.Answer.session_id == session_id)
            .order_by(models.Answer.seq)
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def table_counts(engine: Engine, project_id: uuid.UUID) -> dict[str, int]:
    """Rows per table belonging to one project."""
    sessions = select(models.Session.id).where(models.Session.project_id == project_id)
    with engine.connect() as conn:
        return {
            "answers": conn.scalar(select(func.count()).where(models.Answer.session_id.in_(sessions))),
            "questions": conn.scalar(select(func.count()).where(models.Question.project_id == project_id)),
            "spec_items": conn.scalar(select(func.count()).where(models.SpecItem.project_id == project_id)),
            "conflicts": conn.scalar(select(func.count()).where(models.Conflict.project_id == project_id)),
        }


# --- a. many processes, many answers -----------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("shared", [True, False], ids=["one-shared-session", "a-session-each"])
def test_four_processes_answer_on_one_database(ws: Workspace, db_url: str, tmp_path: Path, shared: bool) -> None:
    """4 processes x 50 answers, all four answering at the same time: all stored, seq 1..N per session, no error.

    50 answers a worker keep the four answering together for seconds (checked below from their
    time windows), so every lost, doubled or locked-out turn the contention can cause has hundreds
    of chances; 200 a worker (once on SQLite) only repeated the same contention for longer."""
    workers, per_worker = 4, 50
    project = ws.create_project("Concurrent answers", template="web-api")
    sessions = [project.start_session()] * workers if shared else [project.start_session() for _ in range(workers)]
    barrier = SPAWN.Barrier(workers)
    reports = run_workers(
        _workers.answer_loop,
        [(db_url, "alice", str(sessions[w].id), w, per_worker, barrier) for w in range(workers)],
        tmp_path,
    )

    assert not any(r["errors"] for r in reports), explain_errors(reports)
    stored = [s for r in reports for s in r["stored"]]
    assert len(stored) == workers * per_worker
    # one item each, or one criterion when a criteria follow-up was pending
    assert all(s["items"] + s["criteria"] == 1 for s in stored)
    # the four really answered at the same time: there is a moment when every worker was still answering
    assert max(r["window"][0] for r in reports) < min(r["window"][1] for r in reports), [r["window"] for r in reports]
    if shared:  # and their turns interleave in the one session (not one worker's block after another's)
        by_seq = [worker for _, worker in sorted((s["seq"], r["worker"]) for r in reports for s in r["stored"])]
        switches = sum(a != b for a, b in zip(by_seq, by_seq[1:]))
        assert switches >= 2 * workers, f"the workers' turns hardly interleave: {by_seq}"

    engine = engine_for(db_url)
    try:
        all_ids: set[uuid.UUID] = set()
        for sess in {s.id for s in sessions}:
            rows = session_answers(engine, sess)
            expected = workers * per_worker if shared else per_worker
            assert [seq for _, seq, _ in rows] == list(range(1, expected + 1)), "answer seq has gaps or duplicates"
            answered = [q for _, _, q in rows if q is not None]
            assert len(answered) == len(set(answered)), "a question was answered twice"
            all_ids |= {aid for aid, _, _ in rows}
            assert ws.session(sess).answer_count == expected
        assert all_ids == {uuid.UUID(s["answer_id"]) for s in stored}
        counts = table_counts(engine, project.id)
        assert counts["answers"] == workers * per_worker
        # each answer made exactly one item, or one criterion of an item (a criteria follow-up was pending)
        criteria = sum(s["criteria"] for s in stored)
        assert counts["spec_items"] == workers * per_worker - criteria
        with engine.connect() as conn:
            assert conn.scalar(
                select(func.count()).where(models.Question.project_id == project.id, models.Question.status == "pending")
            ) <= len({s.id for s in sessions})
    finally:
        engine.dispose()
    if is_sqlite(db_url):
        sqlite_checks(db_url)


# --- b. two processes, the same question ---------------------------------------------------


@pytest.mark.slow
def test_two_processes_answer_the_same_question(ws: Workspace, db_url: str, tmp_path: Path) -> None:
    """Each answer names the question it saw: one is stored, the other refused; none lost or doubled."""
    rounds, free = 10, 15
    project = ws.create_project("Same question", template="web-api")
    session = project.start_session()
    barrier = SPAWN.Barrier(2)
    reports = run_workers(
        _workers.answer_race,
        [(db_url, "alice", str(session.id), w, rounds, free, barrier) for w in range(2)],
        tmp_path,
    )

    assert not any(r["errors"] for r in reports), explain_errors(reports)
    stored = [s for r in reports for s in r["stored"]]
    refused = [s for r in reports for s in r["refused"]]
    attempted = sum(r["attempted"] for r in reports)
    assert len(stored) + len(refused) == attempted
    assert all("no longer waiting" in r["message"] for r in refused)

    # Lock-step rounds: both saw the same question, exactly one of the two answers won.
    contested = {s["attempt"] for s in refused if s["attempt"].startswith("round ")}
    assert len(contested) == rounds, "every lock-step round must have one refused answer"
    for r in range(rounds):
        outcome = [s["question_id"] for s in stored if s["attempt"] == f"round {r}"]
        lost = [s["question_id"] for s in refused if s["attempt"] == f"round {r}"]
        if outcome or lost:
            assert len(outcome) == 1 and lost == outcome, f"round {r}: stored {outcome}, refused {lost}"

    engine = engine_for(db_url)
    try:
        rows = session_answers(engine, session.id)
        with engine.connect() as conn:
            status = dict(
                conn.execute(select(models.Question.id, models.Question.status).where(models.Question.session_id == session.id)).all()
            )
    finally:
        engine.dispose()
    assert [seq for _, seq, _ in rows] == list(range(1, len(stored) + 1))
    assert {aid for aid, _, _ in rows} == {uuid.UUID(s["answer_id"]) for s in stored}
    answered = [q for _, _, q in rows]
    assert len(answered) == len(set(answered)), "a question was answered twice"
    assert {uuid.UUID(s["question_id"]) for s in stored} == set(answered)
    assert all(status[q] == "answered" for q in answered)
    # A refused answer's question was answered by the other process, not dropped.
    assert {uuid.UUID(s["question_id"]) for s in refused} <= set(answered)
    assert list(status.values()).count("pending") <= 1
    assert ws.session(session.id).answer_count == len(stored)
    if is_sqlite(db_url):
        sqlite_checks(db_url)


# --- c. killed mid-answer ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("hook", ["before_commit", "after_flush"])
def test_process_killed_mid_answer_leaves_no_half_turn(ws: Workspace, db_url: str, tmp_path: Path, hook: str) -> None:
    """SIGKILL inside the answer transaction: no answer, no items, question still pending; next answer works."""
    project = ws.create_project("Killed mid answer", template="web-api")
    session = project.start_session()
    session.answer("Merchants take card payments online.")
    pending = session.next_question()
    assert pending is not None
    before_count = ws.session(session.id).answer_count
    engine = engine_for(db_url)
    try:
        before = table_counts(engine, project.id)

        report = str(tmp_path / "killed.json")
        proc = SPAWN.Process(target=_workers.killed_mid_answer, args=(db_url, "alice", str(session.id), hook, report))
        proc.start()
        proc.join(WORKER_TIMEOUT)
        if proc.is_alive():  # pragma: no cover - only when the test fails
            proc.kill()
            proc.join()
            pytest.fail("the worker did not die")
        assert Path(report + ".ready").exists(), "the worker failed before answering"
        assert not Path(report).exists(), Path(report).read_text()
        assert proc.exitcode == -signal.SIGKILL

        assert table_counts(engine, project.id) == before
        assert ws.session(session.id).answer_count == before_count
        still = ws.session(session.id).next_question()
        assert still is not None and still.id == pending.id
    finally:
        engine.dispose()
    if is_sqlite(db_url):
        sqlite_checks(db_url)

    # The killed writer left no lock behind: the next answer goes through at once.
    turn = ws.session(session.id).answer("The system shall refund within 5 days.", question_id=pending.id)
    assert turn.seq == before_count + 1
    assert ws.session(session.id).answer_count == before_count + 1


# --- d. concurrent first start -------------------------------------------------------------


@pytest.mark.slow
def test_processes_starting_at_once_on_a_new_database(db_url: str, tmp_path: Path) -> None:
    """4 processes connect to a new, empty database at the same moment: all succeed, schema at head."""
    workers = 4
    # SQLite: five new files in a row (one spawn, five races); PostgreSQL: the fixture's fresh schema.
    urls = [f"sqlite:///{tmp_path / f'new-{i}.db'}" for i in range(5)] if is_sqlite(db_url) else [db_url]
    barrier = SPAWN.Barrier(workers)
    reports = run_workers(_workers.first_start, [(urls, "alice", w, barrier) for w in range(workers)], tmp_path)
    assert not any(r["errors"] for r in reports), explain_errors(reports)

    head = head_revision()
    for url in urls:
        users = {ok["user_id"] for r in reports for ok in r["ok"] if ok["url"] == url}
        assert len(users) == 1, "each process must see the one user created by the first"
        engine = engine_for(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
                assert conn.scalar(select(func.count()).select_from(models.User)) == 1
                assert conn.scalar(select(func.count()).select_from(models.Project)) == workers
                if is_sqlite(url):
                    assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        finally:
            engine.dispose()
        if is_sqlite(url):
            sqlite_checks(url)
        with snb.connect(url, user="alice") as again:  # and a later start finds it ready
            assert again.projects().total == workers
