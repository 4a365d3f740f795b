"""Sessions through the public API: the question/answer loop, skip, complete, reopen, ownership."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select, text

import socrates_nb as snb
from socrates_nb.categories import CATEGORIES
from socrates_nb.storage import models
from socrates_nb.workspace import Session, Workspace

# Three plain statements: each 0.6 confidence, together enough to cover a generic category.
COVER = "The team reviews it weekly. Staff record each change. Finance signs off every quarter."
# quality attributes (ISO 25010): a measured target in one of these earns extra confidence
QUALITY = {"performance", "scalability", "security", "reliability", "usability", "operations", "compliance"}


def counts(ws: Workspace) -> dict[str, int]:
    with ws.db.read() as orm:
        return {
            m.__tablename__: orm.scalar(select(func.count()).select_from(m)) or 0
            for m in (models.Answer, models.SpecItem, models.Question, models.Session, models.Conflict)
        }


def question_status(ws: Workspace, question_id: uuid.UUID) -> str:
    with ws.db.read() as orm:
        return orm.get_one(models.Question, question_id).status


def project_question_keys(ws: Workspace, project_id: uuid.UUID) -> list[str]:
    with ws.db.read() as orm:
        return list(orm.scalars(select(models.Question.bank_key).where(models.Question.project_id == project_id)))


def test_start_asks_a_goals_question_with_why(ws: Workspace) -> None:
    p = ws.create_project("Shop")
    s = p.start_session()
    assert (s.status, s.engine, s.answer_count, s.question_count, s.project_id) == ("active", "offline", 0, 1, p.id)
    assert s.completed_at is None
    q = s.next_question()
    assert q is not None
    assert q.category == "goals" and q.key.startswith("goals.") and q.text.endswith("?")
    assert len(q.why) > 20 and q.status == "pending" and q.seq == 1 and q.session_id == s.id
    assert s.next_question() == q  # asking again does not move on
    assert q.to_dict()["why"] == q.why


def test_answer_returns_items_next_question_and_maturity(ws: Workspace) -> None:
    p = ws.create_project("Shop")
    s = p.start_session()
    q1 = s.next_question()
    turn = s.answer("Shoppers buy spare parts online.", question_id=q1.id)
    assert turn.seq == 1
    assert len(turn.items) == 1
    item = turn.items[0]
    assert (item.ref, item.category, item.key) == ("GOAL-001", "goals", q1.key)
    assert item.text == "Shoppers buy spare parts online." and item.confidence == 0.6 and item.is_current
    assert item.source_question == q1.text and item.source_answer == "Shoppers buy spare parts online."
    assert item.answer_id == turn.answer_id
    assert turn.conflicts == ()
    assert turn.next_question is not None and turn.next_question.id != q1.id
    assert turn.next_question == s.next_question()
    assert turn.maturity.score == pytest.approx(100 * (0.6 / 1.5) / 14, abs=0.05)
    assert turn.maturity.coverage["goals"] == pytest.approx(0.4)
    assert question_status(ws, q1.id) == "answered"
    data = turn.to_dict()
    assert data["items"][0]["ref"] == "GOAL-001" and data["next_question"]["id"] == str(turn.next_question.id)


def test_answer_count_increments(ws: Workspace) -> None:
    s = ws.create_project("Shop").start_session()
    for n in range(1, 4):
        turn = s.answer(f"Statement number {n} about the shop.")
        assert turn.seq == n and s.answer_count == n
    assert ws.session(s.id).answer_count == 3
    assert ws.session(s.id).question_count == 4


def test_multi_statement_answer_gives_several_items(ws: Workspace) -> None:
    s = ws.create_project("Shop").start_session()
    q = s.next_question()
    turn = s.answer("Shops list their parts. Buyers pay by card!\nPages load in 300 ms; invoices are PDF files")
    # a page load time given to a goals question is a performance item
    assert [i.ref for i in turn.items] == ["GOAL-001", "GOAL-002", "NFR-PERF-001", "GOAL-003"]
    assert [i.key for i in turn.items] == [q.key, f"{q.key}_2", "performance.page_load", f"{q.key}_4"]
    assert [i.confidence for i in turn.items] == [0.6, 0.6, 0.9, 0.6]
    assert turn.items[2].value == {
        "number": 300, "unit": "ms", "metric": "latency", "bound": "exact", "text": "Pages load in 300 ms",
    }
    assert [i.text for i in turn.items][1:] == ["Buyers pay by card!", "Pages load in 300 ms.", "Invoices are PDF files."]
    assert len(ws.project(s.project_id).specification().items) == 4


def test_measured_answers_raise_maturity_monotonically(ws: Workspace) -> None:
    s = ws.create_project("Shop").start_session()
    scores = [0.0]
    visited = []
    for i in range(16):
        turn = s.answer(f"The limit is {i + 1}00 ms and {i + 2} GB.")  # one measured item each
        scores.append(turn.maturity.score)
        item = turn.items[0]
        assert len(turn.items) == 1 and item.value["unit"] == "ms"
        # a measured value: 0.8, plus 0.1 when it is a target of a quality attribute (non-functional)
        assert item.confidence == (0.9 if item.category in QUALITY else 0.8), (item.category, item.confidence)
        # nothing vague, nothing contradicts; a capability's criteria follow-up is skipped
        assert turn.conflicts == () and not turn.next_question.key.startswith("probe.")
        if turn.next_question.key.startswith("criteria."):
            assert item.category == "functional"
            s.skip()
        visited.append(item.category)
    assert all(b > a for a, b in zip(scores, scores[1:])), scores
    # 14 categories: 6 at 0.8 / 1.5, 7 at 0.9 / 1.5 and functional at 1 of 6 capabilities; then
    # functional, the least covered, gets two more capabilities
    assert sorted(visited[:14]) == sorted(CATEGORIES) and visited[14:] == ["functional", "functional"]
    first_round = 100 * (6 * 0.8 / 1.5 + 7 * 0.9 / 1.5 + 1 / 6) / 14
    assert scores[14] == pytest.approx(first_round, abs=0.05)
    assert scores[16] == pytest.approx(first_round + 2 * 100 * (1 / 6) / 14, abs=0.05)
    assert ws.project(s.project_id).specification().maturity.score == scores[-1]


def test_never_the_same_question_twice_in_a_project(ws: Workspace) -> None:
    p = ws.create_project("Tool", template="cli-tool")
    first = p.start_session()
    for _ in range(5):
        first.answer("Users run it from a shell.")
    first.complete()
    second = p.start_session()
    asked = [second.next_question()]
    while asked[-1] is not None:
        asked.append(second.answer(COVER).next_question)
        assert len(asked) < 200
    keys = project_question_keys(ws, p.id)
    assert len(keys) == len(set(keys)), sorted(k for k in keys if keys.count(k) > 1)
    assert len(keys) >= 14
    # the loop ended because every weighted category is covered
    assert p.specification().maturity.score == 100.0
    assert second.next_question() is None


def test_two_open_sessions_never_share_a_question(ws: Workspace) -> None:
    p = ws.create_project("Shop")
    a, b = p.start_session(), p.start_session()
    qa, qb = a.next_question(), b.next_question()
    assert qa is not None and qb is not None and qa.key != qb.key
    for _ in range(4):
        a.answer("Something short and plain.")
        b.skip()
    keys = project_question_keys(ws, p.id)
    assert len(keys) == len(set(keys))


def test_skip_marks_skipped_and_asks_something_new(ws: Workspace) -> None:
    s = ws.create_project("Shop").start_session()
    q1 = s.next_question()
    q2 = s.skip()
    assert q2 is not None and q2.id != q1.id and q2.key != q1.key and q2.seq == 2
    assert question_status(ws, q1.id) == "skipped"
    assert s.next_question() == q2
    assert s.question_count == 2 and ws.session(s.id).question_count == 2  # the handle is up to date
    assert ws.session(s.id).answer_count == 0
    assert ws.project(s.project_id).specification().items == ()


def test_skipping_everything_runs_out_of_questions(ws: Workspace) -> None:
    s = ws.create_project("Tool", template="cli-tool").start_session()
    seen = [s.next_question().key]
    while (q := s.skip()) is not None:
        seen.append(q.key)
    assert len(seen) == len(set(seen)) > 100
    assert s.next_question() is None
    with pytest.raises(snb.ConflictError, match="no pending question to skip"):
        s.skip()


def test_complete_closes_the_session(ws: Workspace) -> None:
    s = ws.create_project("Shop").start_session()
    pending = s.next_question()
    s.answer("Shops sell parts.")
    pending = s.next_question()
    done = s.complete()
    assert done is s and s.status == "completed" and s.completed_at is not None
    assert ws.session(s.id).status == "completed"
    assert question_status(ws, pending.id) == "withdrawn"
    assert s.next_question() is None
    before = counts(ws)
    with pytest.raises(snb.ConflictError, match="is completed; start a new session"):
        s.answer("Another answer.")
    with pytest.raises(snb.ConflictError, match="is completed"):
        s.skip()
    with pytest.raises(snb.ConflictError, match="is completed"):
        s.complete()
    assert counts(ws) == before


def test_stale_question_id_is_refused_and_nothing_stored(ws: Workspace) -> None:
    s = ws.create_project("Shop").start_session()
    q1 = s.next_question()
    s.answer("Shops sell parts.", question_id=q1.id)
    before = counts(ws)
    with pytest.raises(snb.ConflictError, match="no longer waiting for an answer"):
        s.answer("A late answer to the first question.", question_id=q1.id)
    with pytest.raises(snb.ConflictError):
        s.answer("An answer to a question that was never asked.", question_id=uuid.uuid4())
    assert counts(ws) == before
    assert ws.session(s.id).answer_count == 1
    q2 = s.next_question()
    assert s.answer("Now the right one.", question_id=str(q2.id)).seq == 2


def test_reopen_by_id_and_from_a_second_connection(ws: Workspace, db_url: str) -> None:
    p = ws.create_project("Shop")
    s = p.start_session()
    s.answer("Shops sell parts.")
    pending = s.next_question()

    again = ws.session(s.id)
    assert again.id == s.id and again.answer_count == 1 and again.next_question() == pending
    assert ws.session(str(s.id)).id == s.id

    with snb.connect(db_url, user="alice") as other:
        elsewhere = other.session(s.id)
        assert elsewhere.next_question() == pending
        turn = elsewhere.answer("Buyers pay by card.", question_id=pending.id)
        assert turn.seq == 2
        assert [x.id for x in other.project("Shop").sessions()] == [s.id]
    # the first connection sees the other's write
    assert ws.session(s.id).answer_count == 2
    assert s.refresh().answer_count == 2
    assert s.next_question() == turn.next_question
    assert len(p.specification().items) == 2
    assert "2 answers" in repr(s)


def test_another_users_session_reads_as_not_found(ws: Workspace, other_ws: Workspace) -> None:
    s = ws.create_project("Shop").start_session()
    q = s.next_question()
    before = counts(ws)
    svc, bob = other_ws._sessions, other_ws.user
    for call in (
        lambda: other_ws.session(s.id),
        lambda: svc.get(bob, s.id),
        lambda: svc.current_question(bob, s.id),
        lambda: svc.answer(bob, s.id, "Mine now."),
        lambda: svc.answer(bob, s.id, "Mine now.", question_id=q.id),
        lambda: svc.skip(bob, s.id),
        lambda: svc.complete(bob, s.id),
    ):
        with pytest.raises(snb.NotFoundError, match=f"session '{s.id}' not found"):
            call()
    # bob's handle on alice's session (e.g. an id pasted into bob's notebook) fails the same way
    stolen = Session(other_ws, s.view)
    for call in (stolen.next_question, stolen.skip, stolen.complete, lambda: stolen.answer("Mine now.")):
        with pytest.raises(snb.NotFoundError):
            call()
    assert counts(ws) == before
    assert ws.session(s.id).status == "active" and s.next_question() == q


def test_unknown_session_ids(ws: Workspace) -> None:
    for ref in (uuid.uuid4(), str(uuid.uuid4()), "not-a-session", "", "1234"):
        with pytest.raises(snb.NotFoundError, match="not found"):
            ws.session(ref)


def test_answer_without_a_pending_question_is_a_free_functional_item(ws: Workspace) -> None:
    s = ws.create_project("Shop").start_session()
    while s.skip() is not None:
        pass
    turn = s.answer("Orders can be exported as CSV.")
    assert turn.next_question.key == "criteria.functional.free"  # how it is tested: then nothing is left
    assert s.skip() is None
    assert [(i.category, i.key) for i in turn.items] == [("functional", "functional.free")]
    assert turn.items[0].source_question is None


# --- concurrent writers on one session (threads with their own connections) ---------------


@pytest.fixture
def blocker(ws: Workspace) -> Iterator:
    """Hold the database's write lock on a project (PostgreSQL: its row; SQLite: the file)."""
    url = ws.db.url
    engine = create_engine(url)
    held: list = []

    def hold(project_id: uuid.UUID) -> None:
        conn = engine.connect()
        if ws.db.is_sqlite:
            conn.exec_driver_sql("PRAGMA busy_timeout = 5000")
            conn.connection.driver_connection.isolation_level = None  # type: ignore[union-attr]
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.execute(
                select(models.Project.id).where(models.Project.id == project_id).with_for_update()
            ).all()
        held.append(conn)

    def release() -> None:
        conn = held.pop()
        if ws.db.is_sqlite:
            conn.exec_driver_sql("COMMIT")
        else:
            conn.commit()
        conn.close()

    hold.release = release  # type: ignore[attr-defined]
    yield hold
    for conn in held:
        conn.close()
    engine.dispose()


