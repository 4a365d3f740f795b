"""The `socrates` command line, driven through click's runner and as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import socrates_nb as snb
from socrates_nb.cli import cli

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def run(db_url: str):  # noqa: ANN201
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, user: str = "alice") -> Result:  # noqa: A002
        return runner.invoke(cli, ["--db", db_url, "--user", user, *args], input=input, catch_exceptions=False)

    return invoke


def _one_line_error(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_project_create_list_show(run) -> None:  # noqa: ANN001
    assert run("project", "create", "Shop", "--template", "web-app", "--description", "A shop").exit_code == 0
    assert run("project", "create", "Tool", "--template", "cli-tool").exit_code == 0
    listed = run("project", "list")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert "Tool" in lines[0] and "Shop" in lines[1] and "-- 1-2 of 2" in lines[2]
    page = json.loads(run("project", "list", "--json", "--limit", "1", "--offset", "1").stdout)
    assert page["total"] == 2 and [p["name"] for p in page["items"]] == ["Shop"]
    shown = run("project", "show", "Shop")
    assert shown.exit_code == 0 and "maturity 0.0/100" in shown.stdout and "A shop" in shown.stdout
    data = json.loads(run("project", "show", "Shop", "--json").stdout)
    assert data["project"]["template"] == "web-app" and data["project"]["sessions"] == []
    created = json.loads(run("project", "create", "Third", "--json").stdout)
    assert created["project"]["name"] == "Third"


def test_user_errors_exit_1_with_one_line(run) -> None:  # noqa: ANN001
    assert run("project", "create", "Shop").exit_code == 0
    dup = run("project", "create", "Shop")
    assert dup.exit_code == 1 and "already exists" in _one_line_error(dup)
    bad = run("project", "create", "X", "--template", "nope")
    assert bad.exit_code == 1
    assert all(t in _one_line_error(bad) for t in snb.TEMPLATES)
    missing = run("project", "show", "nope")
    assert missing.exit_code == 1 and "not found" in _one_line_error(missing)
    other = run("project", "show", "Shop", user="bob")
    assert other.exit_code == 1 and "not found" in _one_line_error(other)
    assert run("project", "list", "--limit", "0").exit_code == 1


def test_usage_errors_exit_2(run) -> None:  # noqa: ANN001
    assert run("project", "create").exit_code == 2
    assert run("spec", "export", "X", "--format", "pdf").exit_code == 2
    assert run("nonsense").exit_code == 2


def test_invalid_database_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCRATES_DATABASE_URL", "mysql://root:hunter2@localhost/x")
    result = CliRunner().invoke(cli, ["project", "list"])
    assert result.exit_code == 1
    line = _one_line_error(result)
    assert "SOCRATES_DATABASE_URL" in line and "hunter2" not in line


def test_scripted_session_mapping_and_list(run, tmp_path: Path) -> None:  # noqa: ANN001
    assert run("project", "create", "Pay", "--template", "web-api").exit_code == 0
    result = run("session", "run", "Pay", "--answers", str(ROOT / "examples" / "payments_api_answers.yaml"))
    assert result.exit_code == 0, result.stderr
    assert "Q1 [goals]" in result.stdout and "A: Small online shops" in result.stdout
    assert "GOAL-001" in result.stdout and "Maturity" in result.stdout
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(["We sell tickets.", "Fans buy seats online."]))
    assert run("project", "create", "Tickets").exit_code == 0
    listed = run("session", "run", "Tickets", "--answers", str(answers))
    assert listed.exit_code == 0 and listed.stdout.count("\nA: ") == 2
    shown = run("project", "show", "Tickets")
    assert "completed 2 answers" in " ".join(shown.stdout.split())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("goals: [1, 2]", "expected a list of answers"),
        ("nonsense: ['x']", "unknown categories nonsense"),
        ("goals: [unclosed", "not valid YAML"),
        ("42", "expected a list of answers"),
    ],
)
def test_bad_answers_file(run, tmp_path: Path, content: str, message: str) -> None:  # noqa: ANN001
    assert run("project", "create", "P").exit_code == 0
    path = tmp_path / "answers.yaml"
    path.write_text(content)
    result = run("session", "run", "P", "--answers", str(path))
    assert result.exit_code == 1 and message in _one_line_error(result)
    assert "session" not in run("project", "show", "P").stdout  # nothing was started


def test_interactive_session_eof_saves_and_resumes(run) -> None:  # noqa: ANN001
    assert run("project", "create", "P").exit_code == 0
    first = run("session", "run", "P", input="We track parcels for couriers.\n   \n:skip\n")
    assert first.exit_code == 0
    assert "answer must not be empty" in first.stderr
    assert "Saved." in first.stdout
    show = run("project", "show", "P")
    assert "active    1 answers" in show.stdout
    second = run("session", "run", "P", input="Couriers and dispatchers.\n:done\n")
    assert second.exit_code == 0 and "Session completed" in second.stdout
    assert "completed 2 answers" in " ".join(run("project", "show", "P").stdout.split())
    assert run("session", "run", "P", "--new", input="").exit_code == 0


def test_spec_export_formats(run, tmp_path: Path) -> None:  # noqa: ANN001
    assert run("project", "create", "P").exit_code == 0
    run("session", "run", "P", input="We track parcels for couriers; p95 under 200 ms.\n:done\n")
    md = run("spec", "export", "P")
    assert md.exit_code == 0 and md.stdout.startswith("# P: specification")
    data = json.loads(run("spec", "export", "P", "--format", "json").stdout)
    refs = [(i["ref"], i["category"]) for i in data["items"]]
    assert refs == [("GOAL-001", "goals"), ("NFR-PERF-001", "performance")]  # the p95 is a performance item
    csv_text = run("spec", "export", "P", "--format", "csv").stdout
    assert csv_text.splitlines()[0].startswith("ref,category") and len(csv_text.splitlines()) == 3
    target = tmp_path / "sub" / "spec.json"
    written = run("spec", "export", "P", "--format", "json", "-o", str(target))
    assert written.exit_code == 0 and json.loads(target.read_text())["project"]["name"] == "P"


def test_open_questions_list_and_reopen(run) -> None:  # noqa: ANN001
    assert run("project", "create", "P").exit_code == 0
    assert run("spec", "open", "P").stdout == "No open questions.\n"
    session = run("session", "run", "P", input="Not specified.\n:done\n")
    assert '?? open question [goals]: "Not specified." (not a requirement)' in session.stdout
    listed = run("spec", "open", "P")
    assert listed.exit_code == 0 and listed.stdout.count("\n") == 1 and '"Not specified."' in listed.stdout
    gap_id = listed.stdout.split()[0]
    reopened = run("spec", "reopen", "P", gap_id)
    assert reopened.exit_code == 0 and reopened.stdout.startswith("Reopened: reopened [goals]")
    again = run("spec", "reopen", "P", gap_id)
    assert again.exit_code == 1 and "is already reopened" in _one_line_error(again)
    assert run("spec", "open", "P", "--status", "maybe").exit_code == 2
    assert run("spec", "reopen", "P", "nope").exit_code == 1


def test_delete_and_db_upgrade(run) -> None:  # noqa: ANN001
    up = run("db", "upgrade")
    assert up.exit_code == 0 and ("already at" in up.stdout or "upgraded" in up.stdout)
    assert run("project", "create", "P").exit_code == 0
    assert run("project", "delete", "P").exit_code == 0
    assert run("project", "delete", "P").exit_code == 1
    assert "nothing to delete" in run("project", "delete", "P", "--missing-ok").stdout


def test_db_upgrade_creates_a_new_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    first = CliRunner().invoke(cli, ["--db", url, "db", "upgrade"])
    assert first.exit_code == 0 and "upgraded empty ->" in first.stdout
    again = CliRunner().invoke(cli, ["--db", url, "db", "upgrade"])
    assert "already at" in again.stdout


def test_real_process_exit_codes(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "socrates"
    env = {"SOCRATES_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, env=env)
    assert version.returncode == 0 and snb.__version__ in version.stdout
    missing = subprocess.run([exe, "project", "show", "nope"], capture_output=True, text=True, env=env)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
    usage = subprocess.run([exe, "project", "show"], capture_output=True, text=True, env=env)
    assert usage.returncode == 2


def test_api_keys_and_usage_from_the_command_line(run) -> None:  # noqa: ANN001
    assert run("api-key", "list").stdout.strip() == "no API keys stored"
    stored = run("api-key", "set", "openai", input="sk-cli-secret-7777\n")
    assert stored.exit_code == 0 and stored.stdout.strip() == "stored the openai key (ends in 7777)"
    assert "sk-cli-secret" not in stored.stdout + stored.stderr
    listed = run("api-key", "list")
    assert listed.stdout.startswith("openai\t…7777\tupdated ") and "sk-cli" not in listed.stdout
    bad = run("api-key", "set", "gemini", input="k\n")
    assert bad.exit_code == 1 and "anthropic" in _one_line_error(bad)
    empty = run("api-key", "set", "anthropic", input="\n")
    assert empty.exit_code == 1 and _one_line_error(empty)
    assert run("api-key", "delete", "openai").stdout.strip() == "deleted the openai key"
    gone = run("api-key", "delete", "openai")
    assert gone.exit_code == 1 and _one_line_error(gone)
    assert run("usage").stdout.strip() == "LLM usage: no calls"
    usage = json.loads(run("usage", "--json").stdout)
    assert usage["rows"] == [] and usage["totals"]["calls"] == 0
    since = run("usage", "--since", "2026-13-01")
    assert since.exit_code == 1 and "ISO-8601" in _one_line_error(since)
