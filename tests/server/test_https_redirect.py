"""The HTTPS redirect never points at a host the server would not answer for (issue #14).

``require_https`` answers plain HTTP with a 308 to ``https://<Host>/...``. The Host header is
the client's, so it is checked first: against ``SocratesApp.trusted_hosts`` when set, and
always against Jupyter's own host check (``ServerApp.allow_remote_access``,
``local_hostnames``); only a well-formed host name that passed both becomes the target.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from traitlets.config import Config


@pytest.fixture
def server_settings() -> dict[str, Any]:
    """Extra server configuration; tests parametrize it."""
    return {}


@pytest.fixture
def jp_server_config(jp_server_config: Config, server_settings: dict[str, Any]) -> Config:
    jp_server_config.SocratesApp.require_https = True
    jp_server_config.merge(Config(server_settings))
    return jp_server_config


REMOTE = {"ServerApp": {"allow_remote_access": True}}
TRUSTED = {"ServerApp": {"allow_remote_access": True}, "SocratesApp": {"trusted_hosts": ["api.example.com"]}}


def refused(response: Any) -> str:
    assert response.code == 403, (response.code, response.headers.get("Location"))
    assert "Location" not in response.headers
    error = json.loads(response.body)["error"]
    assert error["code"] == "forbidden"
    return error["message"]


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example"])
async def test_without_trusted_hosts_a_host_jupyter_refuses_is_refused_not_redirected(api: Any, host: str) -> None:
    for method, path in (("POST", "auth/login"), ("GET", "health"), ("GET", "projects")):
        r = await api(method, path, {"username": "x", "password": "y" * 12}, headers={"Host": host})
        assert "ServerApp.allow_remote_access" in refused(r)


@pytest.mark.parametrize("host", ["localhost", "localhost:8888", "127.0.0.1:8888", "[::1]:8888"])
async def test_without_trusted_hosts_a_local_host_is_redirected_to_itself(api: Any, jp_base_url: str, host: str) -> None:
    r = await api("GET", "health", headers={"Host": host}, params={"detail": "1"})
    assert r.code == 308
    assert r.headers["Location"] == f"https://{host}{jp_base_url}socrates/api/v1/health?detail=1"


@pytest.mark.parametrize("server_settings", [REMOTE, TRUSTED])
@pytest.mark.parametrize("host", ["api.example.com:x", "api.example.com:443:443", "api.example.com:123456", "[::1",
                                  "api.example.com%2f.evil.example", "api.example.com;x",
                                  "api.example.com&x=1", "api.example.com!", "[api.example.com]"])
async def test_a_malformed_host_is_never_a_redirect_target(api: Any, host: str, server_settings: Any) -> None:
    """Hosts tornado lets through (its Host rule allows sub-delimiters and colons anywhere) reach our check."""
    message = refused(await api("GET", "health", headers={"Host": host}))
    assert message in ("the Host header is not a host name with an optional port: no redirect to it",
                       "this host name is not served here (SocratesApp.trusted_hosts)"), message


@pytest.mark.parametrize("server_settings", [REMOTE])
@pytest.mark.parametrize("host", ["api.example.com/x", "api.example.com@evil.example", "api.example.com?",
                                  "api.example.com#", "api.example.com\\evil.example", "api.example.com evil",
                                  "api.example.com,evil.example"])
async def test_tornado_refuses_hosts_with_url_delimiters_before_any_handler(
    api: Any, host: str, server_settings: Any
) -> None:
    r = await api("GET", "health", headers={"Host": host})
    assert r.code == 400 and "Location" not in r.headers and not r.body  # tornado's bare 400, not our envelope


@pytest.mark.parametrize("server_settings", [REMOTE])
async def test_with_remote_access_and_no_trusted_hosts_the_redirect_keeps_the_requests_host(
    api: Any, jp_base_url: str, server_settings: Any
) -> None:
    """Jupyter answers every host here, so the redirect goes to the one the client named (use trusted_hosts)."""
    r = await api("GET", "health", headers={"Host": "API.example.org:8080"})
    assert r.code == 308
    assert r.headers["Location"] == f"https://api.example.org:8080{jp_base_url}socrates/api/v1/health"


@pytest.mark.parametrize("server_settings", [TRUSTED])
async def test_with_trusted_hosts_only_a_trusted_host_is_redirected(
    api: Any, jp_base_url: str, server_settings: Any
) -> None:
    assert "trusted_hosts" in refused(await api("GET", "health", headers={"Host": "evil.example"}))
    assert "trusted_hosts" in refused(await api("GET", "health", headers={"Host": "localhost"}))
    r = await api("GET", "health", headers={"Host": "api.example.com:8443"})
    assert r.code == 308
    assert r.headers["Location"] == f"https://api.example.com:8443{jp_base_url}socrates/api/v1/health"


@pytest.mark.parametrize("server_settings", [{"SocratesApp": {"trusted_hosts": ["api.example.com"]}}])
async def test_a_trusted_host_that_jupyter_refuses_is_refused_too(api: Any, server_settings: Any) -> None:
    """trusted_hosts narrows Jupyter's host check, never widens it: no redirect to a host it would not serve."""
    r = await api("GET", "health", headers={"Host": "api.example.com"})
    assert "ServerApp.allow_remote_access" in refused(r)