def _waiting_backends(ws: Workspace, app: str) -> int:
    with ws.db.engine.connect() as conn:
        return conn.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a AND wait_event_type = 'Lock'"),
            {"a": app},
        ).scalar_one()


def _run_blocked(ws: Workspace, db_url: str, blocker, project_id: uuid.UUID, jobs) -> list:  # noqa: ANN001
    """Run each ``job(workspace)`` in its own thread and connection while the project is locked."""
    app = f"snbtest_{uuid.uuid4().hex[:10]}"
    url = db_url if ws.db.is_sqlite else f"{db_url}&application_name={app}"
    workspaces = [snb.connect(url, user="alice") for _ in jobs]
    results: list = [None] * len(jobs)

    def run(i: int) -> None:
        try:
            results[i] = jobs[i](workspaces[i])
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[i] = exc

    blocker(project_id)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    if ws.db.is_sqlite:
        time.sleep(0.3)
    else:  # wait until every thread waits on a lock
        deadline = time.monotonic() + 10
        while _waiting_backends(ws, app) < len(jobs) and time.monotonic() < deadline:
            time.sleep(0.02)
    blocker.release()
    for t in threads:
        t.join(30)
    for w in workspaces:
        w.close()
    return results


def test_two_concurrent_answers_are_both_stored_in_order(ws: Workspace, db_url: str, blocker) -> None:  # noqa: ANN001
    s = ws.create_project("Shop").start_session()
    s.answer("First answer.")
    results = _run_blocked(
        ws, db_url, blocker, s.project_id,
        [lambda w: w.session(s.id).answer("From thread A."), lambda w: w.session(s.id).answer("From thread B.")],
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.seq for r in results) == [2, 3]
    with ws.db.read() as orm:
        rows = orm.execute(select(models.Answer.seq, models.Answer.text).where(models.Answer.session_id == s.id)).all()
    assert sorted(seq for seq, _ in rows) == [1, 2, 3]
    assert ws.session(s.id).answer_count == 3
    keys = project_question_keys(ws, s.project_id)
    assert len(keys) == len(set(keys)) == 4


