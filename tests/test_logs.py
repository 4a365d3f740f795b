"""Structured logs: the one configuration, the JSON file and its rotation, the console, redaction,
log injection, the service events, and the metrics a notebook reads without a server."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from click.testing import CliRunner

import socrates_nb as snb
from socrates_nb.cli import cli
from socrates_nb.errors import ConfigError, ConflictError
from socrates_nb.logs import REDACTED, LogSettings, configure_logging, get_logger, is_secret_name
from socrates_nb.workspace import Workspace

CONFLICTING = ("The API is available 99.9% of the time each month.", "Availability of 99% per month is enough.")
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """Logging configured to a JSON file in ``tmp_path`` (console at WARNING), reset afterwards."""
    path = tmp_path / "logs" / "socrates_nb.log"
    configure_logging(LogSettings(file=path))
    yield path
    configure_logging(LogSettings(file=None))
    structlog.contextvars.clear_contextvars()


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines()]


def events(path: Path, name: str) -> list[dict[str, Any]]:
    return [e for e in lines(path) if e["event"] == name]


# --- the configuration --------------------------------------------------------------------------


def test_json_lines_carry_time_level_logger_event_and_bound_context(log_file: Path) -> None:
    structlog.contextvars.bind_contextvars(request_id="r-1", user_id="u-1")
    get_logger("socrates_nb.test").info("something happened", count=3)
    get_logger("socrates_nb.test").debug("below the level")
    (line,) = lines(log_file)
    assert list(line)[:4] == ["timestamp", "level", "logger", "event"]  # the basics first
    assert ISO_UTC.fullmatch(line["timestamp"])
    assert line == {"timestamp": line["timestamp"], "level": "info", "logger": "socrates_nb.test",
                    "event": "something happened", "request_id": "r-1", "user_id": "u-1", "count": 3}


def test_the_file_rotates_at_its_size_and_keeps_its_backups(tmp_path: Path) -> None:
    path = tmp_path / "rotating.log"
    configure_logging(LogSettings(file=path, max_bytes=2048, backups=2))
    try:
        for i in range(200):
            get_logger("socrates_nb.test").info("filler", i=i, text="x" * 40)
    finally:
        configure_logging(LogSettings(file=None))
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["rotating.log", "rotating.log.1", "rotating.log.2"]
    assert all((tmp_path / name).stat().st_size <= 2048 for name in files)
    assert lines(path)[-1]["i"] == 199  # the newest events are in the current file


def test_configuring_again_replaces_the_handlers(tmp_path: Path) -> None:
    try:
        for name in ("a.log", "b.log"):
            configure_logging(LogSettings(file=tmp_path / name))
        get_logger("socrates_nb.test").info("once")
        assert len(logging.getLogger("socrates_nb").handlers) == 2  # console and b.log
        assert not (tmp_path / "a.log").exists() and len(lines(tmp_path / "b.log")) == 1
    finally:
        configure_logging(LogSettings(file=None))


def test_the_console_is_readable_and_shows_warnings_only_by_default(
    log_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    get_logger("socrates_nb.test").info("quiet on the console")
    get_logger("socrates_nb.test").warning("shown", reason="disk")
    err = capsys.readouterr().err
    assert "quiet on the console" not in err
    (line,) = err.splitlines()
    assert re.fullmatch(r"\S+Z \[warning\s*\] shown\s+\[socrates_nb.test\] reason=disk", line)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOCRATES_DATA_DIR", str(tmp_path))
    assert LogSettings.from_env() == LogSettings(file=tmp_path / "logs" / "socrates_nb.log")
    for name, value in {"SOCRATES_LOG_LEVEL": "debug", "SOCRATES_LOG_FILE": str(tmp_path / "x.log"),
                        "SOCRATES_LOG_MAX_BYTES": "4096", "SOCRATES_LOG_BACKUPS": "0",
                        "SOCRATES_LOG_CONSOLE_LEVEL": "error"}.items():
        monkeypatch.setenv(name, value)
    assert LogSettings.from_env() == LogSettings("DEBUG", tmp_path / "x.log", 4096, 0, "ERROR")
    monkeypatch.setenv("SOCRATES_LOG_FILE", "OFF")
    assert LogSettings.from_env().file is None


@pytest.mark.parametrize(("name", "value", "message"), [
    ("SOCRATES_LOG_LEVEL", "loud", "level: expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'LOUD'"),
    ("SOCRATES_LOG_CONSOLE_LEVEL", "1", "console_level: expected one of"),
    ("SOCRATES_LOG_MAX_BYTES", "10MB", "SOCRATES_LOG_MAX_BYTES: expected a whole number, got '10MB'"),
    ("SOCRATES_LOG_MAX_BYTES", "100", "max_bytes: expected a whole number of bytes from 1,024, got 100"),
    ("SOCRATES_LOG_BACKUPS", "-1", "SOCRATES_LOG_BACKUPS: expected a whole number, got '-1'"),
    ("SOCRATES_LOG_BACKUPS", "1001", "backups: expected a whole number from 0 to 1,000, got 1001"),
])
def test_bad_settings_are_one_line_errors(monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as err:
        LogSettings.from_env()
    assert err.value.message == message or err.value.message.startswith(message)


# --- secrets and forged lines -------------------------------------------------------------------


@pytest.mark.parametrize(("name", "secret"), [
    ("password", True), ("new_password", True), ("refresh_token", True), ("accessToken", True), ("api_key", True),
    ("otp", True), ("backup_codes", True), ("Authorization", True), ("X-Socrates-Signature", True),
    ("footprint", False), ("key", False), ("code", False), ("status", False), ("token_count", True),
])
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_secrets_are_redacted_in_the_file_and_on_the_console(
    log_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbmEifQ.c2lnbmF0dXJl"
    secrets = {"password": "hunter2-hunter2", "refresh_token": "rt-0123456789", "otp": "123456",
               "api_key": "sk-live-0123456789", "signature": "ab" * 32}
    get_logger("socrates_nb.test").warning(
        "a careless call", **secrets, note=f"header was Bearer {jwt}", nested={"password": "hunter2-hunter2"},
        seen=[f"token {jwt}"],
    )
    (line,) = lines(log_file)
    assert {name: line[name] for name in secrets} == dict.fromkeys(secrets, REDACTED)
    assert line["note"] == f"header was {REDACTED}" and line["nested"] == {"password": REDACTED}
    assert line["seen"] == [f"token {REDACTED}"]
    text = log_file.read_text("utf-8") + capsys.readouterr().err
    for secret in [*secrets.values(), jwt]:
        assert secret not in text


def test_control_characters_cannot_forge_a_line(log_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    forged = 'fine\r\n2026-11-26T00:00:00.000000Z [warning  ] login ok [socrates_nb] user=admin\u2028x'
    get_logger("socrates_nb.test").warning(forged, text=forged)  # as the event itself, and as a value
    (line,) = lines(log_file)  # JSON escapes them: one line
    assert line["event"] == line["text"] == forged
    (shown,) = capsys.readouterr().err.split("\n")[:-1]  # the console shows them escaped: one line
    assert shown.count("fine\\r\\n2026") == 2 and "\\u2028" in shown and "\r" not in shown


# --- what the services log ----------------------------------------------------------------------


def test_a_session_logs_its_events_with_timings(ws: Workspace, log_file: Path) -> None:
    p = ws.create_project("Logged")
    s = p.start_session()
    for text in CONFLICTING:
        s.answer(text)
    p.specification().to_json()
    assert [e["event"] for e in lines(log_file) if e["event"] != "specification exported"] == [
        "project.create", "session.start", "session.answer", "answer processed", "session.answer",
        "conflict detected", "answer processed",
    ]
    first, second = events(log_file, "answer processed")
    assert (first["seq"], second["seq"], first["conflicts"], second["conflicts"]) == (1, 2, 0, 1)
    for turn in (first, second):
        assert turn["session_id"] == str(s.id) and turn["items"] >= 1
        assert 0 <= turn["extract_ms"] <= turn["turn_ms"] and 0 <= turn["question_ms"] <= turn["turn_ms"]
    (conflict,) = events(log_file, "conflict detected")
    assert conflict["type"] == "numeric" and len(conflict["items"]) == 2
    assert events(log_file, "specification exported")[-1]["format"] == "json"
    assert all(CONFLICTING[0] not in json.dumps(e) for e in lines(log_file))  # answers are not logged


def test_a_rolled_back_change_is_not_announced(ws: Workspace, log_file: Path) -> None:
    ws.create_project("Once")
    with pytest.raises(ConflictError):
        ws.create_project("Once")
    assert [e["event"] for e in lines(log_file)] == ["project.create"]


def test_failures_are_warnings_and_count_as_auth_events(ws: Workspace, log_file: Path, tmp_path: Path) -> None:
    from socrates_nb.errors import UnauthorizedError
    from socrates_nb.services.auth import AuthService, AuthSettings

    auth = AuthService(ws.db, AuthSettings(key_file=tmp_path / "jwt.key", scrypt_n=16))
    before = snb.metrics.value("socrates_nb_auth_events_total", outcome="login_failed")
    with pytest.raises(UnauthorizedError):
        auth.login("nobody", "not the password at all")
    (failed,) = events(log_file, "auth.login_failed")
    assert failed["level"] == "warning" and failed["reason"] == "unknown_user" and failed["username"] == "nobody"
    assert snb.metrics.value("socrates_nb_auth_events_total", outcome="login_failed") == before + 1


# --- the metrics a notebook reads ---------------------------------------------------------------


def test_metrics_without_a_server(ws: Workspace) -> None:
    before = snb.metrics()
    p = ws.create_project(f"Counted {uuid.uuid4().hex[:6]}")
    s = p.start_session()
    for text in CONFLICTING:
        s.answer(text)
    p.details(), p.details()  # the second read is a cache hit
    after = snb.metrics()
    assert all(name.startswith("socrates_nb_") for name in after)
    assert after["socrates_nb_answers_processed_total"] == before.get("socrates_nb_answers_processed_total", 0) + 2
    key = 'socrates_nb_conflicts_detected_total{type="numeric"}'
    assert after[key] == before.get(key, 0) + 1
    assert after["socrates_nb_spec_items_extracted_total"] > before.get("socrates_nb_spec_items_extracted_total", 0)
    lookups = ("socrates_nb_cache_hits_total", "socrates_nb_cache_misses_total")
    assert sum(after[k] for k in lookups) > sum(before.get(k, 0) for k in lookups)
    hits, misses = (after[k] for k in lookups)
    assert after["socrates_nb_cache_hit_ratio"] == pytest.approx(hits / (hits + misses))


def test_database_errors_are_counted(ws: Workspace) -> None:
    from sqlalchemy import text

    from socrates_nb.errors import DatabaseError

    kinds = ("OperationalError", "ProgrammingError", "UndefinedTable")
    before = sum(snb.metrics.value("socrates_nb_database_errors_total", kind=k) for k in kinds)
    with pytest.raises(Exception) as err:
        ws.db.run_write(lambda orm: orm.execute(text("SELECT * FROM no_such_table")))
    assert not isinstance(err.value, DatabaseError) or "no_such_table" in str(err.value)
    assert sum(snb.metrics.value("socrates_nb_database_errors_total", kind=k) for k in kinds) == before + 1


def test_cli_logs_to_the_file_and_keeps_the_console_quiet(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "cli.log"
    result = CliRunner().invoke(cli, ["--db", db_url, "project", "create", "From the CLI"],
                                env={"SOCRATES_LOG_FILE": str(path)})
    try:
        assert result.exit_code == 0, result.output
        assert "project.create" not in result.stderr
        (created,) = events(path, "project.create")
        assert created["name"] == "From the CLI"
    finally:
        configure_logging(LogSettings(file=None))


def test_the_operations_page_names_every_metric() -> None:
    from prometheus_client import REGISTRY

    page = (Path(__file__).resolve().parent.parent / "docs" / "OPERATIONS.md").read_text("utf-8")
    names = [m.name + ("_total" if m.type == "counter" else "") for m in REGISTRY.collect()
             if m.name.startswith("socrates_nb_")]
    assert len(names) >= 16 and [n for n in names if f"`{n}`" not in page] == []
