"""The OpenAPI 3.1 document of the REST API, built once from ROUTES, the handlers and the views' shapes.

Each handler method has one ``Operation`` in ``OPERATIONS``; ``build`` walks ROUTES and refuses a
handler method without one (or an entry no route uses), so the document names every route and
method the server answers, and no other. Path parameters come from the handlers' signatures, the
error ``code`` enum from the error classes, and the specification's schema from
``socrates_nb/data/spec.schema.json`` (whose parts the item, conflict and maturity shapes reuse).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from socrates_nb.__about__ import __version__
from socrates_nb.engine.base import ENGINES
from socrates_nb.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    PreconditionFailedError,
    RateLimitedError,
    SocratesError,
    UnauthorizedError,
    ValidationError,
)
from socrates_nb.export import spec_schema
from socrates_nb.security.audit import ACTIONS
from socrates_nb.security.passwords import MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS
from socrates_nb.security.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from socrates_nb.security.totp import BACKUP_CODE_COUNT
from socrates_nb.server import routes
from socrates_nb.server.app import API_PREFIX
from socrates_nb.server.base import CODES_BY_STATUS, BaseHandler, handler_methods, path_of
from socrates_nb.services.accounts import ROLES, USERNAME_RE
from socrates_nb.services.api_keys import MAX_KEY_CHARS, PROVIDERS
from socrates_nb.services.auth import MAX_EMAIL_CHARS, MAX_OTP_CHARS
from socrates_nb.services.health import CHECK_NAMES
from socrates_nb.services.health import STATUSES as HEALTH_STATUSES
from socrates_nb.services.mfa import MAX_CODE_CHARS
from socrates_nb.services.specs import CONFLICT_STATUSES, OPEN_QUESTION_STATUSES, RESOLUTIONS
from socrates_nb.services.usage import USAGE_COUNTS
from socrates_nb.services.validation import (
    MAX_ANSWER_CHARS,
    MAX_DESCRIPTION_CHARS,
    MAX_NAME_CHARS,
    MAX_OFFSET,
    MAX_PAGE,
    PROJECT_STATUSES,
)
from socrates_nb.templates import TEMPLATES

Schema = dict[str, Any]
Route = tuple[str, type[BaseHandler]]

OPENAPI_VERSION = "3.1.0"


def ref(name: str, kind: str = "schemas") -> Schema:
    """A reference to the component ``name``."""
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(schema: str) -> Schema:
    """JSON content of the component schema ``schema``."""
    return {"application/json": {"schema": ref(schema)}}


def closed(properties: Mapping[str, Schema], required: Sequence[str] | None = None, **extra: Any) -> Schema:
    """An object with only ``properties``, all of them required unless ``required`` names some."""
    return {
        "type": "object", "additionalProperties": False, "properties": dict(properties),
        "required": list(properties if required is None else required), **extra,
    }


def nullable(schema: Schema) -> Schema:
    """``schema`` or null."""
    return {"anyOf": [schema, {"type": "null"}]}


def text(**limits: Any) -> Schema:
    """A string with ``limits`` (minLength, pattern, format, ...)."""
    return {"type": "string", **limits}


def count(minimum: int = 0, **limits: Any) -> Schema:
    """An integer from ``minimum``."""
    return {"type": "integer", "minimum": minimum, **limits}


UUID = text(format="uuid")
TIMESTAMP = text(format="date-time")
NON_BLANK = r"\S"  # at least one character that is not white space
EXAMPLE_ACCOUNT = {"username": "ana", "password": "a long passphrase here"}  # as in docs/API_USAGE.md


# --- component schemas -----------------------------------------------------------------------


def _spec_components() -> dict[str, Schema]:
    """The specification export's schema and its parts (``$defs`` become ``Spec<Name>``, maturity its own)."""
    spec = spec_schema()
    names = {name: "Spec" + "".join(part.title() for part in name.split("_")) for name in spec["$defs"]}

    def retarget(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: ref(names[v.removeprefix("#/$defs/")])["$ref"] if k == "$ref" else retarget(v)
                    for k, v in node.items()}
        if isinstance(node, list):
            return [retarget(v) for v in node]
        return node

    spec = retarget({k: v for k, v in spec.items() if k not in ("$schema", "$id")})
    parts = {names[name]: schema for name, schema in spec.pop("$defs").items()}
    maturity = spec["properties"]["maturity"]
    spec["properties"]["maturity"] = ref("Maturity")
    return {"Specification": spec, "Maturity": maturity, **parts}


