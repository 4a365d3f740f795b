"""Users' provider API keys: stored encrypted, shown as last 4 only, private to their owner, rotatable."""

from __future__ import annotations

import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import text, update

import socrates_nb as snb
from socrates_nb.config import data_dir
from socrates_nb.errors import NotFoundError, ValidationError
from socrates_nb.security.crypto import MASTER_KEY_FILE_NAME, SecretBox, SecretError, add_master_key, drop_old_master_keys
from socrates_nb.services.api_keys import MAX_KEY_CHARS, PROVIDERS, ApiKeyService, rotate_secrets, unreadable_secrets
from socrates_nb.storage.models import ApiKey, MfaSecret
from socrates_nb.workspace import Workspace

KEY = "sk-ant-api03-Plaintext-Marker-7Qx9Zw"
OTHER_KEY = "sk-proj-Another-Marker-4Lm2"


def _service(ws: Workspace) -> ApiKeyService:
    return ApiKeyService(ws.db, SecretBox.load())


def test_round_trip_shows_the_last_4_only(ws: Workspace) -> None:
    keys = _service(ws)
    keys.put(ws.user, "anthropic", f"  {KEY}\n")  # surrounding white space (a pasted line) is dropped
    keys.put(ws.user, "openai", OTHER_KEY)
    listed = keys.list(ws.user)
    assert [(k.provider, k.last4) for k in listed] == [("anthropic", KEY[-4:]), ("openai", OTHER_KEY[-4:])]
    assert set(listed[0].to_dict()) == {"provider", "last4", "created_at", "updated_at"}
    assert KEY not in repr(listed) and KEY not in str([k.to_dict() for k in listed])
    assert keys.secret(ws.user, "anthropic") == KEY

    keys.put(ws.user, "anthropic", "sk-replaced-WXYZ")
    replaced = keys.list(ws.user)[0]
    assert (replaced.last4, replaced.created_at) == ("WXYZ", listed[0].created_at)
    assert replaced.updated_at >= listed[0].updated_at
    assert keys.secret(ws.user, "anthropic") == "sk-replaced-WXYZ"

    keys.delete(ws.user, "anthropic")
    assert keys.secret(ws.user, "anthropic") is None
    assert [k.provider for k in keys.list(ws.user)] == ["openai"]
    with pytest.raises(NotFoundError, match="no anthropic key stored"):
        keys.delete(ws.user, "anthropic")


def test_keys_survive_a_restart(db_url: str) -> None:
    with snb.connect(db_url, user="alice") as ws:
        _service(ws).put(ws.user, "openai", KEY)
    key_file = data_dir() / MASTER_KEY_FILE_NAME
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with snb.connect(db_url, user="alice") as ws:  # a new process: new services, the box loaded from the key file
        assert _service(ws).secret(ws.user, "openai") == KEY


def test_keys_survive_a_rotation_and_old_ciphertext_works_until_it_completes(ws: Workspace) -> None:
    old_box = SecretBox.load()
    ApiKeyService(ws.db, old_box).put(ws.user, "anthropic", KEY)
    with ws.db.write() as orm:  # a TOTP secret is rotated too
        orm.add(MfaSecret(user_id=ws.user.id, secret_ciphertext=old_box.encrypt("JBSWY3DPEHPK3PXP"), enabled=True))
    key_file = data_dir() / MASTER_KEY_FILE_NAME
    add_master_key(key_file)
    box = SecretBox.load()
    assert box.key_count == 2
    assert ApiKeyService(ws.db, box).secret(ws.user, "anthropic") == KEY  # before rotation: the old key opens it
    assert unreadable_secrets(ws.db, box.newest_only()) == 2

    result = rotate_secrets(ws.db, box, batch=1)
    assert (result.rotated, result.unreadable) == (2, 0)
    assert unreadable_secrets(ws.db, box.newest_only()) == 0

    drop_old_master_keys(key_file)
    newest = SecretBox.load()
    assert newest.key_count == 1
    assert ApiKeyService(ws.db, newest).secret(ws.user, "anthropic") == KEY
    with ws.db.read() as orm:
        assert newest.decrypt(orm.get(MfaSecret, ws.user.id).secret_ciphertext) == "JBSWY3DPEHPK3PXP"
    with pytest.raises(SecretError):  # the dropped key opens nothing any more
        ApiKeyService(ws.db, old_box).secret(ws.user, "anthropic")


