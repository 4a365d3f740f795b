"""socrates_nb's Prometheus metrics, in prometheus-client's default registry.

They carry the ``socrates_nb_`` prefix and appear on the Jupyter server's own ``/metrics``
(we never mount a second one). Labels hold route templates, methods, statuses, outcomes and
provider names, never raw ids or user input, so their number stays bounded. ``snapshot()``
reads the current values in a notebook or the CLI, without a server. docs/OPERATIONS.md has
the table of every metric. The module is callable: ``snb.metrics()`` is ``snapshot()``.
"""

from __future__ import annotations

import sys
import threading
import time
import types
from collections.abc import Callable
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram

PREFIX = "socrates_nb_"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
LLM_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
AUTH_OUTCOMES = {
    "auth.login": "login_ok", "auth.login_failed": "login_failed", "auth.refresh": "refresh",
    "auth.refresh_failed": "refresh_failed", "auth.refresh_reuse": "reuse_detected",
    "auth.rate_limited": "rate_limited", "auth.logout": "logout", "auth.signature_failed": "signature_failed",
    "mfa.code_failed": "otp_failed",
}
"""Audit actions that are authentication events, and their ``outcome`` label."""

HTTP_REQUESTS = Counter(
    "socrates_nb_http_requests", "REST requests answered, by route template, method and status",
    ["route", "method", "status"],
)
HTTP_SECONDS = Histogram(
    "socrates_nb_http_request_duration_seconds", "REST request duration by route template, in seconds",
    ["route"], buckets=LATENCY_BUCKETS,
)
ACTIVE_SESSIONS = Gauge("socrates_nb_active_sessions", "Socratic sessions open (status active), in the database")
ANSWERS = Counter("socrates_nb_answers_processed", "Answers processed into specification items")
ITEMS = Counter("socrates_nb_spec_items_extracted", "Specification items extracted from answers")
CONFLICTS = Counter("socrates_nb_conflicts_detected", "Conflicts detected between items, by type", ["type"])
CACHE_HITS = Counter("socrates_nb_cache_hits", "Read-cache lookups served from the cache")
CACHE_MISSES = Counter("socrates_nb_cache_misses", "Read-cache lookups that went to the database")
CACHE_HIT_RATIO = Gauge("socrates_nb_cache_hit_ratio", "Read-cache hits over lookups since the process started")
AUTH_EVENTS = Counter("socrates_nb_auth_events", "Authentication events by outcome", ["outcome"])
LLM_CALLS = Counter("socrates_nb_llm_calls", "Calls to LLM providers", ["provider"])
LLM_ERRORS = Counter("socrates_nb_llm_errors", "Failed calls to LLM providers, by kind", ["provider", "kind"])
LLM_SECONDS = Histogram(
    "socrates_nb_llm_request_duration_seconds", "LLM call latency in seconds", ["provider"], buckets=LLM_BUCKETS
)
LLM_TOKENS = Counter("socrates_nb_llm_tokens", "LLM tokens by provider and direction (in, out)", ["provider", "direction"])
DB_ERRORS = Counter("socrates_nb_database_errors", "Errors raised by the database driver, by kind", ["kind"])
HEALTH = Gauge(
    "socrates_nb_health_status", "Result of the last health check of each dependency: 0 ok, 1 degraded, 2 down",
    ["check"],
)

CACHE_HIT_RATIO.set_function(lambda: _ratio(_value(CACHE_HITS), _value(CACHE_MISSES)))
for _outcome in sorted(set(AUTH_OUTCOMES.values())):  # every outcome from 0, so a first event is an increase
    AUTH_EVENTS.labels(outcome=_outcome)


def _value(counter: Counter) -> float:
    return counter._value.get()  # noqa: SLF001 - the unlabelled counter's current value


def _ratio(hits: float, misses: float) -> float:
    return hits / (hits + misses) if hits + misses else 0.0


def auth_event(action: str) -> None:
    """Count an audit action that is an authentication event (others are ignored)."""
    outcome = AUTH_OUTCOMES.get(action)
    if outcome is not None:
        AUTH_EVENTS.labels(outcome=outcome).inc()


class CachedReading:
    """A gauge's value read by ``read`` at most every ``ttl`` seconds (scrapes must not load the database).

    A failing read leaves the last value (NaN before the first success).
    """

    def __init__(self, read: Callable[[], float], ttl: float = 10.0) -> None:
        self.read = read
        self.ttl = ttl
        self._value = float("nan")
        self._at = float("-inf")
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            if time.monotonic() - self._at >= self.ttl:
                self._at = time.monotonic()
                try:
                    self._value = float(self.read())
                except Exception:  # noqa: BLE001 - a scrape never fails because the database did
                    pass
            return self._value


def snapshot() -> dict[str, float]:
    """Every ``socrates_nb_`` sample of this process now: ``{'name{label="value",...}': value}``."""
    values: dict[str, float] = {}
    for metric in REGISTRY.collect():
        if not metric.name.startswith(PREFIX):
            continue
        for sample in metric.samples:
            if sample.name.endswith("_created"):
                continue
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            values[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return values


def value(name: str, **labels: Any) -> float:
    """One sample of ``snapshot()`` by name and labels (0.0 when it has not been recorded yet)."""
    key = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return snapshot().get(f"{name}{{{key}}}" if key else name, 0.0)


class _CallableModule(types.ModuleType):
    """This module, callable: ``snb.metrics()`` returns ``snapshot()``."""

    def __call__(self) -> dict[str, float]:
        return snapshot()


sys.modules[__name__].__class__ = _CallableModule
