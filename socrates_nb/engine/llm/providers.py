"""The vendors' official SDK clients behind one call: ``complete(system, messages, model)``.

The SDKs (``pip install 'socrates_nb[llm]'``) do the wire protocol, the timeouts and the
retries with backoff on 429, 5xx, timeouts and refused connections (honouring
``Retry-After``). Their errors become :class:`ProviderError` with a short ``kind``.
"""

from __future__ import annotations

import hashlib
import importlib
import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from cachetools import LRUCache

from socrates_nb.engine.llm.settings import EXTRA_HINT, LlmSettings
from socrates_nb.errors import ValidationError

Message = dict[str, str]
"""``{"role": "user" | "assistant", "content": text}``."""


@dataclass(frozen=True)
class Completion:
    """A model's reply and what it cost in tokens."""

    text: str
    tokens_in: int
    tokens_out: int


class ProviderError(Exception):
    """A call that failed after the SDK's retries; ``kind`` is the metric label."""

    KINDS = ("timeout", "connection", "rate_limited", "server", "auth", "bad_request", "bad_response")

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Provider(Protocol):
    """One vendor's chat call."""

    name: str

    def complete(self, system: str, messages: list[Message], model: str, max_tokens: int) -> Completion:
        """The model's reply to ``messages`` under the ``system`` prompt; ProviderError on failure."""
        ...


def sdk(module: str) -> ModuleType:
    """A module of the LLM extra (a vendor SDK, jsonschema); without it a ValidationError naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ValidationError(f"the LLM engines need the optional package {module!r}: {EXTRA_HINT}") from None


def _classify(exc: Exception, lib: ModuleType) -> ProviderError:
    status = getattr(exc, "status_code", None)
    if isinstance(exc, lib.APITimeoutError):
        kind = "timeout"
    elif isinstance(exc, lib.APIConnectionError):
        kind = "connection"
    elif isinstance(exc, lib.RateLimitError):
        kind = "rate_limited"
    elif isinstance(exc, lib.APIStatusError) and status is not None and status >= 500:
        kind = "server"
    elif isinstance(exc, lib.APIStatusError) and status in (401, 403):
        kind = "auth"
    elif isinstance(exc, lib.APIStatusError):
        kind = "bad_request"
    else:
        kind = "bad_response"
    detail = f"HTTP {status}" if status is not None else type(exc).__name__
    return ProviderError(kind, f"{lib.__name__} call failed ({kind}, {detail})")


class _SdkProvider:
    """A vendor SDK's client (``client``, a class of the SDK module ``name``); ``_call`` makes the request."""

    name: str
    client: str

    def __init__(self, api_key: str, base_url: str | None, settings: LlmSettings) -> None:
        self._lib = sdk(self.name)
        self._client = getattr(self._lib, self.client)(
            api_key=api_key, base_url=base_url, max_retries=settings.max_retries,
            timeout=self._lib.Timeout(settings.read_timeout, connect=settings.connect_timeout),
        )

    def complete(self, system: str, messages: list[Message], model: str, max_tokens: int) -> Completion:
        try:
            return self._call(system, messages, model, max_tokens)
        except Exception as exc:  # every SDK failure becomes a ProviderError
            raise _classify(exc, self._lib) from exc

    def _call(self, system: str, messages: list[Message], model: str, max_tokens: int) -> Completion:
        raise NotImplementedError


class AnthropicProvider(_SdkProvider):
    """Anthropic's Messages API."""

    name, client = "anthropic", "Anthropic"

    def _call(self, system: str, messages: list[Message], model: str, max_tokens: int) -> Completion:
        reply = self._client.messages.create(
            model=model, max_tokens=max_tokens, system=system, messages=messages,
            extra_body={"temperature": 0},  # this SDK version has no temperature argument; the API takes it
        )
        text = "".join(block.text for block in reply.content if getattr(block, "type", "") == "text")
        return Completion(text, int(reply.usage.input_tokens or 0), int(reply.usage.output_tokens or 0))


class OpenAIProvider(_SdkProvider):
    """OpenAI's Chat Completions API, or any server speaking it (Ollama, vLLM, LM Studio)."""

    name, client = "openai", "OpenAI"

    def _call(self, system: str, messages: list[Message], model: str, max_tokens: int) -> Completion:
        reply = self._client.chat.completions.create(
            model=model, max_tokens=max_tokens, temperature=0,
            messages=[{"role": "system", "content": system}, *messages],
        )
        text = reply.choices[0].message.content or "" if reply.choices else ""
        usage = reply.usage
        return Completion(text, int(getattr(usage, "prompt_tokens", 0) or 0),
                          int(getattr(usage, "completion_tokens", 0) or 0))


_CLASSES: dict[str, type[_SdkProvider]] = {"anthropic": AnthropicProvider, "openai": OpenAIProvider}
_clients: LRUCache[tuple[Any, ...], Provider] = LRUCache(maxsize=64)
_clients_lock = threading.Lock()


def provider_for(name: str, api_key: str, base_url: str | None, settings: LlmSettings) -> Provider:
    """A client for ``name``, reused across turns (its HTTP connections stay open).

    Clients are keyed by a digest of the key, never the key itself.
    """
    digest = hashlib.sha256(api_key.encode()).hexdigest()
    key = (name, digest, base_url, settings.connect_timeout, settings.read_timeout, settings.max_retries)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = _CLASSES[name](api_key, base_url, settings)
        return client
