"""TOTP over HTTP: auth/mfa/setup, enable, disable, and login with a code or a backup code.

The server's TOTP clock is the ``MfaService.clock`` of its ApiContext, set here to a fixed time
(never slept on); the codes are computed with pyotp from the secret the server returned. The
limit on wrong codes comes from the ``login_max_failures`` trait (5 here).
"""

from __future__ import annotations

import json
from typing import Any

import pyotp
import pytest
from sqlalchemy import func, select
from traitlets.config import Config

from socrates_nb.storage import models

PASSWORD = "correct horse battery staple"
T0 = 1_800_000_015.0
MAX_FAILURES = 5


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    jp_server_config.SocratesApp.login_max_failures = MAX_FAILURES
    return jp_server_config


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(jp_serverapp: Any) -> Clock:
    """The server's TOTP clock."""
    clock = Clock()
    jp_serverapp.web_app.settings["socrates"].mfa.clock = clock
    return clock


@pytest.fixture
def db(jp_serverapp: Any) -> Any:
    return jp_serverapp.web_app.settings["socrates"].db


def body(response: Any) -> Any:
    return json.loads(response.body)


def code(secret: str, at: float) -> str:
    return pyotp.TOTP(secret).at(int(at))


def stored(db: Any) -> tuple[int, int]:
    """(MFA rows, rate-limit hits) in the server's database."""
    with db.read() as orm:
        return (orm.scalar(select(func.count()).select_from(models.MfaSecret)) or 0,
                orm.scalar(select(func.count()).select_from(models.RateLimitHit)) or 0)


async def login(api: Any, otp: str | None = None) -> Any:
    sent = {"username": "ana", "password": PASSWORD} | ({"otp": otp} if otp is not None else {})
    return await api("POST", "auth/login", sent)


async def test_setup_enable_login_and_disable(api: Any, user: Any, clock: Clock, db: Any) -> None:
    token = await user("ana", PASSWORD)
    r = await api("POST", "auth/mfa/setup", {"password": PASSWORD}, token)
    assert r.code == 200 and r.headers["Cache-Control"] == "no-store"
    setup = body(r)
    assert setup["otpauth_uri"].startswith("otpauth://totp/socrates_nb:ana?") and len(setup["backup_codes"]) == 10
    with db.read() as orm:
        row = orm.execute(select(models.MfaSecret.__table__)).one()
    assert setup["secret"].encode() not in row.secret_ciphertext and not row.enabled
    assert (await login(api)).code == 200  # not enabled yet: no code needed

    r = await api("POST", "auth/mfa/enable", {"otp": code(setup["secret"], clock.now)}, token)
    assert r.code == 204, r.body
    r = await login(api)
    assert r.code == 401 and body(r)["error"]["code"] == "mfa_required"
    r = await login(api, code(setup["secret"], clock.now))  # the step enable used
    assert r.code == 401 and body(r)["error"] == {"code": "unauthorized", "message": "invalid one-time code"}
    clock.now += 30
    assert (await login(api, code(setup["secret"], clock.now))).code == 200
    assert (await login(api, code(setup["secret"], clock.now))).code == 401  # replayed
    backup = setup["backup_codes"][0]
    assert (await login(api, backup)).code == 200
    assert (await login(api, backup)).code == 401  # burnt

    r = await api("POST", "auth/mfa/setup", {"password": PASSWORD}, token)
    assert r.code == 409 and body(r)["error"]["code"] == "conflict"
    r = await api("POST", "auth/mfa/disable", {"password": PASSWORD, "otp": backup}, token)
    assert r.code == 401 and stored(db)[0] == 1
    r = await api("POST", "auth/mfa/disable", {"password": PASSWORD, "otp": setup["backup_codes"][1]}, token)
    assert r.code == 204, r.body
    assert stored(db)[0] == 0 and (await login(api)).code == 200


@pytest.mark.parametrize(("path", "sent", "status", "message"), [
    ("auth/mfa/setup", {}, 422, "missing field(s): password"),
    ("auth/mfa/setup", {"password": PASSWORD, "otp": "123456"}, 422, "unknown field(s): otp"),
    ("auth/mfa/setup", {"password": 7}, 422, "password must be text, got int"),
    ("auth/mfa/enable", {}, 422, "missing field(s): otp"),
    ("auth/mfa/enable", {"otp": "12a456"}, 422, "otp must be a 6-digit code"),
    ("auth/mfa/enable", {"otp": "1" * 100}, 422, "otp must be at most 64 characters long"),
    ("auth/mfa/enable", {"otp": 123456}, 422, "otp must be text, got int"),
    ("auth/mfa/disable", {"password": PASSWORD}, 422, "missing field(s): otp"),
    ("auth/mfa/disable", {"otp": "123456"}, 422, "missing field(s): password"),
    ("auth/mfa/disable", {"password": PASSWORD, "otp": "not-a-code"}, 422, "otp must be a 6-digit code or a backup"),
])
async def test_bad_input_changes_nothing(
    api: Any, user: Any, db: Any, path: str, sent: dict[str, Any], status: int, message: str
) -> None:
    token = await user("ana", PASSWORD)
    before = stored(db)
    r = await api("POST", path, sent, token)
    assert r.code == status and body(r)["error"]["message"].startswith(message), r.body
    assert stored(db) == before
    r = await api("POST", path, sent)  # no bearer token
    assert r.code == 401 and stored(db) == before


async def test_wrong_codes_and_passwords_are_limited(api: Any, user: Any, clock: Clock, db: Any) -> None:
    token = await user("ana", PASSWORD)
    secret = body(await api("POST", "auth/mfa/setup", {"password": PASSWORD}, token))["secret"]
    wrong = f"{(int(code(secret, clock.now)) + 1) % 1_000_000:06d}"
    for _ in range(MAX_FAILURES):
        r = await api("POST", "auth/mfa/enable", {"otp": wrong}, token)
        assert r.code == 401 and body(r)["error"]["message"] == "invalid one-time code"
    r = await api("POST", "auth/mfa/enable", {"otp": code(secret, clock.now)}, token)
    assert r.code == 429 and body(r)["error"]["code"] == "rate_limited" and int(r.headers["Retry-After"]) > 0
    for _ in range(MAX_FAILURES):
        r = await api("POST", "auth/mfa/setup", {"password": "not the password"}, token)
        assert r.code == 401 and body(r)["error"]["message"] == "wrong password"
    r = await login(api)  # the wrong passwords counted as failed logins
    assert r.code == 429 and int(r.headers["Retry-After"]) > 0
