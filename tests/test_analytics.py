"""Analytics: read-only DuckDB views of the acting user's data, and the helper relations."""

from __future__ import annotations

import json
import math
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import duckdb
import pytest
from sqlalchemy import func, select

import socrates_nb as snb
from socrates_nb.analytics import VIEWS, Analytics
from socrates_nb.config import normalize_database_url
from socrates_nb.quality.maturity import contribution
from socrates_nb.services.views import Actor
from socrates_nb.storage import models
from socrates_nb.storage.db import Database
from socrates_nb.workspace import Project, Turn, Workspace

COVER = "The team reviews it weekly. Staff record each change. Finance signs off every quarter."
# goals, a probe answered, a probed item superseded, a restatement, a numeric conflict, more categories
ANSWERS = (
    "Merchants take card payments online. Refunds are fast and easy.",
    "Shop owners, support staff and auditors use it.",
    "p95 latency under 2 s, if possible.",  # vague: the next question probes it
    "p95 latency under 200 ms.",  # answers the probe: supersedes the vague item
    "The p95 latency stays under 0.2 s.",  # restates 200 ms: supersedes it
    "p95 latency under 2 s.",  # contradicts 0.2 s: a high-severity numeric conflict
    COVER,
    COVER,
)
TABLES = {
    "projects": models.Project, "sessions": models.Session, "questions": models.Question, "answers": models.Answer,
    "spec_items": models.SpecItem, "conflicts": models.Conflict, "audit_logs": models.AuditLog,
}


def build(ws: Workspace, name: str = "Payments", answers: tuple[str, ...] = ANSWERS) -> tuple[Project, list[Turn]]:
    """A web-api project answered through the public API, in two sessions."""
    p = ws.create_project(name, template="web-api")
    first = p.start_session()
    turns = [first.answer(text) for text in answers[:5]]
    first.complete()
    second = p.start_session()
    turns += [second.answer(text) for text in answers[5:]]
    return p, turns


def db_counts(ws: Workspace, user: str) -> dict[str, int]:
    """Rows per table that belong to ``user``, counted with the ORM."""
    with ws.db.read() as orm:
        uid = orm.scalar(select(models.User.id).where(models.User.username == user))
        owned = select(models.Project.id).where(models.Project.user_id == uid)
        sessions = select(models.Session.id).where(models.Session.project_id.in_(owned))
        where = {
            "projects": models.Project.user_id == uid,
            "sessions": models.Session.project_id.in_(owned),
            "questions": models.Question.project_id.in_(owned),
            "answers": models.Answer.session_id.in_(sessions),
            "spec_items": models.SpecItem.project_id.in_(owned),
            "conflicts": models.Conflict.project_id.in_(owned),
            "audit_logs": models.AuditLog.user_id == uid,
        }
        return {name: orm.scalar(select(func.count()).select_from(m).where(where[name])) for name, m in TABLES.items()}


def superseded(ws: Workspace, p: Project) -> int:
    with ws.db.read() as orm:
        query = select(func.count()).select_from(models.SpecItem).where(
            models.SpecItem.project_id == p.id, models.SpecItem.is_current.is_(False))
        return orm.scalar(query) or 0


@pytest.fixture
def built(ws: Workspace) -> tuple[Project, list[Turn]]:
    return build(ws)


# --- the views ------------------------------------------------------------------------------


def test_views_hold_the_users_rows_with_declared_types(ws: Workspace, built: tuple[Project, list[Turn]]) -> None:
    p, turns = built
    with Analytics.open(ws) as a:
        assert a.row_counts == db_counts(ws, "alice")
        assert a.row_counts["answers"] == len(turns) and a.row_counts["audit_logs"] == len(turns) + 4
        tables = a.sql("SELECT table_name FROM information_schema.tables ORDER BY table_name").fetchall()
        assert sorted(t for (t,) in tables) == sorted(VIEWS)
        rel = a.sql("SELECT * FROM spec_items")
        types = dict(zip(rel.columns, map(str, rel.types)))
        assert types["id"] == "VARCHAR" and types["value"] == "VARCHAR" and types["is_current"] == "BOOLEAN"
        assert types["created_at"] == "TIMESTAMP WITH TIME ZONE" and types["confidence"] == "DOUBLE"
        assert a.sql("SELECT id, name, template FROM projects").fetchall() == [(str(p.id), "Payments", "web-api")]
        spec = p.specification()
        current = a.sql(
            "SELECT ref, category, key, value, text, confidence FROM spec_items WHERE is_current"
        ).fetchall()
        assert sorted((r, c, k, json.loads(v), t, conf) for r, c, k, v, t, conf in current) == sorted(
            (i.ref, i.category, i.key, i.value, i.text, i.confidence) for i in spec.items
        )
        (created,) = a.sql("SELECT created_at FROM projects").fetchall()[0]
        assert created == p.created_at  # timezone-aware UTC, to the microsecond
        actions = dict(a.sql("SELECT action, count(*) FROM audit_logs GROUP BY action").fetchall())
        assert actions == {"project.create": 1, "session.start": 2, "session.answer": len(turns), "session.complete": 1}
        (changes,), = a.sql("SELECT changes FROM audit_logs WHERE action = 'project.create'").fetchall()
        assert json.loads(changes) == {"name": "Payments", "template": "web-api"}


