"""LLM engines (``anthropic``, ``openai``): see :mod:`socrates_nb.engine.llm.engine` and docs/LLM.md."""

from __future__ import annotations

from socrates_nb.engine.llm.engine import LlmCall, LlmEngine
from socrates_nb.engine.llm.providers import ProviderError, provider_for, sdk
from socrates_nb.engine.llm.settings import PROVIDERS, LlmSettings


def build_engine(
    name: str, model: str, base_url: str | None, api_key: str | None, user_id: str, settings: LlmSettings
) -> LlmEngine:
    """The ``name`` engine for one user; without a key every step falls back to offline, saying why."""
    sdk(name)  # a missing extra is an error, not a silent fallback
    if not api_key:
        return LlmEngine(name, None, model, user_id, base_url, settings,
                         unavailable=f"no API key for {name}: store one with PUT api-keys/{name}")
    return LlmEngine(name, provider_for(name, api_key, base_url, settings), model, user_id, base_url, settings)


__all__ = ["LlmCall", "LlmEngine", "LlmSettings", "PROVIDERS", "ProviderError", "build_engine"]
