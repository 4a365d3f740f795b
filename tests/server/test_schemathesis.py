"""schemathesis fuzzes every operation of the OpenAPI document against a live ``jupyter server``.

A real server process on a fresh SQLite database; the bearer token of the document's example account; a project,
a session and a conflict made beforehand, so that about half of the generated path ids name real
resources (the rest are random and must be conforming 404s). Checks: no 5xx, every response
matches the document, and every secured operation refuses a request without valid credentials.

Logout ends the session of the token it is sent with, so every logout case gets a login session of
its own, made before the fuzzing (later logins would meet the rate limits the login fuzzing fills).
A password change or enabling MFA ends every session but the caller's, so they are sent with the
shared token, whose session they keep.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import ignored_auth, response_schema_conformance

from socrates_nb.server.openapi import document

EXAMPLES = 25  # per operation, in the fuzzing phase (the examples and coverage phases add theirs)
"""The coverage phase sends every operation the same boundary and negative cases on every run
(each required field missing, each constraint broken, each type wrong); the fuzzing phase adds
derandomized random combinations on top. At 100 of those an operation the test ran 4,538 cases
(five minutes of one core, the longest test of the suite); at 25 it runs about 2,100, every
operation still getting random cases beyond the coverage phase's."""
LOGOUTS = EXAMPLES + 50  # login sessions made for the logout cases (48 run at 25 examples)
CHECKS = [not_a_server_error, response_schema_conformance, ignored_auth]
CONFLICTING = ("The API is available 99.9% of the time each month.", "Availability of 99% per month is enough.")


@dataclass
class Live:
    """The running server, the fuzzing user's tokens, real ids to put in paths, and the cases run."""

    base: str
    http: requests.Session
    access_token: str = ""
    ids: dict[str, str] = field(default_factory=dict)  # path parameter -> a real resource's id
    own_ids: dict[str, dict[str, str]] = field(default_factory=dict)  # "METHOD /path" -> ids only it may use
    logouts: list[str] = field(default_factory=list)  # refresh tokens of sessions made for logout to end
    calls: Counter[str] = field(default_factory=Counter)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.access_token}"}
        response = self.http.request(method, f"{self.base}/{path}", json=body, headers=headers, timeout=30)
        assert response.ok, response.text
        return response.json()

    def login(self, account: dict[str, str]) -> dict[str, Any]:
        """A new login session of ``account``: its token pair."""
        response = self.http.post(f"{self.base}/auth/login", json=account, timeout=30)
        assert response.ok, response.text
        return response.json()

    def token_for(self, label: str) -> str:
        """The access token for an operation; logout ends its token's session, so it gets a session of its own."""
        if label != "POST /auth/logout":
            return self.access_token
        assert self.logouts, "every session made for logout is used: raise LOGOUTS"
        return self.call("POST", "auth/refresh", {"refresh_token": self.logouts.pop()})["access_token"]


@pytest.fixture
def live(serve: Callable[[str], str], tmp_path: Path) -> Iterator[Live]:
    base = serve(f"sqlite:///{tmp_path / 'fuzz.db'}")
    with requests.Session() as http:
        # the document's example account, so that its login example succeeds (and is checked) too
        account = http.get(f"{base}/openapi.json").json()["components"]["schemas"]["Login"]["examples"][0]
        assert http.post(f"{base}/auth/register", json=account).status_code == 201
        live = Live(base, http)
        live.access_token = live.login(account)["access_token"]
        live.logouts = [live.login(account)["refresh_token"] for _ in range(LOGOUTS)]
        project = live.call("POST", "projects", {"name": "Fuzzed"})["project"]["id"]
        session = live.call("POST", f"projects/{project}/sessions", {})["session"]["id"]
        for answer in CONFLICTING:
            live.call("POST", f"sessions/{session}/answers", {"text": answer})
        conflict = live.call("GET", f"projects/{project}/conflicts")["conflicts"][0]["id"]
        live.ids = {"project_id": project, "session_id": session, "conflict_id": conflict}
        live.own_ids = {  # the shared project and session must survive the fuzzing
            "DELETE /projects/{project_id}": {"project_id": live.call("POST", "projects", {"name": "Doomed"})["project"]["id"]},
            "POST /sessions/{session_id}/complete": {
                "session_id": live.call("POST", f"projects/{project}/sessions", {})["session"]["id"]
            },
            "DELETE /auth/sessions/{session_id}": {"session_id": doomed_login_session(live, account)},
        }
        started = time.monotonic()
        yield live
    print(f"\nschemathesis: {len(live.calls)} operations, {sum(live.calls.values())} cases in "
          f"{time.monotonic() - started:.0f} s ({LOGOUTS - len(live.logouts)} logout sessions used): "
          f"{dict(sorted(live.calls.items()))}")
    documented = {f"{method.upper()} {path}" for path, ops in document()["paths"].items() for method in ops}
    assert set(live.calls) == documented, "every operation is fuzzed"


def doomed_login_session(live: Live, account: dict[str, str]) -> str:
    """The id of a new login session of ``account``, for DELETE auth/sessions/{session_id} to end."""
    headers = {"Authorization": f"Bearer {live.login(account)['access_token']}"}
    response = live.http.get(f"{live.base}/auth/sessions", headers=headers, timeout=30)
    assert response.ok, response.text
    (current,) = [s["id"] for s in response.json()["sessions"] if s["current"]]
    return current


@pytest.fixture
def live_schema(live: Live, request: pytest.FixtureRequest) -> schemathesis.BaseSchema:
    if not hasattr(request.node, "_nodeid"):  # schemathesis 4.32's lazy mode reads it; pytest 9.2 dropped it
        request.node._nodeid = request.node.nodeid
    schema = schemathesis.openapi.from_url(f"{live.base}/openapi.json")

    @schema.hook
    def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: dict[str, Any]) -> Any:
        """Half the time, the path names real resources instead of generated ids."""
        if not path_parameters or context.operation is None:
            return st.just(path_parameters)
        real = {**live.ids, **live.own_ids.get(context.operation.label, {})}
        return st.sampled_from([path_parameters, {name: real.get(name, value) for name, value in path_parameters.items()}])

    return schema


# every operation: schemathesis leaves out the one that served the document unless a filter names it
schema = schemathesis.pytest.from_fixture("live_schema").include(path_regex="^/")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_every_operation_under_fuzzing(case: schemathesis.Case, live: Live) -> None:
    label = case.operation.label
    live.calls[label] += 1
    case.call_and_validate(headers={"Authorization": f"Bearer {live.token_for(label)}"}, checks=CHECKS)
