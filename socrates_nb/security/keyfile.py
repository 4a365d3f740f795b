"""Private key files: created once with mode 0600, shared by every process of a data dir.

The token signing key file holds the key as hex text (64 random bytes when generated
here); the master key file (``security/crypto.py``) holds Fernet keys. A file is written
under a temporary name and hard-linked into place, so another process never sees a
half-written key: when two processes create it at the same moment, the link of the
second fails and it reads the first one's key. A key file that its group or others may
read or write is refused (like ssh refuses such private keys).
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from socrates_nb.errors import ConfigError

GENERATED_KEY_BYTES = 64
_MAX_FILE_BYTES = 4096
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def load_or_create_key(path: Path, min_bytes: int) -> bytes:
    """The key stored at ``path``, generating the file first if it does not exist.

    Raises ConfigError (never showing the key) when the file is not a regular file, is
    accessible to group or others, does not hold hex, or holds fewer than ``min_bytes``.
    """
    try:
        return _read(path, min_bytes)
    except FileNotFoundError:
        write_private_file(path, (secrets.token_hex(GENERATED_KEY_BYTES) + "\n").encode("ascii"), replace=False)
    return _read(path, min_bytes)


def write_private_file(path: Path, content: bytes, replace: bool) -> None:
    """Write ``content`` to ``path`` with mode 0600, atomically.

    ``replace=False`` keeps an existing file (another process created it first: everyone
    uses its content); ``replace=True`` renames the new file over the old one.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
        try:
            os.write(fd, content)
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # atomic, and fails if the key file exists
            except FileExistsError:
                pass
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create the key file: {exc.strerror or exc}") from None
    finally:
        tmp.unlink(missing_ok=True)


def read_private_file(path: Path) -> bytes:
    """The content of a key file that only its owner may access (FileNotFoundError if missing)."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the key file: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{path}: the key file is not a regular file")
        if os.name == "posix" and info.st_mode & 0o077:
            mode = oct(stat.S_IMODE(info.st_mode))
            raise ConfigError(f"{path}: the key file is accessible to group or others (mode {mode}); run: chmod 600 {path}")
        return os.read(fd, _MAX_FILE_BYTES)
    finally:
        os.close(fd)


def _read(path: Path, min_bytes: int) -> bytes:
    data = read_private_file(path)
    try:
        key = bytes.fromhex(data.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        raise ConfigError(f"{path}: the key file must hold the key as hex; delete it to generate a new one") from None
    if len(key) < min_bytes:
        raise ConfigError(f"{path}: the key is shorter than {min_bytes} bytes; delete the file to generate a new one")
    return key
