"""Bad input: every rejection has a precise message and stores nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

import socrates_nb as snb
from socrates_nb.services.validation import MAX_ANSWER_CHARS
from socrates_nb.storage import models
from socrates_nb.workspace import Project, Session, Workspace

TABLES = (models.Project, models.Session, models.Question, models.Answer, models.SpecItem, models.Conflict)


def counts(ws: Workspace) -> dict[str, int]:
    with ws.db.read() as orm:
        return {m.__tablename__: orm.scalar(select(func.count()).select_from(m)) or 0 for m in TABLES}


@pytest.fixture
def session(ws: Workspace) -> Session:
    s = ws.create_project("Shop").start_session()
    s.answer("Shops sell spare parts.")
    return s


def rejects(ws: Workspace, call: Callable[[], object], error: type[snb.SocratesError], message: str) -> None:
    """``call()`` raises ``error`` whose message is exactly ``message``; no table changes."""
    before = counts(ws)
    with pytest.raises(error) as err:
        call()
    assert str(err.value) == message
    assert "\n" not in str(err.value)
    assert counts(ws) == before, message


# --- answers -------------------------------------------------------------------------------


BAD_ANSWERS: list[tuple[object, str]] = [
    ("", "answer must not be empty"),
    ("   \t \n  ", "answer must not be empty"),
    (None, "answer must be text, got NoneType"),
    (42, "answer must be text, got int"),
    (b"bytes", "answer must be text, got bytes"),
    (["a list"], "answer must be text, got list"),
    ("Refunds\x00 in 5 days", "answer contains control characters"),
    ("Refunds\x1b[31m in red", "answer contains control characters"),
    ("bell\x07", "answer contains control characters"),
    ("x" * (MAX_ANSWER_CHARS + 1), "answer is 20,001 characters long; the limit is 20,000"),
    (" " * (MAX_ANSWER_CHARS + 1), "answer is 20,001 characters long; the limit is 20,000"),
    ]


def test_bad_answers_are_refused_and_nothing_stored(ws: Workspace, session: Session) -> None:
    pending = session.next_question()
    for answer, message in BAD_ANSWERS:
        rejects(ws, lambda: session.answer(answer), snb.ValidationError, message)  # type: ignore[arg-type]
        rejects(ws, lambda: session.answer(answer, question_id=pending.id), snb.ValidationError, message)  # type: ignore[arg-type]
    assert session.next_question() == pending
    assert ws.session(session.id).answer_count == 1


def test_answer_of_exactly_the_limit_is_accepted(ws: Workspace, session: Session) -> None:
    text = ("Refunds are issued within 5 days, " * 600)[:MAX_ANSWER_CHARS - 1] + "."  # one long statement
    assert len(text) == MAX_ANSWER_CHARS
    turn = session.answer(text)
    assert turn.seq == 2 and turn.items
    with ws.db.read() as orm:
        stored = orm.scalar(select(models.Answer.text).where(models.Answer.id == turn.answer_id))
    assert stored == text
    assert len(("é" * MAX_ANSWER_CHARS)) == MAX_ANSWER_CHARS
    assert session.answer("é" * MAX_ANSWER_CHARS).seq == 3  # characters, not bytes


def test_tabs_and_newlines_are_fine(session: Session) -> None:
    turn = session.answer("Line one\tis tabbed.\r\nLine two follows.")
    assert len(turn.items) == 2


def test_invalid_question_id_is_not_found_and_nothing_stored(ws: Workspace, session: Session) -> None:
    rejects(ws, lambda: session.answer("Fine text.", question_id="nope"), snb.NotFoundError, "question 'nope' not found")


# --- projects ------------------------------------------------------------------------------


BAD_PROJECTS: list[tuple[dict, str]] = [
    ({"name": ""}, "name must not be empty"),
    ({"name": "   "}, "name must not be empty"),
    ({"name": None}, "name must be text, got NoneType"),
    ({"name": "Shop\x00"}, "name contains control characters"),
    ({"name": "x" * 201}, "name is 201 characters long; the limit is 200"),
    ({"name": "Shop", "description": "d" * 10_001}, "description is 10,001 characters long; the limit is 10,000"),
    ({"name": "Shop", "description": None}, "description must be text, got NoneType"),
    (
            {"name": "Shop", "template": "web_api"},
        "unknown template 'web_api'; valid templates: generic, web-api, web-app, mobile-app, data-pipeline, ml-model, cli-tool",
    ),
    ({"name": "Shop", "template": ""}, "unknown template ''; valid templates: " + ", ".join(snb.TEMPLATES)),
    # from a JSON body (found by schemathesis: a dict was a 500)
    ({"name": "Shop", "template": {}}, "unknown template {}; valid templates: " + ", ".join(snb.TEMPLATES)),
    ]


def test_bad_projects_are_refused_and_nothing_stored(ws: Workspace) -> None:
    for kwargs, message in BAD_PROJECTS:
        rejects(ws, lambda: ws.create_project(**kwargs), snb.ValidationError, message)
    assert ws.projects().total == 0


def test_name_of_exactly_the_limit_is_accepted(ws: Workspace) -> None:
    assert ws.create_project("x" * 200).name == "x" * 200


def test_unknown_engine_is_refused_and_nothing_stored(ws: Workspace) -> None:
    p = ws.create_project("Shop")
    rejects(ws, lambda: p.start_session(engine="gpt-9"), snb.ValidationError, "unknown engine 'gpt-9'; valid engines: offline, anthropic, openai")


BAD_PROJECT_REFS: list[object] = [
    "not-a-uuid", "", "   ", "1234", "Shop\x00", "a" * 5000, str(uuid.uuid4()), uuid.uuid4(), "{bad}", "Sh\nop", None, 7,
]


def test_invalid_project_refs_are_not_found(ws: Workspace) -> None:
    ws.create_project("Shop")
    before = counts(ws)
    for ref in BAD_PROJECT_REFS:
        with pytest.raises(snb.NotFoundError) as err:
            ws.project(ref)  # type: ignore[arg-type]
        message = str(err.value)
        assert message.startswith("project ") and message.endswith(" not found"), ref
        assert len(message) < 100 and "\n" not in message, ref
        with pytest.raises(snb.NotFoundError):
            ws._specs.specification(ws.user, ref)  # type: ignore[arg-type]
        with pytest.raises(snb.NotFoundError):
            ws._sessions.start(ws.user, ref)  # type: ignore[arg-type]
        with pytest.raises(snb.NotFoundError):
            ws._projects.get(ws.user, ref, include_sessions=True)  # type: ignore[arg-type]
    assert counts(ws) == before


def test_invalid_session_ids_are_not_found(ws: Workspace) -> None:
    for ref in ["not-a-uuid", "", "x" * 5000, "\x00", 12345, None, uuid.uuid4()]:
        with pytest.raises(snb.NotFoundError) as err:
            ws.session(ref)  # type: ignore[arg-type]
        assert str(err.value).startswith("session ") and len(str(err.value)) < 100, ref
        with pytest.raises(snb.NotFoundError):
            ws._sessions.answer(ws.user, ref, "Some answer.")  # type: ignore[arg-type]


# --- conflicts -----------------------------------------------------------------------------


@pytest.fixture
def conflicted(ws: Workspace) -> tuple[Project, snb.workspace.Conflict]:
    p = ws.create_project("Perf")
    turn = p.start_session().answer("p95 latency under 200 ms. p95 latency under 2 s.")
    assert len(turn.conflicts) == 1
    return p, turn.conflicts[0]


BAD_RESOLUTIONS: list[tuple[str, str | None, str]] = [
    ("keep_both", None, "unknown resolution 'keep_both'; valid: keep_a, keep_b, merge, dismiss"),
    ("", None, "unknown resolution ''; valid: keep_a, keep_b, merge, dismiss"),
    ("merge", None, "a merge needs text: the merged requirement that replaces both items"),
    ("merge", "  ", "a merge needs text: the merged requirement that replaces both items"),
    ("merge", "x" * 20_001, "text is 20,001 characters long; the limit is 20,000"),
    ("merge", "bad\x00text", "text contains control characters"),
]


def test_bad_resolutions_are_refused_and_nothing_changes(
    ws: Workspace, conflicted: tuple[Project, snb.workspace.Conflict]
) -> None:
    p, c = conflicted
    for resolution, text, message in BAD_RESOLUTIONS:
        rejects(ws, lambda: p.resolve_conflict(c, resolution, text=text), snb.ValidationError, message)
    assert [x.status for x in p.conflicts()] == ["open"]
    assert len(p.specification().items) == 2


# --- lists ---------------------------------------------------------------------------------


BAD_LIST_ARGS: list[tuple[dict, str]] = [
    ({"limit": 0}, "limit must be an integer from 1 to 100, got 0"),
    ({"limit": 101}, "limit must be an integer from 1 to 100, got 101"),
    ({"limit": -1}, "limit must be an integer from 1 to 100, got -1"),
    ({"limit": "10"}, "limit must be an integer from 1 to 100, got '10'"),
    ({"limit": True}, "limit must be an integer from 1 to 100, got True"),
    ({"limit": 2.0}, "limit must be an integer from 1 to 100, got 2.0"),
    ({"offset": -1}, "offset must be an integer from 0 to 2,147,483,647, got -1"),
    ({"offset": 2**70}, "offset must be an integer from 0 to 2,147,483,647, got 1180591620717411303424"),
    ({"offset": None}, "offset must be an integer from 0 to 2,147,483,647, got None"),
    ({"status": "deleted"}, "unknown status 'deleted'; valid statuses: active, archived"),
    ({"status": ""}, "unknown status ''; valid statuses: active, archived"),
    ({"status": "ACTIVE"}, "unknown status 'ACTIVE'; valid statuses: active, archived"),
    ]


def test_bad_list_arguments(ws: Workspace) -> None:
    ws.create_project("Shop")
    for kwargs, message in BAD_LIST_ARGS:
        rejects(ws, lambda: ws.projects(**kwargs), snb.ValidationError, message)
        rejects(ws, lambda: ws._projects.list(ws.user, **kwargs), snb.ValidationError, message)


def test_list_bounds_that_are_accepted(ws: Workspace) -> None:
    ws.create_project("Shop")
    assert ws.projects(limit=1).total == 1
    assert ws.projects(limit=100).total == 1
    assert ws.projects(offset=2**31 - 1).items == ()


def test_errors_have_stable_codes() -> None:
    assert snb.ValidationError("x").to_dict() == {"error": {"code": "validation_error", "message": "x"}}
    assert (snb.NotFoundError("x").http_status, snb.ConflictError("x").http_status) == (404, 409)
    assert (snb.ConfigError("x").code, snb.DatabaseError("x").code) == ("config_error", "database_error")
    assert issubclass(snb.DatabaseError, snb.SocratesError)
