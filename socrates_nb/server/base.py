"""The base handler: bearer authentication, JSON bodies, the error envelope, ETags and gzip.

Clients authenticate with ``Authorization: Bearer <access token>`` from our auth routes and
send no Jupyter token and no cookies. Every method is marked ``allow_unauthenticated`` for
Jupyter's own auth layer (so it works with ``ServerApp.allow_unauthenticated_access=False``)
and is authenticated here instead; the XSRF check applies only to cookie-carrying requests.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from http import HTTPStatus
from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import APIHandler
from tornado import web

from socrates_nb.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    PreconditionFailedError,
    RateLimitedError,
    SocratesError,
    UnauthorizedError,
    ValidationError,
)
from socrates_nb.server.app import ApiContext
from socrates_nb.services.views import Actor

METHODS = ("get", "post", "put", "patch", "delete")
GZIP_MIN_BYTES = 1024
JSON_TYPE = "application/json; charset=UTF-8"
_CODES_BY_STATUS = {
    400: "bad_request", 405: "method_not_allowed", 503: "unavailable",  # tornado's own, not ours
    **{e.http_status: e.code for e in (
        ValidationError, UnauthorizedError, ForbiddenError, NotFoundError, ConflictError, PreconditionFailedError,
        PayloadTooLargeError, RateLimitedError,
    )},
}


class BaseHandler(APIHandler):
    """JSON in, JSON out, errors as ``{"error": {"code", "message"}}``; set ``public = True`` for open routes."""

    public = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in METHODS:  # tornado's unimplemented ones too, so they answer 405, not Jupyter's 403
            method = getattr(cls, name)
            if not getattr(method, "__allow_unauthenticated", False):
                setattr(cls, name, allow_unauthenticated(method))

    @property
    def api(self) -> ApiContext:
        return self.settings["socrates"]

    # --- request checks ---------------------------------------------------------------------

    def check_xsrf_cookie(self) -> None:
        """Bearer clients carry no cookies, so no XSRF token either; cookie-carrying requests are checked."""
        if not self.request.headers.get("Cookie"):
            return None
        return super().check_xsrf_cookie()

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        if len(self.request.body or b"") > self.api.max_body_bytes:
            raise PayloadTooLargeError(f"request body over {self.api.max_body_bytes} bytes")
        self.actor: Actor | None = None
        if not self.public and self.request.method != "OPTIONS":
            self.actor = self.authenticate()

    def authenticate(self) -> Actor:
        """The user named by the bearer token (UnauthorizedError when missing or invalid)."""
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthorizedError("missing bearer token: send Authorization: Bearer <access token>")
        self.authenticated = self.api.auth.authenticate(token.strip())
        return self.authenticated.actor

    def json_body(self, allowed: set[str], required: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
        """The request body as a JSON object with only ``allowed`` keys and all ``required`` ones."""
        raw = self.request.body or b"{}"
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValidationError(f"malformed JSON body: {exc}") from None
        if not isinstance(data, dict):
            raise ValidationError("the body must be a JSON object")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValidationError(f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
        missing = sorted(required - set(data))
        if missing:
            raise ValidationError(f"missing field(s): {', '.join(missing)}")
        return data

    def query(self, name: str, default: str | None = None) -> str | None:
        """One query parameter (the last one if repeated)."""
        return self.get_query_argument(name, default)

    # --- responses ---------------------------------------------------------------------------

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Cache-Control", "private, no-cache")

    def send(self, payload: Any, status: int = 200, etag: bool = True) -> None:
        """Write ``payload`` as JSON; GETs carry a strong ETag and answer ``If-None-Match`` with 304."""
        self.send_bytes(json_bytes(payload), JSON_TYPE, status, etag)

    def send_bytes(self, body: bytes, content_type: str, status: int = 200, etag: bool = True) -> None:
        """Write a body; gzip it when it is over 1 KB and the client accepts gzip."""
        self.set_status(status)
        if etag and self.request.method == "GET":
            tag = etag_of(body)
            self.set_header("ETag", tag)
            if tag in parse_etags(self.request.headers.get("If-None-Match", "")):
                self.set_status(304)
                self.finish()
                return
        if len(body) > GZIP_MIN_BYTES and "gzip" in self.request.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body, compresslevel=5)
            self.set_header("Content-Encoding", "gzip")
            self.add_header("Vary", "Accept-Encoding")
        self.finish(body, set_content_type=content_type)

    def no_content(self) -> None:
        self.set_status(204)
        self.finish()

    def compute_etag(self) -> None:
        return None  # ours are set in send_bytes (tornado's own would hash again)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error is the envelope; an unexpected exception is logged, never shown."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, SocratesError):
            status, code, message = exc.http_status, exc.code, exc.message
            if isinstance(exc, RateLimitedError):
                self.set_header("Retry-After", str(exc.retry_after))
        elif isinstance(exc, web.HTTPError):
            status = exc.status_code
            code = _CODES_BY_STATUS.get(status, "error")
            message = exc.log_message or HTTPStatus(status).phrase
            if exc.args[1:]:
                message = message % exc.args[1:]
        else:
            status, code, message = 500, "internal_error", "internal error (logged on the server)"
        self.clear_header("Content-Encoding")
        self.set_status(status)
        self.finish(json.dumps({"error": {"code": code, "message": message}}), set_content_type=JSON_TYPE)

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, SocratesError):  # an expected outcome: no stack trace in the log
            if not self._finished:
                self.send_error(e.http_status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)


def json_bytes(payload: Any) -> bytes:
    """The one JSON encoding of response bodies (compact, UTF-8)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def etag_of(body: bytes) -> str:
    """A strong ETag for a response body."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def parse_etags(header: str) -> set[str]:
    """The entity tags listed in an ``If-None-Match`` / ``If-Match`` header (weak ones as strong)."""
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}
