"""REST: PUT/GET/DELETE api-keys, through a real Jupyter server; the key never comes back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.server.test_openapi import conforms

KEY = "sk-ant-api03-Rest-Plaintext-Marker-9Kq"


def _error(response: Any, status: int, code: str) -> str:
    assert response.code == status, response.body
    body = json.loads(response.body)
    assert body["error"]["code"] == code
    return body["error"]["message"]


async def test_put_list_replace_delete(api, user, caplog: pytest.LogCaptureFixture) -> None:  # noqa: ANN001
    token = await user("alice")
    r = await api("PUT", "api-keys/anthropic", {"key": KEY}, token)
    assert r.code == 204 and not r.body
    conforms(r, "/api-keys/{provider}", "put")
    r = await api("PUT", "api-keys/openai", {"key": "sk-proj-other-AB12"}, token)
    assert r.code == 204

    r = await api("GET", "api-keys", token=token)
    listed = conforms(r, "/api-keys", "get")["api_keys"]
    assert [(k["provider"], k["last4"]) for k in listed] == [("anthropic", KEY[-4:]), ("openai", "AB12")]
    assert KEY not in r.body.decode() and KEY[:-4] not in r.body.decode()

    assert (await api("PUT", "api-keys/anthropic", {"key": "sk-new-WXYZ"}, token)).code == 204
    r = await api("GET", "api-keys", token=token)
    assert json.loads(r.body)["api_keys"][0]["last4"] == "WXYZ"

    r = await api("DELETE", "api-keys/anthropic", token=token)
    assert r.code == 204 and conforms(r, "/api-keys/{provider}", "delete") is None
    message = _error(await api("DELETE", "api-keys/anthropic", token=token), 404, "not_found")
    assert message == "no anthropic key stored"
    r = await api("GET", "api-keys", token=token)
    assert [k["provider"] for k in json.loads(r.body)["api_keys"]] == ["openai"]
    assert KEY not in caplog.text


async def test_every_route_needs_a_token(api) -> None:  # noqa: ANN001
    for method, path, body in (("GET", "api-keys", None), ("PUT", "api-keys/openai", {"key": KEY}),
                               ("DELETE", "api-keys/openai", None)):
        r = await api(method, path, body)
        _error(r, 401, "unauthorized")
        conforms(r, "/api-keys" if path == "api-keys" else "/api-keys/{provider}", method.lower())


async def test_another_users_keys_are_invisible(api, user) -> None:  # noqa: ANN001
    alice, bob = await user("alice"), await user("bob")
    assert (await api("PUT", "api-keys/openai", {"key": KEY}, alice)).code == 204
    assert json.loads((await api("GET", "api-keys", token=bob)).body) == {"api_keys": []}
    _error(await api("DELETE", "api-keys/openai", token=bob), 404, "not_found")
    assert [k["provider"] for k in json.loads((await api("GET", "api-keys", token=alice)).body)["api_keys"]] == ["openai"]


@pytest.mark.parametrize(("path", "body", "needle"), [
    ("api-keys/mistral", {"key": KEY}, "unknown provider 'mistral'; valid providers: anthropic, openai"),
    ("api-keys/openai", {}, "missing field(s): key"),
    ("api-keys/openai", {"key": KEY, "note": "x"}, "unknown field(s): note"),
    ("api-keys/openai", {"key": ""}, "key must not be empty"),
    ("api-keys/openai", {"key": None}, "key must be text, got NoneType"),
    ("api-keys/openai", {"key": "k" * 10_240}, "key is 10,240 characters long; the limit is 512"),
    ("api-keys/openai", {"key": "sk-\u0000-nul"}, "printable ASCII"),
    ("api-keys/openai", {"key": "sk with space"}, "printable ASCII"),
])
async def test_bad_input_is_422_and_stores_nothing(api, user, path: str, body: Any, needle: str) -> None:  # noqa: ANN001
    token = await user("alice")
    r = await api("PUT", path, body, token)
    assert needle in _error(r, 422, "validation_error")
    conforms(r, "/api-keys/{provider}", "put")
    assert not isinstance(body.get("key"), str) or len(body["key"]) < 8 or body["key"] not in r.body.decode()
    assert json.loads((await api("GET", "api-keys", token=token)).body) == {"api_keys": []}


async def test_delete_of_an_unknown_provider_is_422(api, user) -> None:  # noqa: ANN001
    token = await user("alice")
    r = await api("DELETE", "api-keys/gemini", token=token)
    assert "unknown provider" in _error(r, 422, "validation_error")
    conforms(r, "/api-keys/{provider}", "delete")
