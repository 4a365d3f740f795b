"""Secrets at rest (LLM API keys, TOTP secrets): Fernet under master keys kept outside the database.

The master keys come from ``$SOCRATES_MASTER_KEY`` (Fernet keys, comma-separated, newest
first) or else from the key file ``data_dir()/master.keys`` (one key per line, newest
first; created with one new key and mode 0600 on first use). New ciphertext uses the
newest key; every listed key decrypts (``MultiFernet``), so adding a key never breaks
stored secrets, and ``SecretBox.rotate`` re-encrypts a ciphertext under the newest key.
A dump of the database alone reveals no secret.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from socrates_nb.config import data_dir
from socrates_nb.errors import ConfigError, SocratesError
from socrates_nb.security.keyfile import read_private_file, write_private_file

MASTER_KEY_ENV = "SOCRATES_MASTER_KEY"
MASTER_KEY_FILE_NAME = "master.keys"
UNREADABLE = "a stored secret does not decrypt: it was altered, or its master key is gone"


class SecretError(SocratesError):
    """A stored secret does not decrypt: tampered with, or encrypted under a key no longer listed."""

    code = "secret_error"
    http_status = 500


def _fernet(key: str, source: str) -> Fernet:
    try:
        return Fernet(key.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise ConfigError(f"{source}: not a Fernet key (32 url-safe base64-encoded bytes)") from None


class SecretBox:
    """Encrypts with the newest master key and decrypts with any of them."""

    def __init__(self, keys: Sequence[str], source: str = "master keys") -> None:
        if not keys:
            raise ConfigError(f"{source}: no master key")
        self._box = MultiFernet([_fernet(k, source) for k in keys])
        self._newest = keys[0]
        self._source = source
        self.key_count = len(keys)

    @classmethod
    def load(cls, key_file: Path | None = None) -> "SecretBox":
        """The box of ``$SOCRATES_MASTER_KEY``, else of the key file (created on first use)."""
        raw = os.environ.get(MASTER_KEY_ENV)
        if raw is not None:
            return cls([k for k in raw.split(",") if k.strip()], MASTER_KEY_ENV)
        path = key_file or data_dir() / MASTER_KEY_FILE_NAME
        return cls(read_master_keys(path), str(path))

    def newest_only(self) -> "SecretBox":
        """A box of the newest key alone: what decrypts once the older keys are dropped."""
        return SecretBox([self._newest], self._source)

    def encrypt(self, plaintext: str) -> bytes:
        """Ciphertext of ``plaintext`` under the newest key (authenticated: tampering is detected)."""
        return self._box.encrypt(plaintext.encode("utf-8"))

    def decrypt(self, ciphertext: bytes) -> str:
        """The plaintext; SecretError if the ciphertext was altered or no listed key opens it."""
        try:
            return self._box.decrypt(ciphertext).decode("utf-8")
        except InvalidToken:
            raise SecretError(UNREADABLE) from None

    def rotate(self, ciphertext: bytes) -> bytes:
        """The same secret encrypted under the newest key."""
        try:
            return self._box.rotate(ciphertext)
        except InvalidToken:
            raise SecretError(UNREADABLE) from None


def read_master_keys(path: Path) -> list[str]:
    """The keys of a master key file, newest first, creating the file with one new key if missing."""
    try:
        data = read_private_file(path)
    except FileNotFoundError:
        write_private_file(path, Fernet.generate_key() + b"\n", replace=False)
        data = read_private_file(path)
    try:
        return [line.strip() for line in data.decode("ascii").splitlines() if line.strip()]
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: a master key file holds Fernet keys, one per line") from None


def add_master_key(path: Path) -> None:
    """Put a new key first in the master key file (older keys stay, so old ciphertext still opens)."""
    keys = read_master_keys(path)
    write_private_file(path, "\n".join([Fernet.generate_key().decode("ascii"), *keys]).encode("ascii") + b"\n", replace=True)


def drop_old_master_keys(path: Path) -> None:
    """Keep only the newest key (after every secret was rotated to it)."""
    write_private_file(path, read_master_keys(path)[0].encode("ascii") + b"\n", replace=True)
