"""Specifications: items with sources, exports, determinism, conflicts and their resolution."""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

import socrates_nb as snb
from socrates_nb.export import render
from socrates_nb.storage import models
from socrates_nb.workspace import Project, Session, Workspace

COVER = "The team reviews it weekly. Staff record each change. Finance signs off every quarter."
FAST = "p95 latency under 200 ms"
SLOW = "p95 latency under 2 s"


def answer_until(session: Session, category: str, filler: str = COVER, limit: int = 40) -> snb.workspace.Question:
    """Answer pending questions with ``filler`` until one of ``category`` is pending; return it."""
    q = session.next_question()
    for _ in range(limit):
        assert q is not None, f"ran out of questions before reaching {category}"
        if q.category == category:
            return q
        q = session.answer(filler).next_question
    raise AssertionError(f"no {category} question within {limit} answers")


def item_rows(ws: Workspace, project_id: uuid.UUID) -> dict[str, tuple[bool, str | None]]:
    """ref -> (is_current, ref of the superseding item) for every item of the project."""
    with ws.db.read() as orm:
        rows = orm.scalars(select(models.SpecItem).where(models.SpecItem.project_id == project_id)).all()
        by_id = {r.id: r.ref for r in rows}
        return {r.ref: (r.is_current, by_id.get(r.superseded_by) if r.superseded_by else None) for r in rows}


def make_conflict(ws: Workspace, name: str = "Perf") -> tuple[Project, snb.workspace.Conflict]:
    """A generic project where two performance answers state different p95 latencies."""
    p = ws.create_project(name)
    s = p.start_session()
    answer_until(s, "performance")
    first = s.answer(FAST)
    assert [(i.ref, i.key) for i in first.items] == [("NFR-PERF-001", "performance.latency_p95")]
    assert first.conflicts == ()
    answer_until(s, "performance")
    second = s.answer(SLOW)
    assert [i.ref for i in second.items] == ["NFR-PERF-002"]
    assert len(second.conflicts) == 1
    return p, second.conflicts[0]


# --- items and their sources ---------------------------------------------------------------


def test_items_carry_their_source_question_and_answer(ws: Workspace) -> None:
    p = ws.create_project("Shop", description="Spare parts")
    s = p.start_session()
    q1 = s.next_question()
    s.answer("Shops sell spare parts. Buyers compare prices.")
    q2 = s.next_question()
    s.answer("Mechanics buy for their garages.")
    spec = p.specification()
    assert [(i.ref, i.category) for i in spec.items] == [("GOAL-001", "goals"), ("GOAL-002", "goals"), ("USR-001", "users")]
    assert [i.source_question for i in spec.items] == [q1.text, q1.text, q2.text]
    assert spec.items[0].source_answer == "Shops sell spare parts. Buyers compare prices."
    assert spec.items[2].source_answer == "Mechanics buy for their garages."
    assert all(i.is_current for i in spec.items)
    assert spec.view.project.name == "Shop" and spec.conflicts == ()
    assert 0 < spec.maturity.score < 100 and spec.gaps
    assert any(g.startswith("Goals (80% covered): ") for g in spec.gaps), spec.gaps
    d = spec.items[0].to_dict()
    assert d["source"] == {"answer_id": str(spec.items[0].answer_id), "question": q1.text,
                           "answer": spec.items[0].source_answer, "turn": 1, "restated": []}
    assert d["acceptance_criteria"] == []
    assert d["rationale"] == q1.why and d["priority"] == "unset"  # stated by nobody: never guessed
    assert spec.items[2].to_dict()["source"]["turn"] == 2
    assert "items=3" in repr(spec)


def test_spec_of_a_new_project_is_empty(ws: Workspace) -> None:
    spec = ws.create_project("Empty").specification()
    assert spec.items == () and spec.conflicts == () and spec.maturity.score == 0.0
    assert len(spec.gaps) == 14
    assert json.loads(spec.to_json())["items"] == []
    assert spec.to_csv().count("\n") == 1
    assert "## Open conflicts\n\nNone." in spec.to_markdown()