def test_no_security_table_and_no_internal_column(ws: Workspace, built: tuple[Project, list[Turn]]) -> None:
    with Analytics.open(ws) as a:
        columns = a.sql("SELECT table_name, column_name FROM information_schema.columns").fetchall()
    assert {t for t, _ in columns} == set(VIEWS)
    names = {c for _, c in columns}
    secret = {"user_id", "password_hash", "ciphertext", "token_hash", "secret_ciphertext", "backup_code_hashes"}
    assert not names & secret


def test_another_users_data_never_appears(
    ws: Workspace, other_ws: Workspace, built: tuple[Project, list[Turn]]
) -> None:
    bob_project, _ = build(other_ws, "Bob's shop", ANSWERS[:6])
    with Analytics.open(ws) as alice, Analytics.open(other_ws) as bob:
        assert alice.row_counts == db_counts(ws, "alice")
        assert bob.row_counts == db_counts(ws, "bob")
        assert bob.row_counts["audit_logs"] == 6 + 4 and alice.row_counts["audit_logs"] == len(ANSWERS) + 4
        assert alice.sql("SELECT count(*) FROM audit_logs WHERE resource_id = ?", [str(bob_project.id)]).fetchall() == [(0,)]
        for view in ("sessions", "questions", "answers", "spec_items", "conflicts"):
            query = f"SELECT count(*) FROM {view} WHERE project_id = ?"
            assert alice.sql(query, [str(bob_project.id)]).fetchall() == [(0,)]
        assert alice.sql("SELECT name FROM projects").fetchall() == [("Payments",)]
        for helper in (alice.maturity_by_category, alice.conflicts_by_type, alice.answers_per_session,
                       alice.maturity_over_turns, alice.slowest_categories):
            with pytest.raises(snb.NotFoundError):
                helper(bob_project.id)
        assert {r[1] for r in alice.maturity_by_category().fetchall()} == {"Payments"}
        assert {r[1] for r in bob.slowest_categories().fetchall()} == {"Bob's shop"}


def test_one_select_per_table_in_one_read(
    ws: Workspace, built: tuple[Project, list[Turn]], count_queries  # noqa: ANN001
) -> None:
    with count_queries() as c:
        a = Analytics.open(ws)
    assert c.count == len(VIEWS)
    assert all(s.lstrip().upper().startswith("SELECT") for s in c.statements)
    with count_queries() as c:
        a.refresh()
    assert c.count == len(VIEWS)
    with count_queries() as c:  # the helpers read the snapshot only
        a.maturity_by_category().fetchall()
        a.maturity_over_turns("Payments").fetchall()
        a.slowest_categories().fetchall()
    assert c.count == 0
    a.close()


def test_writes_through_duckdb_are_refused_and_the_database_is_unchanged(
    ws: Workspace, built: tuple[Project, list[Turn]]
) -> None:
    before = db_counts(ws, "alice")
    a = Analytics.open(ws)
    for statement in ("INSERT INTO spec_items (id) VALUES ('x')", "DELETE FROM projects", "UPDATE answers SET seq = 0",
                      "DROP VIEW projects", "CREATE TABLE t AS SELECT 1"):
        with pytest.raises(snb.ValidationError, match="read-only: only SELECT queries run here"):
            a.sql(statement)
    # the raw connection refuses them too: the views are over in-memory Arrow tables
    for statement in ("INSERT INTO spec_items (id) VALUES ('x')", "DELETE FROM projects", "UPDATE answers SET seq = 0"):
        with pytest.raises(duckdb.Error):
            a.con.execute(statement)
    assert a.row_counts == before == db_counts(ws, "alice")
    assert a.sql("SELECT count(*) FROM projects").fetchall() == [(1,)]
    a.close()


