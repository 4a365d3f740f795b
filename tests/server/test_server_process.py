"""A real ``jupyter server`` process on 127.0.0.1, driven over HTTP as an outside client would."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

JUPYTER = [sys.executable, "-m", "jupyter"]


def _call(url: str, method: str = "GET", body: Any = None, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (local test server)
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.fixture
def server(serve: Callable[[str], str], db_url: str) -> str:
    return serve(db_url)


def test_extension_is_enabled_by_pip_install() -> None:
    listed = subprocess.run([*JUPYTER, "server", "extension", "list"], capture_output=True, text=True, timeout=60)
    out = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)  # drop colours
    assert "socrates_nb enabled" in out and re.search(r"socrates_nb [\d.]+\s+OK", out), out


def test_an_outside_client_over_http(server: str) -> None:
    password = "correct horse battery staple"
    assert _call(f"{server}/auth/register", "POST", {"username": "outsider", "password": password})[0] == 201
    status, pair = _call(f"{server}/auth/login", "POST", {"username": "outsider", "password": password})
    assert status == 200
    token = pair["access_token"]
    status, created = _call(f"{server}/projects", "POST", {"name": "From outside", "template": "cli-tool"}, token)
    assert status == 201
    status, started = _call(f"{server}/projects/{created['project']['id']}/sessions", "POST", {}, token)
    assert status == 201 and started["question"]["seq"] == 1
    sid = started["session"]["id"]
    status, turn = _call(f"{server}/sessions/{sid}/answers", "POST", {"text": "Developers run it in CI on every push."}, token)
    assert status == 200 and turn["next_question"]["seq"] == 2
    assert _call(f"{server}/projects", token=token)[1]["total"] == 1
    assert _call(f"{server}/projects", token="forged")[0] == 401
    assert _call(f"{server}/auth/logout", "POST", {}, token)[0] == 204
    status, refused = _call(f"{server}/projects", token=token)
    assert status == 401 and refused["error"]["code"] == "unauthorized"
