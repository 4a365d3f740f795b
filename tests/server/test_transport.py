"""Production transport settings: trusted hosts, HTTPS redirect and HSTS."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from traitlets import TraitError
from traitlets.config import Config

from socrates_nb.server.app import SocratesApp

HOST = "api.example.com"
YEAR = 31_536_000


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config.SocratesApp.trusted_hosts = [HOST.upper()]  # compared in lower case
    jp_server_config.SocratesApp.require_https = True
    jp_server_config.SocratesApp.hsts_max_age = YEAR
    jp_server_config.ServerApp.allow_remote_access = True  # the Host header is not localhost
    return jp_server_config


async def test_an_untrusted_host_is_refused(api: Any) -> None:
    r = await api("GET", "health", headers={"Host": "evil.example.net", "X-Forwarded-Proto": "https"})
    assert r.code == 403 and b"trusted_hosts" in r.body


async def test_plain_http_is_redirected_to_https(api: Any) -> None:
    r = await api("POST", "auth/login", {"username": "x", "password": "y" * 12}, headers={"Host": HOST})
    assert r.code == 308
    assert r.headers["Location"] == f"https://{HOST}/a%40b/socrates/api/v1/auth/login"
    assert "Strict-Transport-Security" not in r.headers  # HSTS is only sent over HTTPS


@pytest.mark.slow
def test_https_behind_a_proxy_carries_hsts(serve: Callable[[str], str], tmp_path: Path) -> None:
    """A real server (jp_fetch's test server ignores trust_xheaders): TLS ends at the proxy."""
    config_dir = Path(os.environ["JUPYTER_CONFIG_DIR"])
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"trust_xheaders": True, "allow_remote_access": True},
        # 127.0.0.1 and plain HTTP stay allowed for the fixture's start-up check (redirects: test above)
        "SocratesApp": {"trusted_hosts": [HOST, "127.0.0.1"], "hsts_max_age": YEAR},
    }))
    base = serve(f"sqlite:///{tmp_path / 'socrates.db'}")
    request = urllib.request.Request(f"{base}/health", headers={"Host": HOST, "X-Forwarded-Proto": "https"})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (local test server)
        assert response.status == 200
        assert response.headers["Strict-Transport-Security"] == f"max-age={YEAR}; includeSubDomains"
    with urllib.request.urlopen(f"{base}/health", timeout=10) as response:  # noqa: S310 - plain HTTP: no HSTS
        assert response.status == 200 and "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize(("trait", "value"), [
    ("trusted_hosts", ["https://api.example.com"]), ("trusted_hosts", ["api.example.com:443"]),
    ("hsts_max_age", -1), ("hsts_max_age", 10**9),
    ("trusted_proxies", ["proxy.example.com"]), ("trusted_proxies", ["10.0.0.0/33"]), ("trusted_proxies", [""]),
])
def test_bad_transport_settings_are_refused(trait: str, value: Any) -> None:
    with pytest.raises(TraitError):
        SocratesApp(**{trait: value})
