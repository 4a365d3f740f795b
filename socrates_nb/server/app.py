"""``SocratesApp``: the extension application, its settings (traitlets) and its routes."""

from __future__ import annotations

import os
import re
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Int, List, TraitError, Unicode, default, validate

from socrates_nb import metrics
from socrates_nb.cache import ReadCache
from socrates_nb.config import Settings
from socrates_nb.engine.llm.settings import LlmSettings, check_base_url
from socrates_nb.errors import ValidationError
from socrates_nb.logs import LogSettings, configure_logging
from socrates_nb.metrics import CachedReading
from socrates_nb.security.ratelimit import Network, proxy_network
from socrates_nb.security.settings import AuthSettings, env_flag
from socrates_nb.services.api_keys import ApiKeyService
from socrates_nb.services.audit import AuditService
from socrates_nb.services.auth import AuthService
from socrates_nb.services.health import HealthService
from socrates_nb.services.mfa import MfaService
from socrates_nb.services.projects import ProjectService
from socrates_nb.services.sessions import SessionService, count_active_sessions, extraction_pool
from socrates_nb.services.signing import SigningService
from socrates_nb.services.specs import SpecService
from socrates_nb.services.usage import UsageService
from socrates_nb.storage.db import Database
from socrates_nb.storage.migrate import ensure_schema

API_PREFIX = "socrates/api/v1"
"""Where the routes live, under the server's ``base_url``."""

CORS_ORIGINS_ENV = "SOCRATES_CORS_ORIGINS"
SHARE_SERVER_LLM_KEYS_ENV = "SOCRATES_SHARE_SERVER_LLM_KEYS"
_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?")
_HOST = re.compile(r"[a-z0-9.-]+|\[[0-9a-f:.]+\]")

AUTH_TRAITS = {
    "access_token_ttl": "access_ttl_s",
    "refresh_token_ttl": "refresh_ttl_s",
    "login_max_failures": "login_max_failures",
    "login_window": "login_window_s",
    "register_max": "register_max",
    "register_window": "register_window_s",
    "allow_registration": "allow_registration",
}
"""Traits of ``SocratesApp`` that override an ``AuthSettings`` field when set (else the env default holds)."""


def cors_origin(value: str) -> str:
    """An origin as browsers send it (``https://app.example.com``, lower case); TraitError otherwise."""
    origin = value.strip().lower().rstrip("/")
    if not _ORIGIN.fullmatch(origin):
        raise TraitError(f"not a CORS origin: {value!r} (expected scheme://host[:port], no wildcard, no path)")
    return origin


def _optional_int(description: str) -> Int:
    """A config trait that overrides an environment default only when set."""
    return Int(None, allow_none=True, help=description).tag(config=True)


def cors_origins_from_env() -> frozenset[str]:
    """The origins listed in ``$SOCRATES_CORS_ORIGINS`` (comma-separated)."""
    return frozenset(cors_origin(o) for o in os.environ.get(CORS_ORIGINS_ENV, "").split(",") if o.strip())


@dataclass(frozen=True)
class ApiContext:
    """What every handler needs: the database, the services and the HTTP limits."""

    db: Database
    auth: AuthService
    projects: ProjectService
    sessions: SessionService
    specs: SpecService
    mfa: MfaService
    api_keys: ApiKeyService
    signing: SigningService
    audit: AuditService
    health: HealthService
    usage: UsageService
    max_body_bytes: int
    trusted_hosts: frozenset[str] = frozenset()
    require_https: bool = False
    hsts_max_age: int = 0
    cors_origins: frozenset[str] = frozenset()
    trusted_proxies: tuple[Network, ...] = ()


