"""The IPython extension, driven through a real InteractiveShell."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.testing.globalipapp import start_ipython

import socrates_nb as snb


@pytest.fixture
def shell(db_url: str) -> Iterator[InteractiveShell]:
    ip = start_ipython() or InteractiveShell.instance()
    ip.run_line_magic("load_ext", "socrates_nb")
    ip.run_line_magic("socrates", f"connect {db_url} --user alice")
    yield ip
    ip.run_line_magic("unload_ext", "socrates_nb")


def test_a_session_through_magics(shell: InteractiveShell, db_url: str) -> None:
    project = shell.run_line_magic("socrates", "project new 'Payments API' --template web-api")
    assert project.name == "Payments API" and project.template == "web-api"
    q = shell.run_line_magic("socrates", "ask")
    assert q.category == "goals" and q.seq == 1
    turn = shell.run_cell_magic("socrates", "answer", "Merchants take card payments online.\n")
    assert [i.ref for i in turn.items] == ["GOAL-001"]
    assert shell.run_line_magic("socrates", "ask").seq == 2
    md = shell.run_line_magic("socrates", "spec")
    assert md.startswith("# Payments API: specification") and repr(md) == str(md)
    data = json.loads(shell.run_line_magic("socrates", "spec --format json"))
    assert [i["ref"] for i in data["items"]] == ["GOAL-001"]
    with snb.connect(db_url, user="alice") as ws:  # stored, visible to another connection
        assert ws.project("Payments API").sessions()[0].answer_count == 1
    assert shell.run_line_magic("socrates", "project use 'Payments API'").name == "Payments API"
    assert shell.run_line_magic("socrates", "ask").seq == 2  # the same session continues


def test_lint_and_help(shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    findings = shell.run_line_magic("socrates", "lint The UI should be fast, etc.")
    assert {f.rule for f in findings} >= {"weak-verb", "vague-term", "open-ended"}
    assert "vague-term" in repr(findings)
    assert repr(shell.run_line_magic("socrates", "lint The system shall log every login.")) in (
        "No findings.", repr(snb.lint("The system shall log every login."))
    )
    shell.run_line_magic("socrates", "help")
    assert "%%socrates answer" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("line", "cell", "message"),
    [
        ("ask", None, "no project chosen"),
        ("project use nope", None, "project 'nope' not found"),
        ("project new X --template nope", None, "unknown template"),
        ("frobnicate", None, "usage error"),
        ("lint", None, "usage error"),
        ("spec --format pdf", None, "usage error"),
        ("project new 'unbalanced", None, "usage error"),
        ("answer", None, "cell magic"),
        ("connect mysql://u:secret@h/db", None, "unsupported database 'mysql'"),
    ],
)
def test_errors_print_one_line(shell: InteractiveShell, capsys: pytest.CaptureFixture[str],
                               line: str, cell: str | None, message: str) -> None:
    capsys.readouterr()
    result = shell.run_line_magic("socrates", line)
    err = capsys.readouterr().err
    assert result is None
    assert err.count("\n") == 1 and message in err and "Traceback" not in err and "secret" not in err


def test_empty_answer_stores_nothing(shell: InteractiveShell, capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    shell.run_line_magic("socrates", "project new P")
    assert shell.run_cell_magic("socrates", "answer", "   \n") is None
    assert "answer must not be empty" in capsys.readouterr().err
    with snb.connect(db_url, user="alice") as ws:
        assert ws.project("P").sessions()[0].answer_count == 0


def test_unload_removes_the_magics(shell: InteractiveShell) -> None:
    shell.run_line_magic("unload_ext", "socrates_nb")
    assert "socrates" not in shell.magics_manager.magics["line"]
    shell.run_line_magic("load_ext", "socrates_nb")  # the fixture unloads again
    assert "socrates" in shell.magics_manager.magics["line"]


def test_connect_without_a_url_opens_the_embedded_database(
    shell: InteractiveShell, tmp_path, monkeypatch: pytest.MonkeyPatch  # noqa: ANN001
) -> None:
    monkeypatch.setenv("SOCRATES_DATA_DIR", str(tmp_path / "data"))
    workspace = shell.run_line_magic("socrates", "connect --user dora")
    assert workspace.user.username == "dora"
    assert workspace.db.url.database == str(tmp_path / "data" / "socrates.db")
    shell.run_line_magic("socrates", "project new Embedded")
    with snb.connect(user="dora") as ws:  # the same default file, from another connection
        assert [p.name for p in ws.projects().items] == ["Embedded"]


def test_open_questions_through_magics(shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    shell.run_line_magic("socrates", "project new Gaps")
    assert repr(shell.run_line_magic("socrates", "open")) == "No open questions."
    turn = shell.run_cell_magic("socrates", "answer", "Not specified.\n")
    assert turn.items == () and 'open question: open [goals]' in repr(turn)
    [gap] = shell.run_line_magic("socrates", "open")
    assert repr(gap).endswith('"Not specified."')
    assert shell.run_line_magic("socrates", f"reopen {gap.id}").status == "reopened"
    assert repr(shell.run_line_magic("socrates", "open --status resolved")) == "No open questions."
    assert shell.run_line_magic("socrates", f"reopen {gap.id}") is None  # reopened already: one line, no traceback
    assert "is already reopened" in capsys.readouterr().err
    assert shell.run_line_magic("socrates", "open --status maybe") is None
    assert "usage error" in capsys.readouterr().err
