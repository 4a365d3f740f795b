"""File modes: the data dir 0700, the SQLite database, its -wal and -shm files and the logs 0600,
whatever the umask; an existing looser file or data dir is left as it is, with a warning naming the fix."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

import socrates_nb as snb
from socrates_nb.config import data_dir, normalize_database_url
from socrates_nb.logs import LogSettings, configure_logging, get_logger
from socrates_nb.storage.db import Database
from tests.test_logs import log_file  # noqa: F401 (a fixture: logging to a JSON file in tmp_path)

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask: every mode below is ours, not the umask's."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def warnings_in(path: Path) -> list[dict[str, object]]:
    return [e for e in map(json.loads, path.read_text("utf-8").splitlines()) if e["level"] == "warning"]


def test_a_fresh_data_dir_is_private(open_umask: None) -> None:
    home = data_dir()
    assert not home.exists() and not home.parent.joinpath("jupyter_data").exists()
    configure_logging()  # the default file: data_dir()/logs/socrates_nb.log
    try:
        ws = snb.connect(user="alice")  # the default database: data_dir()/socrates.db
        p = ws.create_project("Private")
        p.start_session().answer("Merchants take card payments online.")
        get_logger("socrates_nb.test").info("written")
        db = home / "socrates.db"
        assert mode(home) == 0o700 and mode(home / "logs") == 0o700
        assert mode(db) == 0o600
        for sidecar in ("socrates.db-wal", "socrates.db-shm"):  # present while a connection is open
            assert (home / sidecar).exists(), sidecar
            assert mode(home / sidecar) == 0o600, sidecar
        assert mode(home / "logs" / "socrates_nb.log") == 0o600
        ws.close()
    finally:
        configure_logging(LogSettings(file=None))


def test_parents_we_create_are_private_too(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "a" / "b" / "specs.db"
    db = Database(normalize_database_url(f"sqlite:///{path}"))
    with db.read_rows() as conn:
        conn.exec_driver_sql("SELECT 1")
    assert mode(tmp_path / "a") == 0o700 and mode(tmp_path / "a" / "b") == 0o700 and mode(path) == 0o600
    db.dispose()


def test_rotated_log_files_are_private(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "new" / "logs" / "socrates_nb.log"
    configure_logging(LogSettings(file=path, max_bytes=1024, backups=2))
    try:
        for n in range(60):
            get_logger("socrates_nb.test").info("filling the file", n=n, padding="x" * 40)
        backups = sorted(path.parent.glob("socrates_nb.log.*"))
        assert backups, "the file should have rotated"
        assert mode(tmp_path / "new") == 0o700 and mode(path.parent) == 0o700
        assert [mode(p) for p in [path, *backups]] == [0o600] * (1 + len(backups))
    finally:
        configure_logging(LogSettings(file=None))


def test_an_existing_readable_database_is_left_alone_with_a_warning(tmp_path: Path, log_file: Path) -> None:
    path = tmp_path / "shared" / "team.db"
    path.parent.mkdir()
    db = Database(normalize_database_url(f"sqlite:///{path}"))
    with db.read_rows() as conn:
        conn.exec_driver_sql("SELECT 1")
    db.dispose()
    os.chmod(path, 0o644)
    db = Database(normalize_database_url(f"sqlite:///{path}"))
    with db.read_rows() as conn:
        conn.exec_driver_sql("SELECT 1")
    assert mode(path) == 0o644  # a user's choice is not changed silently
    found = [w for w in warnings_in(log_file) if w.get("path") == str(path)]
    assert found, warnings_in(log_file)
    assert found[0]["mode"] == "0o644" and found[0]["fix"] == f"chmod 600 {path}"
    assert "group or others" in str(found[0]["event"])
    db.dispose()


def test_a_readable_data_dir_and_log_file_get_a_warning(tmp_path: Path, log_file: Path) -> None:
    home = data_dir()
    home.mkdir(parents=True)
    os.chmod(home, 0o755)
    ws = snb.connect(user="alice")
    ws.close()
    assert mode(home) == 0o755
    assert {"path": str(home), "fix": f"chmod 700 {home}"}.items() <= next(
        w for w in warnings_in(log_file) if w.get("path") == str(home)).items()
    loose = tmp_path / "other" / "loose.log"
    loose.parent.mkdir()
    loose.write_text("")
    os.chmod(loose, 0o644)
    configure_logging(LogSettings(file=loose))
    get_logger("socrates_nb.test").info("x")
    assert mode(loose) == 0o644
    assert any(w.get("path") == str(loose) and w.get("fix") == f"chmod 600 {loose}" for w in warnings_in(loose))


def test_a_postgresql_url_touches_no_file(db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only")
    before = set(data_dir().parent.rglob("*")) if data_dir().parent.exists() else set()
    Database(normalize_database_url(db_url)).dispose()
    after = set(data_dir().parent.rglob("*")) if data_dir().parent.exists() else set()
    assert after == before