def test_items_sort_by_category_then_number(ws: Workspace) -> None:
    p = ws.create_project("Many")
    s = p.start_session()
    s.answer(" ".join(f"Goal statement number {n}." for n in range(12)))
    refs = [i.ref for i in p.specification().items]
    assert refs == [f"GOAL-{n:03d}" for n in range(1, 13)]


# --- exports -------------------------------------------------------------------------------


@pytest.fixture
def filled(ws: Workspace) -> Project:
    p = ws.create_project("Payments | API", description="Card payments\nfor shops", template="web-api")
    s = p.start_session()
    s.answer("Merchants take card payments online. Refunds are fast and easy.")
    probe = s.next_question()  # "fast and easy" is vague: a follow-up asks for a measurable form
    assert probe.is_probe and probe.category == "goals" and "'fast' and 'easy'" in probe.text
    assert s.skip().category == "users"  # skipped: the vague item stays as stated
    s.answer('Shop owners, "support" staff, and auditors.')
    s.answer(f"{FAST}. {SLOW}.")  # p95 latencies are performance items, in conflict inside one answer
    return p


def test_json_export_parses_and_has_items_with_refs(filled: Project) -> None:
    spec = filled.specification()
    data = json.loads(spec.to_json())
    assert data["format"] == "socrates_nb.specification" and data["format_version"] == 2
    assert data["project"] == {
        "name": "Payments | API", "description": "Card payments\nfor shops", "template": "web-api", "status": "active",
    }
    refs = [i["ref"] for i in data["items"]]
    assert refs == [i.ref for i in spec.items] == ["GOAL-001", "GOAL-002", "USR-001", "NFR-PERF-001", "NFR-PERF-002"]
    first = data["items"][0]
    assert set(first) == {"ref", "category", "key", "value", "text", "confidence", "findings", "priority", "rationale",
                          "acceptance_criteria", "source"}
    assert first["source"]["answer"].startswith("Merchants take card payments")
    vague = data["items"][1]["findings"]
    assert [f["rule"] for f in vague] == ["vague-term", "vague-term"]  # no not-ears: nothing to act on
    assert [(f["span"], f["severity"]) for f in vague[:2]] == [([12, 16], "warning"), ([21, 25], "warning")]
    assert data["items"][1]["text"][12:16] == "fast" and data["items"][1]["text"][21:25] == "easy"
    assert data["conflicts"] == [
        {"type": "numeric", "severity": "high", "items": ["NFR-PERF-001", "NFR-PERF-002"],
         "explanation": "performance.latency_p95: 200 ms vs 2 s", "status": "open", "resolution": None}
    ]
    assert data["maturity"]["score"] == spec.maturity.score
    assert data["gaps"] == list(spec.gaps)
    assert spec.to_dict() == data
    text_ = spec.to_json()
    for forbidden in (str(filled.id), str(spec.items[0].id), str(spec.items[0].answer_id)):
        assert forbidden not in text_


def test_csv_export_has_a_header_and_one_row_per_item(filled: Project) -> None:
    spec = filled.specification()
    rows = list(csv.reader(io.StringIO(spec.to_csv())))
    assert rows[0] == ["ref", "category", "key", "text", "confidence", "value", "findings", "question", "answer",
                       "acceptance_criteria"]
    assert len(rows) == 1 + len(spec.items)
    assert [r[0] for r in rows[1:]] == [i.ref for i in spec.items]
    by_ref = {r[0]: r for r in rows[1:]}
    user_row = next(r for r in rows[1:] if r[1] == "users")
    assert user_row[8] == 'Shop owners, "support" staff, and auditors.'  # quotes and commas survive
    assert json.loads(by_ref["GOAL-001"][5]) == spec.items[0].value
    assert by_ref["GOAL-002"][6] == "vague-term; vague-term" and by_ref["GOAL-001"][4] == "0.60"
    assert by_ref["NFR-PERF-001"][6] == "" and by_ref["NFR-PERF-001"][4] == "0.90"  # a measured "shall" item