def test_no_extension_download_and_no_file_access(ws: Workspace, tmp_path: Path) -> None:
    with Analytics.open(ws) as a:
        db_file = ws.db.url.database or str(tmp_path / "x.db")
        with pytest.raises(snb.ValidationError, match=r"sqlite_scan\(\) is refused .* reads files or the network"):
            a.sql(f"SELECT * FROM sqlite_scan('{db_file}', 'projects')")
        with pytest.raises(snb.ValidationError, match=r"read_csv\(\) is refused .* reads files or the network"):
            a.sql(f"SELECT * FROM read_csv('{tmp_path / 'x.csv'}')")
        # the raw connection has external access disabled too: the check above is not the only guard
        with pytest.raises(duckdb.Error, match="disabled"):
            a.con.sql(f"SELECT * FROM read_csv('{tmp_path / 'x.csv'}')").fetchall()
        with pytest.raises(duckdb.Error, match="locked"):
            a.con.execute("SET autoinstall_known_extensions = true")


def test_refresh_loads_a_new_snapshot(ws: Workspace, built: tuple[Project, list[Turn]]) -> None:
    p, turns = built
    a = Analytics.open(ws)
    taken = a.snapshot_at
    session = p.sessions()[-1]
    session.answer("Checkout shall work on phones.")
    assert a.sql("SELECT count(*) FROM answers").fetchall() == [(len(turns),)]  # a snapshot
    assert a.refresh() is a
    assert a.snapshot_at > taken
    assert a.sql("SELECT count(*) FROM answers").fetchall() == [(len(turns) + 1,)]
    assert a.row_counts == db_counts(ws, "alice")
    last = a.maturity_over_turns(p).fetchall()[-1]
    assert last[0] == len(turns) + 1 and last[5] == p.specification().maturity.score
    a.close()


def test_repr_lists_views_and_row_counts(ws: Workspace, built: tuple[Project, list[Turn]]) -> None:
    with Analytics.open(ws) as a:
        text = repr(a)
    lines = text.splitlines()
    assert lines[0].startswith("Analytics of 'alice': snapshot of ") and "refresh()" in lines[0]
    assert lines[1].split() == ["view", "rows"]
    assert [line.split()[0] for line in lines[2:]] == list(VIEWS)
    assert [int(line.split()[1].replace(",", "")) for line in lines[2:]] == list(a.row_counts.values())


def test_an_empty_snapshot(ws: Workspace) -> None:
    with Analytics.open(ws) as a:
        assert set(a.row_counts.values()) == {0}
        for rel in (a.maturity_by_category(), a.conflicts_by_type(), a.answers_per_session(), a.slowest_categories()):
            assert rel.fetchall() == [] and rel.columns
        p = ws.create_project("Empty", template="cli-tool")
        a.refresh()
        assert a.maturity_over_turns(p).fetchall() == []
        ranked = a.slowest_categories(p).fetchall()
        assert [r[3] for r in ranked] == list(p.specification().maturity.coverage)  # all at 0: canonical order
        assert {(r[4], r[5], r[6]) for r in ranked} == {(0.0, None, 0)}


# --- helpers ------------------------------------------------------------------------------------


def test_maturity_by_category_matches_the_specification(ws: Workspace, built: tuple[Project, list[Turn]]) -> None:
    p, _ = built
    other, _ = build(ws, "Tickets", answers=(COVER, "p95 latency under 300 ms.", COVER, COVER, COVER, COVER))
    with Analytics.open(ws) as a:
        rows = a.maturity_by_category().fetchall()
        assert a.maturity_by_category("Tickets").fetchall() == [r for r in rows if r[1] == "Tickets"]
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)  # by project name
    for project in (p, other):
        spec = project.specification()
        items = Counter(i.category for i in spec.items)
        sums = defaultdict(list)
        for i in spec.items:
            sums[i.category].append(contribution(i.category, i.confidence))
        mine = [r for r in rows if r[0] == str(project.id)]
        assert [r[3] for r in mine] == list(spec.maturity.coverage)  # every counted category, canonical order
        for _, name, template, cat, weight, target, n, total, coverage in mine:
            assert (name, template) == (project.name, "web-api")
            assert n == items[cat]
            assert total == pytest.approx(math.fsum(sums[cat]), abs=1e-12)
            assert coverage == spec.maturity.coverage[cat]
            assert (weight, target) == (snb.templates.get_template("web-api").weight(cat),
                                        snb.templates.get_template("web-api").target(cat))


