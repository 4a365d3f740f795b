"""LLM sessions over REST, through a real Jupyter server (jp_fetch), on both backends.

The vendors are the fakes of tests/llm_fakes.py (the real SDK clients talk to them); the server
is told their base URLs with ``SocratesApp.llm_base_urls``, and its LLM settings come from the
``SOCRATES_LLM_*`` variables set before it starts (the ``llm_env`` fixture).

* a session on openai or anthropic: the model words the questions and extracts the items, the
  turn says so (``engine_used``, ``fallbacks``) and matches the OpenAPI document;
* a base_url the server does not list is a 422 and stores no session;
* ``GET usage``: the caller's calls, tokens and cost only; ``since`` is checked;
* a failing vendor never fails the turn (offline fallback, 200), moves the error metric and,
  once the circuit opens, makes ``GET health`` report ``llm: degraded``;
* a slow vendor does not block the server's event loop.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from test_observability_api import Scrape, moved
from test_openapi import conforms
from test_rest_api import data, envelope
from traitlets.config import Config

from llm_fakes import (
    Action, FakeAnthropic, FakeLlmServer, FakeOpenAI, Received, last_user_text, reply, reply_json, slow, status,
)

Api = Callable[..., Awaitable[Any]]
User = Callable[..., Awaitable[str]]

ANSWER = "Merchants take card payments online."
ITEM_TEXT = "The system shall let merchants take card payments online."
CATEGORY = re.compile(r'about the category "([a-z_]+)"')
OPENAI_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5"
NO_RETRIES = {"SOCRATES_LLM_MAX_RETRIES": "0"}


def worded(category: str) -> str:
    """How the fake model words a question about ``category``."""
    return f"Model wording: what matters most about {category} here?"


def model(received: Received) -> Action:
    """A well-behaved model: words the due question, extracts one goal item from any answer."""
    prompt = last_user_text(received)
    if prompt.startswith("TASK: question"):
        found = CATEGORY.search(prompt)
        assert found, prompt[:300]
        category = found.group(1)
        return reply_json({"text": worded(category), "category": category, "why": "It decides the scope."})
    if prompt.startswith("TASK: extract"):
        return reply_json([{
            "category": "goals", "key": "goals.card_payments", "value": {"text": ANSWER},
            "text": ITEM_TEXT, "confidence": 0.9,
        }])
    return status(400, body={"error": {"message": f"unexpected prompt: {prompt[:80]}"}})


# --- the server and its fakes --------------------------------------------------------------------


@pytest.fixture
def openai_fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as srv:
        srv.default = model
        yield srv


@pytest.fixture
def anthropic_fake() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as srv:
        srv.default = model
        yield srv


@pytest.fixture
def llm_urls(openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic) -> list[str]:
    """SocratesApp.llm_base_urls (a test parametrizes it to change it)."""
    return [openai_fake.base_url, anthropic_fake.base_url]


@pytest.fixture
def llm_env() -> dict[str, str]:
    """SOCRATES_LLM_* variables the server starts with (a test parametrizes it to change them)."""
    return {}


@pytest.fixture
def jp_server_config(jp_server_config: Config, llm_urls: list[str], llm_env: dict[str, str],
                     monkeypatch: pytest.MonkeyPatch) -> Config:
    """The fakes' base URLs allowed; ``llm_env`` set before the server (and its services) start."""
    for name, value in llm_env.items():
        monkeypatch.setenv(name, value)
    jp_server_config.SocratesApp.llm_base_urls = llm_urls
    return jp_server_config


@pytest.fixture
def scrape(jp_fetch: Callable[..., Awaitable[Any]]) -> Callable[[], Awaitable[Scrape]]:
    """``await scrape()``: the server's own ``/metrics``."""

    async def fetch() -> Scrape:
        r = await jp_fetch("metrics")
        assert r.code == 200
        return Scrape(r.body.decode())

    return fetch


async def keyed_user(api: Api, user: User, name: str = "alice", provider: str = "openai") -> str:
    """A user with the fakes' key stored for ``provider``."""
    token = await user(name)
    r = await api("PUT", f"api-keys/{provider}", {"key": "test-key"}, token)
    assert r.code == 204, r.body
    return token


async def new_project(api: Api, token: str, name: str = "Shop") -> str:
    r = await api("POST", "projects", {"name": name}, token)
    assert r.code == 201, r.body
    return data(r)["project"]["id"]