def test_markdown_groups_items_by_category(filled: Project) -> None:
    spec = filled.specification()
    md = spec.to_markdown()
    assert md.startswith("# Payments \\| API: specification\n")
    assert "Card payments for shops" in md  # newline flattened
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == ["## Goals", "## Users", "## Performance", "## Open conflicts", "## Open questions", "## Gaps",
                        "## Not ready because"]
    assert md[md.index("## Open questions"):md.index("## Gaps")] == "## Open questions\n\nNone.\n\n"
    assert "- 1 open high-severity conflict(s)" in md[md.index("## Not ready because"):]
    goals = md[md.index("## Goals"): md.index("## Users")]
    assert "**GOAL-001**" in goals and "**GOAL-002**" in goals and "USR-001" not in goals
    assert "`vague-term`" in goals and "Asked: " in goals and 'Answer: "Merchants' in goals
    conflicts = md[md.index("## Open conflicts"): md.index("## Open questions")]
    assert "NFR-PERF-001 vs NFR-PERF-002 (numeric, high)" in conflicts
    assert f"Maturity: **{spec.maturity.score:.1f} / 100**" in md


def test_unknown_export_format(filled: Project) -> None:
    with pytest.raises(snb.ValidationError, match="unknown format 'pdf'; valid formats: md, json, csv"):
        render(filled.specification().view, "pdf")
    assert render(filled.specification().view, "markdown") == filled.specification().to_markdown()