def test_maturity_over_turns_replays_every_turns_score(ws: Workspace, built: tuple[Project, list[Turn]]) -> None:
    p, turns = built
    spec = p.specification()
    assert spec.conflicts and superseded(ws, p) >= 2  # probed and restated items
    with Analytics.open(ws) as a:
        rows = a.maturity_over_turns(p).fetchall()
        assert a.maturity_over_turns(str(p.id)).fetchall() == rows == a.maturity_over_turns("Payments").fetchall()
    assert [r[0] for r in rows] == list(range(1, len(turns) + 1))
    sessions = p.sessions()
    assert [(r[1], r[2]) for r in rows] == [(str(sessions[0].id), n) for n in range(1, 6)] + [
        (str(sessions[1].id), n) for n in range(1, len(turns) - 4)
    ]
    assert [r[3] for r in rows] == [str(t.answer_id) for t in turns]
    assert [r[5] for r in rows] == [t.maturity.score for t in turns] == [r[7] for r in rows]
    assert [r[6] for r in rows] == [t.maturity.penalty for t in turns]
    assert rows[-1][5] == spec.maturity.score and rows[-1][6] == 5.0  # one open high conflict


def test_maturity_over_turns_counts_a_resolution_before_the_next_answer(ws: Workspace) -> None:
    p, turns = build(ws, answers=ANSWERS[:6])
    (conflict,) = p.conflicts()
    p.resolve_conflict(conflict, "keep_a")  # supersedes the new 2 s item by the older 0.2 s one
    after_resolution = p.specification().maturity.score
    assert turns[-1].maturity.penalty == 5.0 and p.specification().maturity.penalty == 0.0
    with Analytics.open(ws) as a:
        rows = a.maturity_over_turns(p).fetchall()
    assert rows[-1][5] == after_resolution and rows[-1][6] == 0.0 and rows[-1][7] == turns[-1].maturity.score
    next_turn = p.sessions()[-1].answer(COVER)
    with Analytics.open(ws) as a:
        rows = a.maturity_over_turns(p).fetchall()
    assert rows[-2][5] == after_resolution  # the resolution shows at the answer before it
    assert rows[-1][5] == next_turn.maturity.score == rows[-1][7] == p.specification().maturity.score
    assert [r[5] for r in rows[:-2]] == [r[7] for r in rows[:-2]]


def test_slowest_categories(ws: Workspace, built: tuple[Project, list[Turn]]) -> None:
    p, turns = built
    coverage = p.specification().maturity.coverage
    with Analytics.open(ws) as a:
        rows = a.slowest_categories(p).fetchall()
        assert a.slowest_categories().fetchall() == rows
    assert [r[2] for r in rows] == list(range(1, len(coverage) + 1))
    assert {r[0] for r in rows} == {str(p.id)} and {r[6] for r in rows} == {len(turns)}
    for _, _, _, cat, cov, first, _ in rows:
        assert cov == coverage[cat]
        covered_at = [n for n, t in enumerate(turns, 1) if t.maturity.coverage[cat] >= 1.0]
        assert first == (covered_at[0] if covered_at else None)
    order = [(r[4] >= 1.0, r[4], -(r[5] or 0)) for r in rows]
    assert order == sorted(order)
    assert any(r[5] is not None for r in rows) and rows[0][4] < 1.0


