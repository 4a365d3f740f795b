"""Forged access tokens, shared by the token tests of the signer, the service and the REST API.

``forge(case)`` builds a token that must be refused, as an attacker or a buggy client would;
``BAD_CASES`` names every case. Tokens are signed with ``KEY`` unless another key is given
(the REST tests pass the running server's key, so only the forged detail is wrong).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from socrates_nb.security.tokens import LEEWAY_S, MAX_TOKEN_CHARS, TokenSigner, new_refresh_token

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
ISS, AUD = "socrates_nb", "socrates_nb-api"


def signer(key: bytes = KEY, ttl_s: int = 900) -> TokenSigner:
    return TokenSigner(key, algorithm="HS256", issuer=ISS, audience=AUD, ttl_s=ttl_s)


def claims(sub: str | None = None, /, **changes: Any) -> dict[str, Any]:
    """Valid access-token claims; ``changes`` override them, a value of ``...`` drops the claim."""
    now = int(time.time())
    out: dict[str, Any] = {
        "iss": ISS, "aud": AUD, "sub": sub or str(uuid.uuid4()), "iat": now, "nbf": now, "exp": now + 900,
        "jti": uuid.uuid4().hex, "sid": str(uuid.uuid4()), "typ": "access",
    }
    out.update(changes)
    return {k: v for k, v in out.items() if v is not ...}


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def forge(case: str, sub: str | None = None, key: bytes = KEY) -> str:
    """A token that must be refused, built as an attacker or a buggy client would (signed with ``key``)."""
    now = int(time.time())
    if case == "alg none":
        return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(sub))}."
    if case == "alg none signed":
        return jwt.encode(claims(sub), None, algorithm="none")
    if case in ("HS384", "HS512"):
        return jwt.encode(claims(sub), (key * 2)[:max(64, len(key))], algorithm=case)  # the same key, doubled if short
    if case == "RS256":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return jwt.encode(claims(sub), private, algorithm="RS256")
    if case == "wrong key":
        return jwt.encode(claims(sub), OTHER_KEY, algorithm="HS256")
    if case == "tampered payload":
        head, _, sig = jwt.encode(claims(sub), key, algorithm="HS256").split(".")
        return f"{head}.{b64(claims(str(uuid.uuid4())))}.{sig}"
    if case == "tampered signature":
        token = jwt.encode(claims(sub), key, algorithm="HS256")
        return token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    if case == "refresh token":
        return new_refresh_token()
    if case == "empty":
        return ""
    if case == "too long":
        return jwt.encode(claims(sub, pad="x" * MAX_TOKEN_CHARS), key, algorithm="HS256")
    if case == "not base64":
        return "é.é.é"
    if case in ("payload not an object", "payload not json"):
        return jwt.PyJWS().encode(b"[1]" if case == "payload not an object" else b"{nope", key, algorithm="HS256")
    bad_claims = {
        "expired": claims(sub, exp=now - LEEWAY_S - 5),
        "future nbf": claims(sub, nbf=now + LEEWAY_S + 60),
        "future iat": claims(sub, iat=now + LEEWAY_S + 60),
        "wrong aud": claims(sub, aud="someone-else"),
        "wrong aud list": claims(sub, aud=["someone-else"]),
        "wrong iss": claims(sub, iss="evil"),
        "typ refresh": claims(sub, typ="refresh"),
        "jti too long": claims(sub, jti="j" * 65),
        "jti empty": claims(sub, jti=""),
        "jti not text": claims(sub, jti=5),
        "iat not int": claims(sub, iat=float(now)),
        "iat bool": claims(sub, iat=True),
        "exp text": claims(sub, exp=str(now + 900)),
        "nbf float": claims(sub, nbf=now - 0.5),
        "sub not text": claims(sub, sub=5),
        "sid not text": claims(sub, sid=5),
        "sid too long": claims(sub, sid="s" * 57),
    }
    bad_claims.update({f"missing {name}": claims(sub, **{name: ...}) for name in
                       ("exp", "iat", "nbf", "jti", "iss", "aud", "sub", "sid", "typ")})
    return jwt.encode(bad_claims[case], key, algorithm="HS256")


BAD_CASES = [
    "alg none", "alg none signed", "HS384", "HS512", "RS256", "wrong key", "tampered payload", "tampered signature",
    "refresh token", "empty", "too long", "not base64", "payload not an object",
    "payload not json", "expired", "future nbf", "future iat",
    "wrong aud", "wrong aud list", "wrong iss", "typ refresh", "jti too long", "jti empty", "jti not text",
    "iat not int", "iat bool", "exp text", "nbf float", "sub not text", "sid not text", "sid too long",
    *(f"missing {n}" for n in ("exp", "iat", "nbf", "jti", "iss", "aud", "sub", "sid", "typ")),
]