def test_answer_racing_complete_never_lands_in_a_completed_session(ws: Workspace, db_url: str, blocker) -> None:  # noqa: ANN001
    s = ws.create_project("Shop").start_session()
    s.answer("First answer.")
    results = _run_blocked(
        ws, db_url, blocker, s.project_id,
        [lambda w: w.session(s.id).answer("Racing answer."), lambda w: w.session(s.id).complete()],
    )
    answered, completed = results
    assert not isinstance(completed, Exception), completed
    assert isinstance(answered, snb.ConflictError) or answered.seq == 2
    final = ws.session(s.id)
    assert final.status == "completed"
    with ws.db.read() as orm:
        pending = orm.scalar(
            select(func.count()).select_from(models.Question)
            .where(models.Question.session_id == s.id, models.Question.status == "pending")
        )
    assert pending == 0, "a completed session must not keep a pending question"
    assert final.answer_count == (1 if isinstance(answered, Exception) else 2)


def test_an_answer_without_statements_is_stored_without_items(ws: Workspace) -> None:
    s = ws.create_project("Shop").start_session()
    q = s.next_question()
    turn = s.answer("ok")  # too short to be a statement
    assert turn.items == () and turn.seq == 1
    # nothing to build from: the question stays open, as an open question
    assert question_status(ws, q.id) == "unanswered"
    assert [(o.key, o.answer) for o in turn.open_questions] == [(q.key, "ok")]
    assert turn.next_question is not None and turn.next_question.id != q.id
    assert counts(ws)["spec_items"] == 0 and counts(ws)["answers"] == 1


