"""The public Python API: a workspace (database + acting user) and handles on its objects.

Every method calls the service layer; nothing here holds a business rule.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import OperationalError as SAOperationalError

from socrates_nb.cache import CacheStats, ReadCache
from socrates_nb.config import Settings
from socrates_nb.engine.llm.settings import LlmSettings, llm_defaults
from socrates_nb.errors import DatabaseError
from socrates_nb.export import render, spec_to_dict
from socrates_nb.logs import ensure_logging
from socrates_nb.notebook import display
from socrates_nb.quality.maturity import Maturity
from socrates_nb.services.accounts import ensure_user, local_username
from socrates_nb.security.crypto import SecretBox
from socrates_nb.services.api_keys import ApiKeyService, ApiKeyView
from socrates_nb.services.projects import ProjectService
from socrates_nb.services.sessions import SessionService
from socrates_nb.services.specs import SpecService
from socrates_nb.services.usage import UsageService, UsageView
from socrates_nb.services.views import (
    Actor,
    ConflictView,
    ItemView,
    OpenQuestionView,
    ProjectView,
    QuestionView,
    SessionView,
    SpecView,
    TurnView,
)
from socrates_nb.storage.db import Database
from socrates_nb.storage.migrate import ensure_schema
from socrates_nb.templates import DEFAULT_TEMPLATE

if TYPE_CHECKING:
    from socrates_nb.analytics import Analytics
    from socrates_nb.notebook.widgets import ProjectBrowser, SessionForm

Question = QuestionView
Turn = TurnView
Conflict = ConflictView
Item = ItemView


class Workspace:
    """A connection to a database on behalf of one user."""

    def __init__(self, db: Database, actor: Actor, cache: ReadCache, llm: LlmSettings | None = None) -> None:
        self.db = db
        self.user = actor
        self.cache = cache
        self._projects = ProjectService(db, cache)
        self._sessions = SessionService(db, cache, keys=self._stored_key, llm=llm)
        self._specs = SpecService(db, cache)
        self._usage = UsageService(db)
        self._keys: ApiKeyService | None = None

    def _api_keys(self) -> ApiKeyService:
        """The encrypted API keys (the master key file is created on first use)."""
        if self._keys is None:
            self._keys = ApiKeyService(self.db, SecretBox.load())
        return self._keys

    def _stored_key(self, actor: Actor, provider: str) -> str | None:
        return self._api_keys().secret(actor, provider)

    def set_api_key(self, provider: str, key: str) -> None:
        """Store your API key of ``provider`` (anthropic, openai), encrypted; LLM sessions use it."""
        self._api_keys().put(self.user, provider, key)

    def api_keys(self) -> list[ApiKeyView]:
        """Your stored API keys (provider and last 4 characters only)."""
        return self._api_keys().list(self.user)

    def delete_api_key(self, provider: str) -> None:
        """Forget your API key of ``provider``."""
        self._api_keys().delete(self.user, provider)

    def usage(self, since: datetime | str | None = None) -> UsageView:
        """Your LLM calls, tokens and estimated cost per provider, model and project (since ``since``)."""
        return self._usage.summary(self.user, since)

    def create_project(self, name: str, description: str = "", template: str = DEFAULT_TEMPLATE) -> "Project":
        """Create a project from a template (see ``socrates_nb.TEMPLATES``)."""
        return Project(self, self._projects.create(self.user, name, description, template))

    def projects(
        self, status: str | None = None, offset: int = 0, limit: int = 20, name_contains: str | None = None
    ) -> "ProjectPage":
        """A page of your projects, newest first; ``name_contains`` filters by name, ignoring case."""
        page = self._projects.list(self.user, status=status, offset=offset, limit=limit, name_contains=name_contains)
        return ProjectPage(tuple(Project(self, v) for v in page.items), page.total, page.offset, page.limit)

    def project(self, id_or_name: str | uuid.UUID) -> "Project":
        """Reopen one of your projects by id or name."""
        return Project(self, self._projects.get(self.user, id_or_name))

    def delete_project(self, id_or_name: str | uuid.UUID) -> None:
        """Delete one of your projects and everything recorded in it."""
        self._projects.delete(self.user, id_or_name)

    def session(self, session_id: str | uuid.UUID) -> "Session":
        """Reopen one of your sessions by id (e.g. from another process)."""
        return Session(self, self._sessions.get(self.user, session_id))

    def browser(self, page_size: int = 10) -> "ProjectBrowser":
        """A widget listing your projects (filter, status, paging) that opens a project's session form."""
        from socrates_nb.notebook.widgets import ProjectBrowser

        return ProjectBrowser(self, page_size=page_size)

    def analytics(self) -> "Analytics":
        """Read-only DuckDB views of your data, as a snapshot taken now (see docs/ANALYTICS.md)."""
        from socrates_nb.analytics import Analytics  # duckdb and pyarrow load only when used

        return Analytics.open(self)

    def cache_stats(self) -> CacheStats:
        """Hit and miss counts of the read cache."""
        return self.cache.stats()

    def close(self) -> None:
        """Release the database connections."""
        self.db.dispose()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Workspace user={self.user.username!r} db={self.db.url.render_as_string(hide_password=True)!r}>"


