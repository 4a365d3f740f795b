"""The REST routes: each handler parses input, calls one service and renders the result."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from socrates_nb.errors import DatabaseError, ForbiddenError, PreconditionFailedError, ValidationError
from socrates_nb.export import render
from socrates_nb.server.base import JSON_TYPE, BaseHandler, encoded_view, handler_methods, parse_etags, path_of
from socrates_nb.services.accounts import ADMIN_ROLE
from socrates_nb.services.validation import parse_uuid
from socrates_nb.templates import DEFAULT_TEMPLATE

PROJECT_FIELDS = ("id", "name", "description", "template", "status", "version", "created_at", "updated_at")
SPEC_FORMATS = {"json": ("json", "application/json"), "markdown": ("md", "text/markdown"), "csv": ("csv", "text/csv")}


def _int(handler: BaseHandler, name: str, default: int) -> int:
    raw = handler.query(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationError(f"{name} must be an integer, not {raw[:40]!r}") from None


# --- auth -----------------------------------------------------------------------------------


class RegisterHandler(BaseHandler):
    public = True

    def post(self) -> None:
        body = self.json_body({"username", "password", "email"}, {"username", "password"})
        user = self.api.auth.register(
            body["username"], body["password"], body.get("email"), client=self.client_ip
        )
        self.send({"user": user.to_dict()}, status=201)


class UsersHandler(BaseHandler):
    def post(self) -> None:
        body = self.json_body({"username", "password", "email", "role"}, {"username", "password"})
        user = self.api.auth.create_user(
            body["username"], body["password"], body.get("email"), body.get("role", "user"), by=self.actor
        )
        self.send({"user": user.to_dict()}, status=201)


class LoginHandler(BaseHandler):
    public = True

    def post(self) -> None:
        body = self.json_body({"username", "password", "otp"}, {"username", "password"})
        pair = self.api.auth.login(body["username"], body["password"], body.get("otp"), client=self.client_ip)
        self.send(pair.to_dict(), etag=False)


class RefreshHandler(BaseHandler):
    public = True

    def post(self) -> None:
        body = self.json_body({"refresh_token"}, {"refresh_token"})
        self.send(self.api.auth.refresh(body["refresh_token"]).to_dict(), etag=False)


class LogoutHandler(BaseHandler):
    def post(self) -> None:
        body = self.json_body({"refresh_token"})
        self.api.auth.logout(self.authenticated, body.get("refresh_token"))
        self.no_content()


class PasswordHandler(BaseHandler):
    def post(self) -> None:
        body = self.json_body({"current_password", "new_password"}, {"current_password", "new_password"})
        self.api.auth.change_password(
            self.authenticated, body["current_password"], body["new_password"], client=self.client_ip
        )
        self.no_content()


class AuthSessionsHandler(BaseHandler):
    def get(self) -> None:
        current = self.authenticated.session_id
        self.send({"sessions": [s.to_dict() for s in self.api.auth.sessions(self.actor, current)]})


class AuthSessionHandler(BaseHandler):
    def delete(self, session_id: str) -> None:
        self.api.auth.revoke_session(self.actor, session_id)
        self.no_content()


class MeHandler(BaseHandler):
    def get(self) -> None:
        self.send({"user": self.api.auth.me(self.actor).to_dict()})


class MfaSetupHandler(BaseHandler):
    def post(self) -> None:
        body = self.json_body({"password"}, {"password"})
        setup = self.api.mfa.setup(self.actor, body["password"], client=self.client_ip)
        self.send(setup.to_dict(), etag=False)  # Cache-Control: no-store, as on every auth/ route


class MfaEnableHandler(BaseHandler):
    def post(self) -> None:
        body = self.json_body({"otp"}, {"otp"})
        self.api.mfa.enable(self.actor, body["otp"], keep_session=self.authenticated.session_id)
        self.no_content()


class MfaDisableHandler(BaseHandler):
    signed_methods = frozenset({"post"})

    def post(self) -> None:
        body = self.json_body({"password", "otp"}, {"password", "otp"})
        self.api.mfa.disable(self.actor, body["password"], body["otp"], client=self.client_ip)
        self.no_content()


class SigningKeyHandler(BaseHandler):
    signed_methods = frozenset({"delete"})

    def post(self) -> None:
        body = self.json_body({"password"}, {"password"})
        secret = self.api.signing.create_key(self.actor, body["password"], client=self.client_ip)
        self.send({"secret": secret}, status=201, etag=False)  # shown once; Cache-Control: no-store on auth/

    def delete(self) -> None:
        self.api.signing.delete_key(self.actor)
        self.no_content()


# --- projects -------------------------------------------------------------------------------


class ProjectsHandler(BaseHandler):
    def get(self) -> None:
        fields = self._fields()
        page = self.api.projects.list(
            self.actor, status=self.query("status") or None, offset=_int(self, "offset", 0), limit=_int(self, "limit", 20)
        )
        if not fields:
            self.send_view(page)
            return
        payload = page.to_dict()
        payload["items"] = [{k: item[k] for k in fields} for item in payload["items"]]
        self.send(payload)

    def _fields(self) -> list[str]:
        raw = self.query("fields")
        if not raw:
            return []
        fields = [f.strip() for f in raw.split(",") if f.strip()]
        unknown = sorted(set(fields) - set(PROJECT_FIELDS))
        if unknown or not fields:
            raise ValidationError(f"unknown field(s) {', '.join(unknown) or raw!r}; valid: {', '.join(PROJECT_FIELDS)}")
        return fields

    def post(self) -> None:
        body = self.json_body({"name", "description", "template"}, {"name"})
        view = self.api.projects.create(
            self.actor, body["name"], body.get("description", ""), body.get("template", DEFAULT_TEMPLATE)
        )
        self.set_header("Location", f"{self.request.path.rstrip('/')}/{view.id}")
        self.send({"project": view.to_dict()}, status=201)


class ProjectHandler(BaseHandler):
    signed_methods = frozenset({"delete"})

    def get(self, project_id: str) -> None:
        include = self.query("include")
        if include not in (None, "", "sessions"):
            raise ValidationError(f"include must be 'sessions', not {include[:40]!r}")
        pid = parse_uuid(project_id, "project")
        self.send_view(self.api.projects.get(self.actor, pid, include_sessions=include == "sessions"), "project")

    def patch(self, project_id: str) -> None:
        body = self.json_body({"name", "description", "status"})
        pid = parse_uuid(project_id, "project")
        expected = None
        if_match = self.request.headers.get("If-Match")
        if if_match is not None:
            current = self.api.projects.get(self.actor, pid)
            if if_match.strip() != "*" and encoded_view(current, "project")[1] not in parse_etags(if_match):
                raise PreconditionFailedError("the project changed since that ETag: GET it again")
            expected = current.version
        view = self.api.projects.update(
            self.actor, pid, name=body.get("name"), description=body.get("description"),
            status=body.get("status"), expected_version=expected,
        )
        body, tag = encoded_view(view, "project")
        self.set_header("ETag", tag)
        self.send_bytes(body, JSON_TYPE, etag=False)

    def delete(self, project_id: str) -> None:
        self.api.projects.delete(self.actor, parse_uuid(project_id, "project"))
        self.no_content()


class ProjectSessionsHandler(BaseHandler):
    async def post(self, project_id: str) -> None:
        body = self.json_body({"engine", "model", "base_url"})
        session, question = await self.in_worker(
            self.api.sessions.start, self.actor, parse_uuid(project_id, "project"), engine=body.get("engine"),
            model=body.get("model"), base_url=body.get("base_url"),
        )
        self.send({"session": session.to_dict(), "question": question.to_dict() if question else None}, status=201)


class SpecificationHandler(BaseHandler):
    def get(self, project_id: str) -> None:
        fmt = self.query("format") or "json"
        if fmt not in SPEC_FORMATS:
            raise ValidationError(f"unknown format {fmt[:40]!r}; valid formats: {', '.join(SPEC_FORMATS)}")
        spec = self.api.specs.specification(self.actor, parse_uuid(project_id, "project"))
        name, content_type = SPEC_FORMATS[fmt]
        self.send_bytes(render(spec, name).encode(), f"{content_type}; charset=UTF-8")


class ConflictsHandler(BaseHandler):
    def get(self, project_id: str) -> None:
        status = self.query("status", "open")
        conflicts = self.api.specs.conflicts(self.actor, parse_uuid(project_id, "project"), status or None)
        self.send({"conflicts": [c.to_dict() for c in conflicts]})


class ResolveConflictHandler(BaseHandler):
    def post(self, conflict_id: str) -> None:
        body = self.json_body({"resolution", "text"}, {"resolution"})
        view = self.api.specs.resolve(self.actor, parse_uuid(conflict_id, "conflict"), body["resolution"], body.get("text"))
        self.send({"conflict": view.to_dict()}, etag=False)


class OpenQuestionsHandler(BaseHandler):
    def get(self, project_id: str) -> None:
        status = self.query("status")
        found = self.api.specs.open_questions(self.actor, parse_uuid(project_id, "project"), status or None)
        self.send({"open_questions": [q.to_dict() for q in found]})


class ReopenQuestionHandler(BaseHandler):
    def post(self, open_question_id: str) -> None:
        self.json_body(set())
        view = self.api.specs.reopen(self.actor, parse_uuid(open_question_id, "open question"))
        self.send({"open_question": view.to_dict()}, etag=False)


# --- sessions -------------------------------------------------------------------------------


class SessionHandler(BaseHandler):
    def get(self, session_id: str) -> None:
        self.send({"session": self.api.sessions.progress(self.actor, parse_uuid(session_id, "session")).to_dict()})


class QuestionHandler(BaseHandler):
    def get(self, session_id: str) -> None:
        question = self.api.sessions.current_question(self.actor, parse_uuid(session_id, "session"))
        self.send({"question": question.to_dict() if question else None})


class AnswersHandler(BaseHandler):
    async def post(self, session_id: str) -> None:
        body = self.json_body({"text", "question_id"}, {"text"})
        turn = await self.in_worker(
            self.api.sessions.answer, self.actor, parse_uuid(session_id, "session"), body["text"],
            question_id=body.get("question_id"),
        )
        self.send(turn.to_dict(), etag=False)


class CompleteHandler(BaseHandler):
    def post(self, session_id: str) -> None:
        self.json_body(set())
        self.send({"session": self.api.sessions.complete(self.actor, parse_uuid(session_id, "session")).to_dict()}, etag=False)


# --- api keys -------------------------------------------------------------------------------


class ApiKeysHandler(BaseHandler):
    def get(self) -> None:
        self.send({"api_keys": [k.to_dict() for k in self.api.api_keys.list(self.actor)]})


class ApiKeyHandler(BaseHandler):
    signed_methods = frozenset({"put", "delete"})

    def put(self, provider: str) -> None:
        body = self.json_body({"key"}, {"key"})
        self.api.api_keys.put(self.actor, provider, body["key"])
        self.no_content()

    def delete(self, provider: str) -> None:
        self.api.api_keys.delete(self.actor, provider)
        self.no_content()


# --- audit ----------------------------------------------------------------------------------


class AuditHandler(BaseHandler):
    def get(self) -> None:
        page = self.api.audit.list(
            self.actor, offset=_int(self, "offset", 0), limit=_int(self, "limit", 50),
            action=self.query("action") or None, since=self.query("since") or None,
        )
        self.send(page.to_dict())


class UsageHandler(BaseHandler):
    def get(self) -> None:
        self.send(self.api.usage.summary(self.actor, since=self.query("since") or None).to_dict())


# --- health ---------------------------------------------------------------------------------


class HealthHandler(BaseHandler):
    """The health report: public statuses; ``?detail=1`` with an admin's bearer token adds the detail."""

    public = True

    async def get(self) -> None:
        detail = self.query("detail")
        if detail not in (None, "1"):
            raise ValidationError(f"detail must be 1, not {detail[:40]!r}")
        shown = detail == "1" and self._admin()
        report = await self.api.health.run_async()  # the checks run on their own threads
        self.send(report.to_dict(detail=shown), status=report.http_status, etag=False)

    def _admin(self) -> bool:
        """Whether the bearer token is an admin's: 401 without a valid one, 403 for another role.
        False when the database cannot tell (the report then shows it down, without detail)."""
        try:
            actor = self.authenticate()
        except (SQLAlchemyError, DatabaseError):
            return False
        if actor.role != ADMIN_ROLE:
            raise ForbiddenError("?detail=1 needs an admin's bearer token")
        return True