def _extended(base: Schema, **properties: Schema) -> Schema:
    """``base`` (a closed object) with more required properties (replacing same-named ones)."""
    return closed({**base["properties"], **properties})


def _schemas() -> dict[str, Schema]:
    """Every component schema: the views' shapes, the request bodies and the values both share."""
    spec = _spec_components()
    session = closed({
        "id": UUID, "project_id": UUID, "engine": ref("Engine"), "model": nullable(text()),
        "base_url": nullable(text()), "status": text(),
        "answer_count": count(), "question_count": count(), "created_at": TIMESTAMP, "completed_at": nullable(TIMESTAMP),
    })
    project_fields = {
        "id": UUID, "name": ref("ProjectName"), "description": ref("Description"), "template": ref("Template"),
        "status": ref("ProjectStatus"), "version": count(1), "created_at": TIMESTAMP, "updated_at": TIMESTAMP,
    }
    return {
        **spec,
        "Username": text(pattern=f"^{USERNAME_RE.pattern}$"),
        "ProjectName": text(minLength=1, maxLength=MAX_NAME_CHARS, pattern=NON_BLANK),
        "Description": text(maxLength=MAX_DESCRIPTION_CHARS),
        "Template": {"enum": list(TEMPLATES)},
        "ProjectStatus": {"enum": list(PROJECT_STATUSES)},
        "Engine": {"enum": list(ENGINES)},
        "Error": closed({"error": closed({"code": {"enum": error_codes()}, "message": text()})}),
        "User": closed({
            "id": UUID, "username": ref("Username"), "email": nullable(text()), "role": text(), "created_at": TIMESTAMP,
        }),
        "UserResponse": closed({"user": ref("User")}),
        "TokenPair": closed({
            "access_token": text(), "refresh_token": text(), "token_type": {"const": "bearer"}, "expires_in": count(1),
        }),
        "Project": closed({**project_fields, "sessions": {"type": "array", "items": ref("Session")}}, list(project_fields)),
        "ProjectResponse": closed({"project": ref("Project")}),
        "ProjectPage": closed({
            # with ?fields=..., each item carries only those keys
            "items": {"type": "array", "items": closed(project_fields, required=[])},
            "total": count(), "offset": count(maximum=MAX_OFFSET), "limit": count(1, maximum=MAX_PAGE),
        }),
        "Session": session,
        "SessionResponse": closed({"session": ref("Session")}),
        "SessionProgressResponse": closed({"session": _extended(
            session, progress=closed({"answered": count(), "asked": count(), "skipped": count()}), maturity=ref("Maturity"),
        )}),
        "SessionStarted": closed({"session": ref("Session"), "question": nullable(ref("Question"))}),
        "Question": closed({
            "id": UUID, "session_id": UUID, "seq": count(1), "key": text(), "category": ref("SpecCategory"),
            "text": text(), "why": text(), "status": text(), "kind": {"enum": ["bank", "probe"]},
        }),
        "QuestionResponse": closed({"question": nullable(ref("Question"))}),
        "Item": _extended(
            spec["SpecItem"], id=UUID, is_current={"type": "boolean"},
            source=closed({"answer_id": nullable(UUID), "question": nullable(text()), "answer": nullable(text()),
                           "turn": nullable(count(1)), "restated": {"type": "array", "items": ref("SpecEarlierSource")}}),
        ),
        "Conflict": _extended(
            spec["SpecConflict"], id=UUID, item_ids={"type": "array", "items": UUID, "minItems": 2, "maxItems": 2}
        ),
        "ConflictResponse": closed({"conflict": ref("Conflict")}),
        "ConflictList": closed({"conflicts": {"type": "array", "items": ref("Conflict")}}),
        "OpenQuestion": _extended(
            spec["SpecOpenQuestion"], id=UUID, session_id=nullable(UUID), created_at=TIMESTAMP,
        ),
        "OpenQuestionResponse": closed({"open_question": ref("OpenQuestion")}),
        "OpenQuestionList": closed({"open_questions": {"type": "array", "items": ref("OpenQuestion")}}),
        "Turn": closed({
            "answer_id": UUID, "seq": count(1), "items": {"type": "array", "items": ref("Item")},
            "conflicts": {"type": "array", "items": ref("Conflict")}, "next_question": nullable(ref("Question")),
            "maturity": ref("Maturity"),
            # which engine produced the items and the next question's wording, and why a step fell back
            "engine_used": closed({"extract": ref("Engine"), "question": ref("Engine")}),
            "fallbacks": {"type": "object", "additionalProperties": text(),
                          "propertyNames": {"enum": ["extract", "question"]}},
            # contradicting pairs beyond the per-item and per-turn bounds: counted, not recorded
            "conflicts_omitted": count(),
            # the answer's non-answers ("not specified", "TBD"), kept as open questions
            "open_questions": {"type": "array", "items": ref("OpenQuestion")},
            # a reply to a criteria follow-up: each statement and the capability it went to
            "criteria": {"type": "array", "items": closed({"ref": ref("SpecRef"), "criterion": text()})},
        }),
        "Usage": closed({
            "since": nullable(TIMESTAMP),
            "totals": closed({name: count() for name in USAGE_COUNTS} | {"cost_usd": {"type": "number", "minimum": 0}}),
            "rows": {"type": "array", "items": closed({
                "provider": ref("Provider"), "model": text(), "project_id": nullable(UUID),
                "project_name": nullable(text()), **{name: count() for name in USAGE_COUNTS},
                "cost_usd": {"type": "number", "minimum": 0},
            })},
        }),
        "Health": closed({
            "status": {"enum": list(HEALTH_STATUSES)},
            # each check: its status; with ?detail=1 (an admin) also its detail and duration
            "checks": closed({name: closed({
                "status": {"enum": list(HEALTH_STATUSES)}, "detail": text(), "duration_ms": {"type": "number", "minimum": 0},
            }, ["status"]) for name in CHECK_NAMES}),
            "version": {"const": __version__}, "uptime_s": {"type": "number", "minimum": 0},
        }),
        "OpenApiDocument": {"type": "object", "required": ["openapi", "info", "paths"]},
        # request bodies
        "Register": closed({
            "username": ref("Username"), "password": text(minLength=MIN_PASSWORD_CHARS, maxLength=MAX_PASSWORD_CHARS),
            "email": text(format="email", maxLength=MAX_EMAIL_CHARS),
        }, ["username", "password"], examples=[{**EXAMPLE_ACCOUNT, "email": "ana@example.org"}]),
        "NewUser": closed({
            "username": ref("Username"), "password": text(minLength=MIN_PASSWORD_CHARS, maxLength=MAX_PASSWORD_CHARS),
            "email": text(format="email", maxLength=MAX_EMAIL_CHARS), "role": {"enum": list(ROLES)},
        }, ["username", "password"], examples=[{**EXAMPLE_ACCOUNT, "role": "user"}]),
        "Login": closed({
            "username": text(), "password": text(maxLength=MAX_PASSWORD_CHARS), "otp": text(maxLength=MAX_OTP_CHARS),
        }, ["username", "password"], examples=[EXAMPLE_ACCOUNT]),
        "Refresh": closed({"refresh_token": text()}),
        "Logout": closed({"refresh_token": text()}, []),
        "MfaPassword": closed({"password": text(maxLength=MAX_PASSWORD_CHARS)}),
        "MfaCode": closed({"otp": text(maxLength=MAX_CODE_CHARS)}, examples=[{"otp": "123456"}]),
        "MfaDisable": closed(
            {"password": text(maxLength=MAX_PASSWORD_CHARS), "otp": text(maxLength=MAX_CODE_CHARS)},
            examples=[{"password": EXAMPLE_ACCOUNT["password"], "otp": "abcde-fghij"}],
        ),
        "MfaSetup": closed({
            "secret": text(pattern="^[A-Z2-7]+$"), "otpauth_uri": text(pattern="^otpauth://totp/"),
            "backup_codes": {"type": "array", "items": text(), "minItems": BACKUP_CODE_COUNT, "maxItems": BACKUP_CODE_COUNT},
        }),
        "SigningKey": closed({"secret": text(minLength=1)}),
        "PasswordChange": closed({
            "current_password": text(maxLength=MAX_PASSWORD_CHARS),
            "new_password": text(minLength=MIN_PASSWORD_CHARS, maxLength=MAX_PASSWORD_CHARS),
        }),
        "AuthSessionList": closed({"sessions": {"type": "array", "items": closed({
            "id": UUID, "created_at": TIMESTAMP, "last_used_at": TIMESTAMP, "expires_at": TIMESTAMP,
            "current": {"type": "boolean"},
        })}}),
        "NewProject": closed(
            {"name": ref("ProjectName"), "description": ref("Description"), "template": ref("Template")}, ["name"],
            examples=[{"name": "Library app", "template": "web-app"}],
        ),
        "ProjectChanges": closed(
            {"name": ref("ProjectName"), "description": ref("Description"), "status": ref("ProjectStatus")}, [],
            minProperties=1, examples=[{"status": "archived"}],
        ),
        "NewSession": closed({
            "engine": ref("Engine"), "model": text(minLength=1, maxLength=200),
            # only a URL listed in SocratesApp.llm_base_urls (422 otherwise)
            "base_url": text(maxLength=500, pattern="^https?://"),
        }, [], examples=[{"engine": "offline"}]),
        "Answer": closed(
            {"text": text(minLength=1, maxLength=MAX_ANSWER_CHARS, pattern=NON_BLANK), "question_id": UUID}, ["text"],
            examples=[{"text": "Members borrow up to 5 books; search answers in under 1 s for 95% of requests."}],
        ),
        "Resolution": closed(
            {"resolution": {"enum": list(RESOLUTIONS)}, "text": text(maxLength=MAX_ANSWER_CHARS)}, ["resolution"],
            # a merge needs the merged requirement's text
            **{"if": {"properties": {"resolution": {"const": "merge"}}},
               "then": {"required": ["text"], "properties": {"text": {"pattern": NON_BLANK}}}},
            examples=[{"resolution": "merge", "text": "The API is available 99.9% of the time each month."}],
        ),
        "Empty": closed({}),
        "Provider": {"enum": list(PROVIDERS)},
        "ApiKeyList": closed({"api_keys": {"type": "array", "items": closed({
            "provider": ref("Provider"), "last4": text(minLength=1, maxLength=4), "created_at": TIMESTAMP,
            "updated_at": TIMESTAMP,
        })}}),
        "AuditEntry": closed({
            "id": UUID, "at": TIMESTAMP, "user_id": nullable(UUID), "action": {"enum": list(ACTIONS)},
            "resource_type": nullable(text()), "resource_id": nullable(text()), "client_address": nullable(text()),
            "user_agent": nullable(text()), "changes": {"type": "object"},
        }),
        "AuditPage": closed({
            "items": {"type": "array", "items": ref("AuditEntry")},
            "total": count(), "offset": count(maximum=MAX_OFFSET), "limit": count(1, maximum=MAX_PAGE),
        }),
        "NewApiKey": closed(
            {"key": text(minLength=1, maxLength=MAX_KEY_CHARS, pattern="^[!-~]+$")},
            examples=[{"key": "sk-example-not-a-real-key-0000"}],
        ),
    }