def test_a_tampered_ciphertext_fails_loudly(ws: Workspace) -> None:
    keys = _service(ws)
    keys.put(ws.user, "anthropic", KEY)
    with ws.db.write() as orm:
        stored = orm.scalar(text("SELECT ciphertext FROM api_keys"))
        tampered = stored[:-5] + bytes([stored[-5] ^ 1]) + stored[-4:]
        orm.execute(update(ApiKey).values(ciphertext=tampered))
    with pytest.raises(SecretError, match="does not decrypt") as info:
        keys.secret(ws.user, "anthropic")
    assert KEY not in str(info.value)
    result = rotate_secrets(ws.db, keys.box)  # a rotation leaves it alone and says so
    assert (result.rotated, result.unreadable) == (0, 1)
    assert unreadable_secrets(ws.db, keys.box) == 1


def _database_dump(ws: Workspace) -> str:
    """Everything the database holds, as text: the files and the SQL dump (SQLite), every api_keys column (PostgreSQL)."""
    if ws.db.is_sqlite:
        path = Path(ws.db.url.database or "")
        raw = b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*"))  # with the -wal file
        with sqlite3.connect(path) as conn:
            dump = "\n".join(conn.iterdump())
        return raw.decode("latin-1") + dump
    with ws.db.read() as orm:
        columns = orm.execute(text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'api_keys' "
            "AND table_schema = current_schema()"
        )).scalars().all()
        assert {"ciphertext", "last4", "provider"} <= set(columns)
        rows = orm.execute(text(f"SELECT {', '.join(f'{c}::text' for c in columns)} FROM api_keys")).all()
        raw_bytes = orm.execute(text("SELECT ciphertext FROM api_keys")).scalars().all()
    return repr(rows) + b"".join(raw_bytes).decode("latin-1")


def test_a_dump_of_the_database_holds_no_plaintext_key(ws: Workspace) -> None:
    keys = _service(ws)
    keys.put(ws.user, "anthropic", KEY)
    keys.put(ws.user, "openai", OTHER_KEY)
    dump = _database_dump(ws)
    assert "sk-ant" in KEY and KEY[-4:] in dump  # the dump is real: it holds the last 4 characters
    for secret in (KEY, OTHER_KEY, KEY[:-4], OTHER_KEY[:-4]):
        assert secret not in dump


def test_another_users_keys_are_invisible(ws: Workspace, other_ws: Workspace) -> None:
    keys = _service(ws)
    keys.put(ws.user, "anthropic", KEY)
    assert keys.list(other_ws.user) == []
    assert keys.secret(other_ws.user, "anthropic") is None
    with pytest.raises(NotFoundError):
        keys.delete(other_ws.user, "anthropic")
    keys.put(other_ws.user, "anthropic", OTHER_KEY)  # bob's own key replaces nothing of alice's
    assert keys.secret(ws.user, "anthropic") == KEY
    assert keys.secret(other_ws.user, "anthropic") == OTHER_KEY


@pytest.mark.parametrize(("provider", "key", "message"), [
    ("mistral", KEY, "unknown provider 'mistral'; valid providers: anthropic, openai"),
    ("", KEY, "unknown provider"),
    (None, KEY, "unknown provider"),
    ("anthropic", "", "key must not be empty"),
    ("anthropic", "   ", "key must not be empty"),
    ("anthropic", "k" * 10_240, f"key is 10,240 characters long; the limit is {MAX_KEY_CHARS}"),
    ("anthropic", "sk-\x00-nul", "printable ASCII"),
    ("anthropic", "sk-with space", "printable ASCII"),
    ("anthropic", "sk-ключ", "printable ASCII"),
    ("anthropic", 12345, "key must be text, got int"),
])
def test_bad_input_is_refused_and_stores_nothing(ws: Workspace, provider: object, key: object, message: str) -> None:
    keys = _service(ws)
    with pytest.raises(ValidationError, match=message) as info:
        keys.put(ws.user, provider, key)  # type: ignore[arg-type]
    assert not isinstance(key, str) or len(key) < 8 or key not in str(info.value)
    assert keys.list(ws.user) == []
    with ws.db.read() as orm:
        assert orm.scalar(text("SELECT count(*) FROM api_keys")) == 0


def test_unknown_providers_are_refused_everywhere(ws: Workspace) -> None:
    keys = _service(ws)
    for call in (keys.delete, keys.secret):
        with pytest.raises(ValidationError, match="unknown provider"):
            call(ws.user, "gemini")
    assert PROVIDERS == ("anthropic", "openai")


def test_rotation_refuses_a_bad_batch_size(ws: Workspace) -> None:
    for batch in (0, -1, True, "10"):
        with pytest.raises(ValidationError, match="batch must be a positive integer"):
            rotate_secrets(ws.db, SecretBox.load(), batch=batch)  # type: ignore[arg-type]