# --- probes: the answer to a follow-up refines the probed item ------------------------------


def _item_state(ws: Workspace, project_id: uuid.UUID) -> dict[str, tuple[bool, str | None]]:
    """ref -> (is_current, ref of the superseding item) for every item of the project."""
    with ws.db.read() as orm:
        rows = orm.scalars(select(models.SpecItem).where(models.SpecItem.project_id == project_id)).all()
        ref = {r.id: r.ref for r in rows}
        return {r.ref: (r.is_current, ref.get(r.superseded_by)) for r in rows}


def test_a_refinement_that_changes_the_number_is_no_conflict(ws: Workspace) -> None:
    p = ws.create_project("Perf")
    s = p.start_session()
    q = s.next_question()
    while q.category != "performance":
        q = s.answer(COVER).next_question
    vague = s.answer("p95 latency under 2 s, if possible.")
    assert [i.ref for i in vague.items] == ["NFR-PERF-001"]
    probe = vague.next_question
    assert probe.is_probe and "'if possible'" in probe.text
    refined = s.answer("p95 latency under 200 ms.")
    # 200 ms replaces the probed 2 s: the two never stand side by side, so nothing conflicts
    assert [i.ref for i in refined.items] == ["NFR-PERF-002"] and refined.conflicts == ()
    assert p.conflicts(status=None) == []
    assert _item_state(ws, p.id)["NFR-PERF-001"] == (False, "NFR-PERF-002")
    assert [i.ref for i in p.specification().items if i.category == "performance"] == ["NFR-PERF-002"]



def test_a_turns_conflicts_come_in_ref_order(ws: Workspace) -> None:
    p = ws.create_project("Order")
    s = p.start_session()
    while (q := s.next_question()) is not None and q.category != "performance":
        s.skip()
    s.answer("p95 latency under 200 ms. p95 latency under 205 ms. p95 latency under 210 ms. p95 latency under 215 ms.")
    turn = s.answer("p95 latency under 2 s.")
    pairs = [(c.item_b, c.item_a) for c in turn.conflicts]
    assert len(pairs) >= 2 and pairs == sorted(pairs, key=lambda p: (p[0], int(p[1].rsplit("-", 1)[1])))
