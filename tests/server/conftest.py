"""Fixtures for the REST extension: a Jupyter server per test (pytest-jupyter) with socrates_nb enabled."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403 (jp_fetch, jp_serverapp and their runner hooks)
from traitlets.config import Config

Api = Callable[..., Awaitable[Any]]


@pytest.fixture
def jp_server_config(db_url: str) -> Config:
    """Our extension on a fresh database; Jupyter's own auth stays on (no anonymous access)."""
    return Config({
        "ServerApp": {"jpserver_extensions": {"socrates_nb": True, "jupyter_server_terminals": False},
                      "allow_unauthenticated_access": False},
        # turns extract in the server process here (a worker process per test server costs seconds);
        # tests/server/test_bounded_turns_api.py runs the extraction pool
        "SocratesApp": {"database_url": db_url, "extraction_processes": 0},
    })


@pytest.fixture
def api(jp_fetch: Callable[..., Awaitable[Any]]) -> Api:
    """``await api(METHOD, "projects/ID", body=..., token=...)``: a bearer client with no Jupyter token or cookie."""

    async def call(method: str, path: str, body: Any = None, token: str | None = None, *,
                   raw: bytes | None = None, headers: dict[str, str] | None = None,
                   params: dict[str, str] | None = None) -> Any:
        sent = {"Authorization": f"Bearer {token}" if token else ""} | (headers or {})
        kwargs: dict[str, Any] = {"method": method, "headers": sent, "raise_error": False, "follow_redirects": False}
        if method in {"POST", "PUT", "PATCH"}:
            kwargs["body"] = raw if raw is not None else json.dumps(body if body is not None else {})
        elif method == "DELETE" and raw is not None:
            kwargs["body"] = raw
            kwargs["allow_nonstandard_methods"] = True
        return await jp_fetch("socrates", "api", "v1", *path.split("/"), params=params, **kwargs)

    return call


@pytest.fixture
def user(api: Api) -> Callable[..., Awaitable[str]]:
    """``token = await user("alice")``: registers a user and returns an access token."""

    async def make(username: str, password: str = "correct horse battery staple") -> str:
        r = await api("POST", "auth/register", {"username": username, "password": password})
        assert r.code == 201, r.body
        r = await api("POST", "auth/login", {"username": username, "password": password})
        assert r.code == 200, r.body
        return json.loads(r.body)["access_token"]

    return make


@contextmanager
def _jupyter_server(root: Path, db_url: str, port: int) -> Iterator[str]:
    """A ``jupyter server`` process on 127.0.0.1:``port`` with socrates_nb on ``db_url``; yields the API's URL."""
    cmd = [sys.executable, "-m", "jupyter", "server", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
           f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={secrets.token_hex(16)}",
           "--ServerApp.allow_unauthenticated_access=False"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log_path = root / "server.log"
    base = f"http://127.0.0.1:{port}/socrates/api/v1"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, env={**os.environ, "SOCRATES_DATABASE_URL": db_url}, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, log_path.read_text(errors="replace")[-3000:]
                try:
                    with urllib.request.urlopen(f"{base}/health", timeout=10) as response:  # noqa: S310 (local)
                        if response.status == 200:
                            break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.3)
            yield base
        finally:
            proc.terminate()  # SIGTERM: jupyter_server asks for confirmation on SIGINT
            proc.wait(timeout=30)


@pytest.fixture
def serve(tmp_path: Path, free_port: int) -> Iterator[Callable[[str], str]]:
    """``base = serve(db_url)``: starts a real ``jupyter server`` (stopped after the test); returns the API's URL."""
    with ExitStack() as stack:
        yield lambda db_url: stack.enter_context(_jupyter_server(tmp_path, db_url, free_port))
