"""Request signatures (security/signing.py): the canonical text, a known vector, and every refusal."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from socrates_nb.security import signing

SECRET = "s3cret-signing-key"
PATH = "/socrates/api/v1/projects/0b0e0c1e-3a6c-4a54-9a54-0f4b3a9f1f00"
NOW = 1_800_000_000


def test_known_vector_computed_independently() -> None:
    body = b'{"key": "sk-x"}'
    text = f"DELETE\n{PATH}\n{NOW}\n{hashlib.sha256(body).hexdigest()}".encode()
    expected = hmac.new(SECRET.encode(), text, hashlib.sha256).hexdigest()
    assert signing.canonical("delete", PATH, str(NOW), body) == text
    assert signing.sign(SECRET, "DELETE", PATH, NOW, body) == expected
    empty = hmac.new(SECRET.encode(), f"POST\n/p\n1\n{hashlib.sha256(b'').hexdigest()}".encode(), hashlib.sha256)
    assert signing.sign(SECRET, "POST", "/p", "1") == empty.hexdigest()


def test_check_accepts_a_right_signature_in_upper_or_lower_case() -> None:
    signature = signing.sign(SECRET, "DELETE", PATH, NOW)
    assert signing.check(SECRET, "DELETE", PATH, str(NOW), signature, b"", NOW + 300) == NOW
    assert signing.check(SECRET, "DELETE", PATH, str(NOW), signature.upper(), b"", NOW - 300) == NOW


@pytest.mark.parametrize(("timestamp", "signature", "now", "message"), [
    (None, "a" * 64, NOW, "needs a signed request"),
    (str(NOW), None, NOW, "needs a signed request"),
    ("", "a" * 64, NOW, "needs a signed request"),
    ("12.5", "a" * 64, NOW, "must be Unix seconds"),
    ("-1", "a" * 64, NOW, "must be Unix seconds"),
    ("soon", "a" * 64, NOW, "must be Unix seconds"),
    ("1" * 13, "a" * 64, NOW, "must be Unix seconds"),
    (str(NOW), "xyz", NOW, "must be 64 hex digits"),
    (str(NOW), "a" * 63, NOW, "must be 64 hex digits"),
    (str(NOW), "a" * 64, NOW + 301, "more than 300 seconds old"),
    (str(NOW), "a" * 64, NOW - 301, "more than 300 seconds in the future"),
    (str(NOW), "a" * 64, NOW, "wrong request signature"),
])
def test_check_refuses(timestamp: str | None, signature: str | None, now: int, message: str) -> None:
    with pytest.raises(signing.SignatureError, match=message):
        signing.check(SECRET, "DELETE", PATH, timestamp, signature, b"", now)


@pytest.mark.parametrize(("method", "path", "body", "secret"), [
    ("PUT", PATH, b"", SECRET),
    ("DELETE", PATH + "x", b"", SECRET),
    ("DELETE", PATH, b"{}", SECRET),
    ("DELETE", PATH, b"", SECRET + "x"),
])
def test_a_signature_covers_method_path_body_and_key(method: str, path: str, body: bytes, secret: str) -> None:
    signature = signing.sign(secret, method, path, NOW, body)
    with pytest.raises(signing.SignatureError, match="wrong request signature"):
        signing.check(SECRET, "DELETE", PATH, str(NOW), signature, b"", NOW)
