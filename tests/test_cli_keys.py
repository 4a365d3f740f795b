"""`socrates keys rotate`: a new master key, every stored secret re-encrypted, old keys dropped on request."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet
from sqlalchemy import text, update

from socrates_nb.cli import cli
from socrates_nb.security.crypto import MASTER_KEY_ENV, MASTER_KEY_FILE_NAME, SecretBox, read_master_keys
from socrates_nb.services.api_keys import ApiKeyService, unreadable_secrets
from socrates_nb.storage.models import ApiKey, MfaSecret
from socrates_nb.workspace import Workspace

KEY = "sk-ant-api03-Cli-Plaintext-Marker-5Tr"
TOTP_SECRET = "JBSWY3DPEHPK3PXP"


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOCRATES_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data" / MASTER_KEY_FILE_NAME


@pytest.fixture
def rotate(db_url: str, key_file: Path):  # noqa: ANN201
    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, ["--db", db_url, "keys", "rotate", *args], catch_exceptions=False)

    return invoke


def _store_secrets(ws: Workspace, box: SecretBox) -> None:
    ApiKeyService(ws.db, box).put(ws.user, "anthropic", KEY)
    with ws.db.write() as orm:
        orm.add(MfaSecret(user_id=ws.user.id, secret_ciphertext=box.encrypt(TOTP_SECRET), enabled=True))


def _readable(ws: Workspace, box: SecretBox) -> bool:
    with ws.db.read() as orm:
        totp = box.decrypt(orm.get(MfaSecret, ws.user.id).secret_ciphertext)
    return ApiKeyService(ws.db, box).secret(ws.user, "anthropic") == KEY and totp == TOTP_SECRET


def test_rotate_adds_a_key_reencrypts_everything_then_drops_the_old_keys(ws: Workspace, rotate, key_file: Path) -> None:  # noqa: ANN001
    _store_secrets(ws, SecretBox.load())
    first = read_master_keys(key_file)

    result = rotate()
    assert result.exit_code == 0, result.output
    assert result.stdout == "rotated 2 secrets; master keys: 2\n"
    keys = read_master_keys(key_file)
    assert len(keys) == 2 and keys[1:] == first  # the new key first, the old one kept
    box = SecretBox.load()
    assert _readable(ws, box) and unreadable_secrets(ws.db, box.newest_only()) == 0

    result = rotate("--reencrypt-only", "--drop-old")
    assert result.exit_code == 0, result.output
    assert result.stdout == "rotated 2 secrets; master keys: 2\ndropped 1 old master key(s); master keys: 1\n"
    assert read_master_keys(key_file) == keys[:1] and _readable(ws, SecretBox.load())
    assert KEY not in result.output


def test_rotate_and_drop_in_one_go(ws: Workspace, rotate, key_file: Path) -> None:  # noqa: ANN001
    _store_secrets(ws, SecretBox.load())
    old = read_master_keys(key_file)
    result = rotate("--drop-old")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["rotated 2 secrets; master keys: 2", "dropped 1 old master key(s); master keys: 1"]
    assert read_master_keys(key_file) != old and _readable(ws, SecretBox.load())


def test_a_tampered_secret_is_reported_and_the_old_keys_are_kept(ws: Workspace, rotate, key_file: Path) -> None:  # noqa: ANN001
    _store_secrets(ws, SecretBox.load())
    with ws.db.write() as orm:
        orm.execute(update(ApiKey).values(ciphertext=b"gAAAAAB-tampered"))
    result = rotate("--drop-old")
    assert result.exit_code == 1 and result.stdout == "rotated 1 secrets; master keys: 2\n"
    assert result.stderr.strip().splitlines() == [
        "error: not dropping the old master keys: 1 secret(s) do not open with the newest key alone "
        "(altered, or written meanwhile by a server that has not been restarted)"
    ]
    assert len(read_master_keys(key_file)) == 2
    result = rotate("--reencrypt-only")
    assert result.exit_code == 1 and "1 stored secret(s) open with no master key" in result.stderr
    assert len(read_master_keys(key_file)) == 2


def test_keys_from_the_environment_are_rotated_by_the_operator(
    ws: Workspace, rotate, key_file: Path, monkeypatch: pytest.MonkeyPatch  # noqa: ANN001
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv(MASTER_KEY_ENV, old)
    _store_secrets(ws, SecretBox.load())
    with ws.db.read() as orm:
        before = orm.scalar(text("SELECT ciphertext FROM api_keys"))

    refused = rotate()
    assert refused.exit_code == 1 and "--reencrypt-only" in refused.stderr and old not in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    with ws.db.read() as orm:
        assert orm.scalar(text("SELECT ciphertext FROM api_keys")) == before  # nothing changed
    assert not key_file.exists()

    monkeypatch.setenv(MASTER_KEY_ENV, f"{new},{old}")
    result = rotate("--reencrypt-only", "--drop-old")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "rotated 2 secrets; master keys: 2", f"every secret opens with the newest key: remove the other 1 from ${MASTER_KEY_ENV}",
    ]
    monkeypatch.setenv(MASTER_KEY_ENV, new)
    assert _readable(ws, SecretBox.load()) and not key_file.exists()


def test_rotating_an_empty_database_and_usage_errors(rotate, key_file: Path) -> None:  # noqa: ANN001
    result = rotate()
    assert result.exit_code == 0 and result.stdout == "rotated 0 secrets; master keys: 2\n"
    assert rotate("--bogus").exit_code == 2
    assert len(read_master_keys(key_file)) == 2
