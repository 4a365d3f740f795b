"""SocratesApp traits reach the services: token lifetimes and the body limit, set in the server's config."""

from __future__ import annotations

import json
from typing import Any

import pytest
from traitlets.config import Config


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config.SocratesApp.access_token_ttl = 123
    jp_server_config.SocratesApp.max_body_bytes = 2048
    return jp_server_config


async def test_traits_set_the_token_lifetime_and_the_body_limit(api: Any, user: Any) -> None:
    await user("traituser")
    r = await api("POST", "auth/login", {"username": "traituser", "password": "correct horse battery staple"})
    assert json.loads(r.body)["expires_in"] == 123
    token = json.loads(r.body)["access_token"]
    r = await api("POST", "projects", {"name": "Big", "description": "x" * 3000}, token=token)
    assert r.code == 413 and json.loads(r.body)["error"]["code"] == "payload_too_large"
    assert (await api("POST", "projects", {"name": "Small", "description": "x" * 1000}, token=token)).code == 201
