"""Fake LLM vendor servers, for tests that drive the real vendor SDKs over HTTP.

``FakeAnthropic`` and ``FakeOpenAI`` listen on 127.0.0.1 (a free port), check each request
the way the vendor does (key, required headers, body shape) and answer in the vendor's own
wire format, so the official ``anthropic.Anthropic`` / ``openai.OpenAI`` clients run
unpatched against them::

    with FakeAnthropic() as srv:
        srv.script(reply_json({"ok": True}), status(429, retry_after=1), reply("done"))
        client = anthropic.Anthropic(api_key="test-key", base_url=srv.base_url, max_retries=0)
        ...
        assert srv.invalid == []

Every valid request is answered by the next scripted action (FIFO), or by ``srv.default``
when the script is empty. An action is ``reply``/``reply_json``/``status``/``slow``, or a
callable ``(Received) -> action`` that decides from the request. Invalid requests are
answered with the vendor's error (400/401/404), consume no action, and are listed both in
``srv.requests`` and, by their error message, in ``srv.invalid``.

Streaming is not supported: a request with ``"stream": true`` is refused as invalid.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Union
from urllib.parse import urlsplit

__all__ = [
    "Action",
    "FakeAnthropic",
    "FakeLlmServer",
    "FakeOpenAI",
    "Received",
    "Reply",
    "Slow",
    "Status",
    "last_user_text",
    "refused_url",
    "reply",
    "reply_json",
    "slow",
    "status",
    "system_text",
]

HOST = "127.0.0.1"
DEFAULT_KEY = "test-key"


# --- what the server received ---------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One request as the fake saw it: path (query string dropped), headers with lower-case
    names, and the JSON body (``{}`` when the body was not a JSON object)."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]


# --- scripted actions -----------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    text: str
    tokens_in: int = 11
    tokens_out: int = 7


@dataclass(frozen=True)
class Status:
    code: int
    retry_after: float | None = None
    body: Any = None  # sent verbatim (JSON-encoded unless a str) instead of the vendor envelope


@dataclass(frozen=True)
class Slow:
    seconds: float
    then: Action


Action = Union[Reply, Status, Slow, Callable[[Received], "Action"]]


def reply(text: str, tokens_in: int = 11, tokens_out: int = 7) -> Reply:
    """A successful completion whose assistant text is ``text``."""
    return Reply(text, tokens_in, tokens_out)


def reply_json(obj: Any, tokens_in: int = 11, tokens_out: int = 7) -> Reply:
    """A successful completion whose assistant text is ``json.dumps(obj)``."""
    return Reply(json.dumps(obj), tokens_in, tokens_out)


def status(code: int, retry_after: float | None = None, body: Any = None) -> Status:
    """An HTTP error ``code`` in the vendor's error envelope (or ``body`` verbatim when given),
    with a ``Retry-After`` header of ``retry_after`` seconds when given."""
    return Status(code, retry_after, body)


def slow(seconds: float, then: Action) -> Slow:
    """Wait ``seconds`` before answering with ``then`` (to let a client read timeout fire)."""
    return Slow(seconds, then)


# --- helpers on received requests -------------------------------------------------------------


def _text_of(content: Any) -> str:
    """The text of a message content: a str, or the text blocks/parts of a list, newline-joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            b["text"]
            for b in content
            if isinstance(b, dict) and b.get("type") == "text" and isinstance(b.get("text"), str)
        )
    return ""


def last_user_text(received: Received) -> str:
    """The text of the last user message (either vendor's format); "" if there is none."""
    messages = received.body.get("messages")
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text_of(message.get("content"))
    return ""


def system_text(received: Received) -> str:
    """The system prompt: Anthropic's ``system`` field, or OpenAI's system-role message(s);
    "" if none."""
    if "system" in received.body:
        return _text_of(received.body["system"])
    messages = received.body.get("messages")
    if not isinstance(messages, list):
        return ""
    return "\n".join(
        _text_of(m.get("content"))
        for m in messages
        if isinstance(m, dict) and m.get("role") == "system"
    )


