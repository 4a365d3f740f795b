"""One-time codes for MFA: TOTP (RFC 6238) codes and single-use backup codes.

TOTP here is what every authenticator app speaks: HMAC-SHA-1, 6 digits, 30-second steps
from the Unix epoch, with a 160-bit random secret (RFC 4226 section 4 recommends 160 bits).
A code is checked against the server's time step and at most ``window`` steps either side
(clock drift); ``matching_step`` says which step matched, so the caller can refuse a step
that was already used (RFC 6238 section 5.2: a code is accepted once).

Backup codes are 10 random base32 characters (50 bits), shown as ``abcde-fghij``. They are
stored as HMAC-SHA-256 under the account's TOTP secret, which is itself stored encrypted
under the master keys: a dump of the database alone allows no offline guessing, so a fast
keyed hash is enough (a slow hash buys nothing when the key is out of reach, and a fast one
lets a login compare the code with all ten hashes at no cost).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

import pyotp

DIGITS = 6
STEP_S = 30
WINDOW = 1
"""Steps accepted either side of the current one (RFC 6238 section 5.2 recommends at most one)."""
SECRET_CHARS = 32  # base32 characters: 160 bits
BACKUP_CODE_COUNT = 10
BACKUP_CODE_CHARS = 10  # base32 characters: 50 bits each
ISSUER = "socrates_nb"
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_BACKUP_CODE = re.compile(f"[A-Z2-7]{{{BACKUP_CODE_CHARS // 2}}}-?[A-Z2-7]{{{BACKUP_CODE_CHARS // 2}}}")


def new_secret() -> str:
    """A new random TOTP secret in base32 (as authenticator apps take it)."""
    return pyotp.random_base32(SECRET_CHARS)


def _totp(secret: str, digits: int) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=digits, digest=hashlib.sha1, interval=STEP_S)


def time_step(for_time: float) -> int:
    """The TOTP time step (RFC 6238 ``T``) of a Unix time."""
    return int(for_time // STEP_S)


def code_at(secret: str, for_time: float, digits: int = DIGITS) -> str:
    """The code of ``secret`` at the Unix time ``for_time``."""
    return _totp(secret, digits).generate_otp(time_step(for_time))


def matching_step(secret: str, code: str, now: float, window: int = WINDOW, digits: int = DIGITS) -> int | None:
    """The time step within ``window`` steps of ``now`` whose code is ``code``, else None.

    Every candidate is compared in constant time, so the time taken says nothing about which matched.
    """
    totp = _totp(secret, digits)
    current = time_step(now)
    found = None
    for step in range(current - window, current + window + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def provisioning_uri(secret: str, account: str) -> str:
    """The ``otpauth://`` URI an authenticator app scans (as a QR code) to add the account."""
    return _totp(secret, DIGITS).provisioning_uri(name=account, issuer_name=ISSUER)


def is_totp_code(code: str) -> bool:
    """Whether ``code`` has the form of a TOTP code (exactly six ASCII digits)."""
    return len(code) == DIGITS and code.isascii() and code.isdigit()


def new_backup_codes() -> list[str]:
    """Ten new backup codes, ``abcde-fghij``."""
    half = BACKUP_CODE_CHARS // 2
    codes = ["".join(secrets.choice(_BASE32) for _ in range(BACKUP_CODE_CHARS)) for _ in range(BACKUP_CODE_COUNT)]
    return [f"{code[:half]}-{code[half:]}" for code in codes]


def normalized_backup_code(code: str) -> str | None:
    """The canonical form of a backup code (upper case, no hyphen), or None if it is not one."""
    upper = code.strip().upper()
    return upper.replace("-", "") if _BACKUP_CODE.fullmatch(upper) else None


def hash_backup_code(secret: str, code: str) -> str:
    """The stored form of a backup code (as shown or normalized): HMAC-SHA-256 under the TOTP secret, in hex."""
    normalized = code.replace("-", "").upper()
    return hmac.new(secret.encode("ascii"), normalized.encode("ascii"), hashlib.sha256).hexdigest()