class SocratesApp(ExtensionApp):
    """socrates_nb's REST API on a Jupyter server (``jupyter server extension list`` shows it)."""

    name = "socrates_nb"
    load_other_extensions = True

    database_url = Unicode(
        "", help="SQLAlchemy URL of the database (default: $SOCRATES_DATABASE_URL, else the embedded SQLite file)"
    ).tag(config=True)
    access_token_ttl = _optional_int("access-token lifetime in seconds (default: $SOCRATES_ACCESS_TTL or 900)")
    refresh_token_ttl = _optional_int(
        "refresh-token lifetime in seconds (default: $SOCRATES_REFRESH_TTL or 1209600, 14 days)"
    )
    login_max_failures = _optional_int(
        "failed logins allowed per account and per client address in login_window "
        "(default: $SOCRATES_LOGIN_MAX_FAILURES or 10)"
    )
    login_window = _optional_int("login failure window in seconds (default: $SOCRATES_LOGIN_WINDOW or 900)")
    register_max = _optional_int(
        "registrations allowed per client address in register_window (default: $SOCRATES_REGISTER_MAX or 20)"
    )
    register_window = _optional_int("registration window in seconds (default: $SOCRATES_REGISTER_WINDOW or 3600)")
    allow_registration = Bool(
        None, allow_none=True,
        help="whether anyone may create an account with POST auth/register; when false, accounts are made by an "
             "operator (socrates user create) or an admin (POST users) (default: $SOCRATES_ALLOW_REGISTRATION or true)",
    ).tag(config=True)
    extraction_processes = Int(
        1, help="worker processes that run the offline engine's extraction rules, so a long answer never holds "
                "the interpreter lock the server's IO loop (kernels, file saves) needs; 0 runs them in the "
                "server process",
    ).tag(config=True)
    _extraction_pool: Executor | None = None
    share_server_llm_keys = Bool(
        help="whether ANTHROPIC_API_KEY / OPENAI_API_KEY of the server's environment serve REST users without a "
             "stored key of their own (default: $SOCRATES_SHARE_SERVER_LLM_KEYS or false: each user stores a key "
             "with PUT api-keys/{provider})",
    ).tag(config=True)
    max_body_bytes = Int(1024 * 1024, help="largest accepted request body, in bytes").tag(config=True)
    cors_origins = List(
        Unicode(),
        help="origins (scheme://host[:port]) whose pages may call the API from a browser; others are refused "
             "and never reflected (default: $SOCRATES_CORS_ORIGINS, comma-separated, else none)",
    ).tag(config=True)

    trusted_hosts = List(
        Unicode(), help="host names the API answers for (the Host header); others get 403 (default: any)"
    ).tag(config=True)
    require_https = Bool(
        False, help="redirect plain-HTTP requests to HTTPS with 308, to the request's Host once it passed the host "
                    "checks (trusted_hosts, ServerApp.allow_remote_access); behind a TLS proxy, set "
                    "ServerApp.trust_xheaders"
    ).tag(config=True)
    hsts_max_age = Int(
        0, help="when > 0, HTTPS responses carry Strict-Transport-Security with this max-age in seconds"
    ).tag(config=True)
    json_log_file = Unicode(
        None, allow_none=True,
        help="the JSON-lines log file, or 'off' (default: $SOCRATES_LOG_FILE, else <data dir>/logs/socrates_nb.log)",
    ).tag(config=True)
    json_log_level = Unicode(None, allow_none=True, help="lowest level written to the log file (default: INFO)").tag(config=True)
    json_log_max_bytes = _optional_int("size at which the log file rotates, in bytes (default: 10485760)")
    json_log_backups = _optional_int("rotated log files kept (default: 5)")
    trusted_proxies = List(
        Unicode(),
        help="addresses or networks (CIDR) of the reverse proxies in front of the server: only from them is "
             "X-Forwarded-For read to find the client's address (default: none, the TCP peer is the client)",
    ).tag(config=True)

    llm_base_urls = List(
        Unicode(),
        help="OpenAI-compatible or Anthropic base URLs a REST client may name in a new session's base_url "
             "(default: none; $SOCRATES_<PROVIDER>_BASE_URL sets the server's own default)",
    ).tag(config=True)

    @default("share_server_llm_keys")
    def _share_keys_from_env(self) -> bool:
        return env_flag(SHARE_SERVER_LLM_KEYS_ENV, False)

    @validate("llm_base_urls")
    def _valid_base_urls(self, proposal: Any) -> list[str]:
        try:
            return [check_base_url(value) for value in proposal["value"]]
        except ValidationError as exc:
            raise TraitError(f"llm_base_urls: {exc.message}") from None

    @validate("trusted_hosts")
    def _valid_hosts(self, proposal: Any) -> list[str]:
        hosts = [h.strip().lower() for h in proposal["value"]]
        bad = [h for h in hosts if not _HOST.fullmatch(h)]
        if bad:
            raise TraitError(f"not a host name: {bad[0]!r} (a name or address, without scheme or port)")
        return hosts

    @validate("trusted_proxies")
    def _valid_proxies(self, proposal: Any) -> list[str]:
        for value in proposal["value"]:
            try:
                proxy_network(value)
            except ValueError:
                raise TraitError(f"not an IP address or network: {value!r}") from None
        return proposal["value"]

    @validate("hsts_max_age")
    def _valid_hsts(self, proposal: Any) -> int:
        if not 0 <= proposal["value"] <= 2 * 365 * 86_400:
            raise TraitError("hsts_max_age must be from 0 (off) to 63072000 (two years)")
        return proposal["value"]

    @validate("extraction_processes")
    def _valid_processes(self, proposal: Any) -> int:
        if not 0 <= proposal["value"] <= 64:
            raise TraitError(f"extraction_processes must be from 0 to 64, got {proposal['value']}")
        return int(proposal["value"])

    @validate("cors_origins")
    def _valid_origins(self, proposal: Any) -> list[str]:
        return [cors_origin(value) for value in proposal["value"]]

    def initialize_settings(self) -> None:
        """Open the database (creating its schema when new) and build the services."""
        configure_logging(self._log_settings())
        if self.require_https and not self.trusted_hosts and self.serverapp.allow_remote_access:
            self.log.warning("require_https without trusted_hosts: the HTTPS redirect goes to whatever Host a client "
                             "sends (ServerApp.allow_remote_access lets every host through); list SocratesApp.trusted_hosts")
        settings = Settings.from_env(self.database_url or None)
        db = Database(settings.database_url)
        ensure_schema(db)
        metrics.ACTIVE_SESSIONS.set_function(CachedReading(lambda: count_active_sessions(db)))
        cache = ReadCache(maxsize=settings.cache_size, ttl=settings.cache_ttl)
        overrides = {field: getattr(self, trait) for trait, field in AUTH_TRAITS.items()
                     if getattr(self, trait) is not None}
        auth = AuthService(db, replace(AuthSettings.from_env(), **overrides))
        api_keys = ApiKeyService(db, auth.mfa.box)  # one set of master keys for every secret
        self._extraction_pool = extraction_pool(self.extraction_processes)
        sessions = SessionService(db, cache, keys=api_keys.secret, llm=LlmSettings.from_env(),
                                  allowed_base_urls=frozenset(self.llm_base_urls),
                                  env_keys=self.share_server_llm_keys, extraction_pool=self._extraction_pool)
        sessions.warm_up()  # the engine's data, parsed before the first request rather than during it
        self.settings["socrates"] = ApiContext(
            db=db, auth=auth, projects=ProjectService(db, cache), sessions=sessions,
            specs=SpecService(db, cache), max_body_bytes=self.max_body_bytes,
            cors_origins=frozenset(self.cors_origins) or cors_origins_from_env(),
            trusted_hosts=frozenset(self.trusted_hosts), require_https=self.require_https,
            hsts_max_age=self.hsts_max_age,
            trusted_proxies=tuple(proxy_network(p) for p in self.trusted_proxies),
            mfa=auth.mfa,
            api_keys=api_keys,
            signing=SigningService(db, auth.mfa.box, auth.mfa.reauthenticate),
            audit=AuditService(db),
            health=HealthService(db, cache),
            usage=UsageService(db),
        )

    def _log_settings(self) -> LogSettings:
        """LogSettings from the environment, with the json_log_* traits that are set."""
        settings = LogSettings.from_env().but(
            level=self.json_log_level and self.json_log_level.upper(), max_bytes=self.json_log_max_bytes, backups=self.json_log_backups,
        )
        if self.json_log_file is not None:
            settings = replace(settings, file=None if self.json_log_file.strip().lower() == "off" else Path(self.json_log_file))
        return settings

    def initialize_handlers(self) -> None:
        """Mount the routes under ``{base_url}socrates/api/v1/``."""
        from socrates_nb.server.routes import ROUTES

        self.handlers.extend((f"/{API_PREFIX}/{path}", handler) for path, handler in ROUTES)

    async def stop_extension(self) -> None:
        """Release the database connections."""
        metrics.ACTIVE_SESSIONS.set_function(lambda: float("nan"))  # this database is closing
        context = self.settings.get("socrates")
        if context is not None:
            context.health.close()
            context.db.dispose()
        if self._extraction_pool is not None:
            self._extraction_pool.shutdown(wait=False, cancel_futures=True)
