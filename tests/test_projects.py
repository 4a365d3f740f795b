"""Projects through the public API: create, list (paging, order, status), get, ownership."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

import socrates_nb as snb
from socrates_nb.storage import models
from socrates_nb.workspace import Workspace


def _archive(ws: Workspace, *names: str) -> None:
    """Archive projects through the service (the notebook API offers no status change)."""
    for name in names:
        ws._projects.update(ws.user, name, status="archived")


def test_create_returns_the_stored_project(ws: Workspace) -> None:
    p = ws.create_project("  Payments API  ", description="Card payments", template="web-api")
    assert isinstance(p.id, uuid.UUID)
    assert (p.name, p.description, p.template, p.status, p.version) == ("Payments API", "Card payments", "web-api", "active", 1)
    assert p.created_at.tzinfo is not None and p.created_at.utcoffset().total_seconds() == 0
    again = ws.project(p.id)
    assert again.view == p.view
    assert ws.create_project("Plain").template == "generic"


def test_list_is_newest_first_and_pages_with_total(ws: Workspace) -> None:
    names = [f"Project {i:02d}" for i in range(25)]
    for name in names:
        ws.create_project(name)
    newest_first = list(reversed(names))

    pages = [ws.projects(offset=o, limit=10) for o in (0, 10, 20)]
    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert {p.total for p in pages} == {25}
    assert [(p.offset, p.limit) for p in pages] == [(0, 10), (10, 10), (20, 10)]
    assert [x.name for p in pages for x in p.items] == newest_first

    assert [x.name for x in ws.projects().items] == newest_first[:20]  # default page: 20
    past_end = ws.projects(offset=25, limit=10)
    assert past_end.items == () and past_end.total == 25
    one = ws.projects(offset=3, limit=1)
    assert [x.name for x in one.items] == [newest_first[3]]

    created = [x.created_at for p in pages for x in p.items]
    assert created == sorted(created, reverse=True)


def test_status_filter(ws: Workspace) -> None:
    for name in ("A", "B", "C", "D"):
        ws.create_project(name)
    _archive(ws, "B", "D")

    active = ws.projects(status="active")
    archived = ws.projects(status="archived")
    assert [p.name for p in active.items] == ["C", "A"] and active.total == 2
    assert [p.name for p in archived.items] == ["D", "B"] and archived.total == 2
    assert {p.status for p in archived.items} == {"archived"}
    everything = ws.projects()
    assert everything.total == 4 and [p.name for p in everything.items] == ["D", "C", "B", "A"]
    assert ws.projects(status="archived", offset=1, limit=1).items[0].name == "B"


def test_get_by_id_by_id_text_and_by_name(ws: Workspace) -> None:
    p = ws.create_project("Shop", template="web-app")
    ws.create_project("Other")
    for ref in (p.id, str(p.id), str(p.id).upper(), p.id.hex, "Shop", "  Shop  "):
        got = ws.project(ref)
        assert got.id == p.id and got.name == "Shop" and got.template == "web-app", ref
    with pytest.raises(snb.NotFoundError, match="'shop' not found"):
        ws.project("shop")  # names are case-sensitive


def test_duplicate_name_is_a_conflict_and_nothing_is_stored(ws: Workspace) -> None:
    ws.create_project("Shop", description="first")
    with pytest.raises(snb.ConflictError, match="a project named 'Shop' already exists"):
        ws.create_project("Shop", description="second")
    with pytest.raises(snb.ConflictError):
        ws.create_project("  Shop ")  # the same name once trimmed
    page = ws.projects()
    assert page.total == 1 and page.items[0].description == "first"


def test_unknown_template_lists_every_valid_template(ws: Workspace) -> None:
    with pytest.raises(snb.ValidationError) as err:
        ws.create_project("Shop", template="webapp")
    message = str(err.value)
    assert message.startswith("unknown template 'webapp'; valid templates: ")
    assert len(snb.TEMPLATES) == 7
    for name in snb.TEMPLATES:
        assert name in message
    assert err.value.code == "validation_error" and err.value.http_status == 422
    assert ws.projects().total == 0


@pytest.mark.parametrize("template", snb.TEMPLATES)
def test_every_template_can_start_a_session(ws: Workspace, template: str) -> None:
    p = ws.create_project(f"P {template}", template=template)
    q = p.start_session().next_question()
    assert q is not None and q.category == "goals"


def test_another_users_project_reads_as_not_found(ws: Workspace, other_ws: Workspace) -> None:
    mine = ws.create_project("Secret plans")
    for ref in (mine.id, str(mine.id), "Secret plans"):
        with pytest.raises(snb.NotFoundError) as err:
            other_ws.project(ref)
        assert err.value.http_status == 404
    missing = uuid.uuid4()
    with pytest.raises(snb.NotFoundError) as err_missing:
        other_ws.project(missing)
    # exactly like a project that does not exist: no hint that it exists for someone else
    assert str(err_missing.value) == f"project '{missing}' not found"
    with pytest.raises(snb.NotFoundError):
        other_ws._projects.get(other_ws.user, mine.id, include_sessions=True)
    with pytest.raises(snb.NotFoundError):
        other_ws._specs.specification(other_ws.user, mine.id)
    with pytest.raises(snb.NotFoundError):
        other_ws._sessions.start(other_ws.user, mine.id)
    with pytest.raises(snb.NotFoundError):
        other_ws._specs.conflicts(other_ws.user, "Secret plans")
    assert ws.project(mine.id).sessions() == []


def test_lists_are_per_user_and_names_are_unique_per_user(ws: Workspace, other_ws: Workspace) -> None:
    ws.create_project("Alpha")
    ws.create_project("Shared name")
    other_ws.create_project("Shared name")  # bob may use a name alice uses
    bob_page = other_ws.projects()
    assert [p.name for p in bob_page.items] == ["Shared name"] and bob_page.total == 1
    assert ws.projects().total == 2
    assert ws.project("Shared name").id != other_ws.project("Shared name").id
    assert other_ws.projects(status="active").total == 1


def test_sessions_of_a_project_oldest_first(ws: Workspace) -> None:
    p = ws.create_project("Shop")
    first = p.start_session()
    second = p.start_session()
    assert [s.id for s in p.sessions()] == [first.id, second.id]
    assert all(s.project_id == p.id for s in p.sessions())
    view = ws._projects.get(ws.user, p.id, include_sessions=True)
    assert view.to_dict()["sessions"][0]["id"] == str(first.id)
    assert "sessions" not in ws.project(p.id).view.to_dict()


def test_project_refresh_and_repr(ws: Workspace) -> None:
    p = ws.create_project("Shop", template="cli-tool")
    assert p.refresh().name == "Shop"
    assert "Shop" in repr(p) and "cli-tool" in repr(p)
    assert "alice" in repr(ws)
    page = ws._projects.list(ws.user)
    assert page.to_dict()["total"] == 1 and page.to_dict()["items"][0]["name"] == "Shop"


def _race(ws: Workspace, row_insert, action):  # noqa: ANN001, ANN202
    """Another connection inserts ``row_insert`` and holds it uncommitted while ``action`` runs in a
    thread (waiting on the name's unique index on PostgreSQL, the file lock on SQLite); then that
    connection commits. Returns what ``action`` returned or raised."""
    import threading
    import time

    from sqlalchemy import create_engine

    engine = create_engine(ws.db.url)
    conn = engine.connect()
    if ws.db.is_sqlite:
        conn.connection.driver_connection.isolation_level = None  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    conn.execute(row_insert)
    result: list = []
    thread = threading.Thread(target=lambda: result.append(_try(action)))
    thread.start()
    time.sleep(0.3)  # the action is now waiting on the other connection
    if ws.db.is_sqlite:
        conn.exec_driver_sql("COMMIT")
    else:
        conn.commit()
    thread.join(30)
    conn.close()
    engine.dispose()
    assert len(result) == 1, result
    return result[0]


def test_a_create_racing_another_for_the_same_name_is_a_conflict(ws: Workspace) -> None:
    """Another connection inserts the name first and commits while our create waits on it."""
    from sqlalchemy import insert

    outcome = _race(ws, insert(models.Project).values(
        id=uuid.uuid4(), user_id=ws.user.id, name="Race", description="theirs", template="generic",
        status="active", version=1, created_at=models.utcnow(), updated_at=models.utcnow(),
    ), lambda: ws.create_project("Race", description="ours"))
    assert isinstance(outcome, snb.ConflictError), outcome
    assert str(outcome) == "a project named 'Race' already exists"
    assert [p.description for p in ws.projects().items] == ["theirs"]


def _try(call):  # noqa: ANN001, ANN202
    try:
        return call()
    except Exception as exc:  # noqa: BLE001
        return exc


def test_first_use_racing_another_creates_the_user_once(db_url: str, ws: Workspace) -> None:
    from sqlalchemy import insert, select

    theirs = uuid.uuid4()
    outcome = _race(ws, insert(models.User).values(
        id=theirs, username="carol", role="user", is_active=True, created_at=models.utcnow()
    ), lambda: snb.connect(db_url, user="carol"))
    assert isinstance(outcome, Workspace), outcome
    assert outcome.user.id == theirs
    outcome.close()
    with ws.db.read() as orm:
        assert len(orm.scalars(select(models.User).where(models.User.username == "carol")).all()) == 1


def test_a_disabled_user_cannot_connect(db_url: str, ws: Workspace) -> None:
    with ws.db.write() as orm:
        orm.execute(update(models.User).where(models.User.username == "alice").values(is_active=False))
    with pytest.raises(snb.NotFoundError, match="user 'alice' is disabled"):
        snb.connect(db_url, user="alice")
