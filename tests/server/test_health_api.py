"""GET health through a real Jupyter server (jp_fetch), on both backends.

* public: the exact shape, statuses only, nothing internal (no path, host, dialect or error);
* ``?detail=1``: each check's detail and duration for an admin's token; 401 without a valid
  token, 403 for another user, 422 for another value;
* a down database answers 503 (and still tells the public nothing), with the gauges set;
* a hung check makes the report degraded (200) after the timeout, and the server answers other
  requests meanwhile (the checks do not block its event loop).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.engine import make_url
from test_openapi import conforms
from test_rest_api import data, envelope

from socrates_nb.__about__ import __version__
from socrates_nb.config import data_dir, normalize_database_url
from socrates_nb.services.health import CHECK_NAMES, DEGRADED, DOWN, OK, CheckResult, HealthService
from socrates_nb.storage.db import Database
from socrates_nb.storage.migrate import head_revision

Api = Callable[..., Awaitable[Any]]
REPORT_KEYS = {"status", "checks", "version", "uptime_s"}


@pytest.fixture
def context(jp_serverapp: Any) -> Any:
    """The server's ApiContext (services and database)."""
    return jp_serverapp.web_app.settings["socrates"]


@pytest.fixture
def install(jp_serverapp: Any) -> Iterator[Callable[[HealthService], None]]:
    """``install(service)``: the server's health route uses ``service`` (closed after the test)."""
    settings = jp_serverapp.web_app.settings
    installed: list[HealthService] = []

    def put(service: HealthService) -> None:
        installed.append(service)
        settings["socrates"] = replace(settings["socrates"], health=service)

    yield put
    for service in installed:
        service.close()


@pytest.fixture
def admin(user: Callable[..., Awaitable[str]], context: Any) -> Callable[[], Awaitable[str]]:
    """``token = await admin()``: an admin's access token."""

    async def make() -> str:
        token = await user("root-ops")
        context.auth.set_role("root-ops", "admin")  # read per request: the token acts as an admin now
        return token

    return make


def gauge(check: str) -> float | None:
    return REGISTRY.get_sample_value("socrates_nb_health_status", {"check": check})


def internals(db_url: str) -> list[str]:
    """What the public report must never show: the database's URL, host, file, dialect; the data dir."""
    url = make_url(db_url)
    return [db_url, str(url.database), str(url.host), str(data_dir()), "sqlite", "postgres", "psycopg", "alembic",
            "Error", "/"]


def where(db_url: str) -> str:
    url = make_url(db_url)
    return f"sqlite {url.database}" if url.drivername.startswith("sqlite") else f"postgresql {url.host}:{url.port}/{url.database}"


async def health(api: Api, token: str | None = None, **params: str) -> Any:
    return await api("GET", "health", token=token, params=params or None)


# --- public --------------------------------------------------------------------------------------


async def test_the_public_report_has_statuses_only(api: Api, context: Any, db_url: str) -> None:
    local = HealthService(context.db)  # the same checks on the same machine and database
    expected = local.run()
    local.close()
    r = await health(api)
    body = conforms(r, "/health", "get")
    assert r.code == 200 and set(body) == REPORT_KEYS and "ETag" not in r.headers
    assert body["status"] == expected.status and body["version"] == __version__
    assert body["checks"] == {name: {"status": expected.checks[name].status} for name in CHECK_NAMES}
    assert list(body["checks"]) == list(CHECK_NAMES)
    assert isinstance(body["uptime_s"], (int, float)) and body["uptime_s"] >= 0
    assert (body["checks"]["database"], body["checks"]["migrations"]) == ({"status": OK}, {"status": OK})
    text = r.body.decode()
    assert [leak for leak in internals(db_url) if leak in text] == []
    assert gauge("database") == 0.0


async def test_uptime_counts_from_the_server_start(api: Api) -> None:
    first = data(await health(api))["uptime_s"]
    await asyncio.sleep(0.2)
    second = data(await health(api))["uptime_s"]
    assert second >= first + 0.2


# --- ?detail=1 -----------------------------------------------------------------------------------


async def test_detail_for_an_admin(api: Api, admin: Callable[[], Awaitable[str]], db_url: str) -> None:
    r = await health(api, await admin(), detail="1")
    body = conforms(r, "/health", "get")
    assert r.code == 200 and set(body) == REPORT_KEYS and list(body["checks"]) == list(CHECK_NAMES)
    assert all(set(check) == {"status", "detail", "duration_ms"} for check in body["checks"].values())
    assert body["checks"]["database"]["detail"] == where(db_url)
    assert body["checks"]["migrations"]["detail"] == f"at revision {head_revision()} (head)"
    assert body["checks"]["disk"]["detail"].startswith("data dir ")


async def test_detail_is_refused_without_an_admin_token(api: Api, user: Callable[..., Awaitable[str]],
                                                       admin: Callable[[], Awaitable[str]]) -> None:
    for token in (None, "not-a-token"):
        r = await health(api, token, detail="1")
        assert r.code == 401 and envelope(r, "unauthorized")
    r = await health(api, await user("plain-user"), detail="1")
    assert r.code == 403 and envelope(r, "forbidden") == "?detail=1 needs an admin's bearer token"
    token = await admin()
    for value in ("0", "true", "", "11"):
        r = await health(api, token, detail=value)
        assert r.code == 422 and envelope(r, "validation_error") == f"detail must be 1, not {value!r}"


# --- down and degraded ---------------------------------------------------------------------------


async def test_a_down_database_answers_503_and_tells_the_public_nothing(
    api: Api, install: Callable[[HealthService], None], admin: Callable[[], Awaitable[str]], tmp_path: Path
) -> None:
    closed_port = "postgresql://ops:hunter2@127.0.0.1:1/nowhere"  # nothing listens on port 1
    broken = Database(normalize_database_url(closed_port))
    install(HealthService(broken))
    try:
        r = await health(api)
        body = conforms(r, "/health", "get")
        assert r.code == 503 and body["status"] == DOWN
        assert (body["checks"]["database"], body["checks"]["migrations"]) == ({"status": DOWN}, {"status": DOWN})
        text = r.body.decode()
        assert [leak for leak in [*internals(closed_port), "hunter2", "refused", "1/nowhere"] if leak in text] == []
        assert (gauge("database"), gauge("migrations")) == (2.0, 2.0)
        detailed = data(await health(api, await admin(), detail="1"))  # the server's own database verifies the admin
        assert detailed["status"] == DOWN and detailed["checks"]["database"]["detail"].startswith("OperationalError: ")
        assert "hunter2" not in json.dumps(detailed)
    finally:
        broken.dispose()


async def test_a_hung_check_is_degraded_and_the_server_stays_responsive(
    api: Api, install: Callable[[HealthService], None], context: Any
) -> None:
    gate = threading.Event()

    def hung() -> CheckResult:
        gate.wait(30)
        return CheckResult(OK, "released")

    service = HealthService(context.db, timeout_s=2.0)
    install(HealthService(context.db, timeout_s=2.0, checks=[*service.default_checks(), ("hung", hung)]))
    service.close()
    try:
        pending = asyncio.ensure_future(health(api))
        await asyncio.sleep(0.2)  # the health request is waiting for its checks
        other = await api("GET", "openapi.json")
        assert other.code == 200 and not pending.done()  # answered while the checks ran
        r = await pending
        body = data(r)
        assert r.code == 200 and body["status"] == DEGRADED and body["checks"]["hung"] == {"status": DEGRADED}
        assert body["checks"]["database"] == {"status": OK}
    finally:
        gate.set()
