"""Query counts (no N+1) and query plans (the project list is served by its index, no sort)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, insert

from socrates_nb.engine.offline.probing import MEASURED_CATEGORIES
from socrates_nb.services.projects import recount_projects
from socrates_nb.storage import models
from socrates_nb.workspace import Project, Workspace

COVER = "The team reviews it weekly. Staff record each change. Finance signs off every quarter."


def project_with_sessions(ws: Workspace, name: str, n: int) -> Project:
    p = ws.create_project(name)
    for _ in range(n):
        p.start_session()
    return p


def test_project_with_sessions_takes_the_same_statements_for_1_and_50(ws: Workspace, count_queries) -> None:  # noqa: ANN001
    small = project_with_sessions(ws, "Small", 1)
    big = project_with_sessions(ws, "Big", 50)
    measured = {}
    for p in (small, big):
        ws.cache.clear()
        with count_queries() as c:
            view = ws._projects.get(ws.user, p.id, include_sessions=True)
        measured[p.name] = (c.count, len(view.sessions or ()))
    assert measured["Small"][1] == 1 and measured["Big"][1] == 50
    assert measured["Small"][0] == measured["Big"][0] <= 2, measured
    ws.cache.clear()
    with count_queries() as c:
        assert len(big.sessions()) == 50
    assert c.count == measured["Big"][0]


def test_project_list_takes_the_same_statements_for_1_and_60_projects(ws: Workspace, other_ws: Workspace, count_queries) -> None:  # noqa: ANN001
    other_ws.create_project("Bob's")
    ws.create_project("P0")
    ws.cache.clear()
    with count_queries() as one:
        ws.projects(limit=100)
    for i in range(1, 60):
        ws.create_project(f"P{i}")
    ws.cache.clear()
    with count_queries() as many:
        page = ws.projects(limit=100)
    assert page.total == 60 and len(page.items) == 60
    assert one.count == many.count == 2  # count + page


def answered(ws: Workspace, name: str, turns: int) -> Project:
    p = ws.create_project(name)
    s = p.start_session()
    s.answer("p95 latency under 200 ms. p95 latency under 2 s.")  # one open conflict in both
    for _ in range(turns - 1):
        s.answer(COVER)
    return p


def test_specification_takes_the_same_statements_for_1_and_50_turns(ws: Workspace, count_queries) -> None:  # noqa: ANN001
    small = answered(ws, "Small", 1)
    big = answered(ws, "Big", 50)
    measured = {}
    for p in (small, big):
        ws.cache.clear()
        with count_queries() as c:
            spec = ws._specs.specification(ws.user, p.id)
        measured[p.name] = (c.count, len(spec.items), len(spec.conflicts))
    assert measured["Small"][1:] == (2, 1)
    assert measured["Big"][1] > 40 and measured["Big"][2] == 1
    assert measured["Small"][0] == measured["Big"][0], measured
    assert measured["Big"][0] <= 6  # the sixth: the earlier answers restated items stand on


def plain_question(s: Any) -> Any:
    """Skip to a pending bank question outside the measured categories; return it.

    Plain statements with no number, given to a performance, scalability or reliability
    question, would draw a follow-up probe, and the answer to a probe supersedes an item:
    such turns do different work, so the compared turns avoid them.
    """
    q = s.next_question()
    while q is not None and (q.category in MEASURED_CATEGORIES or q.is_probe):  # a criteria follow-up too
        q = s.skip()
    assert q is not None and not q.is_probe
    return q


def items_project(ws: Workspace, name: str, answers: int) -> tuple[Project, Any]:
    """A project with ``answers`` x 5 current items, and its session with a plain question pending."""
    p = ws.create_project(name)
    s = p.start_session()
    for _ in range(answers):
        plain_question(s)
        turn = s.answer("One thing. Two things. Three things. Four things. Five things.")
        assert len(turn.items) == 5 and all(i.is_current for i in turn.items) and turn.conflicts == ()
    plain_question(s)
    return p, s


def test_answer_turn_takes_the_same_statements_at_5_and_50_items(ws: Workspace, count_queries) -> None:  # noqa: ANN001
    small_p, small_s = items_project(ws, "Small", 1)
    big_p, big_s = items_project(ws, "Big", 10)
    assert len(small_p.specification().items) == 5 and len(big_p.specification().items) == 50
    measured = {}
    for name, s in (("small", small_s), ("big", big_s)):
        with count_queries() as c:
            turn = ws._sessions.answer(ws.user, s.id, "Another thing. And one more.")
        # comparable turns: two new current items, no restatement, no conflict, no probe next
        assert len(turn.items) == 2 and all(i.is_current for i in turn.items) and turn.conflicts == ()
        assert turn.next_question is not None and not turn.next_question.is_probe
        measured[name] = c.count
    assert measured["small"] == measured["big"], measured
    # 5 of them read what extraction needs, before the write transaction; the write reads the
    # follow-up queues (vague items, then capabilities waiting for criteria), the open questions
    # and the set-aside categories, and resolves reopened ones
    assert measured["big"] <= 28


# --- query plans ---------------------------------------------------------------------------


@contextmanager
def capture(ws: Workspace) -> Iterator[list[tuple[str, Any]]]:
    """Statements and their parameters sent while active."""
    seen: list[tuple[str, Any]] = []

    def listener(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ANN001
        seen.append((statement, parameters))

    event.listen(ws.db.engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(ws.db.engine, "before_cursor_execute", listener)


def list_statements(ws: Workspace, **kwargs: Any) -> list[tuple[str, Any]]:
    ws.cache.clear()
    with capture(ws) as seen:
        ws.projects(**kwargs)
    sql = [(s, p) for s, p in seen if "FROM project" in s]
    assert len(sql) == 2, sql  # the total and the page
    assert "FROM project_counts" in sql[0][0], sql  # the kept counts: no count of the rows
    return sql


def fill_projects(ws: Workspace, users: list[uuid.UUID], per_user: int) -> None:
    """Insert many projects quickly (status alternating), spread over a year."""
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    rows = [
        {
            "id": uuid.uuid4(), "user_id": uid, "name": f"bulk {uid.hex[:6]} {i}", "description": "", "template": "generic",
            "status": "archived" if i % 3 == 0 else "active", "version": 1,
            "created_at": start + timedelta(hours=i), "updated_at": start + timedelta(hours=i),
        }
        for uid in users
        for i in range(per_user)
    ]
    with ws.db.write() as orm:
        orm.execute(insert(models.Project), rows)
    recount_projects(ws.db)


def sqlite_plan(ws: Workspace, statement: str, parameters: Any) -> str:
    with ws.db.engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return "\n".join(r[-1] for r in rows)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # a SQLite-only check
@pytest.mark.parametrize("analyzed", [False, True], ids=["no-stats", "analyzed"])
def test_sqlite_project_list_uses_its_index_without_sorting(ws: Workspace, other_ws: Workspace, analyzed: bool) -> None:
    ws.create_project("Mine")
    fill_projects(ws, [ws.user.id, other_ws.user.id], 300)
    if analyzed:
        with ws.db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    for kwargs, index in (({}, "ix_projects_user_created"), ({"status": "active"}, "ix_projects_user_status_created")):
        count_sql, page_sql = list_statements(ws, offset=40, limit=20, **kwargs)
        assert "ORDER BY projects.created_at DESC" in page_sql[0]
        plan = sqlite_plan(ws, *page_sql)
        assert f"USING INDEX {index}" in plan or f"USING COVERING INDEX {index}" in plan, plan
        assert "TEMP B-TREE" not in plan, plan
        assert "SCAN projects" not in plan, plan
        if not analyzed:  # with statistics of a 4-row table SQLite rightly prefers a scan
            count_plan = sqlite_plan(ws, *count_sql)
            assert "SCAN" not in count_plan and "SEARCH project_counts USING" in count_plan, count_plan
    page = ws.projects(status="archived", limit=5)
    assert page.total == 100 and all(p.status == "archived" for p in page.items)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # a PostgreSQL-only check
def test_postgresql_project_list_uses_its_index_without_sorting(ws: Workspace, other_ws: Workspace) -> None:
    fill_projects(ws, [ws.user.id, other_ws.user.id], 300)
    with ws.db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE projects")
    for kwargs, index in (({}, "ix_projects_user_created"), ({"status": "active"}, "ix_projects_user_status_created")):
        _count_sql, (statement, parameters) = list_statements(ws, limit=20, **kwargs)
        with ws.db.engine.connect() as conn:
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
            conn.rollback()
        assert "Index Scan" in plan and "on projects" in plan and index in plan, plan
        assert "Sort" not in plan, plan
        assert "Seq Scan" not in plan, plan