def test_conflicts_by_type(ws: Workspace, built: tuple[Project, list[Turn]]) -> None:
    p, _ = built
    other, _ = build(ws, "Tickets", answers=("p95 latency under 200 ms.", "p95 latency under 3 s.", COVER, COVER,
                                              COVER, "p95 latency under 30 s."))
    conflict = other.conflicts()[0]
    other.resolve_conflict(conflict, "dismiss")
    everything = p.conflicts(status=None) + other.conflicts(status=None)
    with Analytics.open(ws) as a:
        rows = a.conflicts_by_type().fetchall()
        assert a.conflicts_by_type(p).fetchall() == sorted(
            ((t, s, n, n, 0, 0) for (t, s), n in Counter(
                (c.type, c.severity) for c in p.conflicts(status=None)).items()),
            key=lambda r: (-r[2], r[0], r[1]),
        )
    expected = {
        (t, s): tuple(sum(1 for c in everything if (c.type, c.severity, c.status) == (t, s, st))
                      for st in ("open", "resolved", "dismissed"))
        for t, s in {(c.type, c.severity) for c in everything}
    }
    assert {(t, s): (o, r, d) for t, s, _, o, r, d in rows} == expected
    assert all(total == o + r + d for _, _, total, o, r, d in rows)
    assert sum(r[5] for r in rows) == 1
    assert [r[2] for r in rows] == sorted((r[2] for r in rows), reverse=True)


def test_answers_per_session(ws: Workspace, built: tuple[Project, list[Turn]]) -> None:
    p, turns = built
    session = p.sessions()[-1]
    session.skip()
    with Analytics.open(ws) as a:
        rows = a.answers_per_session("Payments").fetchall()
        assert a.answers_per_session().fetchall() == rows
    sessions = [s.refresh() for s in p.sessions()]
    with ws.db.read() as orm:
        items = {
            s.id: orm.scalar(select(func.count()).select_from(models.SpecItem).join(models.Answer)
                             .where(models.Answer.session_id == s.id))
            for s in sessions
        }
    assert rows == [
        (str(p.id), "Payments", str(s.id), s.status, s.created_at, s.completed_at, s.answer_count, s.question_count,
         1 if s.id == session.id else 0, items[s.id])
        for s in sessions
    ]
    assert sum(r[6] for r in rows) == len(turns) and sum(r[9] for r in rows) == sum(len(t.items) for t in turns)


# --- input checks ---------------------------------------------------------------------------------


def test_sql_parameters_and_bad_input(ws: Workspace, built: tuple[Project, list[Turn]]) -> None:
    p, _ = built
    with Analytics.open(ws) as a:
        assert a.sql("SELECT name FROM projects WHERE id = ?", [str(p.id)]).fetchall() == [("Payments",)]
        assert a.sql("SELECT name FROM projects WHERE id = $id", {"id": str(p.id)}).fetchall() == [("Payments",)]
        with pytest.raises(snb.ValidationError, match="Referenced column \"nope\" not found"):
            a.sql("SELECT nope FROM projects")
        with pytest.raises(snb.ValidationError, match="'users' is not an analytics view"):
            a.sql("SELECT * FROM users")
        with pytest.raises(snb.ValidationError, match="syntax error"):
            a.sql("SELEC 1")
        with pytest.raises(snb.ValidationError, match="exactly one SQL statement, got 2"):
            a.sql("SELECT 1; SELECT 2")
        with pytest.raises(snb.ValidationError, match="exactly one SQL statement, got 0"):
            a.sql("")
        with pytest.raises(snb.ValidationError, match="query must be SQL text"):
            a.sql(42)  # type: ignore[arg-type]
        for ref in ("Payments", " Payments ", p.id, str(p.id), p.id.hex.upper(), p, p.view):
            assert a.maturity_over_turns(ref).fetchall()
        for ref in ("Nope", str(uuid.uuid4()), uuid.uuid4(), ""):
            with pytest.raises(snb.NotFoundError, match="not found in the analytics snapshot"):
                a.maturity_by_category(ref)
        with pytest.raises(snb.ValidationError, match="project must be a project name, id or handle"):
            a.conflicts_by_type(42)
    with pytest.raises(snb.ValidationError, match="closed"):
        a.sql("SELECT 1")


def test_a_database_without_the_schema_is_a_database_error(tmp_path: Path) -> None:
    db = Database(normalize_database_url(f"sqlite:///{tmp_path / 'empty.db'}"))
    try:
        with pytest.raises(snb.DatabaseError, match="cannot read the database for analytics: no such table"):
            Analytics(db, Actor(uuid.uuid4(), "nobody"))
    finally:
        db.dispose()


def test_workspace_opens_analytics_of_its_user(ws: Workspace, other_ws: Workspace) -> None:
    other_ws.create_project("Bob's")
    ws.create_project("Alice's")
    with ws.analytics() as a:
        assert a.sql("SELECT name FROM projects").fetchall() == [("Alice's",)]
