"""Bounded turns over REST (#14): an over-long answer is a 422 that stores nothing, and the
worst adversarial answer does not stall the server's IO loop (Jupyter's own API keeps answering)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from test_rest_api import data, envelope
from traitlets.config import Config

from adversarial import MAX_ANSWER, corpus
from socrates_nb.engine.base import MAX_ITEMS_PER_ANSWER

STATUS_LIMIT_S = 0.1
"""Jupyter's /api/status must answer within this while the worst answer is processed."""
WORST = "digits-spaced"
"""The corpus text whose turn takes longest (benchmarks/bench_adversarial.py)."""


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    """The server as deployed: turns extract in a worker process (SocratesApp.extraction_processes)."""
    jp_server_config["SocratesApp"]["extraction_processes"] = 1
    return jp_server_config


async def session_of(api: Any, token: str) -> str:
    r = await api("POST", "projects", {"name": "Shop", "template": "web-app"}, token)
    project = data(r)["project"]["id"]
    r = await api("POST", f"projects/{project}/sessions", {}, token)
    return data(r)["session"]["id"]


async def test_an_answer_over_the_statement_limit_is_a_422_that_stores_nothing(api: Any, user: Any) -> None:
    token = await user("alice")
    sid = await session_of(api, token)
    text = " ".join(f"Pages must load in {100 + i} ms." for i in range(700))
    r = await api("POST", f"sessions/{sid}/answers", {"text": text}, token)
    assert r.code == 422
    assert f"one answer may hold at most {MAX_ITEMS_PER_ANSWER}" in envelope(r, "validation_error")
    progress = await api("GET", f"sessions/{sid}", token=token)
    assert data(progress)["session"]["answer_count"] == 0


async def test_jupyter_keeps_answering_while_the_worst_answer_is_processed(api: Any, user: Any, jp_fetch: Any) -> None:
    token = await user("alice")
    sid = await session_of(api, token)
    text = corpus(MAX_ANSWER)[WORST]
    answering = asyncio.create_task(api("POST", f"sessions/{sid}/answers", {"text": text}, token))
    waits: list[float] = []
    while not answering.done():
        start = time.perf_counter()
        r = await jp_fetch("api", "status", method="GET")
        waits.append(time.perf_counter() - start)
        assert r.code == 200
        await asyncio.sleep(0.01)
    r = await answering
    assert r.code in (200, 422), r.body  # stored, or refused by the statement limit
    assert len(waits) >= 3, waits  # the turn lasted long enough to be observed
    print("status waits (s), longest:", sorted(waits)[-3:])
    assert max(waits) < STATUS_LIMIT_S, sorted(waits)[-5:]
