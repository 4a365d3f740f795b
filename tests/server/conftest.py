"""Fixtures for the REST extension: a Jupyter server per test (pytest-jupyter) with socrates_nb enabled."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
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
        "SocratesApp": {"database_url": db_url},
    })


@pytest.fixture
def api(jp_fetch: Callable[..., Awaitable[Any]]) -> Api:
    """``await api(METHOD, "projects/ID", body=..., token=...)``: a bearer client with no Jupyter token or cookie."""

    async def call(method: str, path: str, body: Any = None, token: str | None = None, *,
                   raw: bytes | None = None, headers: dict[str, str] | None = None,
                   params: dict[str, str] | None = None) -> Any:
        sent = {"Authorization": f"Bearer {token}" if token else ""} | (headers or {})
        kwargs: dict[str, Any] = {"method": method, "headers": sent, "raise_error": False}
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