class OpenApiHandler(BaseHandler):
    public = True

    def get(self) -> None:
        from socrates_nb.server.openapi import document  # it describes this module's routes, so imports it

        self.send(document(self.base_url))


_ID = r"([^/]+)"
ROUTES: list[tuple[str, Any]] = [
    ("auth/register", RegisterHandler),
    ("auth/login", LoginHandler),
    ("auth/refresh", RefreshHandler),
    ("auth/logout", LogoutHandler),
    ("auth/password", PasswordHandler),
    ("auth/sessions", AuthSessionsHandler),
    (f"auth/sessions/{_ID}", AuthSessionHandler),
    ("auth/me", MeHandler),
    ("auth/mfa/setup", MfaSetupHandler),
    ("auth/mfa/enable", MfaEnableHandler),
    ("auth/mfa/disable", MfaDisableHandler),
    ("auth/signing-key", SigningKeyHandler),
    ("users", UsersHandler),
    ("projects", ProjectsHandler),
    (f"projects/{_ID}", ProjectHandler),
    (f"projects/{_ID}/sessions", ProjectSessionsHandler),
    (f"projects/{_ID}/specification", SpecificationHandler),
    (f"projects/{_ID}/conflicts", ConflictsHandler),
    (f"conflicts/{_ID}/resolve", ResolveConflictHandler),
    (f"projects/{_ID}/open-questions", OpenQuestionsHandler),
    (f"open-questions/{_ID}/reopen", ReopenQuestionHandler),
    (f"sessions/{_ID}", SessionHandler),
    (f"sessions/{_ID}/question", QuestionHandler),
    (f"sessions/{_ID}/answers", AnswersHandler),
    (f"sessions/{_ID}/complete", CompleteHandler),
    ("api-keys", ApiKeysHandler),
    (f"api-keys/{_ID}", ApiKeyHandler),
    ("audit", AuditHandler),
    ("usage", UsageHandler),
    ("health", HealthHandler),
    ("openapi.json", OpenApiHandler),
]


for _pattern, _handler in ROUTES:  # the template logs and metric labels name (the OpenAPI document's path)
    _handler.route = path_of(_pattern, _handler, handler_methods(_handler)[0])[0]