def refused_url(kind: str) -> str:
    """A base URL ("anthropic" or "openai" style) on a 127.0.0.1 port where nothing listens."""
    if kind not in ("anthropic", "openai"):
        raise ValueError(f"kind must be 'anthropic' or 'openai', not {kind!r}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]
    return f"http://{HOST}:{port}" + ("/v1" if kind == "openai" else "")


# --- validation helpers -----------------------------------------------------------------------


class _Invalid(Exception):
    """A request the vendor would refuse: HTTP ``code``, error ``message``, OpenAI ``param``."""

    def __init__(self, code: int, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_text_blocks(blocks: Any, where: str) -> None:
    if not isinstance(blocks, list):
        raise _Invalid(400, f"{where}: Input should be a valid list", where)
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise _Invalid(400, f"{where}.{i}: Input tag does not match the expected tag 'text'", where)
        if not isinstance(block.get("text"), str):
            raise _Invalid(400, f"{where}.{i}.text: Field required", where)


# --- the server -----------------------------------------------------------------------------


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeLlmServer

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet: clients hang up
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDKs expect
    timeout = 30  # idle keep-alive connections give up eventually
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def setup(self) -> None:
        super().setup()
        # headers and body leave in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK hold each reply back ~40 ms, which a real vendor does not
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.fake._track(self.connection, add=True)

    def handle(self) -> None:
        try:
            super().handle()
        except (ConnectionError, TimeoutError, OSError):
            pass

    def finish(self) -> None:
        try:
            super().finish()
        except (ConnectionError, OSError):
            pass
        finally:
            self.server.fake._track(self.connection, add=False)

    def _dispatch(self) -> None:
        self.server.fake._handle(self)

    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _dispatch


class FakeLlmServer:
    """Base of the fake vendor servers; subclasses set the route, validation and wire format."""

    kind: str = ""
    route: str = ""
    request_id_header: str = "x-request-id"
    base_path: str = ""

    def __init__(self, api_key: str = DEFAULT_KEY) -> None:
        self.api_key = api_key
        self.default: Action = reply("{}")
        self._lock = threading.Lock()
        self._queue: deque[Action] = deque()
        self._requests: list[Received] = []
        self._invalid: list[str] = []
        self._errors: list[str] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> FakeLlmServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _HTTPServer((HOST, 0), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-{self.kind}-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers inside slow()
        httpd.shutdown()
        httpd.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:  # end idle keep-alive connections, so their threads exit
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeLlmServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give the vendor SDK client."""
        return f"http://{HOST}:{self.port}{self.base_path}"

    # scripting and inspection (thread-safe)

    def script(self, *actions: Action) -> FakeLlmServer:
        """Queue ``actions``; each valid request takes the next one."""
        with self._lock:
            self._queue.extend(actions)
        return self

    @property
    def pending(self) -> int:
        """How many scripted actions are still queued."""
        with self._lock:
            return len(self._queue)

    @property
    def requests(self) -> list[Received]:
        """Every request received, valid or not, in order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def invalid(self) -> list[str]:
        """The error messages of the requests refused as invalid (a copy)."""
        with self._lock:
            return list(self._invalid)

    @property
    def errors(self) -> list[str]:
        """Failures of scripted callables (answered with a 500), a copy; should stay empty."""
        with self._lock:
            return list(self._errors)

    def clear(self) -> None:
        """Forget requests, invalid requests, errors and queued actions."""
        with self._lock:
            self._queue.clear()
            self._requests.clear()
            self._invalid.clear()
            self._errors.clear()

    # vendor specifics, overridden

    def _check_auth(self, received: Received) -> None:
        raise NotImplementedError

    def _check_body(self, received: Received) -> None:
        raise NotImplementedError

    def _error_body(self, code: int, message: str, param: str | None = None) -> dict[str, Any]:
        raise NotImplementedError

    def _reply_body(self, action: Reply, received: Received) -> dict[str, Any]:
        raise NotImplementedError

    def _request_id(self) -> str:
        return "req_" + uuid.uuid4().hex[:24]

    # request handling

    def _track(self, conn: socket.socket, *, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _handle(self, handler: _Handler) -> None:
        raw = _read_body(handler)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        path = urlsplit(handler.path).path
        body: Any = None
        parse_error = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError as e:
                parse_error = f"There was an error parsing the body: {e}"
        received = Received(path, headers, body if isinstance(body, dict) else {})

        try:
            if path != self.route or handler.command != "POST":
                raise _Invalid(404, self._not_found_message(handler.command, path))
            self._check_auth(received)
            if parse_error is not None:
                raise _Invalid(400, parse_error)
            if not isinstance(body, dict):
                raise _Invalid(400, "The request body must be a JSON object")
            if body.get("stream") is True:
                raise _Invalid(400, "stream: the fake server does not support streaming")
            self._check_body(received)
        except _Invalid as bad:
            with self._lock:
                self._requests.append(received)
                self._invalid.append(bad.message)
            self._send(handler, bad.code, self._error_body(bad.code, bad.message, bad.param))
            return

        with self._lock:
            self._requests.append(received)
            action: Action = self._queue.popleft() if self._queue else self.default
        self._answer(handler, action, received)

    def _not_found_message(self, method: str, path: str) -> str:
        return "Not Found"

    def _answer(self, handler: _Handler, action: Action, received: Received) -> None:
        for _ in range(100):  # callables may return callables; don't loop forever
            if isinstance(action, Reply):
                self._send(handler, 200, self._reply_body(action, received))
                return
            if isinstance(action, Status):
                extra = {}
                if action.retry_after is not None:
                    ra = action.retry_after
                    extra["retry-after"] = str(int(ra) if float(ra).is_integer() else ra)
                body = action.body if action.body is not None else self._error_body(action.code, "")
                self._send(handler, action.code, body, extra)
                return
            if isinstance(action, Slow):
                if self._stopping.wait(action.seconds):
                    handler.close_connection = True
                    return
                action = action.then
                continue
            if callable(action):
                try:
                    action = action(received)
                except Exception as e:  # a broken script: tell the test, answer like a vendor 500
                    with self._lock:
                        self._errors.append(f"{type(e).__name__}: {e}")
                    self._send(handler, 500, self._error_body(500, f"fake script failed: {e}"))
                    return
                continue
            break
        with self._lock:
            self._errors.append(f"not an action: {action!r}")
        self._send(handler, 500, self._error_body(500, f"fake script gave no action: {action!r}"))

    def _send(
        self, handler: _Handler, code: int, body: Any, extra: dict[str, str] | None = None
    ) -> None:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
        try:
            handler.send_response(code)
            handler.send_header("content-type", "application/json")
            handler.send_header("content-length", str(len(data)))
            handler.send_header(self.request_id_header, self._request_id())
            for name, value in (extra or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
            handler.wfile.flush()
        except (ConnectionError, OSError):  # the client has gone (e.g. its read timeout fired)
            handler.close_connection = True


def _read_body(handler: _Handler) -> bytes:
    if handler.headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("content-length") or 0)
    return handler.rfile.read(length) if length > 0 else b""


# --- Anthropic ------------------------------------------------------------------------------

_ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
_ANTHROPIC_DEFAULT_MESSAGES = {
    429: "Number of request tokens has exceeded your per-minute rate limit",
    500: "Internal server error",
    529: "Overloaded",
}


class FakeAnthropic(FakeLlmServer):
    """The Anthropic Messages API (``POST /v1/messages``); ``base_url`` has no ``/v1``."""

    kind = "anthropic"
    route = "/v1/messages"
    request_id_header = "request-id"
    base_path = ""

    def _check_auth(self, received: Received) -> None:
        # The classic header is `x-api-key`; anthropic>=2 sends the key as `Authorization: Bearer`.
        key = received.headers.get("x-api-key")
        if key is None:
            scheme, _, token = received.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise _Invalid(401, "x-api-key header is required")
            if token.strip() != self.api_key:
                raise _Invalid(401, "Invalid bearer token")
        elif key != self.api_key:
            raise _Invalid(401, "invalid x-api-key")
        if not received.headers.get("anthropic-version"):
            raise _Invalid(400, "anthropic-version: header is required")

    def _check_body(self, received: Received) -> None:
        body = received.body
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise _Invalid(400, "model: Field required" if model is None else "model: Input should be a valid string")
        max_tokens = body.get("max_tokens")
        if max_tokens is None:
            raise _Invalid(400, "max_tokens: Field required")
        if not _is_int(max_tokens) or max_tokens < 1:
            raise _Invalid(400, "max_tokens: Input should be a positive integer")
        messages = body.get("messages")
        if messages is None:
            raise _Invalid(400, "messages: Field required")
        if not isinstance(messages, list):
            raise _Invalid(400, "messages: Input should be a valid list")
        if not messages:
            raise _Invalid(400, "messages: at least one message is required")
        previous = None
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                raise _Invalid(400, f"messages.{i}: Input should be a valid dictionary")
            role = message.get("role")
            if role not in ("user", "assistant"):
                raise _Invalid(400, f"messages.{i}.role: Input should be 'user' or 'assistant'")
            content = message.get("content")
            if isinstance(content, str):
                if not content and not (role == "assistant" and i == len(messages) - 1):
                    raise _Invalid(400, f"messages.{i}: all messages must have non-empty content "
                                   "except for the optional final assistant message")
            elif isinstance(content, list):
                for j, block in enumerate(content):
                    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                        raise _Invalid(400, f"messages.{i}.content.{j}: Input should be a valid content block")
                    if block["type"] == "text" and not isinstance(block.get("text"), str):
                        raise _Invalid(400, f"messages.{i}.content.{j}.text: Field required")
            else:
                raise _Invalid(400, f"messages.{i}.content: Input should be a valid string or list")
            if i == 0 and role != "user":
                raise _Invalid(400, "messages: first message must use the \"user\" role")
            if role == previous:
                raise _Invalid(400, "messages: roles must alternate between \"user\" and \"assistant\"")
            previous = role
        if "system" in body:
            system = body["system"]
            if not isinstance(system, str):
                _check_text_blocks(system, "system")
        if "temperature" in body:
            temperature = body["temperature"]
            if not _is_number(temperature) or not 0 <= temperature <= 1:
                raise _Invalid(400, "temperature: range: 0..1")

    def _error_body(self, code: int, message: str, param: str | None = None) -> dict[str, Any]:
        error_type = _ANTHROPIC_ERROR_TYPES.get(code, "api_error" if code >= 500 else "invalid_request_error")
        message = message or _ANTHROPIC_DEFAULT_MESSAGES.get(code, f"HTTP {code}")
        return {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": self._request_id(),
        }

    def _reply_body(self, action: Reply, received: Received) -> dict[str, Any]:
        return {
            "id": "msg_" + uuid.uuid4().hex[:24],
            "type": "message",
            "role": "assistant",
            "model": received.body.get("model", ""),
            "content": [{"type": "text", "text": action.text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": action.tokens_in, "output_tokens": action.tokens_out},
        }


# --- OpenAI ---------------------------------------------------------------------------------

_OPENAI_ERRORS = {  # status -> (type, code, default message)
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Forbidden."),
    404: ("invalid_request_error", None, "Not found."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."),
    500: ("server_error", "server_error",
          "The server had an error while processing your request. Sorry about that!"),
    503: ("server_error", "server_overloaded", "The engine is currently overloaded, please try again later."),
}


class FakeOpenAI(FakeLlmServer):
    """The OpenAI Chat Completions API (``POST /v1/chat/completions``); ``base_url`` ends in ``/v1``."""

    kind = "openai"
    route = "/v1/chat/completions"
    request_id_header = "x-request-id"
    base_path = "/v1"

    def _not_found_message(self, method: str, path: str) -> str:
        return f"Invalid URL ({method} {path})"

    def _check_auth(self, received: Received) -> None:
        auth = received.headers.get("authorization", "")
        if not auth:
            raise _Invalid(401, "You didn't provide an API key. You need to provide your API key in an "
                           "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).")
        scheme, _, key = auth.partition(" ")
        if scheme.lower() != "bearer" or key.strip() != self.api_key:
            shown = key.strip()[:3] + "*" * 4 + key.strip()[-4:] if len(key.strip()) > 8 else "****"
            raise _Invalid(401, f"Incorrect API key provided: {shown}. You can find your API key at "
                           "https://platform.openai.com/account/api-keys.")

    def _check_body(self, received: Received) -> None:
        body = received.body
        model = body.get("model")
        if model is None:
            raise _Invalid(400, "you must provide a model parameter", "model")
        if not isinstance(model, str) or not model:
            raise _Invalid(400, f"{model!r} is not of type 'string' - 'model'", "model")
        messages = body.get("messages")
        if messages is None:
            raise _Invalid(400, "Missing required parameter: 'messages'.", "messages")
        if not isinstance(messages, list):
            raise _Invalid(400, f"{messages!r} is not of type 'array' - 'messages'", "messages")
        if not messages:
            raise _Invalid(400, "[] is too short - 'messages'", "messages")
        for i, message in enumerate(messages):
            where = f"messages.[{i}]"
            if not isinstance(message, dict):
                raise _Invalid(400, f"Invalid type for '{where}': expected an object.", where)
            role = message.get("role")
            if role not in ("system", "user", "assistant"):
                raise _Invalid(400, f"Invalid value: {role!r}. Supported values are: 'system', "
                               "'user' and 'assistant'.", f"{where}.role")
            content = message.get("content")
            if isinstance(content, list):  # the content-parts form
                for j, part in enumerate(content):
                    if not isinstance(part, dict) or part.get("type") != "text" or not isinstance(part.get("text"), str):
                        raise _Invalid(400, f"Invalid content part at '{where}.content.[{j}]'.",
                                       f"{where}.content.[{j}]")
            elif not isinstance(content, str):
                raise _Invalid(400, f"Invalid type for '{where}.content': expected a string.",
                               f"{where}.content")
        for field in ("max_tokens", "max_completion_tokens"):
            value = body.get(field)
            if value is not None and (not _is_int(value) or value < 1):
                raise _Invalid(400, f"Invalid '{field}': expected a positive integer.", field)
        temperature = body.get("temperature")
        if temperature is not None and (not _is_number(temperature) or not 0 <= temperature <= 2):
            raise _Invalid(400, f"Invalid 'temperature': expected a number between 0 and 2, "
                           f"but got {temperature!r} instead.", "temperature")

    def _error_body(self, code: int, message: str, param: str | None = None) -> dict[str, Any]:
        default = ("server_error", "server_error", "The server had an error processing your request.") \
            if code >= 500 else ("invalid_request_error", None, f"HTTP {code}")
        error_type, error_code, default_message = _OPENAI_ERRORS.get(code, default)
        return {
            "error": {
                "message": message or default_message,
                "type": error_type,
                "param": param,
                "code": error_code,
            }
        }

    def _request_id(self) -> str:
        return "req_" + uuid.uuid4().hex

    def _reply_body(self, action: Reply, received: Received) -> dict[str, Any]:
        return {
            "id": "chatcmpl-" + uuid.uuid4().hex[:29],
            "object": "chat.completion",
            "created": int(time.time()),
            "model": received.body.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": action.text, "refusal": None},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": action.tokens_in,
                "completion_tokens": action.tokens_out,
                "total_tokens": action.tokens_in + action.tokens_out,
            },
        }
