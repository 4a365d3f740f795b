"""Access tokens (signed JWTs) and refresh tokens (opaque random strings, stored as SHA-256).

An access token carries ``iss``, ``aud``, ``sub`` (the user id), ``iat``, ``nbf``,
``exp``, a random ``jti``, ``sid`` (its session: the refresh-token family it was issued with)
and ``typ: "access"``. Only the configured HMAC algorithm
is accepted. A refresh token is not a JWT, so it can never pass as an access token.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from types import MappingProxyType
from typing import Any, Mapping

import jwt
from cachetools import TTLCache

from socrates_nb.errors import UnauthorizedError

ACCESS_TYPE = "access"
LEEWAY_S = 10  # clock skew tolerated on exp, nbf and iat
MAX_TOKEN_CHARS = 4096
MAX_JTI_CHARS = 64  # the length of revoked_tokens.jti
INVALID_ACCESS = "invalid access token"
EXPIRED_ACCESS = "access token expired"
_REQUIRED = ["exp", "iat", "nbf", "jti", "iss", "aud", "sub", "sid", "typ"]
SESSION_REVOKED_PREFIX = "session:"
"""A session's row in ``revoked_tokens`` is ``session:<family id>``: every access token naming it is refused."""
VERIFIED_CACHE_SIZE = 10_000
VERIFIED_CACHE_TTL_S = 60


class TokenSigner:
    """Issues and checks access tokens with one key, algorithm, issuer, audience and lifetime."""

    def __init__(self, key: bytes, *, algorithm: str, issuer: str, audience: str, ttl_s: int) -> None:
        self._key = key
        self._algorithm = algorithm
        self._issuer = issuer
        self._audience = audience
        self.ttl_s = ttl_s
        # token -> claims of a signature already verified: a client sends the same token with
        # every request, and verifying it again costs more than the rest of a cached read
        self._verified: TTLCache[str, Mapping[str, Any]] = TTLCache(VERIFIED_CACHE_SIZE, VERIFIED_CACHE_TTL_S)
        self._lock = threading.Lock()

    def issue(self, subject: str, session: str) -> str:
        """A new access token for ``subject`` in ``session`` (its refresh-token family), valid for ``ttl_s`` seconds."""
        now = int(time.time())
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_s,
            "jti": secrets.token_urlsafe(16),
            "sid": session,
            "typ": ACCESS_TYPE,
        }
        return jwt.encode(claims, self._key, algorithm=self._algorithm)

    def decode(self, token: str) -> Mapping[str, Any]:
        """The claims of a valid access token; UnauthorizedError for anything else.

        A token verified in the last minute is not verified again, but its ``exp`` and
        ``nbf`` are checked against the clock on every call.
        """
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise UnauthorizedError(INVALID_ACCESS)
        with self._lock:
            claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
            with self._lock:
                self._verified[token] = claims
        now = time.time()
        if claims["exp"] <= now - LEEWAY_S:
            raise UnauthorizedError(EXPIRED_ACCESS)
        if claims["nbf"] > now + LEEWAY_S:
            raise UnauthorizedError(INVALID_ACCESS)
        return claims

    def _verify(self, token: str) -> Mapping[str, Any]:
        """Signature, algorithm, audience, issuer, times and claim types, checked by PyJWT and here."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_S,
                # iat is checked below: integer and not in the future, whatever the PyJWT version
                options={"require": _REQUIRED, "verify_iat": False},
            )
        except jwt.ExpiredSignatureError:
            raise UnauthorizedError(EXPIRED_ACCESS) from None
        except jwt.PyJWTError:
            raise UnauthorizedError(INVALID_ACCESS) from None
        jti, sid = claims["jti"], claims["sid"]
        if (
            claims["typ"] != ACCESS_TYPE
            or not isinstance(jti, str)
            or not 0 < len(jti) <= MAX_JTI_CHARS
            or not isinstance(sid, str)
            or not 0 < len(sid) <= MAX_JTI_CHARS - len(SESSION_REVOKED_PREFIX)
            or any(type(claims[name]) is not int for name in ("iat", "nbf", "exp"))
            or claims["iat"] > time.time() + LEEWAY_S
        ):
            raise UnauthorizedError(INVALID_ACCESS)
        return MappingProxyType(claims)


def session_revocation(session: str) -> str:
    """The ``revoked_tokens.jti`` that revokes every access token of ``session`` (a ``sid`` claim)."""
    return SESSION_REVOKED_PREFIX + session


def new_refresh_token() -> str:
    """A new refresh token: 32 random bytes (256 bits), URL-safe base64."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """The SHA-256 hex digest under which a refresh token is stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
