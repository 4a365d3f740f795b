"""Secrets at rest: master keys from a private key file or $SOCRATES_MASTER_KEY, Fernet, rotation."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from socrates_nb.config import data_dir
from socrates_nb.errors import ConfigError
from socrates_nb.security.crypto import (
    MASTER_KEY_ENV,
    MASTER_KEY_FILE_NAME,
    SecretBox,
    SecretError,
    add_master_key,
    drop_old_master_keys,
    read_master_keys,
)


def test_the_key_file_is_created_once_with_mode_0600() -> None:
    box = SecretBox.load()
    path = data_dir() / MASTER_KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and box.key_count == 1
    ciphertext = box.encrypt("a secret")
    assert b"a secret" not in ciphertext
    assert SecretBox.load().decrypt(ciphertext) == "a secret"  # the same key, not a new one per process
    assert len(read_master_keys(path)) == 1


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_key_file_others_may_read_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / MASTER_KEY_FILE_NAME
    path.write_bytes(Fernet.generate_key() + b"\n")
    path.chmod(mode)
    with pytest.raises(ConfigError, match=f"accessible to group or others.*chmod 600 {path}"):
        SecretBox.load(path)


def test_keys_from_the_environment_take_precedence_newest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv(MASTER_KEY_ENV, old)
    under_old = SecretBox.load().encrypt("kept")
    monkeypatch.setenv(MASTER_KEY_ENV, f" {new} , {old},")
    box = SecretBox.load()
    assert box.key_count == 2 and box.decrypt(under_old) == "kept"
    assert Fernet(new.encode()).decrypt(box.encrypt("fresh")) == b"fresh"  # new ciphertext uses the first key
    assert not (data_dir() / MASTER_KEY_FILE_NAME).exists()


@pytest.mark.parametrize("value", ["not-a-fernet-key-but-a-secret-value", "", " , ", "ключ"])
def test_a_bad_key_is_a_one_line_config_error_without_the_key(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(MASTER_KEY_ENV, value)
    with pytest.raises(ConfigError, match=MASTER_KEY_ENV) as info:
        SecretBox.load()
    message = str(info.value)
    assert "\n" not in message and (not value.strip(" ,") or value not in message)


def test_a_bad_key_file_is_refused_without_showing_it(tmp_path: Path) -> None:
    path = tmp_path / MASTER_KEY_FILE_NAME
    path.write_bytes(b"secret-but-not-fernet\n")
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="not a Fernet key") as info:
        SecretBox.load(path)
    assert "secret-but-not-fernet" not in str(info.value)


def test_a_tampered_ciphertext_is_a_secret_error() -> None:
    box = SecretBox.load()
    ciphertext = box.encrypt("the secret")
    for tampered in (ciphertext[:-1] + bytes([ciphertext[-1] ^ 1]), ciphertext[:20], b"", b"not fernet at all"):
        with pytest.raises(SecretError, match="does not decrypt"):
            box.decrypt(tampered)
        with pytest.raises(SecretError):
            box.rotate(tampered)
    with pytest.raises(SecretError):  # under a key the box does not hold
        box.decrypt(Fernet(Fernet.generate_key()).encrypt(b"the secret"))


def test_rotate_then_drop_the_old_keys(tmp_path: Path) -> None:
    path = tmp_path / MASTER_KEY_FILE_NAME
    old_box = SecretBox.load(path)
    stored = old_box.encrypt("the secret")
    add_master_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    box = SecretBox.load(path)
    assert box.key_count == 2 and box.decrypt(stored) == "the secret"  # old ciphertext still opens
    with pytest.raises(SecretError):
        box.newest_only().decrypt(stored)
    rotated = box.rotate(stored)
    assert box.newest_only().decrypt(rotated) == "the secret"
    drop_old_master_keys(path)
    newest = SecretBox.load(path)
    assert newest.key_count == 1 and newest.decrypt(rotated) == "the secret"
    with pytest.raises(SecretError):
        newest.decrypt(stored)
    with pytest.raises(SecretError):
        old_box.decrypt(rotated)