@pytest.fixture
def second_db_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """Another fresh database of the same kind as ``db_url``."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'second.db'}"
        return
    base = os.environ["SOCRATES_TEST_POSTGRES_URL"]
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in base else "?"
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


SCRIPT = [
    "Merchants take card payments online. Refunds are fast and easy.",
    "Shop owners and support staff, about 500 concurrent users.",
    f"{FAST}. {SLOW}. p95 latency under 20 s. Reports are exported as CSV.",  # three conflicts at once
    "Orders are kept for 7 years; card numbers are never stored.",
    "We integrate with Stripe and the accounting system, etc.",
    "Must run on our Kubernetes cluster.",
    FAST,
    "Availability of 99.9% per month.",
]


def _run_script(url: str) -> tuple[str, str, str]:
    with snb.connect(url, user="alice") as w:
        p = w.create_project("Payments API", description="Card payments", template="web-api")
        s = p.start_session()
        for line in SCRIPT:
            s.answer(line)
        s.skip()
        s.answer("Operations are run by the platform team.")
        spec = p.specification()
        return spec.to_json(), spec.to_markdown(), spec.to_csv()


def test_exports_are_deterministic_across_databases(db_url: str, second_db_url: str) -> None:
    first = _run_script(db_url)
    second = _run_script(second_db_url)
    assert first[0] == second[0]
    assert first[1] == second[1]
    assert first[2] == second[2]
    assert len(json.loads(first[0])["conflicts"]) >= 3, "the script should produce conflicts"


# --- conflicts -----------------------------------------------------------------------------


def test_numeric_conflict_between_two_answers(ws: Workspace) -> None:
    p, c = make_conflict(ws)
    assert (c.type, c.severity, c.status, c.resolution) == ("numeric", "high", "open", None)
    assert (c.item_a, c.item_b) == ("NFR-PERF-001", "NFR-PERF-002")
    assert c.explanation == "performance.latency_p95: 200 ms vs 2 s"
    spec = p.specification()
    assert [x.id for x in spec.conflicts] == [c.id]
    assert {"NFR-PERF-001", "NFR-PERF-002"} <= {i.ref for i in spec.items}
    assert [x.id for x in p.conflicts()] == [c.id]
    assert p.conflicts(status="resolved") == [] and [x.id for x in p.conflicts(status=None)] == [c.id]
    assert c.to_dict()["items"] == ["NFR-PERF-001", "NFR-PERF-002"]


def test_medium_severity_and_independent_values(ws: Workspace) -> None:
    p = ws.create_project("Perf")
    s = p.start_session()
    turn = s.answer("p95 latency under 200 ms. p95 latency under 300 ms. p95 latency under 220 ms.")
    assert [(c.item_a, c.item_b, c.severity) for c in turn.conflicts] == [
        ("NFR-PERF-001", "NFR-PERF-002", "medium"),
        ("NFR-PERF-002", "NFR-PERF-003", "medium"),
    ]  # 200 vs 220 differ by less than 25%: no conflict
    # Two limits of one metric family (durations) 12x apart, but about different subjects:
    # independent. Both land in performance, so only the subjects keep them apart.
    p2 = ws.create_project("Batch")
    s2 = p2.start_session()
    answer_until(s2, "performance")
    plain = s2.answer("Reports are generated within 10 minutes. Imports finish within 2 hours.")
    assert [(i.category, i.value["metric"], i.value["unit"]) for i in plain.items] == [
        ("performance", "duration", "min"), ("performance", "duration", "h"),
    ]
    assert plain.conflicts == ()
    # the same two numbers about one subject do conflict
    p3 = ws.create_project("Pages")
    s3 = p3.start_session()
    answer_until(s3, "performance")
    same = s3.answer("Reports are generated within 10 minutes. Reports are generated within 2 hours.")
    assert [(c.type, c.severity) for c in same.conflicts] == [("numeric", "high")]


@pytest.mark.parametrize(
    ("resolution", "current", "gone"),
    [
        ("keep_a", {"NFR-PERF-001"}, {"NFR-PERF-002": "NFR-PERF-001"}),
        ("keep_b", {"NFR-PERF-002"}, {"NFR-PERF-001": "NFR-PERF-002"}),
        ("merge", {"NFR-PERF-003"}, {"NFR-PERF-001": "NFR-PERF-003", "NFR-PERF-002": "NFR-PERF-003"}),
        ("dismiss", {"NFR-PERF-001", "NFR-PERF-002"}, {}),
    ],
)
def test_resolve_conflict(ws: Workspace, resolution: str, current: set[str], gone: dict[str, str]) -> None:
    p, c = make_conflict(ws)
    p.specification()  # cached: the resolution must invalidate it
    merged = "p95 latency under 500 ms for checkout" if resolution == "merge" else None
    done = p.resolve_conflict(c, resolution, text=merged)
    assert done.id == c.id and done.resolution == resolution
    assert done.status == ("dismissed" if resolution == "dismiss" else "resolved")

    spec = p.specification()
    perf = {i.ref for i in spec.items if i.category == "performance"}
    assert perf == current
    assert spec.conflicts == () and p.conflicts() == []
    assert [x.id for x in p.conflicts(status=done.status)] == [c.id]
    rows = item_rows(ws, p.id)
    for ref, by in gone.items():
        assert rows[ref] == (False, by)
    for ref in current:
        assert rows[ref] == (True, None)
    if resolution == "merge":
        item = next(i for i in spec.items if i.ref == "NFR-PERF-003")
        assert item.text == merged and item.key == "performance.latency_p95" and item.answer_id is None
        assert item.value == {"text": merged, "merged_from": ["NFR-PERF-001", "NFR-PERF-002"]}
        assert item.confidence == 0.9 and item.source_question is None
        lines = spec.to_markdown().splitlines()
        at = next(n for n, line in enumerate(lines) if line.startswith("- **NFR-PERF-003**"))
        assert not lines[at + 1].startswith("  - ")  # no question, no answer behind a merged item

    with pytest.raises(snb.ConflictError, match=f"conflict {c.id} is already {done.status}"):
        p.resolve_conflict(c.id, "keep_a")
    assert {i.ref for i in p.specification().items if i.category == "performance"} == current


def test_resolve_by_id_text(ws: Workspace) -> None:
    p, c = make_conflict(ws)
    assert p.resolve_conflict(str(c.id), "keep_b").status == "resolved"


def test_another_users_conflict_reads_as_not_found(ws: Workspace, other_ws: Workspace) -> None:
    p, c = make_conflict(ws)
    bob_project = other_ws.create_project("Mine")
    for resolution in ("keep_a", "dismiss"):
        with pytest.raises(snb.NotFoundError, match=f"conflict '{c.id}' not found"):
            bob_project.resolve_conflict(c.id, resolution)
    with pytest.raises(snb.NotFoundError):
        other_ws._specs.resolve(other_ws.user, c.id, "merge", "taken over")
    with pytest.raises(snb.NotFoundError):
        other_ws._specs.conflicts(other_ws.user, p.id)
    assert [x.status for x in p.conflicts()] == ["open"]
    with pytest.raises(snb.NotFoundError, match="not found"):
        p.resolve_conflict(uuid.uuid4(), "keep_a")
    with pytest.raises(snb.NotFoundError, match="not found"):
        p.resolve_conflict("not-a-conflict", "keep_a")


def test_restating_the_same_value_supersedes_the_older_item(ws: Workspace) -> None:
    p = ws.create_project("Perf")
    s = p.start_session()
    answer_until(s, "performance")
    s.answer(FAST)
    answer_until(s, "performance")
    turn = s.answer("The p95 latency stays under 0.2 s.")  # the same limit in other units
    assert turn.conflicts == ()
    assert item_rows(ws, p.id)["NFR-PERF-001"] == (False, "NFR-PERF-002")
    perf = [i.ref for i in p.specification().items if i.category == "performance"]
    assert perf == ["NFR-PERF-002"]


def test_restatement_and_conflict_inside_one_answer(ws: Workspace) -> None:
    p = ws.create_project("Perf")
    s = p.start_session()
    turn = s.answer("p95 latency under 200 ms. The p95 latency is 0.2 s. p95 latency under 2 s.")
    assert [(i.ref, i.is_current) for i in turn.items] == [
        ("NFR-PERF-001", False), ("NFR-PERF-002", True), ("NFR-PERF-003", True),
    ]
    assert [(c.item_a, c.item_b) for c in turn.conflicts] == [("NFR-PERF-002", "NFR-PERF-003")]
    assert item_rows(ws, p.id)["NFR-PERF-001"] == (False, "NFR-PERF-002")
    assert [i.ref for i in p.specification().items] == ["NFR-PERF-002", "NFR-PERF-003"]


def test_restating_text_supersedes_across_sessions(ws: Workspace) -> None:
    p = ws.create_project("Shop")
    s1 = p.start_session()
    s1.answer("Shops sell spare parts.")
    s1.complete()
    s2 = p.start_session()
    # a free answer (no question pending) lands in functional.free; restate it twice
    while s2.skip() is not None:
        pass
    # stored text: "Orders are exported as CSV."; the two capabilities get one criteria follow-up
    first = "Orders are exported as CSV. Clerks print invoices."
    assert s2.answer(first).next_question.key == "criteria.functional.free"
    assert s2.skip() is None
    s2.answer("Orders are exported as CSV!")
    assert item_rows(ws, p.id)["FR-001"] == (False, "FR-003")
    assert [i.ref for i in p.specification().items if i.category == "functional"] == ["FR-002", "FR-003"]
    restated = p.specification().items[-1]
    assert restated.ref == "FR-003" and restated.restated == ({"question": None, "answer": first, "turn": 1},)
    assert restated.to_dict()["source"]["restated"] == [{"question": None, "answer": first, "turn": 1}]
    lines = p.specification().to_markdown().splitlines()
    at = lines.index("- **FR-003** Orders are exported as CSV! _(confidence 0.60)_")
    assert lines[at + 1] == '  - Answer: "Orders are exported as CSV!"'  # a free answer: no question
    assert lines[at + 2] == f'  - Also stated (turn 1): "{first}"'  # both answers are its sources


def test_concurrent_resolutions_resolve_once(ws: Workspace, db_url: str) -> None:
    p, c = make_conflict(ws)
    app = f"snbtest_{uuid.uuid4().hex[:10]}"
    url = db_url if ws.db.is_sqlite else f"{db_url}&application_name={app}"
    workers = [snb.connect(url, user="alice") for _ in range(2)]
    lock_engine = create_engine(ws.db.url)
    lock = lock_engine.connect()
    if ws.db.is_sqlite:
        lock.connection.driver_connection.isolation_level = None  # type: ignore[union-attr]
        lock.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        lock.execute(select(models.Project.id).where(models.Project.id == p.id).with_for_update()).all()
    results: list = [None, None]

    def run(i: int, resolution: str) -> None:
        try:
            results[i] = workers[i]._specs.resolve(workers[i].user, c.id, resolution)
        except Exception as exc:  # noqa: BLE001
            results[i] = exc

    threads = [threading.Thread(target=run, args=(0, "keep_a")), threading.Thread(target=run, args=(1, "keep_b"))]
    for t in threads:
        t.start()
    deadline = time.monotonic() + (0.3 if ws.db.is_sqlite else 10)
    while time.monotonic() < deadline:
        if not ws.db.is_sqlite:
            waiting = lock.execute(
                text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :a AND wait_event_type = 'Lock'"),
                {"a": app},
            ).scalar_one()
            if waiting >= 2:
                break
        time.sleep(0.02)
    if ws.db.is_sqlite:
        lock.exec_driver_sql("COMMIT")
    else:
        lock.commit()
    for t in threads:
        t.join(30)
    lock.close()
    lock_engine.dispose()
    for w in workers:
        w.close()
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], snb.ConflictError), results
    perf = [i for i in p.specification().items if i.category == "performance"]
    assert len(perf) == 1, "exactly one of the two items must survive"


def test_conflicts_of_one_answer_keep_a_stable_order(ws: Workspace) -> None:
    p = ws.create_project("Perf")
    turn = p.start_session().answer(
        "p95 latency under 200 ms. p95 latency under 2 s. p95 latency under 20 s. p95 latency under 50 s."
    )
    expected = [("NFR-PERF-001", "NFR-PERF-002"), ("NFR-PERF-001", "NFR-PERF-003"), ("NFR-PERF-002", "NFR-PERF-003"),
                ("NFR-PERF-001", "NFR-PERF-004"), ("NFR-PERF-002", "NFR-PERF-004"), ("NFR-PERF-003", "NFR-PERF-004")]
    assert [(c.item_a, c.item_b) for c in turn.conflicts] == expected
    assert [(c.item_a, c.item_b) for c in p.specification().conflicts] == expected
    assert [(c.item_a, c.item_b) for c in p.conflicts()] == expected


def test_resolving_closes_the_conflicts_made_moot(ws: Workspace) -> None:
    p = ws.create_project("Perf")
    turn = p.start_session().answer("p95 latency under 200 ms. p95 latency under 2 s. p95 latency under 20 s.")
    assert [(c.item_a, c.item_b) for c in turn.conflicts] == [
        ("NFR-PERF-001", "NFR-PERF-002"), ("NFR-PERF-001", "NFR-PERF-003"), ("NFR-PERF-002", "NFR-PERF-003"),
    ]
    p.resolve_conflict(turn.conflicts[0], "keep_a")  # NFR-PERF-002 is replaced by NFR-PERF-001
    spec = p.specification()
    assert [i.ref for i in spec.items] == ["NFR-PERF-001", "NFR-PERF-003"]
    assert [(c.item_a, c.item_b) for c in spec.conflicts] == [("NFR-PERF-001", "NFR-PERF-003")]
    closed = {(c.item_a, c.item_b): (c.status, c.resolution) for c in p.conflicts(status="resolved")}
    assert closed == {
        ("NFR-PERF-001", "NFR-PERF-002"): ("resolved", "keep_a"),
        ("NFR-PERF-002", "NFR-PERF-003"): ("resolved", "superseded"),
    }
    with pytest.raises(snb.ConflictError, match="is already resolved"):
        p.resolve_conflict(turn.conflicts[2], "keep_b")  # would revive a replaced item
    p.resolve_conflict(spec.conflicts[0], "merge", text="p95 latency under 1 s")
    final = p.specification()
    assert [i.ref for i in final.items] == ["NFR-PERF-004"] and final.conflicts == ()


def test_restating_a_value_closes_its_old_conflicts(ws: Workspace) -> None:
    p = ws.create_project("Perf")
    s = p.start_session()
    first = s.answer(f"{FAST}. {SLOW}.")
    assert [(c.item_a, c.item_b) for c in first.conflicts] == [("NFR-PERF-001", "NFR-PERF-002")]
    # within one answer: 0.2 s restates NFR-PERF-001's 200 ms; the conflict moves to the new item
    p2 = ws.create_project("Perf 2")
    turn = p2.start_session().answer(f"{FAST}. {SLOW}. The p95 latency is 0.2 s.")
    assert [(c.item_a, c.item_b) for c in turn.conflicts] == [("NFR-PERF-002", "NFR-PERF-003")]
    spec = p2.specification()
    assert [i.ref for i in spec.items] == ["NFR-PERF-002", "NFR-PERF-003"]
    assert [(c.item_a, c.item_b) for c in spec.conflicts] == [("NFR-PERF-002", "NFR-PERF-003")]
    # a contradiction made moot within the same answer is never recorded
    assert p2.conflicts(status="resolved") == []
    # one of an earlier answer is closed as superseded
    later = s.answer("The p95 latency is 0.2 s.")
    assert [(c.item_a, c.item_b) for c in later.conflicts] == [("NFR-PERF-002", "NFR-PERF-003")]
    assert [(c.item_a, c.item_b, c.resolution) for c in p.conflicts(status="resolved")] == [
        ("NFR-PERF-001", "NFR-PERF-002", "superseded")
    ]


def test_open_conflicts_only_name_current_items(ws: Workspace) -> None:
    p = ws.create_project("Perf")
    s = p.start_session()
    while s.skip() is not None:  # from now on every answer is a free item (a p95 latency: performance)
        pass
    script = ["p95 latency under 200 ms.", "p95 latency under 2 s.", "p95 latency under 700 ms.",
              "The p95 latency is 0.7 s", "p95 latency under 2000 ms", "p95 latency under 5 s."]
    for n, line in enumerate(script):
        s.answer(line)
        spec = p.specification()
        current = {i.ref for i in spec.items}
        assert bool(spec.conflicts) == (n > 0)
        for conflict in spec.conflicts:
            assert {conflict.item_a, conflict.item_b} <= current, (line, conflict, sorted(current))
    # 200 ms, 0.7 s (restating 700 ms), 2000 ms (restating 2 s) and 5 s remain, all in conflict
    assert [i.ref for i in p.specification().items] == ["NFR-PERF-001", "NFR-PERF-004", "NFR-PERF-005", "NFR-PERF-006"]
    assert len(p.specification().conflicts) == 6
    while (open_ := p.conflicts()):
        p.resolve_conflict(open_[0], "keep_a")
    assert [i.ref for i in p.specification().items] == ["NFR-PERF-001"]


def test_conflict_status_filter_is_checked(ws: Workspace) -> None:
    p = ws.create_project("Shop")
    with pytest.raises(snb.ValidationError, match="unknown conflict status 'closed'; valid: open, resolved, dismissed"):
        p.conflicts(status="closed")


def test_refs_stay_the_same_across_later_answers_and_exports(ws: Workspace) -> None:
    p = ws.create_project("Stable")
    s = p.start_session()
    s.answer("Couriers lose an hour a day finding parcels. Dispatchers plan 40 routes a day.")
    s.answer("Couriers and dispatchers use the app on phones.")
    first = {i["ref"]: i["text"] for i in json.loads(p.specification().to_json())["items"]}
    assert first == {i["ref"]: i["text"] for i in json.loads(p.specification().to_json())["items"]}
    s.answer("Every parcel is scanned at pickup and at delivery.")
    while (q := s.next_question()) is not None and q.category != "performance":
        s.skip()
    s.answer("Scans appear in the dispatcher view within 5 s.")
    later = {i["ref"]: i["text"] for i in json.loads(p.specification().to_json())["items"]}
    assert len(later) > len(first)
    assert {ref: later[ref] for ref in first} == first  # earlier items keep their refs and texts