async def start(api: Api, token: str, project_id: str, **body: str) -> dict[str, Any]:
    r = await api("POST", f"projects/{project_id}/sessions", body, token)
    assert r.code == 201, r.body
    return conforms(r, "/projects/{project_id}/sessions", "post")


async def answer(api: Api, token: str, session_id: str, text: str = ANSWER) -> dict[str, Any]:
    r = await api("POST", f"sessions/{session_id}/answers", {"text": text}, token)
    assert r.code == 200, r.body
    return conforms(r, "/sessions/{session_id}/answers", "post")


async def sessions_of(api: Api, token: str, project_id: str) -> list[dict[str, Any]]:
    r = await api("GET", f"projects/{project_id}", token=token, params={"include": "sessions"})
    assert r.code == 200, r.body
    return data(r)["project"]["sessions"]


# --- a session on each provider ------------------------------------------------------------------


@pytest.mark.parametrize(("provider", "model_name"), [("openai", OPENAI_MODEL), ("anthropic", ANTHROPIC_MODEL)])
async def test_a_session_on_an_llm_engine(
    api: Api, user: User, provider: str, model_name: str, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic,
) -> None:
    fake: FakeLlmServer = openai_fake if provider == "openai" else anthropic_fake
    other: FakeLlmServer = anthropic_fake if provider == "openai" else openai_fake
    token = await keyed_user(api, user, provider=provider)
    pid = await new_project(api, token)

    started = await start(api, token, pid, engine=provider, model=model_name, base_url=fake.base_url)
    session, first = started["session"], started["question"]
    assert (session["engine"], session["model"], session["base_url"]) == (provider, model_name, fake.base_url)
    assert first["text"] == worded(first["category"]) and first["kind"] == "bank"

    turn = await answer(api, token, session["id"])
    assert turn["engine_used"] == {"extract": provider, "question": provider}
    assert turn["fallbacks"] == {}
    assert [i["text"] for i in turn["items"]] == [ITEM_TEXT]  # the model's statement, not the answer's words
    nxt = turn["next_question"]
    assert nxt["kind"] == "bank" and nxt["text"] == worded(nxt["category"])

    r = await api("GET", f"sessions/{session['id']}/question", token=token)
    assert data(r)["question"]["text"] == nxt["text"]  # the model's wording is what the session stored
    [listed] = await sessions_of(api, token, pid)
    assert (listed["engine"], listed["model"], listed["base_url"]) == (provider, model_name, fake.base_url)

    prompts = [last_user_text(q).split("\n", 1)[0] for q in fake.requests]
    assert [p.split(" (")[0] for p in prompts] == ["TASK: question", "TASK: extract", "TASK: question"]
    assert all(q.body["model"] == model_name for q in fake.requests)
    assert fake.invalid == [] and fake.errors == [] and other.requests == []


async def test_a_model_reply_that_does_not_fit_falls_back_with_a_reason(
    api: Api, user: User, openai_fake: FakeOpenAI
) -> None:
    token = await keyed_user(api, user)
    sid = (await start(api, token, await new_project(api, token), engine="openai", model=OPENAI_MODEL,
                       base_url=openai_fake.base_url))["session"]["id"]
    openai_fake.script(reply("not json"), reply("still not json"))  # the extract step and its repair
    turn = await answer(api, token, sid)
    assert turn["engine_used"] == {"extract": "offline", "question": "openai"}
    assert set(turn["fallbacks"]) == {"extract"} and "invalid reply after a repair request" in turn["fallbacks"]["extract"]
    assert turn["items"] and [i["text"] for i in turn["items"]] != [ITEM_TEXT]  # the offline extraction's


# --- base_url checks -----------------------------------------------------------------------------


async def test_a_base_url_the_server_does_not_list_is_refused(api: Api, user: User, openai_fake: FakeOpenAI) -> None:
    token = await keyed_user(api, user)
    pid = await new_project(api, token)
    for url in ("http://127.0.0.1:9/v1", openai_fake.base_url + "/other", "http://169.254.169.254/latest"):
        r = await api("POST", f"projects/{pid}/sessions", {"engine": "openai", "base_url": url}, token)
        assert r.code == 422, (url, r.body)
        assert "SocratesApp.llm_base_urls" in envelope(r, "validation_error")
        conforms(r, "/projects/{project_id}/sessions", "post")
    assert await sessions_of(api, token, pid) == []
    assert openai_fake.requests == []


