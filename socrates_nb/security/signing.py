"""HMAC-SHA256 request signatures (ASVS 4.1.5): the canonical form of a request, signing, checking.

The signed text is four lines joined by ``\\n`` (no trailing newline)::

    METHOD            the HTTP method, upper case (DELETE)
    path              the request path as the server sees it, with the base URL and without the
                      query string (/socrates/api/v1/projects/<id>)
    timestamp         the X-Socrates-Timestamp header as sent: Unix seconds, decimal digits
    sha256(body)      the lowercase hex SHA-256 of the raw request body (of b"" when there is none)

The signature is the lowercase hex HMAC-SHA256 of that text (UTF-8) under the signing secret
(its UTF-8 bytes, exactly as ``POST auth/signing-key`` returned it).
"""

from __future__ import annotations

import hashlib
import hmac
import re

WINDOW_S = 300
"""How far a timestamp may be from the server's clock, either way, in seconds."""
TIMESTAMP_HEADER = "X-Socrates-Timestamp"
SIGNATURE_HEADER = "X-Socrates-Signature"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


class SignatureError(ValueError):
    """A request signature that is missing, malformed, stale or wrong (the message says which)."""


def canonical(method: str, path: str, timestamp: str, body: bytes) -> bytes:
    """The signed text of a request (the module docstring has the format)."""
    return f"{method.upper()}\n{path}\n{timestamp}\n{hashlib.sha256(body).hexdigest()}".encode()


def sign(secret: str, method: str, path: str, timestamp: str | int, body: bytes = b"") -> str:
    """The ``X-Socrates-Signature`` of a request: hex HMAC-SHA256 of its canonical text under ``secret``."""
    return hmac.new(secret.encode(), canonical(method, path, str(timestamp), body), hashlib.sha256).hexdigest()


def check(
    secret: str, method: str, path: str, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> int:
    """The request's timestamp if ``signature`` is right for it and recent; else SignatureError.

    Comparison is constant-time (``hmac.compare_digest``). Replays are not detected here:
    the caller records each accepted signature until ``timestamp + WINDOW_S``.
    """
    if not timestamp or not signature:
        raise SignatureError(
            f"this operation needs a signed request: send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} "
            "(docs/SECURITY.md, \"Signed requests\")"
        )
    if not _TIMESTAMP.fullmatch(timestamp):
        raise SignatureError(f"{TIMESTAMP_HEADER} must be Unix seconds (decimal digits only)")
    if not _SIGNATURE.fullmatch(signature.lower()):
        raise SignatureError(f"{SIGNATURE_HEADER} must be 64 hex digits (HMAC-SHA256)")
    skew = int(timestamp) - now
    if skew < -WINDOW_S:
        raise SignatureError(f"the request timestamp is more than {WINDOW_S} seconds old: sign it again")
    if skew > WINDOW_S:
        raise SignatureError(f"the request timestamp is more than {WINDOW_S} seconds in the future: check the clock")
    if not hmac.compare_digest(sign(secret, method, path, timestamp, body), signature.lower()):
        raise SignatureError("wrong request signature (method, path, timestamp and body must be signed as sent)")
    return int(timestamp)
