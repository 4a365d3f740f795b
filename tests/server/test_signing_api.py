"""Signed requests over HTTP: auth/signing-key, and the operations that need a signature while a key exists.

The signatures are computed here with hmac/hashlib over the path as the server sees it
(``jp_base_url`` + ``socrates/api/v1/...``), independently of socrates_nb.security.signing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from socrates_nb.storage import models

PASSWORD = "correct horse battery staple"


def body(response: Any) -> Any:
    return json.loads(response.body)


@pytest.fixture
def db(jp_serverapp: Any) -> Any:
    return jp_serverapp.web_app.settings["socrates"].db


@pytest.fixture
def signer(jp_base_url: str) -> Any:
    """``headers = signer(secret, "DELETE", "projects/ID", body=b"", ts=None)``."""

    def make(secret: str, method: str, path: str, raw: bytes = b"", ts: int | str | None = None) -> dict[str, str]:
        ts = str(int(time.time()) if ts is None else ts)
        full = f"{jp_base_url}socrates/api/v1/{path}"
        text = f"{method}\n{full}\n{ts}\n{hashlib.sha256(raw).hexdigest()}".encode()
        return {"X-Socrates-Timestamp": ts,
                "X-Socrates-Signature": hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()}

    return make


def keys(db: Any) -> list[bytes]:
    with db.read() as orm:
        return list(orm.scalars(select(models.SigningKey.secret_ciphertext)))


def used(db: Any) -> int:
    with db.read() as orm:
        return orm.scalar(select(func.count()).select_from(models.UsedSignature)) or 0


async def new_key(api: Any, token: str) -> str:
    r = await api("POST", "auth/signing-key", {"password": PASSWORD}, token)
    assert r.code == 201 and r.headers["Cache-Control"] == "no-store", r.body
    return body(r)["secret"]


async def new_project(api: Any, token: str) -> str:
    r = await api("POST", "projects", {"name": "Signed"}, token)
    assert r.code == 201, r.body
    return body(r)["project"]["id"]


async def test_without_a_key_nothing_is_required(api: Any, user: Any) -> None:
    token = await user("ana", PASSWORD)
    pid = await new_project(api, token)
    assert (await api("DELETE", f"projects/{pid}", token=token)).code == 204
    assert (await api("PUT", "api-keys/openai", {"key": "sk-test-1234"}, token)).code == 204
    assert (await api("DELETE", "api-keys/openai", token=token)).code == 204


async def test_key_creation_needs_the_password_and_stores_no_plaintext(api: Any, user: Any, db: Any) -> None:
    token = await user("ana", PASSWORD)
    r = await api("POST", "auth/signing-key", {"password": "wrong password here"}, token)
    assert r.code == 401 and body(r)["error"] == {"code": "unauthorized", "message": "wrong password"}
    for bad in ({}, {"password": 5}, {"password": PASSWORD, "extra": 1}):
        assert (await api("POST", "auth/signing-key", bad, token)).code == 422
    assert keys(db) == []
    secret = await new_key(api, token)
    (stored,) = keys(db)
    assert secret.encode() not in stored
    r = await api("POST", "auth/signing-key", {"password": PASSWORD}, token)
    assert r.code == 409 and "DELETE auth/signing-key" in body(r)["error"]["message"]
    assert keys(db) == [stored]


async def test_delete_project_needs_a_fresh_signature(api: Any, user: Any, signer: Any, db: Any) -> None:
    token = await user("ana", PASSWORD)
    secret = await new_key(api, token)
    pid = await new_project(api, token)
    path = f"projects/{pid}"
    now = int(time.time())  # the loop below takes seconds: keep the bad stamps a minute past the window
    refused = {
        "missing": {},
        "only timestamp": {"X-Socrates-Timestamp": str(now)},
        "wrong signature": {"X-Socrates-Timestamp": str(now), "X-Socrates-Signature": "0" * 64},
        "other key": signer(secret + "x", "DELETE", path),
        "other path": signer(secret, "DELETE", f"projects/{pid}x"),
        "other method": signer(secret, "GET", path),
        "other body": signer(secret, "DELETE", path, b"{}"),
        "6 min old": signer(secret, "DELETE", path, ts=now - 360),
        "6 min ahead": signer(secret, "DELETE", path, ts=now + 360),
        "not a number": {**signer(secret, "DELETE", path), "X-Socrates-Timestamp": "soon"},
    }
    messages = {}
    for name, headers in refused.items():
        r = await api("DELETE", path, token=token, headers=headers)
        assert r.code == 401 and body(r)["error"]["code"] == "unauthorized", (name, r.body)
        messages[name] = body(r)["error"]["message"]
        assert (await api("GET", path, token=token)).code == 200, name  # still there
    assert "needs a signed request" in messages["missing"]
    assert "more than 300 seconds old" in messages["6 min old"]
    assert "in the future" in messages["6 min ahead"]
    assert "Unix seconds" in messages["not a number"]
    assert used(db) == 0
    headers = signer(secret, "DELETE", path)
    assert (await api("DELETE", path, token=token, headers=headers)).code == 204
    assert used(db) == 1
    r = await api("DELETE", path, token=token, headers=headers)  # the same signed request again
    assert r.code == 401 and "already used" in body(r)["error"]["message"]


async def test_replays_are_refused(api: Any, user: Any, signer: Any) -> None:
    token = await user("ana", PASSWORD)
    secret = await new_key(api, token)
    pid = await new_project(api, token)
    headers = signer(secret, "PUT", "api-keys/openai", json.dumps({"key": "sk-test-1234"}).encode())
    codes = [(await api("PUT", "api-keys/openai", {"key": "sk-test-1234"}, token, headers=headers)).code
             for _ in range(5)]
    assert codes == [204, 401, 401, 401, 401]
    assert (await api("GET", f"projects/{pid}", token=token)).code == 200


async def test_api_keys_and_mfa_disable_need_a_signature(api: Any, user: Any, signer: Any) -> None:
    token = await user("ana", PASSWORD)
    secret = await new_key(api, token)
    put = {"key": "sk-test-1234"}
    assert (await api("PUT", "api-keys/openai", put, token)).code == 401
    headers = signer(secret, "PUT", "api-keys/openai", json.dumps(put).encode())
    assert (await api("PUT", "api-keys/openai", put, token, headers=headers)).code == 204
    assert (await api("DELETE", "api-keys/openai", token=token)).code == 401
    assert (await api("GET", "api-keys", token=token)).code == 200  # reads are not signed
    headers = signer(secret, "DELETE", "api-keys/openai")
    assert (await api("DELETE", "api-keys/openai", token=token, headers=headers)).code == 204
    disable = {"password": PASSWORD, "otp": "123456"}
    r = await api("POST", "auth/mfa/disable", disable, token)
    assert r.code == 401 and "needs a signed request" in body(r)["error"]["message"]
    headers = signer(secret, "POST", "auth/mfa/disable", json.dumps(disable).encode())
    r = await api("POST", "auth/mfa/disable", disable, token, headers=headers)
    assert r.code == 409, r.body  # past the signature: MFA is not enabled


async def test_replacing_the_key_needs_a_signed_delete(api: Any, user: Any, signer: Any, db: Any) -> None:
    token = await user("ana", PASSWORD)
    other = await user("bob", PASSWORD)
    secret = await new_key(api, token)
    assert (await api("DELETE", "auth/signing-key", token=token)).code == 401
    assert (await api("DELETE", "auth/signing-key", token=other)).code == 404  # bob has none
    assert len(keys(db)) == 1
    headers = signer(secret, "DELETE", "auth/signing-key")
    assert (await api("DELETE", "auth/signing-key", token=token, headers=headers)).code == 204
    assert keys(db) == []
    pid = await new_project(api, token)
    assert (await api("DELETE", f"projects/{pid}", token=token)).code == 204  # no key, no signature
    newer = await new_key(api, token)
    assert newer != secret
