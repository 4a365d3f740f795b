"""What one request may cost: body size, JSON depth, invalid Unicode (issue #14).

Over-limit bodies are refused from their ``Content-Length`` before they are read, and a
chunked body as soon as it passes the limit; every route answers with the error envelope.
Lone surrogates, invalid UTF-8 and JSON nested deeper than ``MAX_JSON_DEPTH`` are 422s,
never 500s, on every route that takes a body, before any authentication. Raw requests go
over a plain socket (on a worker thread, so the test server's event loop keeps running),
because HTTP clients refuse to send most of them.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from socrates_nb.server.openapi import document
from socrates_nb.storage.models import Base

PASSWORD = "correct horse battery staple"
LIMIT = 1024 * 1024  # SocratesApp.max_body_bytes by default
MAX_JSON_DEPTH = 32  # docs/SECURITY.md, "Request limits"
ANNOUNCED = 300_000_000
PATH_IDS = {"provider": "openai"}  # path parameters that are not ids; every other one gets a random UUID
BODY_OPERATIONS = [(path, method, op) for path, ops in document()["paths"].items() for method, op in ops.items()
                   if "requestBody" in op]


# --- raw HTTP -----------------------------------------------------------------------------------


class Answer:
    """A raw HTTP answer: status, headers (lower-case names), body, and whether the server then closed
    (None when the caller did not wait to see)."""

    def __init__(self, received: bytes, closed: bool | None) -> None:
        head, _, body = received.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        self.headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        self.body = body
        self.closed = closed

    def error(self, code: str) -> str:
        """The envelope's message, checking its code."""
        error = json.loads(self.body)["error"]
        assert error["code"] == code, error
        return error["message"]


def exchange(port: int, request: bytes, timeout: float = 10, see_close: bool = True) -> Answer:
    """Send ``request``, read one answer, then see whether the server closes the connection.

    Fails the test when no complete answer comes within ``timeout`` seconds (a server still
    reading a body that will never come). Seeing that a connection stays open takes a second
    of waiting, so callers that do not check ``closed`` pass ``see_close=False``."""
    received, closed = b"", False
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered before taking everything: read what it said
        try:
            while not _complete(received):
                piece = sock.recv(65536)
                if not piece:
                    closed = True
                    break
                received += piece
            if not closed and see_close:
                sock.settimeout(1)
                closed = sock.recv(1) == b""
        except TimeoutError:
            if not _complete(received):
                pytest.fail(f"no answer within {timeout} s (the server is waiting for the body); got {received[:200]!r}")
        except ConnectionResetError:
            closed = True  # closed with our unread bytes in its buffer: what came before the reset is the answer
    assert _complete(received), f"the server closed the connection without a whole answer: {received[:200]!r}"
    return Answer(received, closed if closed or see_close else None)


def _complete(received: bytes) -> bool:
    head, found, body = received.partition(b"\r\n\r\n")
    if not found:
        return False
    length = next((line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), b"0")
    return len(body) >= int(length)