@dataclass(frozen=True)
class ProjectPage:
    """One page of projects: ``items`` and the ``total`` count."""

    items: tuple["Project", ...]
    total: int
    offset: int
    limit: int

    def __repr__(self) -> str:
        return display.page_text(self)

    def _repr_html_(self) -> str:
        return display.page_html(self)


class Project:
    """A handle on one of your projects."""

    def __init__(self, ws: Workspace, view: ProjectView) -> None:
        self._ws = ws
        self._view = view

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)

    @property
    def view(self) -> ProjectView:
        """The project's data as last loaded."""
        return self._view

    def refresh(self) -> "Project":
        """Reload the project's data."""
        self._view = self._ws._projects.get(self._ws.user, self._view.id)
        return self

    def details(self) -> ProjectView:
        """The project's data with its sessions (oldest first), freshly loaded."""
        return self._ws._projects.get(self._ws.user, self._view.id, include_sessions=True)

    def sessions(self) -> list["Session"]:
        """The project's sessions, oldest first."""
        return [Session(self._ws, s) for s in self.details().sessions or ()]

    def start_session(self, engine: str | None = None, model: str | None = None, base_url: str | None = None) -> "Session":
        """Open a new Socratic session; its first question is ready at once.

        ``engine``: offline (the default, unless ``connect(engine=...)`` or ``$SOCRATES_ENGINE``
        says otherwise), anthropic or openai; ``model`` and ``base_url`` (an OpenAI-compatible
        server such as Ollama) for the LLM engines. See docs/LLM.md.
        """
        view, _question = self._ws._sessions.start(self._ws.user, self._view.id, engine=engine, model=model,
                                                   base_url=base_url)
        return Session(self._ws, view)

    def specification(self) -> "Specification":
        """The current specification: items, open conflicts, maturity, gaps."""
        return Specification(self._ws._specs.specification(self._ws.user, self._view.id))

    def conflicts(self, status: str | None = "open") -> list[ConflictView]:
        """The project's conflicts (open ones by default)."""
        return self._ws._specs.conflicts(self._ws.user, self._view.id, status)

    def resolve_conflict(self, conflict: ConflictView | str | uuid.UUID, resolution: str, text: str | None = None) -> ConflictView:
        """Resolve a conflict: ``keep_a``, ``keep_b``, ``merge`` (with ``text``) or ``dismiss``."""
        cid = conflict.id if isinstance(conflict, ConflictView) else conflict
        return self._ws._specs.resolve(self._ws.user, cid, resolution, text)

    def open_questions(self, status: str | None = None) -> list[OpenQuestionView]:
        """Questions the user could not answer yet ("not specified", "TBD"): still open ones by
        default, or those of one ``status`` (open, reopened, resolved)."""
        return self._ws._specs.open_questions(self._ws.user, self._view.id, status)

    def reopen_question(self, open_question: OpenQuestionView | str | uuid.UUID) -> OpenQuestionView:
        """Reopen an open question: its question may be asked again in the next sessions."""
        oid = open_question.id if isinstance(open_question, OpenQuestionView) else open_question
        return self._ws._specs.reopen(self._ws.user, oid)

    def __repr__(self) -> str:
        return display.project_text(self)

    def _repr_html_(self) -> str:
        return display.project_html(self)


