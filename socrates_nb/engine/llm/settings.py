"""LLM engine settings from ``SOCRATES_*`` variables, and where a provider's key comes from."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from typing import Any, Mapping
from urllib.parse import urlsplit

from socrates_nb.engine.base import ENGINES
from socrates_nb.errors import ConfigError, ValidationError

PROVIDERS = tuple(e for e in ENGINES if e != "offline")
"""The LLM engines (``engine="anthropic"`` or ``"openai"``; openai also means any OpenAI-compatible server)."""

EXTRA_HINT = "pip install 'socrates_nb[llm]'"

DEFAULT_MODELS = {"anthropic": "claude-sonnet-5", "openai": "gpt-4o-mini"}
KEY_ENV = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}
LOCAL_KEY = "not-needed"
"""Sent as the key to an OpenAI-compatible server given by ``base_url`` when no key is stored:
local servers (Ollama, vLLM, LM Studio) ignore it, and the SDK refuses an empty one."""

ENGINE_ENV = "SOCRATES_ENGINE"
_NUMBERS: dict[str, tuple[str, float, float]] = {
    # field: (variable, minimum, maximum)
    "connect_timeout": ("SOCRATES_LLM_CONNECT_TIMEOUT", 0.01, 600),
    "read_timeout": ("SOCRATES_LLM_READ_TIMEOUT", 0.01, 3600),
    "max_retries": ("SOCRATES_LLM_MAX_RETRIES", 0, 10),
    "breaker_failures": ("SOCRATES_LLM_BREAKER_FAILURES", 1, 1000),
    "breaker_cooldown": ("SOCRATES_LLM_BREAKER_COOLDOWN", 0, 86400),
    "cache_ttl": ("SOCRATES_LLM_CACHE_TTL", 0, 86400 * 7),
    "max_tokens": ("SOCRATES_LLM_MAX_TOKENS", 64, 64000),
}
_INTEGERS = {"max_retries", "breaker_failures", "max_tokens"}


@dataclass(frozen=True)
class LlmSettings:
    """How LLM engines call their providers (one set per process or workspace).

    Timeouts in seconds; ``max_retries`` retries on 429, 5xx, timeouts and refused
    connections (the SDK's backoff, honouring ``Retry-After``); after ``breaker_failures``
    failed calls in a row a provider is skipped for ``breaker_cooldown`` seconds; identical
    requests within ``cache_ttl`` seconds are answered from memory.
    """

    default_engine: str = "offline"
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_retries: int = 2
    breaker_failures: int = 3
    breaker_cooldown: float = 60.0
    cache_ttl: float = 3600.0
    max_tokens: int = 1024
    models: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_MODELS))
    base_urls: Mapping[str, str | None] = field(default_factory=lambda: dict.fromkeys(PROVIDERS))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "LlmSettings":
        """Defaults, overridden by ``SOCRATES_ENGINE``, ``SOCRATES_LLM_*``, ``SOCRATES_<PROVIDER>_MODEL``
        and ``SOCRATES_<PROVIDER>_BASE_URL``; a bad value raises ConfigError naming the variable."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, (var, low, high) in _NUMBERS.items():
            if var in env:
                values[name] = _number(var, env[var], low, high, name in _INTEGERS)
        engine = env.get(ENGINE_ENV, "offline").strip() or "offline"
        if engine not in ENGINES:
            raise ConfigError(f"{ENGINE_ENV}: unknown engine {engine!r}; valid engines: {', '.join(ENGINES)}")
        models = {p: env.get(f"SOCRATES_{p.upper()}_MODEL", "").strip() or DEFAULT_MODELS[p] for p in PROVIDERS}
        base_urls = {}
        for p in PROVIDERS:
            var = f"SOCRATES_{p.upper()}_BASE_URL"
            raw = env.get(var, "").strip()
            try:
                base_urls[p] = check_base_url(raw) if raw else None
            except ValidationError as exc:
                raise ConfigError(f"{var}: {exc.message}") from None
        return cls(default_engine=engine, models=models, base_urls=base_urls, **values)

    def but(self, **changes: Any) -> "LlmSettings":
        """A copy with ``changes``."""
        return replace(self, **changes)


def _number(var: str, raw: str, low: float, high: float, integer: bool) -> float:
    try:
        value = int(raw) if integer else float(raw)
        if not math.isfinite(value) or not low <= value <= high:
            raise ValueError
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise ConfigError(f"{var}: expected {kind} from {low:g} to {high:g}, got {raw!r}") from None
    return value


def check_engine(value: object) -> str:
    """``value`` as an engine name (offline, anthropic, openai), else a ValidationError."""
    if not isinstance(value, str) or value not in ENGINES:
        raise ValidationError(f"unknown engine {str(value)[:40]!r}; valid engines: {', '.join(ENGINES)}")
    return value


def check_model(value: object) -> str:
    """A model name: 1 to 200 printable characters."""
    if not isinstance(value, str) or not value.strip() or len(value) > 200 or not value.isprintable():
        raise ValidationError("model must be a model name of 1 to 200 printable characters, e.g. 'gpt-4o-mini'")
    return value.strip()


def check_base_url(value: object) -> str:
    """An http(s) URL without credentials, query or fragment (credentials belong in API keys)."""
    if not isinstance(value, str) or len(value) > 500:
        raise ValidationError("base_url must be an http:// or https:// URL of at most 500 characters")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"base_url must be an http:// or https:// URL with a host, got {value!r}")
    if parts.username or parts.password:
        raise ValidationError("base_url must not carry a user name or password: store the key with the API keys")
    if parts.query or parts.fragment:
        raise ValidationError("base_url must not have a query or fragment")
    return value.strip().rstrip("/")


def env_key(provider: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The vendor's own variable (``ANTHROPIC_API_KEY``, ``OPENAI_API_KEY``), if set."""
    env = os.environ if environ is None else environ
    return env.get(KEY_ENV[provider]) or None


def llm_defaults(settings: LlmSettings, engine: str | None, model: str | None, base_url: str | None) -> LlmSettings:
    """``settings`` with ``engine`` (and its ``model`` and ``base_url``) as the default of new sessions."""
    if engine is None:
        if model is not None or base_url is not None:
            raise ValidationError("model and base_url need an LLM engine: engine='anthropic' or engine='openai'")
        return settings
    name = check_engine(engine)
    if name == "offline":
        if model is not None or base_url is not None:
            raise ValidationError("model and base_url are for the LLM engines (anthropic, openai), not offline")
        return settings.but(default_engine=name)
    models, base_urls = dict(settings.models), dict(settings.base_urls)
    if model is not None:
        models[name] = check_model(model)
    if base_url is not None:
        base_urls[name] = check_base_url(base_url)
    return settings.but(default_engine=name, models=models, base_urls=base_urls)