def error_codes() -> list[str]:
    """Every ``code`` an error envelope can carry: the error classes' and tornado's own statuses'."""

    def subclasses(cls: type[SocratesError]) -> Iterator[type[SocratesError]]:
        yield cls
        for sub in cls.__subclasses__():
            yield from subclasses(sub)

    return sorted({cls.code for cls in subclasses(SocratesError)} | set(CODES_BY_STATUS.values()))


# --- parameters, headers and responses --------------------------------------------------------

PARAMETERS: dict[str, Schema] = {
    "offset": {"name": "offset", "in": "query", "description": "how many items to skip",
               "schema": count(maximum=MAX_OFFSET, default=0)},
    "limit": {"name": "limit", "in": "query", "description": "page size",
              "schema": count(1, maximum=MAX_PAGE, default=20)},
    "ProjectStatus": {"name": "status", "in": "query", "description": "only projects of this status",
                      "schema": ref("ProjectStatus")},
    "fields": {"name": "fields", "in": "query", "style": "form", "explode": False,
               "description": "the keys each item keeps (comma-separated)",
               "schema": {"type": "array", "items": {"enum": list(routes.PROJECT_FIELDS)}, "minItems": 1}},
    "include": {"name": "include", "in": "query", "description": "embed the project's sessions",
                "schema": {"enum": ["sessions"]}},
    "format": {"name": "format", "in": "query", "description": "the representation (default json)",
               "schema": {"enum": list(routes.SPEC_FORMATS), "default": "json"}},
    "ConflictStatus": {"name": "status", "in": "query", "description": "only conflicts of this status (default open)",
                       "schema": {"enum": list(CONFLICT_STATUSES), "default": "open"}},
    "OpenQuestionStatus": {"name": "status", "in": "query",
                           "description": "only open questions of this status (default: open and reopened)",
                           "schema": {"enum": list(OPEN_QUESTION_STATUSES)}},
    "provider": {"name": "provider", "in": "path", "required": True, "schema": ref("Provider"),
                 "description": "the LLM provider (another name is a validation_error)"},
    "AuditLimit": {"name": "limit", "in": "query", "description": "page size",
                   "schema": count(1, maximum=MAX_PAGE, default=50)},
    "action": {"name": "action", "in": "query", "description": "only rows of this action",
               "schema": {"enum": list(ACTIONS)}},
    "since": {"name": "since", "in": "query", "description": "only rows at or after this moment (with a time zone)",
              "schema": TIMESTAMP},
    "detail": {"name": "detail", "in": "query", "schema": {"enum": ["1"]},
               "description": "1: add each check's detail and duration (an admin's bearer token: 401 without a "
                              "valid one, 403 for other users)"},
    "IfNoneMatch": {"name": "If-None-Match", "in": "header", "schema": text(),
                    "description": "ETag(s) of a copy the client holds: 304 while it is current"},
    "SignatureTimestamp": {"name": TIMESTAMP_HEADER, "in": "header", "schema": text(pattern="^[0-9]{1,12}$"),
                           "description": "Unix seconds the request was signed at (within 5 minutes of the server's "
                                          "clock); needed while the user has a signing key"},
    "Signature": {"name": SIGNATURE_HEADER, "in": "header", "schema": text(pattern="^[0-9a-fA-F]{64}$"),
                  "description": "hex HMAC-SHA256 of METHOD, path, timestamp and SHA-256 of the body under the "
                                 "signing secret (docs/SECURITY.md); needed while the user has a signing key"},
    "IfMatch": {"name": "If-Match", "in": "header", "schema": text(),
                "description": "the ETag the change is based on (or *): 412 if the project changed since"},
}
HEADERS: dict[str, Schema] = {
    "ETag": {"description": "strong entity tag of the body", "schema": text()},
    "Location": {"description": "URL of the created resource", "schema": text()},
    "Retry-After": {"description": "seconds to wait before trying again", "schema": count(1)},
}
ERROR_HEADERS: dict[type[SocratesError], tuple[str, ...]] = {RateLimitedError: ("Retry-After",)}


