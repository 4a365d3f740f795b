"""Password hashing (scrypt in a self-describing format) and the rules for passwords."""

from __future__ import annotations

import base64
import binascii
import functools
import gzip
import hmac
import secrets
from dataclasses import dataclass
from importlib import resources

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from socrates_nb.errors import ValidationError

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024  # longer input is refused before hashing (no hashing abuse)
DEFAULT_SCRYPT_N = 2**15
DEFAULT_SCRYPT_R = 8
DEFAULT_SCRYPT_P = 1
SCHEME = "scrypt"
_SALT_BYTES = 16
_HASH_BYTES = 32
_DUMMY_SALT = bytes(_SALT_BYTES)
_COMMON_FILE = "common_passwords.txt.gz"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    """scrypt of the password's UTF-8 bytes (lone surrogates kept, never an encoding error)."""
    return Scrypt(salt=salt, length=_HASH_BYTES, n=n, r=r, p=p).derive(password.encode("utf-8", "surrogatepass"))


def _parse(encoded: str) -> tuple[int, int, int, bytes, bytes] | None:
    """``(n, r, p, salt, hash)`` of ``scrypt$n$r$p$salt$hash``, or None if malformed."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != SCHEME or not all(x.isascii() and x.isdigit() for x in parts[1:4]):
        return None
    n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
    try:
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, binascii.Error):
        return None
    if n < 2 or n & (n - 1) or r < 1 or p < 1 or not salt or len(digest) != _HASH_BYTES:
        return None
    return n, r, p, salt, digest


@dataclass(frozen=True)
class PasswordHasher:
    """scrypt with cost ``n``, block size ``r`` and parallelism ``p``.

    Hashes read ``scrypt$n$r$p$salt$hash`` (salt and hash unpadded URL-safe base64), so
    a hash made with other parameters still verifies and can be upgraded on login.
    """

    n: int = DEFAULT_SCRYPT_N
    r: int = DEFAULT_SCRYPT_R
    p: int = DEFAULT_SCRYPT_P

    def hash(self, password: str) -> str:
        """A new salted hash of ``password``."""
        salt = secrets.token_bytes(_SALT_BYTES)
        digest = _derive(password, salt, self.n, self.r, self.p)
        return f"{SCHEME}${self.n}${self.r}${self.p}${_b64(salt)}${_b64(digest)}"

    def verify(self, password: str, encoded: str) -> bool:
        """Whether ``password`` matches ``encoded`` (constant-time comparison; False if malformed)."""
        parsed = _parse(encoded)
        if parsed is None:
            self.verify_dummy(password)
            return False
        n, r, p, salt, expected = parsed
        return hmac.compare_digest(_derive(password, salt, n, r, p), expected)

    def verify_dummy(self, password: str) -> None:
        """Spend the time of one verification, for a login whose user has no password to check."""
        hmac.compare_digest(_derive(password, _DUMMY_SALT, self.n, self.r, self.p), bytes(_HASH_BYTES))

    def needs_rehash(self, encoded: str) -> bool:
        """Whether ``encoded`` was made with other parameters than this hasher's."""
        parsed = _parse(encoded)
        return parsed is None or parsed[:3] != (self.n, self.r, self.p)


@functools.lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The lowercased common passwords long enough to pass the length rule (loaded once)."""
    raw = gzip.decompress((resources.files("socrates_nb.data") / _COMMON_FILE).read_bytes())
    words = (line.strip().lower() for line in raw.decode("utf-8").splitlines())
    return frozenset(w for w in words if len(w) >= MIN_PASSWORD_CHARS)


def check_password(value: object) -> str:
    """A password as typed at login: text of at most 1,024 characters."""
    if not isinstance(value, str):
        raise ValidationError(f"password must be text, got {type(value).__name__}")
    if len(value) > MAX_PASSWORD_CHARS:
        raise ValidationError(f"password must be at most {MAX_PASSWORD_CHARS:,} characters long")
    return value


def check_new_password(value: object) -> str:
    """A password for a new account: 12 to 1,024 characters and not a common password."""
    password = check_password(value)
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValidationError(f"password must be at least {MIN_PASSWORD_CHARS} characters long")
    if password.lower() in common_passwords():
        raise ValidationError("password is too common; choose another")
    return password