@pytest.mark.parametrize("llm_urls", [[]], ids=["no-llm-base-urls"])
async def test_without_listed_base_urls_every_base_url_is_refused(
    api: Api, user: User, openai_fake: FakeOpenAI, anthropic_fake: FakeAnthropic
) -> None:
    token = await keyed_user(api, user)
    pid = await new_project(api, token)
    for engine, url in (("openai", openai_fake.base_url), ("anthropic", anthropic_fake.base_url)):
        r = await api("POST", f"projects/{pid}/sessions", {"engine": engine, "base_url": url}, token)
        assert r.code == 422, r.body
        assert "llm_base_urls is empty" in envelope(r, "validation_error")
    assert await sessions_of(api, token, pid) == []
    assert openai_fake.requests == [] and anthropic_fake.requests == []


# --- usage ---------------------------------------------------------------------------------------


async def test_usage_shows_the_callers_calls_only(api: Api, user: User, openai_fake: FakeOpenAI) -> None:
    token = await keyed_user(api, user)
    pid = await new_project(api, token, "Usage shop")
    sid = (await start(api, token, pid, engine="openai", model=OPENAI_MODEL,
                       base_url=openai_fake.base_url))["session"]["id"]
    await answer(api, token, sid)

    r = await api("GET", "usage", token=token)
    usage = conforms(r, "/usage", "get")
    assert usage["since"] is None
    [row] = usage["rows"]  # the session's start (question) and one turn (extract, question)
    assert {k: row[k] for k in ("provider", "model", "project_id", "project_name")} == {
        "provider": "openai", "model": OPENAI_MODEL, "project_id": pid, "project_name": "Usage shop"}
    counts = {"calls": 3, "cached_calls": 0, "failed_calls": 0, "tokens_in": 33, "tokens_out": 21}
    assert {k: row[k] for k in counts} == counts
    assert row["cost_usd"] > 0
    assert usage["totals"] == {**counts, "cost_usd": row["cost_usd"]}

    bob = await user("bob")
    r = await api("GET", "usage", token=bob)
    assert conforms(r, "/usage", "get") == {"since": None, "totals": {**dict.fromkeys(counts, 0), "cost_usd": 0},
                                            "rows": []}

    r = await api("GET", "usage", token=token, params={"since": "garbage"})
    assert r.code == 422 and "since must be an ISO-8601 time" in envelope(r, "validation_error")
    conforms(r, "/usage", "get")
    r = await api("GET", "usage", token=token, params={"since": "2020-01-01T00:00"})
    assert r.code == 422 and "time zone" in envelope(r, "validation_error")

    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    r = await api("GET", "usage", token=token, params={"since": future})
    later = conforms(r, "/usage", "get")
    assert later["rows"] == [] and later["totals"]["calls"] == 0 and later["since"] is not None
    past = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    r = await api("GET", "usage", token=token, params={"since": past})
    assert data(r)["totals"] == usage["totals"]

    assert (await api("GET", "usage")).code == 401


# --- metrics -------------------------------------------------------------------------------------


async def test_a_turn_moves_the_llm_metrics(
    api: Api, user: User, openai_fake: FakeOpenAI, scrape: Callable[[], Awaitable[Scrape]]
) -> None:
    token = await keyed_user(api, user)
    sid = (await start(api, token, await new_project(api, token), engine="openai", model=OPENAI_MODEL,
                       base_url=openai_fake.base_url))["session"]["id"]
    before = await scrape()
    turn = await answer(api, token, sid)
    after = await scrape()
    assert turn["engine_used"] == {"extract": "openai", "question": "openai"}
    assert moved(before, after, "socrates_nb_llm_calls_total", provider="openai") == 2
    assert moved(before, after, "socrates_nb_llm_tokens_total", provider="openai", direction="in") == 22
    assert moved(before, after, "socrates_nb_llm_tokens_total", provider="openai", direction="out") == 14
    assert moved(before, after, "socrates_nb_llm_request_duration_seconds_count", provider="openai") == 2
    assert after.total("socrates_nb_llm_errors_total") == before.total("socrates_nb_llm_errors_total")