def _id_parameter(name: str) -> str:
    """The parameter component of a path id (``project_id`` -> ``ProjectId``), or of a path
    parameter PARAMETERS describes (``provider``)."""
    return name if name in PARAMETERS else "".join(p.title() for p in name.removesuffix("_id").split("_")) + "Id"


def _error_response(description: str, headers: Sequence[str] = ()) -> Schema:
    """An error response: the envelope, with ``headers``."""
    response: Schema = {"description": description, "content": _json("Error")}
    if headers:
        response["headers"] = {h: ref(h, "headers") for h in headers}
    return response


def _class_response(cls: type[SocratesError]) -> Schema:
    """The response component of an error class, described by the class's docstring."""
    return _error_response((cls.__doc__ or cls.code).strip().splitlines()[0], ERROR_HEADERS.get(cls, ()))


# --- operations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """How one handler method appears in the document.

    ``response`` and ``body`` name component schemas (JSON); ``parameters`` names PARAMETERS;
    ``errors`` are the errors beyond those implied (401 unless public, 404 with a path id, 422
    with a body or a query parameter, 413 with a body). A ``conditional`` GET carries an ETag and
    answers If-None-Match with 304; ``media`` are other content types of the success response and
    ``other`` more responses as (status, schema, description).
    """

    summary: str
    response: str | None = None
    status: int = 200
    body: str | None = None
    parameters: tuple[str, ...] = ()
    errors: tuple[type[SocratesError], ...] = ()
    headers: tuple[str, ...] = ()
    conditional: bool = False
    media: tuple[str, ...] = ()
    other: tuple[tuple[int, str, str], ...] = ()


OPERATIONS: dict[tuple[type[BaseHandler], str], Operation] = {
    (routes.RegisterHandler, "post"): Operation(
        "Create an account (403 while SocratesApp.allow_registration is false: an admin creates accounts then, "
        "with POST users or socrates user create)", "UserResponse", 201, "Register",
        errors=(ForbiddenError, ConflictError, RateLimitedError)),
    (routes.UsersHandler, "post"): Operation(
        "Create an account as an admin (also while registration is closed); 403 for other users", "UserResponse",
        201, "NewUser", errors=(ForbiddenError, ConflictError)),
    (routes.LoginHandler, "post"): Operation(
        "Exchange a username and password (and a one-time code if enabled) for a token pair", "TokenPair",
        body="Login", errors=(UnauthorizedError, RateLimitedError)),
    (routes.RefreshHandler, "post"): Operation(
        "Exchange a refresh token for a new pair (the used token dies; reusing it revokes its family)", "TokenPair",
        body="Refresh", errors=(UnauthorizedError,)),
    (routes.LogoutHandler, "post"): Operation(
        "End the access token's session (and the refresh token's, if it is another one)", status=204,
        body="Logout"),
    (routes.PasswordHandler, "post"): Operation(
        "Change the password; every other session of the account ends, this one goes on", status=204,
        body="PasswordChange", errors=(RateLimitedError,)),
    (routes.AuthSessionsHandler, "get"): Operation(
        "The caller's live sessions (refresh-token families), newest first", "AuthSessionList", conditional=True),
    (routes.AuthSessionHandler, "delete"): Operation(
        "End one of the caller's sessions: its refresh and access tokens die (another user's id is 404)",
        status=204),
    (routes.MeHandler, "get"): Operation("The authenticated account", "UserResponse", conditional=True),
    (routes.MfaSetupHandler, "post"): Operation(
        "Start TOTP setup (password again): a new secret and 10 backup codes, enabled by auth/mfa/enable",
        "MfaSetup", body="MfaPassword", errors=(ConflictError, RateLimitedError)),
    (routes.MfaEnableHandler, "post"): Operation(
        "Enable the pending TOTP setup with a current code from the authenticator; every other session ends",
        status=204, body="MfaCode",
        errors=(ConflictError, RateLimitedError)),
    (routes.MfaDisableHandler, "post"): Operation(
        "Turn TOTP off: the password and a current code or an unused backup code", status=204, body="MfaDisable",
        errors=(ConflictError, RateLimitedError)),
    (routes.SigningKeyHandler, "post"): Operation(
        "Create a request-signing key (password again): the secret is shown once; 409 if one exists",
        "SigningKey", 201, "MfaPassword", errors=(ConflictError, RateLimitedError)),
    (routes.SigningKeyHandler, "delete"): Operation(
        "Delete the signing key (a signed request; 404 if there is none)", status=204, errors=(NotFoundError,)),
    (routes.ProjectsHandler, "get"): Operation(
        "A page of projects, newest first", "ProjectPage", parameters=("offset", "limit", "ProjectStatus", "fields"),
        conditional=True),
    (routes.ProjectsHandler, "post"): Operation(
        "Create a project", "ProjectResponse", 201, "NewProject", errors=(ConflictError,), headers=("Location",)),
    (routes.ProjectHandler, "get"): Operation(
        "A project, with its sessions if asked for", "ProjectResponse", parameters=("include",), conditional=True),
    (routes.ProjectHandler, "patch"): Operation(
        "Change a project's name, description or status", "ProjectResponse", body="ProjectChanges",
        parameters=("IfMatch",), errors=(ConflictError, PreconditionFailedError), headers=("ETag",)),
    (routes.ProjectHandler, "delete"): Operation("Delete a project with everything in it", status=204),
    (routes.ProjectSessionsHandler, "post"): Operation(
        "Start a session; it asks its first question (an LLM engine needs the caller's key, PUT api-keys/{provider}, "
        "unless SocratesApp.share_server_llm_keys is on: else 422)", "SessionStarted", 201, "NewSession"),
    (routes.SpecificationHandler, "get"): Operation(
        "The project's specification", "Specification", parameters=("format",), conditional=True,
        media=tuple(sorted({t for _, t in routes.SPEC_FORMATS.values()} - {"application/json"}))),
    (routes.ConflictsHandler, "get"): Operation(
        "The project's conflicts", "ConflictList", parameters=("ConflictStatus",), conditional=True),
    (routes.ResolveConflictHandler, "post"): Operation(
        "Resolve an open conflict", "ConflictResponse", body="Resolution", errors=(ConflictError,)),
    (routes.OpenQuestionsHandler, "get"): Operation(
        "The project's open questions (non-answers kept as gaps; open and reopened ones by default)",
        "OpenQuestionList", parameters=("OpenQuestionStatus",), conditional=True),
    (routes.ReopenQuestionHandler, "post"): Operation(
        "Reopen an open question: its question may be asked again in the project's sessions", "OpenQuestionResponse",
        body="Empty", errors=(ConflictError,)),
    (routes.SessionHandler, "get"): Operation(
        "A session with its progress and the project's maturity", "SessionProgressResponse", conditional=True),
    (routes.QuestionHandler, "get"): Operation(
        "The question waiting for an answer (null when none is left)", "QuestionResponse", conditional=True),
    (routes.AnswersHandler, "post"): Operation(
        "Answer the waiting question: the items, conflicts, next question and maturity it produced", "Turn",
        body="Answer", errors=(ConflictError,)),
    (routes.CompleteHandler, "post"): Operation(
        "Close the session", "SessionResponse", body="Empty", errors=(ConflictError,)),
    (routes.ApiKeysHandler, "get"): Operation(
        "The caller's stored provider API keys: provider and last 4 characters, never the key", "ApiKeyList",
        conditional=True),
    (routes.ApiKeyHandler, "put"): Operation(
        "Store the caller's API key for a provider, encrypted (replaces the previous one)", status=204,
        body="NewApiKey"),
    (routes.ApiKeyHandler, "delete"): Operation(
        "Forget the caller's API key for a provider (404 if none is stored)", status=204, errors=(ValidationError,)),
    (routes.AuditHandler, "get"): Operation(
        "The caller's audit rows, newest first (an admin's: every user's)", "AuditPage",
        parameters=("offset", "AuditLimit", "action", "since"), conditional=True),
    (routes.UsageHandler, "get"): Operation(
        "The caller's LLM calls, tokens and estimated cost per provider, model and project", "Usage",
        parameters=("since",), conditional=True),
    (routes.HealthHandler, "get"): Operation(
        "Whether socrates_nb and its dependencies work: status ok or degraded (200), or down (503); "
        "public, but ?detail=1 needs an admin's bearer token", "Health", parameters=("detail",),
        errors=(UnauthorizedError, ForbiddenError),
        other=((503, "Health", "down: a dependency failed (the database does not answer, ...)"),)),
    (routes.OpenApiHandler, "get"): Operation("This document", "OpenApiDocument", conditional=True),
}



def _operation(
    handler: type[BaseHandler], method: str, ids: list[str], op: Operation, schemas: Mapping[str, Schema]
) -> tuple[Schema, set[type[SocratesError]]]:
    """One operation object, and the error classes it answers with."""
    errors = set(op.errors)
    if not handler.public:
        errors.add(UnauthorizedError)
    if ids:
        errors.add(NotFoundError)
    if op.body or any(PARAMETERS[p]["in"] == "query" for p in op.parameters):
        errors.add(ValidationError)
    if op.body:
        errors.add(PayloadTooLargeError)
    signed = ("SignatureTimestamp", "Signature") if method in handler.signed_methods else ()
    parameters = [*map(_id_parameter, ids), *op.parameters, *signed, *(("IfNoneMatch",) if op.conditional else ())]
    success: Schema = {"description": op.summary}
    if op.response:
        success["content"] = {**_json(op.response), **{media: {"schema": text()} for media in op.media}}
    headers = (*op.headers, "ETag") if op.conditional else op.headers
    if headers:
        success["headers"] = {h: ref(h, "headers") for h in headers}
    responses: Schema = {str(op.status): success}
    if op.conditional:
        responses["304"] = ref("NotModified", "responses")
    responses.update({str(status): {"description": about, "content": _json(schema)} for status, schema, about in op.other})
    if op.body:
        responses["400"] = ref("BadRequest", "responses")
    responses.update({str(e.http_status): ref(e.__name__, "responses")
                      for e in sorted(errors, key=lambda e: e.http_status)})
    operation: Schema = {
        "operationId": method + handler.__name__.removesuffix("Handler"),
        "summary": op.summary,
        "parameters": [ref(p, "parameters") for p in parameters],
        "responses": responses,
    }
    if op.body:
        body = schemas[op.body]
        required = bool(body.get("required") or body.get("minProperties"))  # else it may be left out
        operation["requestBody"] = {"required": required, "content": _json(op.body)}
    if handler.public:
        operation["security"] = []
    return operation, errors


def build(routes_: Sequence[Route], base_url: str = "/") -> Schema:
    """The OpenAPI document of ``routes_`` (pattern, handler) served under ``{base_url}socrates/api/v1``."""
    schemas = _schemas()
    paths: dict[str, Schema] = {}
    used_errors: set[type[SocratesError]] = set()
    ids: set[str] = set()
    described: set[tuple[type[BaseHandler], str]] = set()
    for pattern, handler in routes_:
        for method in handler_methods(handler):
            if (handler, method) not in OPERATIONS:
                raise LookupError(f"{handler.__name__}.{method} has no Operation in OPERATIONS")
            described.add((handler, method))
            path, path_ids = path_of(pattern, handler, method)
            operation, errors = _operation(handler, method, path_ids, OPERATIONS[handler, method], schemas)
            paths.setdefault(path, {})[method] = {**operation, "tags": [pattern.split("/")[0]]}
            used_errors |= errors
            ids.update(path_ids)
    if set(OPERATIONS) - described:
        raise LookupError(f"OPERATIONS describes methods no route serves: {set(OPERATIONS) - described}")
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "socrates_nb REST API",
            "version": __version__,
            "description": "Projects, Socratic sessions, specifications and conflicts of socrates_nb, "
                           "served by its Jupyter Server extension. Errors are always "
                           '`{"error": {"code", "message"}}`; GETs carry a strong ETag.',
        },
        "servers": [{"url": f"{base_url}{API_PREFIX}"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
                "description": "an access token from POST auth/login or auth/refresh",
            }},
            "schemas": schemas,
            "parameters": {
                **PARAMETERS,
                **{_id_parameter(name): {
                    "name": name, "in": "path", "required": True, "schema": UUID,
                    "description": f"the {name.removesuffix('_id')}'s id (anything else, or another user's, is 404)",
                } for name in sorted(ids - set(PARAMETERS))},
            },
            "headers": HEADERS,
            "responses": {
                "NotModified": {"description": "the copy named by If-None-Match is current",
                                "headers": {"ETag": ref("ETag", "headers")}},
                "BadRequest": _error_response(
                    f"a body that does not parse as its Content-Type says ({CODES_BY_STATUS[400]}: e.g. "
                    "multipart/form-data without a boundary; malformed JSON is a validation_error)"),
                **{e.__name__: _class_response(e)
                   for e in sorted(used_errors, key=lambda e: e.http_status)},
            },
        },
    }


@functools.cache
def document(base_url: str = "/") -> Schema:
    """The document of the server's ROUTES under ``base_url`` (built once per base_url; do not change it)."""
    return build(routes.ROUTES, base_url)
