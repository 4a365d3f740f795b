"""``SocratesApp``: the extension application, its settings (traitlets) and its routes."""

from __future__ import annotations

from dataclasses import dataclass, replace

from jupyter_server.extension.application import ExtensionApp
from traitlets import Int, Unicode

from socrates_nb.cache import ReadCache
from socrates_nb.config import Settings
from socrates_nb.security.settings import AuthSettings
from socrates_nb.services.auth import AuthService
from socrates_nb.services.projects import ProjectService
from socrates_nb.services.sessions import SessionService
from socrates_nb.services.specs import SpecService
from socrates_nb.storage.db import Database
from socrates_nb.storage.migrate import ensure_schema

API_PREFIX = "socrates/api/v1"
"""Where the routes live, under the server's ``base_url``."""


@dataclass(frozen=True)
class ApiContext:
    """What every handler needs: the database, the services and the HTTP limits."""

    db: Database
    auth: AuthService
    projects: ProjectService
    sessions: SessionService
    specs: SpecService
    max_body_bytes: int


class SocratesApp(ExtensionApp):
    """socrates_nb's REST API on a Jupyter server (``jupyter server extension list`` shows it)."""

    name = "socrates_nb"
    load_other_extensions = True

    database_url = Unicode(
        "", help="SQLAlchemy URL of the database (default: $SOCRATES_DATABASE_URL, else the embedded SQLite file)"
    ).tag(config=True)
    access_token_ttl = Int(
        None, allow_none=True, help="access-token lifetime in seconds (default: $SOCRATES_ACCESS_TTL or 900)"
    ).tag(config=True)
    refresh_token_ttl = Int(
        None, allow_none=True,
        help="refresh-token lifetime in seconds (default: $SOCRATES_REFRESH_TTL or 1209600, 14 days)",
    ).tag(config=True)
    max_body_bytes = Int(1024 * 1024, help="largest accepted request body, in bytes").tag(config=True)

    def initialize_settings(self) -> None:
        """Open the database (creating its schema when new) and build the services."""
        settings = Settings.from_env(self.database_url or None)
        db = Database(settings.database_url)
        ensure_schema(db)
        cache = ReadCache(maxsize=settings.cache_size, ttl=settings.cache_ttl)
        env = AuthSettings.from_env()
        auth_settings = replace(
            env,
            access_ttl_s=env.access_ttl_s if self.access_token_ttl is None else self.access_token_ttl,
            refresh_ttl_s=env.refresh_ttl_s if self.refresh_token_ttl is None else self.refresh_token_ttl,
        )
        auth = AuthService(db, auth_settings)
        self.settings["socrates"] = ApiContext(
            db=db, auth=auth, projects=ProjectService(db, cache), sessions=SessionService(db, cache),
            specs=SpecService(db, cache), max_body_bytes=self.max_body_bytes,
        )

    def initialize_handlers(self) -> None:
        """Mount the routes under ``{base_url}socrates/api/v1/``."""
        from socrates_nb.server.routes import ROUTES

        self.handlers.extend((f"/{API_PREFIX}/{path}", handler) for path, handler in ROUTES)

    async def stop_extension(self) -> None:
        """Release the database connections."""
        context = self.settings.get("socrates")
        if context is not None:
            context.db.dispose()
