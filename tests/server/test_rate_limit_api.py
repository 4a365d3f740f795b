"""Rate limits over HTTP: 429 ``rate_limited`` with ``Retry-After`` for logins and registrations.

The limits here come from ``SocratesApp`` traits (3 failed logins per 60 s, 4 registrations per
120 s), so these tests also show that the traits reach the service. A real ``jupyter server``
shows that ``X-Forwarded-For`` only names the client when ``ServerApp.trust_xheaders`` is set.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from traitlets.config import Config

from socrates_nb.services.auth import INVALID_LOGIN, LOGIN_LIMITED, REGISTER_LIMITED
from socrates_nb.storage.models import AuditLog

PASSWORD = "correct horse battery staple"
LOGIN_WINDOW, REGISTER_WINDOW = 60, 120


@pytest.fixture
def jp_server_config(jp_server_config: Config, request: pytest.FixtureRequest) -> Config:
    """The limits above; ``SocratesApp.trusted_proxies`` from an indirect parameter (default none)."""
    jp_server_config.SocratesApp.trusted_proxies = getattr(request, "param", [])
    jp_server_config.SocratesApp.login_max_failures = 3
    jp_server_config.SocratesApp.login_window = LOGIN_WINDOW
    jp_server_config.SocratesApp.register_max = 4
    jp_server_config.SocratesApp.register_window = REGISTER_WINDOW
    return jp_server_config


def error(response: Any) -> dict[str, Any]:
    return json.loads(response.body)["error"]


def assert_limited(response: Any, message: str, window: int) -> None:
    assert response.code == 429
    assert json.loads(response.body) == {"error": {"code": "rate_limited", "message": message}}
    assert 0 < int(response.headers["Retry-After"]) <= window


async def test_three_failed_logins_then_429_with_retry_after(api: Any, user: Callable[..., Awaitable[str]]) -> None:
    await user("alice")
    for _ in range(3):
        r = await api("POST", "auth/login", {"username": "alice", "password": PASSWORD + "!"})
        assert r.code == 401 and error(r) == {"code": "unauthorized", "message": INVALID_LOGIN}
    for password in (PASSWORD + "!", PASSWORD):  # now the right password is refused too
        assert_limited(await api("POST", "auth/login", {"username": "alice", "password": password}), LOGIN_LIMITED,
                       LOGIN_WINDOW)


async def test_unknown_user_and_wrong_password_answer_alike_before_and_after_the_limit(
    api: Any, user: Callable[..., Awaitable[str]]
) -> None:
    await user("alice")
    attempts = ({"username": "nobody", "password": PASSWORD}, {"username": "alice", "password": PASSWORD + "!"})

    async def both() -> list[tuple[int, bytes, bool]]:
        out = []
        for body in attempts:
            r = await api("POST", "auth/login", body)
            out.append((r.code, r.body, "Retry-After" in r.headers))
        return out

    before = await both()  # two failures from this address
    assert before[0] == before[1] == (401, before[0][1], False)
    assert (await api("POST", "auth/login", attempts[0])).code == 401  # the third
    after = await both()
    assert after[0] == after[1] == (429, after[0][1], True)
    assert json.loads(after[0][1])["error"] == {"code": "rate_limited", "message": LOGIN_LIMITED}


async def test_registrations_per_address_are_limited(api: Any) -> None:
    for name in ("ann", "ben", "cat"):
        assert (await api("POST", "auth/register", {"username": name, "password": PASSWORD})).code == 201
    r = await api("POST", "auth/register", {"username": "dan", "password": "short"})
    assert r.code == 422  # refused before counting
    r = await api("POST", "auth/register", {"username": "ann", "password": PASSWORD})
    assert r.code == 409  # counted: the fourth
    assert_limited(await api("POST", "auth/register", {"username": "dan", "password": PASSWORD}), REGISTER_LIMITED,
                   REGISTER_WINDOW)


@pytest.mark.parametrize("jp_server_config", [[], ["192.0.2.7", "127.0.0.0/8"]], indirect=True)
async def test_x_forwarded_for_names_the_client_only_from_trusted_proxies(api: Any, jp_serverapp: Any) -> None:
    proxies = jp_serverapp.web_app.settings["socrates"].trusted_proxies

    async def login(username: str, forwarded_for: str) -> int:
        body = {"username": username, "password": PASSWORD}
        return (await api("POST", "auth/login", body, headers={"X-Forwarded-For": forwarded_for})).code

    # unknown users, one per attempt, so only the address bucket fills up; the client may send a forged hop
    assert [await login(f"guess{i}", f"10.9.9.{i}, 198.51.100.1") for i in range(4)] == [401, 401, 401, 429]
    # another client behind the proxy (the peer 127.0.0.1): its own bucket; without trusted proxies, the same peer
    assert await login("guess9", "198.51.100.2") == (401 if proxies else 429)
    db = jp_serverapp.web_app.settings["socrates"].db
    with db.read() as orm:
        seen = orm.scalars(select(AuditLog.client_address).where(AuditLog.action == "auth.login_failed")).all()
    assert set(seen) == ({"198.51.100.1", "198.51.100.2"} if proxies else {"127.0.0.1"})


def _login(base: str, username: str, forwarded_for: str) -> int:
    body = json.dumps({"username": username, "password": PASSWORD}).encode()
    request = urllib.request.Request(f"{base}/auth/login", data=body, method="POST")
    request.add_header("X-Forwarded-For", forwarded_for)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (local test server)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
@pytest.mark.parametrize("trusted", [False, True])
def test_x_forwarded_for_names_the_client_only_with_trust_xheaders(
    serve: Callable[[str], str], tmp_path: Path, trusted: bool
) -> None:
    config_dir = Path(os.environ["JUPYTER_CONFIG_DIR"])
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"trust_xheaders": trusted}, "SocratesApp": {"login_max_failures": 2},
    }))
    base = serve(f"sqlite:///{tmp_path / 'socrates.db'}")
    # unknown users, one per attempt, so only the address bucket can fill up
    assert [_login(base, f"guess{i}", "198.51.100.1") for i in range(3)] == [401, 401, 429]
    # from another forwarded address: a new client behind a trusted proxy, else the same peer 127.0.0.1
    assert _login(base, "guess9", "198.51.100.2") == (401 if trusted else 429)
