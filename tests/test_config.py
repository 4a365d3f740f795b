"""Settings: the database URL (checked, one-line errors, no password leaks), data dir, defaults."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import socrates_nb as snb
from socrates_nb.config import Settings, data_dir, default_database_url, normalize_database_url

SECRET = "s3cr3t-Pa55"

BAD_URLS = [
    ("garbage", "not a valid database URL"),
    ("://nothing", "not a valid database URL"),
    (f"mysql://root:{SECRET}@db.example.com/app", "unsupported database 'mysql'"),
    (f"mysql+pymysql://root:{SECRET}@db.example.com/app", "unsupported database 'mysql'"),
    (f"oracle://scott:{SECRET}@host/db?password={SECRET}", "unsupported database 'oracle'"),
    (f"mssql://sa:{SECRET}@host/db?password={SECRET}&x=1", "unsupported database 'mssql'"),
    ("sqlite:///:memory:", "an in-memory SQLite database cannot be shared"),
    ("sqlite://", "an in-memory SQLite database cannot be shared"),
    (f"postgresql+psycopg2://app:{SECRET}@localhost/app", "use driver 'postgresql+psycopg', not 'postgresql+psycopg2'"),
    (f"postgresql+asyncpg://app:{SECRET}@localhost/app", "use driver 'postgresql+psycopg'"),
    (f"postgresql://app:{SECRET}@localhost:notaport/app", "not a valid database URL"),
    ("sqlite+aiosqlite:///x.db", "use driver 'sqlite+pysqlite'"),
]


@pytest.mark.parametrize(("url", "expected"), BAD_URLS)
def test_invalid_database_url_from_environment(monkeypatch: pytest.MonkeyPatch, url: str, expected: str) -> None:
    monkeypatch.setenv("SOCRATES_DATABASE_URL", url)
    with pytest.raises(snb.ConfigError) as err:
        snb.connect(user="alice")
    message = str(err.value)
    assert message.startswith("SOCRATES_DATABASE_URL: ")
    assert expected in message
    assert "\n" not in message
    assert SECRET not in message
    assert err.value.code == "config_error"
    assert not any(Path(os.environ["SOCRATES_DATA_DIR"]).glob("*.db"))  # nothing was created


def test_invalid_url_argument_names_the_argument() -> None:
    with pytest.raises(snb.ConfigError) as err:
        snb.connect(f"mysql://root:{SECRET}@h/db", user="alice")
    assert str(err.value).startswith("database url: unsupported database 'mysql' in mysql://root:***@h/db")
    assert SECRET not in str(err.value)


def test_postgresql_urls_are_mapped_to_psycopg() -> None:
    url = normalize_database_url(f"postgresql://app:{SECRET}@db.example.com:5433/app?sslmode=require")
    assert url.drivername == "postgresql+psycopg"
    assert (url.username, url.password, url.host, url.port, url.database) == ("app", SECRET, "db.example.com", 5433, "app")
    assert url.query == {"sslmode": "require"}
    assert normalize_database_url("postgresql+psycopg://h/db").drivername == "postgresql+psycopg"
    assert normalize_database_url("  sqlite:///x.db  ").drivername == "sqlite+pysqlite"
    assert normalize_database_url("sqlite+pysqlite:///x.db").database == "x.db"


def test_url_argument_wins_over_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOCRATES_DATABASE_URL", "garbage")
    settings = Settings.from_env(f"sqlite:///{tmp_path / 'arg.db'}")
    assert settings.database_url.database == str(tmp_path / "arg.db")


def test_environment_url_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SOCRATES_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    with snb.connect(user="alice") as w:
        w.create_project("Shop")
    assert (tmp_path / "env.db").exists()
    with snb.connect(f"sqlite:///{tmp_path / 'env.db'}", user="alice") as w:
        assert w.project("Shop").name == "Shop"


def test_default_url_is_under_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "socrates home"
    monkeypatch.setenv("SOCRATES_DATA_DIR", str(home))
    assert data_dir() == home
    assert default_database_url() == f"sqlite:///{home / 'socrates.db'}"
    settings = Settings.from_env()
    assert settings.database_url.drivername == "sqlite+pysqlite"
    assert settings.database_url.database == str(home / "socrates.db")
    assert (settings.cache_ttl, settings.cache_size) == (5.0, 2048)
    monkeypatch.setenv("SOCRATES_DATABASE_URL", "")  # empty counts as unset
    assert Settings.from_env().database_url == settings.database_url
    with snb.connect(user="alice") as w:  # creates the folder and the file
        assert w.db.is_sqlite
    assert (home / "socrates.db").is_file()


def test_data_dir_defaults_to_the_jupyter_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SOCRATES_DATA_DIR", raising=False)
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jd"))
    assert data_dir() == tmp_path / "jd" / "socrates_nb"
    monkeypatch.setenv("SOCRATES_DATA_DIR", "~/somewhere")
    assert data_dir() == Path("~/somewhere").expanduser()


def test_cache_ttl_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv("SOCRATES_CACHE_TTL", "12.5")
    assert Settings.from_env(url).cache_ttl == 12.5
    monkeypatch.setenv("SOCRATES_CACHE_TTL", "0")
    assert Settings.from_env(url).cache_ttl == 0.0


def test_unreachable_postgresql_is_a_one_line_database_error() -> None:
    with pytest.raises(snb.DatabaseError) as err:
        snb.connect(f"postgresql://app:{SECRET}@127.0.0.1:1/app", user="alice")
    message = str(err.value)
    assert message.startswith("cannot open the database postgresql+psycopg://app:***@127.0.0.1:1/app: ")
    assert "\n" not in message and SECRET not in message


def test_sqlite_file_in_an_impossible_folder_is_a_database_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(snb.DatabaseError, match="cannot open the database sqlite"):
        snb.connect(f"sqlite:///{blocker / 'sub' / 'x.db'}", user="alice")


def test_invalid_usernames(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    for bad in ("", "ab", "Alice", "a b", "x" * 65, "é" * 4):
        with pytest.raises(snb.ValidationError, match="invalid username"):
            snb.connect(url, user=bad)
    with snb.connect(url, user="a.b_c-d") as w:
        assert w.user.username == "a.b_c-d"


def test_default_user_is_the_os_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "Jane Doe!")
    monkeypatch.setenv("LOGNAME", "Jane Doe!")
    with snb.connect(f"sqlite:///{tmp_path / 'x.db'}") as w:
        assert w.user.username == "janedoe"
    monkeypatch.setenv("USER", "x")
    monkeypatch.setenv("LOGNAME", "x")
    with snb.connect(f"sqlite:///{tmp_path / 'x.db'}") as w:
        assert w.user.username == "local"
