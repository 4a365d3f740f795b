"""Observability through a live Jupyter server: our ``socrates_nb_`` metrics on the server's own
``/metrics`` (each moves when its action happens; labels hold route templates, never ids),
``X-Request-ID`` on every response, and the JSON log file (one line per request, the service
events of a request under its id, no secrets, no forged lines).

The metrics live in the process-wide default registry, so tests compare scrapes taken before
and after an action, never absolute values (except the active-sessions gauge, which reads this
test's fresh database).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.base.handlers import PrometheusMetricsHandler
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text as sql
from sqlalchemy.exc import ProgrammingError
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine
from traitlets.config import Config

from socrates_nb import metrics
from socrates_nb.errors import DatabaseError
from socrates_nb.logs import LogSettings, configure_logging
from socrates_nb.metrics import CachedReading
from socrates_nb.server.app import ApiContext
from socrates_nb.server.base import BaseHandler
from socrates_nb.server.routes import ROUTES
from socrates_nb.services.sessions import count_active_sessions

PASSWORD = "correct horse battery staple"
CONFLICTING = ("The API is available 99.9% of the time each month.", "Availability of 99% per month is enough.")
LOGIN_LIMIT = 3
TEMPLATES = {handler.route for _, handler in ROUTES}
UUID_TEXT = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.IGNORECASE)
GENERATED_ID = re.compile(r"[0-9a-f]{32}")
REQUEST_ID = "X-Request-ID"

Api = Callable[..., Awaitable[Any]]


@pytest.fixture
def log_path(tmp_path: Path) -> Iterator[Path]:
    """Where the server writes its JSON lines; logging is reset to no file once the server has stopped."""
    yield tmp_path / "logs" / "socrates_nb.log"
    configure_logging(LogSettings(file=None))


@pytest.fixture
def jp_server_config(jp_server_config: Config, log_path: Path) -> Config:
    """JSON logs to ``log_path`` (the SocratesApp.json_log_file trait); 3 failed logins per address before 429."""
    jp_server_config.SocratesApp.json_log_file = str(log_path)
    jp_server_config.SocratesApp.login_max_failures = LOGIN_LIMIT
    return jp_server_config


def data(response: Any) -> Any:
    return json.loads(response.body) if response.body else None


def context(jp_serverapp: Any) -> ApiContext:
    return jp_serverapp.web_app.settings["socrates"]


# --- scraping /metrics ---------------------------------------------------------------------------


class Scrape:
    """One parsed scrape of ``/metrics``: its families by name, and sample values by name and labels."""

    def __init__(self, body: str) -> None:
        self.families: dict[str, Metric] = {f.name: f for f in text_string_to_metric_families(body)}

    def ours(self) -> Iterator[Any]:
        """Every sample of a ``socrates_nb_`` family."""
        for family in self.families.values():
            if family.name.startswith(metrics.PREFIX):
                yield from family.samples

    def total(self, name: str) -> float:
        """The sum of the samples ``name`` over all their labels."""
        return sum(s.value for s in self.ours() if s.name == name)

    def value(self, name: str, **labels: str) -> float:
        """The sample ``name`` with exactly ``labels`` (0.0 when not recorded yet)."""
        found = [s.value for s in self.ours() if s.name == name and s.labels == labels]
        assert len(found) <= 1, (name, labels)
        return found[0] if found else 0.0


@pytest.fixture
def scrape(jp_fetch: Callable[..., Awaitable[Any]]) -> Callable[[], Awaitable[Scrape]]:
    """``await scrape()``: the server's own ``/metrics``, fetched with the Jupyter token (jp_fetch's default)."""

    async def fetch() -> Scrape:
        r = await jp_fetch("metrics")
        assert r.code == 200 and r.headers["Content-Type"].startswith("text/plain")
        return Scrape(r.body.decode())

    return fetch


def moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


async def new_project(api: Api, token: str, name: str = "Shop") -> str:
    r = await api("POST", "projects", {"name": name}, token)
    assert r.code == 201, r.body
    return data(r)["project"]["id"]


async def new_session(api: Api, token: str, project_id: str) -> str:
    r = await api("POST", f"projects/{project_id}/sessions", {}, token)
    assert r.code == 201, r.body
    return data(r)["session"]["id"]


async def answer(api: Api, token: str, session_id: str, text: str) -> Any:
    r = await api("POST", f"sessions/{session_id}/answers", {"text": text}, token)
    assert r.code == 200, r.body
    return r


# --- each metric moves with its action -----------------------------------------------------------


async def test_requests_are_counted_and_timed_by_route_template_method_and_status(
    api: Api, user: Callable[..., Awaitable[str]], scrape: Callable[[], Awaitable[Scrape]]
) -> None:
    token = await user("alice")
    before = await scrape()
    pid = await new_project(api, token)
    assert (await api("GET", f"projects/{pid}", token=token)).code == 200
    assert (await api("GET", f"projects/{uuid.uuid4()}", token=token)).code == 404
    assert (await api("GET", "projects", token=token)).code == 200
    after = await scrape()
    requests = "socrates_nb_http_requests_total"
    assert moved(before, after, requests, route="/projects", method="POST", status="201") == 1
    assert moved(before, after, requests, route="/projects", method="GET", status="200") == 1
    assert moved(before, after, requests, route="/projects/{project_id}", method="GET", status="200") == 1
    assert moved(before, after, requests, route="/projects/{project_id}", method="GET", status="404") == 1
    for route in ("/projects", "/projects/{project_id}"):
        assert moved(before, after, "socrates_nb_http_request_duration_seconds_count", route=route) == 2
        assert moved(before, after, "socrates_nb_http_request_duration_seconds_bucket", route=route, le="+Inf") == 2
        assert moved(before, after, "socrates_nb_http_request_duration_seconds_sum", route=route) > 0


async def test_answers_items_and_conflicts_by_type_are_counted(
    api: Api, user: Callable[..., Awaitable[str]], scrape: Callable[[], Awaitable[Scrape]]
) -> None:
    token = await user("alice")
    sid = await new_session(api, token, await new_project(api, token))
    before = await scrape()
    turns = [data(await answer(api, token, sid, text)) for text in CONFLICTING]
    after = await scrape()
    assert [len(t["items"]) for t in turns] == [1, 1]
    assert [[c["type"] for c in t["conflicts"]] for t in turns] == [[], ["numeric"]]
    assert moved(before, after, "socrates_nb_answers_processed_total") == 2
    assert moved(before, after, "socrates_nb_spec_items_extracted_total") == 2
    assert moved(before, after, "socrates_nb_conflicts_detected_total", type="numeric") == 1
    conflicts = "socrates_nb_conflicts_detected_total"
    assert after.total(conflicts) - before.total(conflicts) == 1  # no other type moved


@pytest.fixture
def uncached_active_sessions(jp_serverapp: Any) -> Iterator[None]:
    """The active-sessions gauge read on every scrape (the server caches it for 10 s), from this server's database.

    Afterwards the gauge reads through a 10-second cache again, as ``initialize_settings`` leaves it.
    """
    db = context(jp_serverapp).db
    metrics.ACTIVE_SESSIONS.set_function(CachedReading(lambda: count_active_sessions(db), ttl=0))
    yield
    metrics.ACTIVE_SESSIONS.set_function(CachedReading(lambda: count_active_sessions(db)))


async def test_the_active_sessions_gauge_reads_this_servers_database(
    api: Api, user: Callable[..., Awaitable[str]], scrape: Callable[[], Awaitable[Scrape]]
) -> None:
    # no scrape before: the server's first reading (cached for 10 s afterwards) sees both sessions, one completed
    token = await user("alice")
    pid = await new_project(api, token)
    first, _ = await new_session(api, token, pid), await new_session(api, token, pid)
    assert (await api("POST", f"sessions/{first}/complete", {}, token)).code == 200
    assert (await scrape()).value("socrates_nb_active_sessions") == 1


async def test_the_active_sessions_gauge_follows_sessions_starting_and_completing(
    api: Api, user: Callable[..., Awaitable[str]], scrape: Callable[[], Awaitable[Scrape]],
    uncached_active_sessions: None,
) -> None:
    token = await user("alice")
    pid = await new_project(api, token)
    gauge = "socrates_nb_active_sessions"
    assert (await scrape()).value(gauge) == 0
    sid = await new_session(api, token, pid)
    assert (await scrape()).value(gauge) == 1
    assert (await api("POST", f"sessions/{sid}/complete", {}, token)).code == 200
    assert (await scrape()).value(gauge) == 0


async def test_cache_hits_misses_and_their_ratio(
    api: Api, user: Callable[..., Awaitable[str]], scrape: Callable[[], Awaitable[Scrape]]
) -> None:
    token = await user("alice")
    pid = await new_project(api, token)
    before = await scrape()
    first, second = [await api("GET", f"projects/{pid}", token=token) for _ in range(2)]
    after = await scrape()
    assert first.code == second.code == 200 and first.body == second.body
    assert moved(before, after, "socrates_nb_cache_misses_total") == 1
    assert moved(before, after, "socrates_nb_cache_hits_total") == 1
    hits, misses = after.value("socrates_nb_cache_hits_total"), after.value("socrates_nb_cache_misses_total")
    assert after.value("socrates_nb_cache_hit_ratio") == pytest.approx(hits / (hits + misses))


async def test_auth_events_are_counted_by_outcome(
    api: Api, user: Callable[..., Awaitable[str]], scrape: Callable[[], Awaitable[Scrape]]
) -> None:
    await user("alice")
    credentials = {"username": "alice", "password": PASSWORD}
    before = await scrape()
    pair = data(await api("POST", "auth/login", credentials))
    assert (await api("POST", "auth/refresh", {"refresh_token": pair["refresh_token"]})).code == 200
    assert (await api("POST", "auth/refresh", {"refresh_token": pair["refresh_token"]})).code == 401  # reused
    wrong = credentials | {"password": PASSWORD + "!"}
    codes = [(await api("POST", "auth/login", wrong)).code for _ in range(LOGIN_LIMIT + 1)]
    assert codes == [401] * LOGIN_LIMIT + [429]
    after = await scrape()
    outcomes = sorted(set(metrics.AUTH_OUTCOMES.values()))
    deltas = {o: moved(before, after, "socrates_nb_auth_events_total", outcome=o) for o in outcomes}
    assert {o: d for o, d in deltas.items() if d} == {
        "login_ok": 1, "refresh": 1, "reuse_detected": 1, "login_failed": LOGIN_LIMIT, "rate_limited": 1,
    }


async def test_database_errors_are_counted_by_kind(jp_serverapp: Any, scrape: Callable[[], Awaitable[Scrape]]) -> None:
    db = context(jp_serverapp).db
    kind, raised = ("OperationalError", DatabaseError) if db.is_sqlite else ("UndefinedTable", ProgrammingError)
    before = await scrape()
    with pytest.raises(raised, match="no_such_table"):
        db.run_write(lambda orm: orm.execute(sql("SELECT * FROM no_such_table")))
    after = await scrape()
    assert moved(before, after, "socrates_nb_database_errors_total", kind=kind) == 1


async def test_health_and_llm_families_are_declared_without_samples(scrape: Callable[[], Awaitable[Scrape]]) -> None:
    families = (await scrape()).families
    declared = {
        "socrates_nb_health_status": "gauge", "socrates_nb_llm_calls": "counter", "socrates_nb_llm_errors": "counter",
        "socrates_nb_llm_request_duration_seconds": "histogram", "socrates_nb_llm_tokens": "counter",
    }
    assert {name: families[name].type for name in declared if name in families} == declared
    assert all(families[name].documentation for name in declared)  # a HELP line each


# --- labels: templates, never ids ----------------------------------------------------------------


async def test_labels_hold_route_templates_and_never_an_id(
    api: Api, user: Callable[..., Awaitable[str]], scrape: Callable[[], Awaitable[Scrape]]
) -> None:
    token = await user("alice")
    pid = await new_project(api, token)
    sid = await new_session(api, token, pid)
    unknown = str(uuid.uuid4())
    for method, path, status in [
        ("GET", f"projects/{pid}", 200), ("GET", f"projects/{pid}/conflicts", 200), ("GET", f"sessions/{sid}", 200),
        ("GET", f"projects/{unknown}", 404), ("POST", f"conflicts/{unknown}/resolve", 404),
        ("DELETE", f"auth/sessions/{unknown}", 404), ("GET", "projects/raw-project-ref", 404),
    ]:
        r = await api(method, path, {"resolution": "dismiss"} if method == "POST" else None, token)
        assert r.code == status, (path, r.body)
    samples = list((await scrape()).ours())
    routes = {s.labels["route"] for s in samples if s.name.startswith("socrates_nb_http_")}
    assert routes <= TEMPLATES
    assert {"/projects/{project_id}", "/projects/{project_id}/conflicts", "/sessions/{session_id}",
            "/conflicts/{conflict_id}/resolve", "/auth/sessions/{session_id}"} <= routes
    values = {v for s in samples for v in s.labels.values()}
    assert [v for v in values if UUID_TEXT.search(v) or "raw-project-ref" in v] == []


# --- never a second /metrics ---------------------------------------------------------------------


def handler_of(jp_serverapp: Any, path: str) -> type:
    request = HTTPServerRequest(start_line=RequestStartLine("GET", jp_serverapp.base_url + path, "HTTP/1.1"),
                                headers=HTTPHeaders({"Host": "localhost"}))
    return jp_serverapp.web_app.find_handler(request).handler_class


async def test_metrics_is_the_jupyter_servers_own_endpoint_behind_its_token(
    api: Api, user: Callable[..., Awaitable[str]], jp_fetch: Callable[..., Awaitable[Any]], jp_serverapp: Any
) -> None:
    assert [pattern for pattern, _ in ROUTES if re.fullmatch(pattern, "metrics")] == []
    assert handler_of(jp_serverapp, "metrics") is PrometheusMetricsHandler
    assert not issubclass(handler_of(jp_serverapp, "socrates/api/v1/metrics"), BaseHandler)
    assert issubclass(handler_of(jp_serverapp, "socrates/api/v1/health"), BaseHandler)  # the lookup finds ours
    token = await user("alice")
    assert (await jp_fetch("metrics")).code == 200  # with the Jupyter token
    for authorization in ("", f"Bearer {token}"):  # neither anonymous nor with one of our access tokens
        r = await jp_fetch("metrics", headers={"Authorization": authorization}, raise_error=False)
        assert r.code == 403 and b"socrates_nb_" not in r.body


# --- X-Request-ID ---------------------------------------------------------------------------------


async def test_a_well_formed_request_id_is_echoed(api: Api) -> None:
    for sent in ("abc-1", "req_2024.01:node-7", "A" * 128):
        r = await api("GET", "openapi.json", headers={REQUEST_ID: sent})
        assert (r.code, r.headers[REQUEST_ID]) == (200, sent)


async def test_a_missing_request_id_is_generated_afresh_for_each_request(api: Api) -> None:
    ids = [(await api("GET", "openapi.json")).headers[REQUEST_ID] for _ in range(3)]
    assert all(GENERATED_ID.fullmatch(i) for i in ids), ids
    assert len(set(ids)) == 3


async def test_a_malformed_request_id_is_replaced_by_a_generated_one(api: Api) -> None:
    for sent in ("has spaces", "A" * 129, "tab\there", "caf\u00e9", "semi;colon", "<script>", ""):
        received = (await api("GET", "openapi.json", headers={REQUEST_ID: sent})).headers[REQUEST_ID]
        assert GENERATED_ID.fullmatch(received), (sent, received)


async def test_a_carriage_return_in_the_request_id_never_reaches_a_handler(
    api: Api, jp_serverapp: Any, jp_http_port: int, log_path: Path
) -> None:
    # tornado's client refuses CR and LF in headers, and a LF ends the header line: only a bare CR can be sent
    reader, writer = await asyncio.open_connection("127.0.0.1", jp_http_port)
    try:
        writer.write(f"GET {jp_serverapp.base_url}socrates/api/v1/openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "X-Request-ID: abc\rX-Forged: 1\r\n\r\n".encode())
        await writer.drain()
        reply = await asyncio.wait_for(reader.read(), timeout=10)
    finally:
        writer.close()
    assert reply.startswith(b"HTTP/1.1 400 ") and b"abc" not in reply  # refused by tornado, before any handler
    assert (await api("GET", "openapi.json")).code == 200  # the server still answers, and logs that request only
    assert [line["route"] for line in log_lines(log_path) if line["event"] == "request"] == ["/openapi.json"]


async def test_error_responses_carry_the_request_id_too(api: Api, user: Callable[..., Awaitable[str]]) -> None:
    token = await user("alice")
    cases = [
        ("GET", f"projects/{uuid.uuid4()}", None, token, 404), ("GET", "projects", None, None, 401),
        ("POST", "projects", b"{", token, 422), ("DELETE", "projects", None, token, 405),
    ]
    for method, path, raw, bearer, status in cases:
        for sent in ("client-id-1", None):
            headers = {REQUEST_ID: sent} if sent else {}
            r = await api(method, path, token=bearer, raw=raw, headers=headers)
            assert r.code == status and "error" in data(r), (path, r.body)
            if sent:
                assert r.headers[REQUEST_ID] == sent
            else:
                assert GENERATED_ID.fullmatch(r.headers[REQUEST_ID])


# --- the JSON log file ---------------------------------------------------------------------------


def log_lines(path: Path) -> list[dict[str, Any]]:
    """Every line of the log file as JSON (each physical line must be one object)."""
    lines = [json.loads(line) for line in path.read_text("utf-8").splitlines()]
    assert all(isinstance(line, dict) for line in lines)
    return lines


async def test_one_line_per_request_and_its_service_events_carry_its_request_id(
    api: Api, scrape: Callable[[], Awaitable[Scrape]], log_path: Path
) -> None:
    sent: list[tuple[Any, str, str]] = []  # (response, method, route) of every request, in order

    async def call(method: str, path: str, route: str, body: Any = None, token: str | None = None,
                   headers: dict[str, str] | None = None) -> Any:
        r = await api(method, path, body, token, headers=headers)
        sent.append((r, method, route))
        return r

    credentials = {"username": "alice", "password": PASSWORD}
    user_id = data(await call("POST", "auth/register", "/auth/register", credentials))["user"]["id"]
    token = data(await call("POST", "auth/login", "/auth/login", credentials))["access_token"]
    pid = data(await call("POST", "projects", "/projects", {"name": "Shop"}, token))["project"]["id"]
    r = await call("POST", f"projects/{pid}/sessions", "/projects/{project_id}/sessions", {}, token)
    sid = data(r)["session"]["id"]
    for text in CONFLICTING:
        await call("POST", f"sessions/{sid}/answers", "/sessions/{session_id}/answers", {"text": text}, token)
    r = await call("GET", f"projects/{pid}/specification", "/projects/{project_id}/specification", token=token)
    assert r.code == 200
    unknown = str(uuid.uuid4())
    await call("GET", f"projects/{unknown}", "/projects/{project_id}", token=token, headers={REQUEST_ID: "bad id"})
    await call("GET", "auth/me", "/auth/me")  # 401: no user
    lines = log_lines(log_path)
    requests = [line for line in lines if line["event"] == "request"]
    ids = [r.headers[REQUEST_ID] for r, _, _ in sent]
    assert [line["request_id"] for line in requests] == ids and len(set(ids)) == len(ids)
    for line, (r, method, route) in zip(requests, sent):
        who = {"user_id": user_id} if route not in ("/auth/register", "/auth/login") and r.code != 401 else {}
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
        assert line == {"timestamp": line["timestamp"], "level": "info", "logger": "socrates_nb.server",
                        "event": "request", "request_id": r.headers[REQUEST_ID], "route": route, "method": method,
                        "status": r.code, "duration_ms": line["duration_ms"], **who}
    assert [r.code for r, _, _ in sent] == [201, 200, 201, 201, 200, 200, 200, 404, 401]
    # the service events of each request, under its id and route template
    by_event = {name: [(e["request_id"], e["route"]) for e in lines if e["event"] == name] for name in (
        "user.register", "auth.login", "project.create", "session.start", "session.answer", "answer processed",
        "conflict detected", "specification exported",
    )}
    of = [(r.headers[REQUEST_ID], route) for r, _, route in sent]
    assert by_event == {
        "user.register": [of[0]], "auth.login": [of[1]], "project.create": [of[2]], "session.start": [of[3]],
        "session.answer": [of[4], of[5]], "answer processed": [of[4], of[5]], "conflict detected": [of[5]],
        "specification exported": [of[6]],
    }
    assert all(line["route"] in TEMPLATES for line in lines)  # ids in paths never reach a route field
    written = log_path.read_text("utf-8")
    assert unknown not in written and "bad id" not in written


async def test_passwords_tokens_and_otp_secrets_never_reach_the_log_file(
    api: Api, log_path: Path
) -> None:
    first, second = "first correct horse battery", "second correct horse battery"
    assert (await api("POST", "auth/register", {"username": "alice", "password": first})).code == 201
    login = data(await api("POST", "auth/login", {"username": "alice", "password": first}))
    renewed = data(await api("POST", "auth/refresh", {"refresh_token": login["refresh_token"]}))
    change = {"current_password": first + "?", "new_password": second}
    assert (await api("POST", "auth/password", change, renewed["access_token"])).code == 401
    change["current_password"] = first
    assert (await api("POST", "auth/password", change, renewed["access_token"])).code == 204
    again = data(await api("POST", "auth/login", {"username": "alice", "password": second}))
    setup = data(await api("POST", "auth/mfa/setup", {"password": second}, again["access_token"]))
    # secrets typed where none belongs: the audit event of a failed login carries the username
    for username in (f"Bearer {again['access_token']}", again["access_token"]):
        assert (await api("POST", "auth/login", {"username": username, "password": second})).code == 401
    out = await api("POST", "auth/logout", {"refresh_token": again["refresh_token"]}, again["access_token"])
    assert out.code == 204
    lines = log_lines(log_path)
    assert [e["event"] for e in lines if e["event"] != "request"] == [
        "user.register", "auth.login", "auth.refresh", "auth.password_failed", "auth.password_change", "auth.login",
        "mfa.setup", "auth.login_failed", "auth.login_failed", "auth.logout",
    ]
    assert [e["username"] for e in lines if e["event"] == "auth.login_failed"] == ["[redacted]", "[redacted]"]
    written = log_path.read_text("utf-8")
    secrets = [first, second, setup["secret"], *setup["backup_codes"]]
    secrets += [pair[kind] for pair in (login, renewed, again) for kind in ("access_token", "refresh_token")]
    assert [s for s in secrets if s in written] == []
    signatures = [pair["access_token"].rsplit(".", 1)[1] for pair in (login, renewed, again)]
    assert [s for s in signatures if s in written] == []


async def test_line_breaks_in_user_text_cannot_forge_a_log_line(
    api: Api, user: Callable[..., Awaitable[str]], log_path: Path
) -> None:
    forged = json.dumps({"level": "critical", "event": "forged"})  # short: audit events keep 200 characters a value
    token = await user("alice")
    pid = await new_project(api, token)
    r = await api("PATCH", f"projects/{pid}", {"description": f"first\r\n{forged}\n{forged}\u2028{forged}\x85"}, token)
    assert r.code == 200, r.body
    r = await api("POST", "auth/login", {"username": f"mallory\r\n{forged}", "password": PASSWORD})
    assert r.code == 401
    physical = log_path.read_text("utf-8").split("\n")
    assert physical[-1] == ""  # the file ends with a newline
    lines = log_lines(log_path)
    assert len(lines) == len(physical) - 1  # no line break other than the one ending each line
    assert [e for e in lines if e["event"] == "forged" or e["level"] == "critical"] == []
    (update,) = [e for e in lines if e["event"] == "project.update"]
    (failed,) = [e for e in lines if e["event"] == "auth.login_failed"]
    assert update["description"].count(forged) == 3 and forged in failed["username"]  # the text did reach the log