def request_head(base_url: str, method: str, path: str, port: int, *headers: str) -> bytes:
    lines = [f"{method.upper()} {base_url}socrates/api/v1/{path} HTTP/1.1", f"Host: 127.0.0.1:{port}",
             "Content-Type: application/json", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture
def port(jp_http_port: int, jp_fetch: Any) -> int:
    """The test server's port, listening (jp_fetch starts the HTTP server)."""
    return jp_http_port


def chunked(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)


def envelope(body: bytes, code: str) -> str:
    error = json.loads(body)["error"]
    assert error["code"] == code, error
    return error["message"]


def concrete(template: str) -> str:
    """A path template of the OpenAPI document with its parameters filled in."""
    return "/".join(PATH_IDS.get(part[1:-1], str(uuid.uuid4())) if part.startswith("{") else part
                    for part in template.strip("/").split("/"))


def row_counts(jp_serverapp: Any) -> dict[str, int]:
    """Rows per table: a refused request must store nothing (no user, hit, audit row, ...)."""
    db = jp_serverapp.web_app.settings["socrates"].db
    with db.read() as orm:
        return {t.name: orm.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


# --- body size -------------------------------------------------------------------------------------


async def test_every_route_refuses_an_announced_over_limit_body_before_reading_it(
    jp_serverapp: Any, port: int
) -> None:
    """Headers announcing 300 MB and 1 KB of it: the 413 comes back though 299.99 MB were never sent."""
    before = row_counts(jp_serverapp)
    swept = []
    for template, operations in document()["paths"].items():
        for method in operations:
            head = request_head(jp_serverapp.base_url, method, concrete(template), port,
                                f"Content-Length: {ANNOUNCED}", "Authorization: Bearer not-even-a-token")
            answer = await asyncio.to_thread(exchange, port, head + b"{" * 1024)
            assert answer.status == 413, (method, template, answer.status, answer.body)
            assert answer.error("payload_too_large") == (
                f"the request body of {ANNOUNCED} bytes is over the limit of {LIMIT} bytes (SocratesApp.max_body_bytes)"
            )
            assert answer.headers["connection"] == "close" and answer.closed
            swept.append((method, template))
    assert len(swept) >= 30
    assert row_counts(jp_serverapp) == before


async def test_expect_100_continue_gets_the_413_instead_of_the_go_ahead(jp_serverapp: Any, port: int) -> None:
    head = request_head(jp_serverapp.base_url, "POST", "auth/register", port,
                        f"Content-Length: {ANNOUNCED}", "Expect: 100-continue")
    answer = await asyncio.to_thread(exchange, port, head)  # no body sent at all
    assert answer.status == 413 and answer.closed  # not "100 Continue" first
    answer.error("payload_too_large")


async def test_a_body_at_the_limit_is_read_and_one_byte_more_is_refused(jp_serverapp: Any, port: int) -> None:
    login = json.dumps({"username": "nobody", "password": "not the password"}).encode()
    at_limit = login + b" " * (LIMIT - len(login))
    for framing, frame in (("Transfer-Encoding: chunked", chunked), ("Content-Length: {}", lambda body: body)):
        for body, expected in ((at_limit, 401), (at_limit + b" ", 413)):
            head = request_head(jp_serverapp.base_url, "POST", "auth/login", port, framing.format(len(body)))
            answer = await asyncio.to_thread(exchange, port, head + frame(body))
            assert answer.status == expected, (framing, answer.body)
            assert answer.closed == (expected == 413)  # a read body leaves the connection open for the next request


async def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(jp_serverapp: Any, port: int) -> None:
    """One chunk announcing 2 MiB, of which only the limit and one byte are sent.

    (Not 300 MB: tornado itself refuses chunks over its server's ``max_body_size``, 100 MB on the
    test server, with a bare 400; Jupyter's is 512 MB, and the real-server test below sends 300.)"""
    before = row_counts(jp_serverapp)
    head = request_head(jp_serverapp.base_url, "POST", "auth/register", port, "Transfer-Encoding: chunked")
    answer = await asyncio.to_thread(exchange, port, head + b"%x\r\n" % (2 * LIMIT) + b"{" * (LIMIT + 1))
    assert answer.status == 413 and answer.headers["connection"] == "close" and answer.closed
    assert answer.error("payload_too_large") == (
        f"the request body is over the limit of {LIMIT} bytes (SocratesApp.max_body_bytes)"
    )
    assert row_counts(jp_serverapp) == before


async def test_a_chunked_body_within_the_limit_works_like_any_other(
    api: Any, jp_serverapp: Any, port: int
) -> None:
    body = json.dumps({"username": "chunky", "password": PASSWORD}).encode()
    head = request_head(jp_serverapp.base_url, "POST", "auth/register", port, "Transfer-Encoding: chunked")
    answer = await asyncio.to_thread(exchange, port, head + chunked(body), see_close=False)
    assert answer.status == 201, answer.body
    assert (await api("POST", "auth/login", {"username": "chunky", "password": PASSWORD})).code == 200


def _server_pid(port: int) -> int:
    """The ``jupyter server`` child of this process listening on ``port``."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == os.getpid() and f"--port={port}".encode() in cmdline:
            return int(entry.name)
    raise AssertionError(f"no server process on port {port}")


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _peak_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])


@pytest.fixture
def no_extraction_worker() -> None:
    """Servers started by this test run no extraction worker process (SocratesApp.extraction_processes=0,
    through the test's own JUPYTER_CONFIG_DIR): a body refused before it is read never reaches the
    rules, and a stopping server waits for its worker's start-up (seconds; half a minute under load)."""
    config = Path(os.environ["JUPYTER_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "jupyter_server_config.json").write_text(json.dumps({"SocratesApp": {"extraction_processes": 0}}))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak memory from /proc")
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_300_mb_body_does_not_grow_a_real_server(
    serve: Callable[[str], str], tmp_path: Path, free_port: int, framing: str, no_extraction_worker: None
) -> None:
    """A client on loopback pushes 300 MB as fast as the server takes them; the server's peak memory stays put."""
    serve(f"sqlite:///{tmp_path / 'socrates.db'}")
    pid = _server_pid(free_port)
    assert not _children(pid), "the server runs no worker process"
    peak = _peak_kib(pid)
    headers = f"Content-Length: {ANNOUNCED}" if framing == "content-length" else "Transfer-Encoding: chunked"
    head = request_head("/", "POST", "auth/login", free_port, headers)
    piece = b" " * (1 << 20)
    taken = 0
    with socket.create_connection(("127.0.0.1", free_port), timeout=30) as sock:
        try:
            sock.sendall(head)
            while taken < ANNOUNCED:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if framing == "chunked" else piece)
                taken += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = sock.recv(200)
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert taken < 64 * len(piece), f"the server took {taken} bytes"  # the socket buffers, not the body
    growth_mib = (_peak_kib(pid) - peak) / 1024
    assert growth_mib < 32, f"the server's peak memory grew by {growth_mib:.0f} MiB"


# --- invalid Unicode and deep JSON ----------------------------------------------------------------


def _fields(operation: dict[str, Any]) -> list[str]:
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    return list(document()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]].get("properties", {}))


async def test_lone_surrogates_are_refused_on_every_route_that_takes_a_body(
    api: Any, user: Any, jp_serverapp: Any
) -> None:
    """A lone surrogate (the JSON escape ``\\ud800``) in any field's value, or in a key: 422, nothing stored."""
    token = await user("surrogate")
    pid = json.loads((await api("POST", "projects", {"name": "Kept"}, token)).body)["project"]["id"]
    before = row_counts(jp_serverapp)
    swept = 0
    for template, method, operation in BODY_OPERATIONS:
        path = concrete(template)
        bodies = [(f, b'{"%s": "ok\\ud800"}' % f.encode()) for f in _fields(operation)]
        bodies += [("a key", b'{"\\udfff": "x"}'), ("a key", b'{"a\\udbff": {"b": ["\\ud800"]}}')]
        for field, raw in bodies:
            for bearer in (token, None) if operation.get("security") == [] else (token,):  # public: no token needed
                r = await api(method.upper(), path, token=bearer, raw=raw)
                assert r.code == 422, (method, template, raw, r.code, r.body)
                message = envelope(r.body, "validation_error")
                where = f'"{field}"' if field != "a key" else "a key"
                assert message.startswith(f"invalid Unicode in the JSON body: {where}"), message
                assert "lone surrogate" in message, message
                swept += 1
    assert swept > 60
    assert row_counts(jp_serverapp) == before
    assert json.loads((await api("GET", f"projects/{pid}", token=token)).body)["project"]["name"] == "Kept"


async def test_surrogate_pairs_are_characters_and_are_kept(api: Any, user: Any) -> None:
    token = await user("emoji")
    r = await api("POST", "projects", token=token, raw=b'{"name": "Launch \\ud83d\\ude80 plan"}')
    assert r.code == 201, r.body
    assert json.loads(r.body)["project"]["name"] == "Launch \U0001f680 plan"


@pytest.mark.parametrize(("raw", "says"), [
    (b'{"username": "a\xed\xa0\x80b", "password": "x"}', "not valid UTF-8"),  # a surrogate encoded as bytes
    (b'{"username": "a\xffb", "password": "x"}', "not valid UTF-8"),
    (b'\xef\xbb\xbf{"username": "ada", "password": "x"}', "malformed JSON body"),  # a BOM
    ('{"username": "ada", "password": "x"}'.encode("utf-16"), "not valid UTF-8"),
])
async def test_bodies_that_are_not_utf8_are_refused(api: Any, jp_serverapp: Any, raw: bytes, says: str) -> None:
    before = row_counts(jp_serverapp)
    for path in ("auth/login", "auth/register"):
        r = await api("POST", path, raw=raw)
        assert r.code == 422, r.body
        assert says in envelope(r.body, "validation_error")
    assert row_counts(jp_serverapp) == before


def _nested(depth: int) -> bytes:
    """A JSON object whose ``name`` holds lists nested so that the whole body is ``depth`` levels deep."""
    return b'{"name": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


async def test_json_nested_deeper_than_the_limit_is_refused(api: Any, user: Any, jp_serverapp: Any) -> None:
    token = await user("deep")
    before = row_counts(jp_serverapp)
    limit_message = f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels"
    for depth in (MAX_JSON_DEPTH + 1, 10_000, 400_000):
        for method, path, bearer in (("POST", "auth/login", None), ("POST", "auth/register", None),
                                     ("POST", "projects", token), ("PATCH", f"projects/{uuid.uuid4()}", token)):
            r = await api(method, path, token=bearer, raw=_nested(depth))
            assert r.code == 422, (path, depth, r.code, r.body[:300])
            assert envelope(r.body, "validation_error") == limit_message
    r = await api("POST", "projects", token=token, raw=_nested(MAX_JSON_DEPTH))  # deep enough, but not too deep
    assert r.code == 422 and "nested" not in envelope(r.body, "validation_error")
    assert row_counts(jp_serverapp) == before


async def test_invalid_utf8_in_the_path_or_query_is_a_422(user: Any, jp_serverapp: Any, port: int) -> None:
    token = await user("query")
    for method, target in (
        ("GET", "projects?status=%FF"), ("GET", "projects?fields=%ED%A0%80"), ("GET", "audit?action=%C0%AF"),
        ("GET", "projects/%FF"), ("GET", "projects/%ED%A0%80/specification"), ("DELETE", "api-keys/%FF"),
        ("DELETE", "auth/sessions/%ED%BF%BF"),
    ):
        head = request_head(jp_serverapp.base_url, method, target, port, f"Authorization: Bearer {token}")
        answer = await asyncio.to_thread(exchange, port, head, see_close=False)
        assert answer.status == 422, (target, answer.status, answer.body)
        message = answer.error("validation_error")
        assert "is not valid UTF-8" in message, message