# --- failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("llm_env", [NO_RETRIES], ids=["no-retries"])
async def test_a_failing_vendor_falls_back_and_never_fails_the_turn(
    api: Api, user: User, openai_fake: FakeOpenAI, scrape: Callable[[], Awaitable[Scrape]]
) -> None:
    openai_fake.default = status(500)
    token = await keyed_user(api, user)
    pid = await new_project(api, token)
    before = await scrape()
    started = await start(api, token, pid, engine="openai", model=OPENAI_MODEL, base_url=openai_fake.base_url)
    assert started["session"]["engine"] == "openai"
    assert not started["question"]["text"].startswith("Model wording")  # the bank's wording

    turn = await answer(api, token, started["session"]["id"])
    assert turn["engine_used"] == {"extract": "offline", "question": "offline"}
    assert "call failed (server" in turn["fallbacks"]["extract"]
    assert turn["items"]  # the offline extraction's
    after = await scrape()

    # the start's question, the turn's extract and question: one request each (no retries)
    assert len(openai_fake.requests) == 3 and openai_fake.invalid == []
    assert moved(before, after, "socrates_nb_llm_errors_total", provider="openai", kind="server") == 3
    assert moved(before, after, "socrates_nb_llm_calls_total", provider="openai") == 3
    row = data(await api("GET", "usage", token=token))["rows"][0]
    assert (row["calls"], row["failed_calls"], row["tokens_in"]) == (3, 3, 0)


@pytest.mark.parametrize("llm_env", [NO_RETRIES | {"SOCRATES_LLM_BREAKER_FAILURES": "1"}], ids=["breaker-1"])
async def test_an_open_circuit_makes_health_degraded(api: Api, user: User, openai_fake: FakeOpenAI) -> None:
    openai_fake.default = status(500)
    r = await api("GET", "health")
    assert r.code == 200 and data(r)["checks"]["llm"]["status"] == "ok"

    token = await keyed_user(api, user)
    sid = (await start(api, token, await new_project(api, token), engine="openai", model=OPENAI_MODEL,
                       base_url=openai_fake.base_url))["session"]["id"]
    assert len(openai_fake.requests) == 1  # the first question's wording failed: the circuit opens

    r = await api("GET", "health")
    assert r.code == 200, r.body
    assert conforms(r, "/health", "get")["checks"]["llm"]["status"] == "degraded"

    turn = await answer(api, token, sid)  # the open circuit skips the vendor
    assert "circuit open" in turn["fallbacks"]["extract"] and turn["engine_used"]["extract"] == "offline"
    assert len(openai_fake.requests) == 1


# --- the event loop ------------------------------------------------------------------------------


async def test_a_slow_vendor_does_not_block_other_requests(api: Api, user: User, openai_fake: FakeOpenAI) -> None:
    token = await keyed_user(api, user)
    sid = (await start(api, token, await new_project(api, token), engine="openai", model=OPENAI_MODEL,
                       base_url=openai_fake.base_url))["session"]["id"]
    seen = len(openai_fake.requests)
    openai_fake.script(slow(4, model))  # the extract step waits 4 s (the read timeout is 60 s): room for a loaded CI
    done: list[str] = []

    async def track(name: str, call: Awaitable[Any]) -> Any:
        result = await call
        done.append(name)
        return result

    answering = asyncio.create_task(track("answer", api("POST", f"sessions/{sid}/answers", {"text": ANSWER}, token)))
    for _ in range(200):  # until the model holds the extract request
        if len(openai_fake.requests) > seen:
            break
        await asyncio.sleep(0.02)
    assert len(openai_fake.requests) > seen, "the answer never reached the model"
    health, projects = await asyncio.gather(track("health", api("GET", "health")),
                                            track("projects", api("GET", "projects", token=token)))
    r = await answering
    assert done[-1] == "answer" and sorted(done[:2]) == ["health", "projects"]
    assert health.code == 200 and projects.code == 200
    assert r.code == 200 and data(r)["engine_used"]["extract"] == "openai"


async def test_an_unknown_session_is_404_not_a_model_call(api: Api, user: User, openai_fake: FakeOpenAI) -> None:
    token = await keyed_user(api, user)
    r = await api("POST", f"sessions/{uuid.uuid4()}/answers", {"text": ANSWER}, token)
    assert r.code == 404 and envelope(r, "not_found")
    assert openai_fake.requests == []