class Session:
    """A handle on one Socratic session."""

    def __init__(self, ws: Workspace, view: SessionView) -> None:
        self._ws = ws
        self._view = view

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)

    @property
    def view(self) -> SessionView:
        """The session's data as last loaded."""
        return self._view

    def refresh(self) -> "Session":
        """Reload the session's data."""
        self._view = self._ws._sessions.get(self._ws.user, self._view.id)
        return self

    def project(self) -> Project:
        """The project this session belongs to, freshly loaded."""
        return self._ws.project(self._view.project_id)

    def next_question(self) -> QuestionView | None:
        """The question waiting for an answer (None when nothing is left to ask)."""
        return self._ws._sessions.current_question(self._ws.user, self._view.id)

    def answer(self, text: str, question_id: str | uuid.UUID | None = None) -> TurnView:
        """Answer the pending question; returns the items, conflicts, next question and maturity."""
        turn = self._ws._sessions.answer(self._ws.user, self._view.id, text, question_id=question_id)
        self.refresh()
        return turn

    def skip(self) -> QuestionView | None:
        """Skip the pending question; returns the next one."""
        question = self._ws._sessions.skip(self._ws.user, self._view.id)
        self.refresh()
        return question

    def complete(self) -> "Session":
        """Close the session."""
        self._view = self._ws._sessions.complete(self._ws.user, self._view.id)
        return self

    def widget(self) -> "SessionForm":
        """A form to answer, skip and complete this session, with maturity, conflicts and gaps."""
        from socrates_nb.notebook.widgets import SessionForm

        return SessionForm(self)

    def __repr__(self) -> str:
        return display.session_text(self)

    def _repr_html_(self) -> str:
        return display.session_html(self)


class Specification:
    """A project's specification with its exports."""

    def __init__(self, view: SpecView) -> None:
        self.view = view

    @property
    def items(self) -> tuple[ItemView, ...]:
        """The current items, by category then ref."""
        return self.view.items

    @property
    def conflicts(self) -> tuple[ConflictView, ...]:
        """The open conflicts."""
        return self.view.conflicts

    @property
    def maturity(self) -> Maturity:
        """Maturity score and per-category coverage."""
        return self.view.maturity

    @property
    def gaps(self) -> tuple[str, ...]:
        """What is still missing, per category."""
        return self.view.gaps

    @property
    def open_questions(self) -> tuple[OpenQuestionView, ...]:
        """Questions still waiting for an answer (non-answers such as "not specified")."""
        return self.view.open_questions

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape as a dict."""
        return spec_to_dict(self.view)

    def to_markdown(self) -> str:
        """The specification as Markdown."""
        return render(self.view, "md")

    def to_json(self) -> str:
        """The specification as JSON text."""
        return render(self.view, "json")

    def to_csv(self) -> str:
        """The current items as CSV."""
        return render(self.view, "csv")

    def to_html(self) -> str:
        """The specification as an HTML fragment (user text escaped)."""
        return render(self.view, "html")

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __repr__(self) -> str:
        return (
            f"<Specification {self.view.project.name!r} items={len(self.items)} "
            f"conflicts={len(self.conflicts)} maturity={self.maturity.score:.1f}>"
        )


def connect(
    url: str | None = None, user: str | None = None, engine: str | None = None, model: str | None = None,
    base_url: str | None = None,
) -> Workspace:
    """Open a workspace.

    ``url`` defaults to ``$SOCRATES_DATABASE_URL``, else the embedded SQLite file under
    the Jupyter data dir. A new database gets its schema; ``user`` defaults to the
    operating-system user. ``engine`` (with ``model`` and ``base_url``) is the default of
    the sessions this workspace starts (else ``$SOCRATES_ENGINE``, else offline).
    """
    ensure_logging()
    settings = Settings.from_env(url)
    llm = llm_defaults(LlmSettings.from_env(), engine, model, base_url)
    shown = settings.database_url.set(query={}).render_as_string(hide_password=True)
    try:
        db = Database(settings.database_url)
    except OSError as exc:  # e.g. the SQLite file's folder cannot be created
        raise DatabaseError(f"cannot open the database {shown}: {exc.strerror or exc}") from exc
    try:
        ensure_schema(db)
        actor = ensure_user(db, user if user is not None else local_username())
    except SAOperationalError as exc:  # server down, database missing, authentication failed
        db.dispose()
        reason = " ".join(str(exc.orig).split()) if exc.orig is not None else type(exc).__name__
        raise DatabaseError(f"cannot open the database {shown}: {reason}") from exc
    except Exception:
        db.dispose()
        raise
    return Workspace(db, actor, ReadCache(maxsize=settings.cache_size, ttl=settings.cache_ttl), llm)
