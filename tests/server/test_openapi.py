"""The OpenAPI document: valid OpenAPI 3.1, exactly the routes and methods the server has, served publicly,
and what real responses look like (schemathesis fuzzes it against a live server in test_schemathesis.py)."""

from __future__ import annotations

import inspect
import json
import re
import uuid
from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from socrates_nb.__about__ import __version__
from socrates_nb.errors import SocratesError
from socrates_nb.server import routes
from socrates_nb.server.base import METHODS, BaseHandler
from socrates_nb.server.openapi import build, document

DOC = document()
REGISTRY = Registry().with_resource("urn:openapi", Resource.from_contents(DOC, default_specification=DRAFT202012))
ACCOUNT = DOC["components"]["schemas"]["Login"]["examples"][0]
CONFLICTING = ("The API is available 99.9% of the time each month.", "Availability of 99% per month is enough.")


def _pointer(*parts: str) -> str:
    return "urn:openapi#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def _resolved(node: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A (response) object with its ``$ref`` followed, and its JSON pointer parts."""
    if "$ref" not in node:
        return node, []
    parts = node["$ref"].removeprefix("#/").split("/")
    target = DOC
    for part in parts:
        target = target[part]
    return target, parts


def conforms(response: Any, path: str, method: str) -> Any:
    """The JSON body of ``response`` after checking it (status, headers, body) against the document."""
    declared = DOC["paths"][path][method]["responses"]
    status = str(response.code)
    assert status in declared, f"{method.upper()} {path} answered an undocumented {status}: {response.body[:300]!r}"
    spec, parts = _resolved(declared[status])
    parts = parts or ["paths", path, method, "responses", status]
    for header in spec.get("headers", {}):
        assert header in response.headers, f"{method.upper()} {path} {status} lacks {header}"
    if "content" not in spec:
        assert not response.body
        return None
    body = json.loads(response.body)
    schema = {"$ref": _pointer(*parts, "content", "application/json", "schema")}
    jsonschema.Draft202012Validator(
        schema, registry=REGISTRY, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(body)
    return body


def _filled(path: str, value: str) -> str:
    """A documented path with every ``{parameter}`` replaced by ``value``, without its leading slash."""
    return re.sub(r"\{\w+\}", lambda _: value, path).lstrip("/")


def _routes_by_path() -> dict[str, type]:
    """Each documented path's handler, found by turning the path back into its ROUTES pattern."""
    patterns = dict(routes.ROUTES)
    return {path: patterns[_filled(path, "([^/]+)")] for path in DOC["paths"]}


# --- the document ---------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(DOC)
    assert DOC["openapi"].startswith("3.1.") and DOC["info"]["version"] == __version__


def test_every_route_and_method_is_documented_and_nothing_else() -> None:
    served = {
        (pattern, method) for pattern, handler in routes.ROUTES for method in METHODS
        if inspect.unwrap(getattr(handler, method)).__module__ == routes.__name__  # written in routes.py
    }
    documented = {(_filled(path, "([^/]+)"), method) for path, operations in DOC["paths"].items() for method in operations}
    assert documented == served


def test_a_route_without_a_description_or_a_description_without_a_route_is_refused() -> None:
    class Undescribed(BaseHandler):
        def get(self) -> None: ...

    with pytest.raises(LookupError, match="Undescribed.get has no Operation"):
        build([*routes.ROUTES, ("new", Undescribed)])
    with pytest.raises(LookupError, match="no route serves"):
        build([r for r in routes.ROUTES if r[1] is not routes.HealthHandler])
    with pytest.raises(ValueError, match="groups"):
        build([("health/([^/]+)" if h is routes.HealthHandler else p, h) for p, h in routes.ROUTES])


def test_path_parameters_are_the_handlers_arguments() -> None:
    handlers = _routes_by_path()
    for path, operations in DOC["paths"].items():
        for method, operation in operations.items():
            declared = [_resolved(p)[0] for p in operation["parameters"]]
            in_path = [p["name"] for p in declared if p["in"] == "path"]
            arguments = list(inspect.signature(getattr(handlers[path], method)).parameters)[1:]
            assert in_path == re.findall(r"{(\w+)}", path) == arguments, (method, path)


def test_public_routes_need_no_token_and_the_rest_a_bearer_jwt() -> None:
    scheme = DOC["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert DOC["security"] == [{"bearerAuth": []}]
    for path, handler in _routes_by_path().items():
        for operation in DOC["paths"][path].values():
            assert (operation.get("security") == []) == handler.public, path
            assert handler.public or "401" in operation["responses"], path


def test_errors_share_one_envelope_whose_codes_come_from_the_error_classes() -> None:
    def codes(cls: type[SocratesError]) -> set[str]:
        return {cls.code}.union(*(codes(sub) for sub in cls.__subclasses__()))

    enum = DOC["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    assert codes(SocratesError) <= set(enum) and {"method_not_allowed", "bad_request"} <= set(enum)
    for name, response in DOC["components"]["responses"].items():
        if name != "NotModified":
            assert response["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    assert "Retry-After" in DOC["components"]["responses"]["RateLimitedError"]["headers"]


def test_conditional_gets_document_etag_and_304() -> None:
    for path, operations in DOC["paths"].items():
        get = operations.get("get")
        if get and path != "/health":
            assert "ETag" in get["responses"]["200"]["headers"] and "304" in get["responses"], path


# --- served, and equal to what the handlers do ---------------------------------------------------------


async def test_served_publicly_with_an_etag(api, jp_base_url) -> None:  # noqa: ANN001
    r = await api("GET", "openapi.json")
    served = conforms(r, "/openapi.json", "get")
    assert served["servers"] == [{"url": f"{jp_base_url}socrates/api/v1"}]
    assert served == {**DOC, "servers": served["servers"]}
    again = await api("GET", "openapi.json", headers={"If-None-Match": r.headers["ETag"]})
    assert again.code == 304 and not again.body


async def test_request_bodies_are_what_the_handlers_accept(api, user) -> None:  # noqa: ANN001
    """The handlers name their allowed fields when given an unknown one, and their required ones when given none."""
    token = await user("bodies")
    for path, operations in DOC["paths"].items():
        for method, operation in operations.items():
            if "requestBody" not in operation:
                continue
            schema, _ = _resolved(operation["requestBody"]["content"]["application/json"]["schema"])
            url = _filled(path, str(uuid.uuid4()))
            unknown = json.loads((await api(method.upper(), url, {"zz": 1}, token)).body)["error"]["message"]
            allowed = re.search(r"allowed: (.*)$", unknown).group(1)
            assert set(filter(None, allowed.split(", "))) == set(schema["properties"]), (method, path)
            if schema["required"]:
                missing = json.loads((await api(method.upper(), url, {}, token)).body)["error"]["message"]
                assert missing == f"missing field(s): {', '.join(sorted(schema['required']))}", (method, path)


async def test_undocumented_methods_answer_405(api, user) -> None:  # noqa: ANN001
    token = await user("methods")
    for path, operations in DOC["paths"].items():
        url = _filled(path, str(uuid.uuid4()))
        for method in set(METHODS) - set(operations) - {"options"}:  # OPTIONS: every route's CORS preflight
            r = await api(method.upper(), url, {} if method in ("post", "put", "patch") else None, token)
            assert r.code == 405 and json.loads(r.body)["error"]["code"] == "method_not_allowed", (method, path)


async def test_real_responses_match_their_schemas(api) -> None:  # noqa: ANN001
    bearer: dict[str, str] = {}

    async def check(method: str, path: str, body: Any = None, *, params: dict[str, str] | None = None,
                    expect: int | None = None, **ids: str) -> Any:
        response = await api(method, path.format(**ids).lstrip("/"), body, bearer.get("token"), params=params)
        assert expect is None or response.code == expect, response.body
        return conforms(response, path, method.lower())

    assert (await check("POST", "/auth/register", ACCOUNT))["user"]["username"] == ACCOUNT["username"]
    await check("POST", "/auth/register", ACCOUNT, expect=409)
    pair = await check("POST", "/auth/login", ACCOUNT)
    bearer["token"] = (await check("POST", "/auth/refresh", {"refresh_token": pair["refresh_token"]}))["access_token"]
    await check("GET", "/auth/me")
    pid = (await check("POST", "/projects", {"name": "Shapes"}))["project"]["id"]
    await check("POST", "/projects", {"name": " "}, expect=422)
    sid = (await check("POST", "/projects/{project_id}/sessions", {}, project_id=pid))["session"]["id"]
    turns = [await check("POST", "/sessions/{session_id}/answers", {"text": t}, session_id=sid) for t in CONFLICTING]
    assert turns[0]["items"] and turns[1]["conflicts"]
    await check("GET", "/sessions/{session_id}", session_id=sid)
    await check("GET", "/sessions/{session_id}/question", session_id=sid)
    listed = await check("GET", "/projects", params={"fields": "id,name"})
    assert listed["items"] == [{"id": pid, "name": "Shapes"}]
    full = await check("GET", "/projects/{project_id}", params={"include": "sessions"}, project_id=pid)
    assert len(full["project"]["sessions"]) == 1
    await check("GET", "/projects/{project_id}/specification", project_id=pid)
    conflicts = await check("GET", "/projects/{project_id}/conflicts", project_id=pid)
    cid = conflicts["conflicts"][0]["id"]
    await check("POST", "/conflicts/{conflict_id}/resolve", {"resolution": "keep_a"}, conflict_id=cid)
    await check("POST", "/sessions/{session_id}/complete", {}, session_id=sid)
    await check("PATCH", "/projects/{project_id}", {"status": "archived"}, project_id=pid)
    await check("DELETE", "/projects/{project_id}", project_id=pid)
    await check("GET", "/projects/{project_id}", project_id=pid, expect=404)
    await check("POST", "/auth/logout", {}, expect=204)
    await check("GET", "/auth/me", expect=401)
    await check("GET", "/health")


@pytest.mark.parametrize("fmt", ["markdown", "csv"])
async def test_specification_formats_are_documented(api, user, fmt) -> None:  # noqa: ANN001
    token = await user("formats")
    pid = json.loads((await api("POST", "projects", {"name": "Formats"}, token)).body)["project"]["id"]
    r = await api("GET", f"projects/{pid}/specification", token=token, params={"format": fmt})
    content = DOC["paths"]["/projects/{project_id}/specification"]["get"]["responses"]["200"]["content"]
    assert r.code == 200 and r.headers["Content-Type"].split(";")[0] in content
