"""The LLM engine: a model phrases questions and extracts items; the offline engine checks and stands in.

* Which category is due is the coverage model's decision (the offline engine's
  ``next_question``); the model only phrases the question (:meth:`LlmEngine.phrase`).
* Extraction asks for a JSON array of items; each passes :func:`checks.checked_item`.
* A reply that is not valid JSON for the schema gets one repair request quoting the
  problem; a second bad reply, a provider failure (after the SDK's retries) or an open
  circuit makes that step fall back to the offline engine. ``used`` says which engine
  produced each step and ``fallbacks`` why one fell back.
* Identical requests within the cache TTL are answered from memory (per user and model).
* ``calls`` lists every call with its tokens and estimated cost, for the usage table.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

from cachetools import TTLCache

from socrates_nb import metrics
from socrates_nb.engine.base import EngineContext, ItemDraft, QuestionDraft
from socrates_nb.engine.llm.breaker import CircuitBreaker, breaker_for
from socrates_nb.engine.llm.checks import checked_item
from socrates_nb.engine.llm.pricing import estimate_cost
from socrates_nb.engine.llm.prompts import PROMPT_VERSION, extract_prompt, question_prompt, repair_prompt, system_prompt
from socrates_nb.engine.llm.providers import Completion, Message, Provider, ProviderError
from socrates_nb.engine.llm.schemas import ITEMS_SCHEMA, OutputError, parse, question_schema
from socrates_nb.engine.llm.settings import LlmSettings
from socrates_nb.engine.offline import OfflineEngine
from socrates_nb.logs import get_logger

_log = get_logger(__name__)


@dataclass(frozen=True)
class LlmCall:
    """One request to a provider (or its cached reply), as stored in the usage table."""

    step: str
    provider: str
    model: str
    tokens_in: int
    tokens_out: int
    cost_usd: float
    cached: bool
    outcome: str
    duration_ms: float


_caches: dict[float, TTLCache[str, Completion]] = {}
_cache_lock = threading.Lock()


def _reply_cache(ttl: float) -> TTLCache[str, Completion]:
    with _cache_lock:
        if ttl not in _caches:
            _caches[ttl] = TTLCache(maxsize=4096, ttl=ttl)
        return _caches[ttl]


class LlmEngine:
    """An engine backed by ``provider`` (None when it cannot be reached: every step falls back)."""

    def __init__(
        self, name: str, provider: Provider | None, model: str, user_id: str, base_url: str | None,
        settings: LlmSettings, unavailable: str = "",
    ) -> None:
        self.name = name
        self.model = model
        self._provider = provider
        self._user_id = user_id
        self._base_url = base_url
        self._settings = settings
        self._unavailable = unavailable
        self._offline = OfflineEngine()
        self._breaker: CircuitBreaker = breaker_for(name, base_url, settings.breaker_failures, settings.breaker_cooldown)
        self.used: dict[str, str] = {}
        self.fallbacks: dict[str, str] = {}
        self.calls: list[LlmCall] = []

    @property
    def engine_used(self) -> dict[str, str]:
        """Which engine produced each step so far (offline for a step not run or fallen back)."""
        return {step: self.used.get(step, "offline") for step in ("extract", "question")}

    @property
    def has_provider(self) -> bool:
        """Whether a client could be made (False without a key: every step falls back)."""
        return self._provider is not None

    # --- the engine protocol -------------------------------------------------------------

    def next_question(self, ctx: EngineContext) -> QuestionDraft | None:
        """The question the coverage model makes due (bank wording; :meth:`phrase` rewrites it)."""
        return self._offline.next_question(ctx)

    def probe(self, ctx: EngineContext, item: ItemDraft, attempt: int) -> QuestionDraft | None:
        """Follow-ups quote the item's weak words: the offline rules decide and word them."""
        return self._offline.probe(ctx, item, attempt)

    def extract(self, ctx: EngineContext, question: QuestionDraft | None, answer: str) -> list[ItemDraft]:
        """Items the model finds in ``answer``, checked; the offline extraction when the model fails."""
        raw = self._ask("extract", extract_prompt(ctx, question, answer), ITEMS_SCHEMA)
        if raw is None:
            self.used["extract"] = "offline"
            return self._offline.extract(ctx, question, answer)
        self.used["extract"] = self.name
        return [checked_item(r) for r in raw]

    def phrase(self, ctx: EngineContext, due: QuestionDraft) -> QuestionDraft:
        """``due`` (same key and category) worded by the model; ``due`` itself when the model fails."""
        reply = self._ask("question", question_prompt(ctx, due), question_schema(due.category))
        if reply is None:
            self.used["question"] = "offline"
            return due
        self.used["question"] = self.name
        return replace(due, text=" ".join(reply["text"].split()), why=" ".join(reply["why"].split()) or due.why)

    # --- calls ---------------------------------------------------------------------------

    def _ask(self, step: str, prompt: str, schema: dict[str, Any]) -> Any:
        """The parsed reply, after at most one repair; None (reason in ``fallbacks``) to fall back."""
        if self._provider is None:
            self.fallbacks[step] = self._unavailable
            return None
        messages: list[Message] = [{"role": "user", "content": prompt}]
        for attempt in (1, 2):
            key = self._cache_key(messages)
            cache = _reply_cache(self._settings.cache_ttl)
            cached = cache.get(key) if self._settings.cache_ttl > 0 else None
            if cached is not None:
                self._record(step, cached, True, "ok", 0.0)
                return parse(cached.text, schema)
            if not self._breaker.allow():
                self.fallbacks[step] = f"{self._breaker.name} skipped: circuit open after repeated failures"
                self._record(step, None, False, "skipped", 0.0)
                return None
            started = time.perf_counter()
            try:
                completion = self._timed(lambda: self._provider.complete(  # type: ignore[union-attr]
                    system_prompt(), messages, self.model, self._settings.max_tokens))
            except ProviderError as exc:
                self._breaker.failure(exc.kind)
                self._record(step, None, False, exc.kind, _ms(started))
                self.fallbacks[step] = str(exc)
                return None
            self._breaker.success()
            try:
                value = parse(completion.text, schema)
            except OutputError as exc:
                metrics.LLM_ERRORS.labels(provider=self.name, kind="invalid_output").inc()
                self._record(step, completion, False, "invalid_output", _ms(started))
                if attempt == 2:
                    self.fallbacks[step] = f"invalid reply after a repair request: {exc}"
                    return None
                messages = [*messages, {"role": "assistant", "content": completion.text},
                            {"role": "user", "content": repair_prompt(str(exc))}]
                continue
            self._record(step, completion, False, "ok", _ms(started))
            if self._settings.cache_ttl > 0:
                cache[key] = completion
            return value
        return None  # pragma: no cover - the loop returns on its second pass

    def _timed(self, call: Callable[[], Completion]) -> Completion:
        metrics.LLM_CALLS.labels(provider=self.name).inc()
        with metrics.LLM_SECONDS.labels(provider=self.name).time():
            try:
                completion = call()
            except ProviderError as exc:
                metrics.LLM_ERRORS.labels(provider=self.name, kind=exc.kind).inc()
                raise
        metrics.LLM_TOKENS.labels(provider=self.name, direction="in").inc(completion.tokens_in)
        metrics.LLM_TOKENS.labels(provider=self.name, direction="out").inc(completion.tokens_out)
        return completion

    def _cache_key(self, messages: list[Message]) -> str:
        material = [self._user_id, self.name, self._base_url, self.model, self._settings.max_tokens,
                    PROMPT_VERSION, system_prompt(), messages]
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()

    def _record(self, step: str, completion: Completion | None, cached: bool, outcome: str, duration_ms: float) -> None:
        tokens_in = completion.tokens_in if completion is not None and not cached else 0
        tokens_out = completion.tokens_out if completion is not None and not cached else 0
        call = LlmCall(step, self.name, self.model, tokens_in, tokens_out,
                       estimate_cost(self.model, tokens_in, tokens_out), cached, outcome, duration_ms)
        self.calls.append(call)
        _log.info("llm call", step=step, provider=self.name, model=self.model, outcome=outcome, cached=cached,
                  tokens_in=tokens_in, tokens_out=tokens_out, duration_ms=duration_ms)

    def drain(self) -> list[LlmCall]:
        """The calls made since the last drain (the service stores them with the turn)."""
        calls, self.calls = self.calls, []
        return calls


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
