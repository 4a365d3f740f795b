"""CORS: only origins listed in ``SocratesApp.cors_origins`` are reflected; others are refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from traitlets import TraitError
from traitlets.config import Config

from socrates_nb.server.app import CORS_ORIGINS_ENV, SocratesApp, cors_origin, cors_origins_from_env

LISTED = "https://app.example.com"


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config.SocratesApp.cors_origins = [LISTED + "/"]  # normalised to the bare origin
    jp_server_config.ServerApp.allow_origin = "*"  # Jupyter's own setting must not widen ours
    return jp_server_config


async def test_a_listed_origin_is_reflected(api: Any, user: Any) -> None:
    token = await user("corsuser")
    r = await api("GET", "auth/me", token=token, headers={"Origin": LISTED})
    assert r.code == 200
    assert r.headers["Access-Control-Allow-Origin"] == LISTED
    assert "ETag" in r.headers["Access-Control-Expose-Headers"]
    assert "Origin" in r.headers.get_list("Vary")
    assert "Access-Control-Allow-Credentials" not in r.headers


@pytest.mark.parametrize("origin", ["https://evil.example.com", "https://app.example.com.evil.net", "null"])
async def test_another_origin_is_refused_and_never_reflected(api: Any, user: Any, origin: str) -> None:
    token = await user("corsuser")
    r = await api("GET", "auth/me", token=token, headers={"Origin": origin})
    assert r.code == 403 and json.loads(r.body)["error"]["code"] == "forbidden"
    assert "Access-Control-Allow-Origin" not in r.headers
    r = await api("POST", "projects", {"name": "Cross-site"}, token=token, headers={"Origin": origin})
    assert r.code == 403
    r = await api("GET", "projects", token=token)
    assert json.loads(r.body)["total"] == 0  # the refused write stored nothing


async def test_preflight_answers_the_listed_origin_only(api: Any) -> None:
    asked = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"}
    r = await api("OPTIONS", "projects", headers={"Origin": LISTED, **asked})
    assert r.code == 204
    assert r.headers["Access-Control-Allow-Origin"] == LISTED
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    r = await api("OPTIONS", "projects", headers={"Origin": "https://evil.example.com", **asked})
    assert r.code == 403 and "Access-Control-Allow-Origin" not in r.headers


async def test_requests_without_origin_or_from_the_same_host_pass(api: Any, user: Any, jp_http_port: int) -> None:
    token = await user("corsuser")
    assert (await api("GET", "auth/me", token=token)).code == 200
    same = await api("GET", "auth/me", token=token, headers={"Origin": f"http://127.0.0.1:{jp_http_port}"})
    assert same.code == 200 and "Access-Control-Allow-Origin" not in same.headers


@pytest.mark.parametrize("bad", ["*", "app.example.com", "https://app.example.com/path", "ftp://x.org", ""])
def test_a_bad_origin_setting_is_refused(bad: str) -> None:
    with pytest.raises(TraitError, match="not a CORS origin"):
        cors_origin(bad)
    with pytest.raises(TraitError):
        SocratesApp(cors_origins=[bad])


def test_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CORS_ORIGINS_ENV, " https://A.example.com/, http://localhost:3000 ,")
    assert cors_origins_from_env() == {"https://a.example.com", "http://localhost:3000"}
    monkeypatch.setenv(CORS_ORIGINS_ENV, "https://ok.example.com,*")
    with pytest.raises(TraitError, match="not a CORS origin: '\\*'"):
        cors_origins_from_env()
