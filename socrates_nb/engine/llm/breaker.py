"""A circuit breaker per provider endpoint: after repeated failures, skip it for a cool-down.

Its state goes to the health registry (:data:`socrates_nb.services.health.LLM_STATES`), so
``GET health`` shows ``llm: degraded`` while a provider is skipped.
"""

from __future__ import annotations

import threading
import time
from typing import Callable
from urllib.parse import urlsplit

from socrates_nb.logs import get_logger
from socrates_nb.services.health import LLM_STATES

_log = get_logger(__name__)


class CircuitBreaker:
    """Closed (calls go through) until ``failures`` calls fail in a row; then open for
    ``cooldown`` seconds (calls are skipped); then one trial call decides (half-open)."""

    def __init__(self, name: str, failures: int, cooldown: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.failures = failures
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._failed = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open``."""
        with self._lock:
            if self._opened_at is None:
                return "closed"
            return "half-open" if self._clock() - self._opened_at >= self.cooldown else "open"

    def allow(self) -> bool:
        """Whether a call may go to the provider now (one trial at a time once the cool-down is over)."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self._clock() - self._opened_at < self.cooldown or self._trial:
                return False
            self._trial = True
            return True

    def success(self) -> None:
        """A call went through: close the circuit."""
        with self._lock:
            was_open = self._opened_at is not None
            self._failed, self._opened_at, self._trial = 0, None, False
        if was_open:
            _log.info("llm circuit closed", provider=self.name)
        LLM_STATES.report(self.name, "ok", "circuit closed")

    def failure(self, kind: str) -> None:
        """A call failed (after the SDK's retries): open the circuit at the threshold, or again after a failed trial."""
        with self._lock:
            self._failed += 1
            opening = self._trial or (self._opened_at is None and self._failed >= self.failures)
            if opening:
                self._opened_at, self._trial = self._clock(), False
        if opening:
            _log.warning("llm circuit open", provider=self.name, kind=kind, cooldown_s=self.cooldown)
            LLM_STATES.report(self.name, "degraded", f"circuit open after {kind}; skipped for {self.cooldown:g} s")


_breakers: dict[tuple[str, str, int, float], CircuitBreaker] = {}
_lock = threading.Lock()


def breaker_for(provider: str, base_url: str | None, failures: int, cooldown: float) -> CircuitBreaker:
    """The process's breaker of one endpoint (``provider`` at ``base_url``'s host)."""
    host = urlsplit(base_url).netloc if base_url else ""
    name = f"{provider}@{host}" if host else provider
    key = (name, base_url or "", failures, cooldown)
    with _lock:
        if key not in _breakers:
            _breakers[key] = CircuitBreaker(name, failures, cooldown)
        return _breakers[key]
