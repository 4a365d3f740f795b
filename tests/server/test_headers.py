"""Browser-facing headers on every API response (ASVS 3.4), errors included."""

from __future__ import annotations

from typing import Any

import pytest

from socrates_nb.server.base import API_CSP


def assert_api_headers(response: Any) -> None:
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Content-Security-Policy"] == API_CSP
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP and no hsts_max_age


@pytest.mark.parametrize(("method", "path", "status"), [
    ("GET", "projects", 200), ("GET", "projects/not-a-project", 404), ("GET", "health", 200),
    ("GET", "openapi.json", 200), ("PUT", "projects", 405),
])
async def test_resource_responses_may_be_kept_but_revalidated(
    api: Any, user: Any, method: str, path: str, status: int
) -> None:
    token = await user("headers")
    r = await api(method, path, {} if method == "PUT" else None, token=token)
    assert r.code == status
    assert_api_headers(r)
    assert r.headers["Cache-Control"] == "private, no-cache"


async def test_auth_responses_are_never_stored(api: Any, user: Any) -> None:
    token = await user("headers")
    for r in (
        await api("POST", "auth/login", {"username": "headers", "password": "correct horse battery staple"}),
        await api("POST", "auth/login", {"username": "headers", "password": "wrong password here"}),
        await api("GET", "auth/me", token=token),
        await api("GET", "auth/me"),  # 401
    ):
        assert_api_headers(r)
        assert r.headers["Cache-Control"] == "no-store", r.code
