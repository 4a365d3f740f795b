"""The base handler: bearer authentication, JSON bodies, the error envelope, ETags and gzip.

Clients authenticate with ``Authorization: Bearer <access token>`` from our auth routes and
send no Jupyter token and no cookies. Every method is marked ``allow_unauthenticated`` for
Jupyter's own auth layer (so it works with ``ServerApp.allow_unauthenticated_access=False``)
and is authenticated here instead; the XSRF check applies only to cookie-carrying requests.

Bodies are streamed (``@stream_request_body``) so that their size is bounded before they
are read: an announced ``Content-Length`` over ``max_body_bytes`` is refused with 413 as soon
as the headers arrive, and a chunked body as soon as it passes the limit. The method runs
once the whole body is in ``self.request.body`` (docs/SECURITY.md, "Request limits").
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import gzip
import hashlib
import inspect
import json
import re
import uuid
from http import HTTPStatus
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar
from urllib.parse import urlparse

import structlog
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import APIHandler
from tornado import web

from socrates_nb import metrics

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
from socrates_nb.logs import get_logger
from socrates_nb.security import audit
from socrates_nb.security.ratelimit import forwarded_client
from socrates_nb.security.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from socrates_nb.server.app import ApiContext
from socrates_nb.services.views import Actor

METHODS = ("get", "post", "put", "patch", "delete", "options")
_PATH_ARG = re.compile(r"\([^)]*\)")  # a capturing group of a ROUTES pattern
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # a client's own id is echoed only when it looks like one
_log = get_logger("socrates_nb.server")
GZIP_MIN_BYTES = 1024
JSON_TYPE = "application/json; charset=UTF-8"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
AUTH_PATH = "/socrates/api/v1/auth/"
MAX_JSON_DEPTH = 32
"""How deeply a JSON body may nest (the body's own object is level 1; every route takes a flat object)."""
_DIGITS = re.compile(r"[0-9]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # the escapes json.loads may turn into a lone surrogate
_HOST_AND_PORT = re.compile(r"([a-z0-9.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?")
CODES_BY_STATUS = {
    400: "bad_request", 405: "method_not_allowed", 503: "unavailable",  # tornado's own, not ours
    **{e.http_status: e.code for e in (
        ValidationError, UnauthorizedError, ForbiddenError, NotFoundError, ConflictError, PreconditionFailedError,
        PayloadTooLargeError, RateLimitedError,
    )},
}


T = TypeVar("T")

TURN_WORKERS = ThreadPoolExecutor(max_workers=16, thread_name_prefix="socrates-turn")
"""Threads that run session turns (an LLM engine's turn waits on its provider for up to its read timeout)."""


def _after_the_body(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method``, run once the whole request body has arrived (see ``BaseHandler.body_received``)."""

    @functools.wraps(method)
    async def run(self: BaseHandler, *args: Any, **kwargs: Any) -> None:
        self.body_received()
        result = method(self, *args, **kwargs)
        if result is not None:
            await result

    return run


@web.stream_request_body
class BaseHandler(APIHandler):
    """JSON in, JSON out, errors as ``{"error": {"code", "message"}}``; set ``public = True`` for open routes."""

    public = False
    signed_methods: frozenset[str] = frozenset()
    """Methods (lowercase) that need a signed request from a user with a signing key (services/signing.py)."""
    route = "unrouted"
    """The route template (``/projects/{project_id}``) in logs and metric labels: never a raw id."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in METHODS:  # tornado's unimplemented ones too, so they answer 405, not Jupyter's 403
            method = getattr(cls, name)
            if not getattr(method, "__allow_unauthenticated", False):
                setattr(cls, name, allow_unauthenticated(_after_the_body(method)))

    @property
    def api(self) -> ApiContext:
        return self.settings["socrates"]

    # --- request checks ---------------------------------------------------------------------

    # --- CORS: only SocratesApp.cors_origins, never Jupyter's allow_origin ---------------------

    def allowed_origin(self) -> str | None:
        """The request's Origin when it is listed in ``cors_origins``."""
        origin = (self.request.headers.get("Origin") or "").lower()
        return origin if origin in self.api.cors_origins else None

    def check_transport(self) -> None:
        """The Host header first, then ``require_https``: plain HTTP is redirected to that host.

        A host not in ``trusted_hosts`` (when set) is refused, and so is one Jupyter's own check
        refuses (``ServerApp.allow_remote_access``, ``local_hostnames``), before anything is built
        from it: the redirect only ever names a host this server answers for, in lower case.
        """
        if self.api.trusted_hosts and self.request.host_name.lower() not in self.api.trusted_hosts:
            raise ForbiddenError("this host name is not served here (SocratesApp.trusted_hosts)")
        if not self.check_host():
            raise ForbiddenError(
                "this host name is not served here (ServerApp.allow_remote_access, ServerApp.local_hostnames)"
            )
        if self.api.require_https and self.request.protocol != "https":
            host = self.request.host.lower()
            if not _HOST_AND_PORT.fullmatch(host):
                raise ForbiddenError("the Host header is not a host name with an optional port: no redirect to it")
            # 308 keeps the method and body; a client that sent a token over HTTP should rotate it
            self.set_status(308)
            self.set_header("Location", f"https://{host}{self.request.uri}")
            self.finish()
            raise web.Finish()

    def check_origin(self, origin_to_satisfy_tornado: str = "") -> bool:
        """Same-origin and script requests pass; a cross-origin one only from a listed origin."""
        origin = self.request.headers.get("Origin")
        if origin is None or self.allowed_origin():
            return True
        return urlparse(origin.lower()).netloc == self.request.headers.get("Host", "").lower()

    def set_cors_headers(self) -> None:
        """Reflect a listed Origin only; bearer clients send no cookies, so no credentials."""
        self.clear_header("Access-Control-Allow-Origin")
        self.clear_header("Access-Control-Allow-Credentials")
        self.add_header("Vary", "Origin")
        origin = self.allowed_origin()
        if origin:
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Access-Control-Expose-Headers", "ETag, Location, Retry-After")

    def options(self, *args: Any, **kwargs: Any) -> None:
        """A CORS preflight: the methods and headers a listed origin may use (nothing for others)."""
        self.set_cors_headers()
        if self.allowed_origin():
            self.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
            self.set_header(
                "Access-Control-Allow-Headers",
                f"Authorization, Content-Type, If-Match, If-None-Match, {TIMESTAMP_HEADER}, {SIGNATURE_HEADER}",
            )
            self.set_header("Access-Control-Max-Age", "600")
        self.set_status(204)
        self.finish()

    def check_xsrf_cookie(self) -> None:
        """Bearer clients carry no cookies, so no XSRF token either; cookie-carrying requests are checked."""
        if not self.request.headers.get("Cookie"):
            return None
        return super().check_xsrf_cookie()

    @property
    def request_id(self) -> str:
        """The client's ``X-Request-ID`` when well formed, else a new one; echoed on the response."""
        found = self.__dict__.get("_request_id")
        if found is None:
            sent = self.request.headers.get(REQUEST_ID_HEADER, "")
            found = self.__dict__["_request_id"] = sent if _REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
        return found

    async def prepare(self) -> None:  # type: ignore[override]
        """Every check that needs no body; the body arrives after this (``data_received``)."""
        self._body = bytearray()
        # this request runs in a context of its own: what is bound here names its log events
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=self.request_id, route=self.route)
        self.check_transport()
        if not self.check_origin():  # Jupyter's own check would answer a bare 404
            raise ForbiddenError("cross-origin request from an origin not in SocratesApp.cors_origins")
        await super().prepare()
        # what the services audit comes from here (this request runs in a context of its own)
        self.client_ip = forwarded_client(
            self.request.remote_ip, self.request.headers.get_list("X-Forwarded-For"), self.api.trusted_proxies
        )
        audit.request_origin(self.client_ip, self.request.headers.get("User-Agent"))
        announced = self.request.headers.get("Content-Length", "")
        # unparsable or repeated lengths are tornado's to refuse; data_received bounds whatever comes
        if _DIGITS.fullmatch(announced) and (len(announced) > 18 or int(announced) > self.api.max_body_bytes):
            raise PayloadTooLargeError(
                f"the request body of {announced[:20]} bytes is over the limit of {self.api.max_body_bytes} bytes "
                "(SocratesApp.max_body_bytes)"
            )
        self.actor: Actor | None = None
        if not self.public and self.request.method != "OPTIONS":
            self.actor = self.authenticate()
            structlog.contextvars.bind_contextvars(user_id=str(self.actor.id))

    def data_received(self, chunk: bytes) -> None:
        """Collect the body up to ``max_body_bytes``; past it, answer 413 (the connection then closes unread)."""
        if self._finished:
            return
        if len(self._body) + len(chunk) > self.api.max_body_bytes:
            self._body = bytearray()
            error = PayloadTooLargeError(
                f"the request body is over the limit of {self.api.max_body_bytes} bytes (SocratesApp.max_body_bytes)"
            )
            self.send_error(error.http_status, exc_info=(type(error), error, None))
            return
        self._body += chunk

    def body_received(self) -> None:
        """The whole body is here: it becomes ``request.body``, and a signed method's signature is checked."""
        self.request.body = bytes(self._body)
        self._body = bytearray()
        if self.actor is not None and self.request.method.lower() in self.signed_methods:
            self.api.signing.verify(
                self.actor, self.request.method, self.request.path,
                self.request.headers.get(TIMESTAMP_HEADER), self.request.headers.get(SIGNATURE_HEADER),
                self.request.body,
            )

    async def in_worker(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``work(*args, **kwargs)`` on a worker thread, in this request's context (log fields, audit origin).

        For operations that may wait on an LLM provider: the server's event loop keeps serving
        other requests meanwhile.
        """
        context = contextvars.copy_context()
        return await asyncio.get_running_loop().run_in_executor(TURN_WORKERS, lambda: context.run(work, *args, **kwargs))

    def authenticate(self) -> Actor:
        """The user named by the bearer token (UnauthorizedError when missing or invalid)."""
        scheme, _, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthorizedError("missing bearer token: send Authorization: Bearer <access token>")
        self.authenticated = self.api.auth.authenticate(token.strip())
        return self.authenticated.actor

    def json_body(self, allowed: set[str], required: set[str] = frozenset()) -> dict[str, Any]:  # type: ignore[assignment]
        """The request body as a JSON object with only ``allowed`` keys and all ``required`` ones."""
        data = parse_json(self.request.body or b"{}")
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

    def decode_argument(self, value: bytes, name: str | None = None) -> str:
        """Path segments and query parameters as text; invalid UTF-8 is a 422 (tornado's is a 400)."""
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            where = f"the query parameter {name!r}" if name else "the path"
            raise ValidationError(
                f"{where} is not valid UTF-8 (byte 0x{value[exc.start]:02x} after percent-decoding)"
            ) from None

    # --- responses ---------------------------------------------------------------------------

    @property
    def content_security_policy(self) -> str:
        """JSON only: nothing may load, and no page may frame a response."""
        return API_CSP

    def set_default_headers(self) -> None:
        super().set_default_headers()  # Jupyter's: X-Content-Type-Options: nosniff, its settings' headers, CSP
        self.set_header(REQUEST_ID_HEADER, self.request_id)
        self.set_header("X-Content-Type-Options", "nosniff")  # even if ServerApp's headers setting says otherwise
        self.set_header("Referrer-Policy", "no-referrer")
        # user data may be kept but must be revalidated; credentials and tokens are never stored
        self.set_header("Cache-Control", "no-store" if AUTH_PATH in self.request.path else "private, no-cache")
        api = self.settings.get("socrates")
        if api is not None and api.hsts_max_age and self.request.protocol == "https":
            self.set_header("Strict-Transport-Security", f"max-age={api.hsts_max_age}; includeSubDomains")

    def send(self, payload: Any, status: int = 200, etag: bool = True) -> None:
        """Write ``payload`` as JSON; GETs carry a strong ETag and answer ``If-None-Match`` with 304."""
        self.send_bytes(json_bytes(payload), JSON_TYPE, status, etag)

    def send_view(self, view: Any, wrap: str | None = None) -> None:
        """Write a service view (``{wrap: view}`` when ``wrap`` is given) as JSON with its ETag.

        Views are immutable and the services cache them, so a view's body and ETag are
        encoded once and reused while the view is served from the cache.
        """
        body, tag = encoded_view(view, wrap)
        self.send_bytes(body, JSON_TYPE, tag=tag)

    def send_bytes(
        self, body: bytes, content_type: str, status: int = 200, etag: bool = True, tag: str | None = None
    ) -> None:
        """Write a body; gzip it when it is over 1 KB and the client accepts gzip."""
        self.set_status(status)
        if etag and self.request.method == "GET":
            tag = tag or etag_of(body)
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
            code = CODES_BY_STATUS.get(status, "error")
            message = exc.log_message or HTTPStatus(status).phrase
            if exc.args[1:]:
                message = message % exc.args[1:]
        else:
            status, code, message = 500, "internal_error", "internal error (logged on the server)"
        self.clear_header("Content-Encoding")
        if status == PayloadTooLargeError.http_status:
            self.set_header("Connection", "close")  # the rest of the body is never read
        self.set_status(status)
        self.finish(json.dumps({"error": {"code": code, "message": message}}), set_content_type=JSON_TYPE)

    def on_finish(self) -> None:
        """One log line and the request metrics per request."""
        status = self.get_status()
        seconds = self.request.request_time()
        method = self.request.method or "?"
        metrics.HTTP_REQUESTS.labels(route=self.route, method=method, status=str(status)).inc()
        metrics.HTTP_SECONDS.labels(route=self.route).observe(seconds)
        level = "error" if status >= 500 else "info"
        getattr(_log, level)(
            "request", request_id=self.request_id, route=self.route, method=method, status=status,
            duration_ms=round(seconds * 1000, 2),
        )
        super().on_finish()

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, SocratesError):  # an expected outcome: no stack trace in the log
            if not self._finished:
                self.send_error(e.http_status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)


def handler_methods(handler: type[BaseHandler]) -> list[str]:
    """The HTTP methods ``handler`` itself implements (lowercase): not BaseHandler's (tornado's 405
    defaults, and the CORS preflight every route answers the same way)."""
    return [m for m in METHODS if inspect.unwrap(getattr(handler, m)) is not inspect.unwrap(getattr(BaseHandler, m))]


def path_of(pattern: str, handler: type[BaseHandler], method: str) -> tuple[str, list[str]]:
    """The templated path of a ROUTES pattern (``projects/([^/]+)`` -> ``/projects/{project_id}``) and its ids."""
    names = list(inspect.signature(getattr(handler, method)).parameters)[1:]  # after self
    if len(names) != pattern.count("("):
        raise ValueError(f"{handler.__name__}.{method} takes {names} for the groups of {pattern!r}")
    parts = iter(names)
    return "/" + _PATH_ARG.sub(lambda _: "{" + next(parts) + "}", pattern), names


def parse_json(raw: bytes) -> Any:
    """A request body as JSON: UTF-8, nested at most ``MAX_JSON_DEPTH`` deep, no lone surrogate (ValidationError)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"the JSON body is not valid UTF-8: byte 0x{raw[exc.start]:02x} at position {exc.start}"
        ) from None
    too_deep = ValidationError(f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(text)
    except RecursionError:
        raise too_deep from None
    except ValueError as exc:
        raise ValidationError(f"malformed JSON body: {exc}") from None
    # both checks cost nothing for the flat objects the routes take: they run only when the text says they may fail
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _nesting_over(data, MAX_JSON_DEPTH):
        raise too_deep
    if isinstance(data, dict) and _SURROGATE_ESCAPE.search(text):
        _refuse_lone_surrogates(data)
    return data


def _nesting_over(data: Any, limit: int) -> bool:
    """Whether ``data`` nests containers more than ``limit`` deep (one level at a time: no recursion)."""
    level = [data] if isinstance(data, (dict, list)) else []
    for _ in range(limit):
        if not level:
            return False
        level = [child for node in level for child in (node.values() if isinstance(node, dict) else node)
                 if isinstance(child, (dict, list))]
    return bool(level)


def _refuse_lone_surrogates(data: dict[str, Any]) -> None:
    """ValidationError naming the field when a key or value holds a surrogate without its pair (not a character)."""
    for key, value in data.items():
        where = "a key"
        found = _SURROGATE.search(key)
        if found is None:
            where = json.dumps(key[:40])
            found = _SURROGATE.search(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        if found is not None:
            raise ValidationError(
                f"invalid Unicode in the JSON body: {where} holds a lone surrogate (\\u{ord(found.group()):04x}): "
                "\\ud800-\\udfff escapes are only valid as high-low pairs"
            )


def json_bytes(payload: Any) -> bytes:
    """The one JSON encoding of response bodies (compact, UTF-8)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def encoded_view(view: Any, wrap: str | None = None) -> tuple[bytes, str]:
    """The JSON body of a view and its ETag, encoded once per view object.

    Views are frozen dataclasses, so the memo kept in the instance's ``__dict__`` is not a
    field: it changes neither equality nor hashing, and it lives as long as the view.
    """
    memo = f"_encoded_{wrap}"
    found = view.__dict__.get(memo)
    if found is None:
        payload = view.to_dict()
        body = json_bytes({wrap: payload} if wrap else payload)
        found = view.__dict__[memo] = (body, etag_of(body))
    return found


def etag_of(body: bytes) -> str:
    """A strong ETag for a response body."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def parse_etags(header: str) -> set[str]:
    """The entity tags listed in an ``If-None-Match`` / ``If-Match`` header (weak ones as strong)."""
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}
