"""The offline engine: deterministic, no network, no API key."""

from socrates_nb.engine.offline.engine import OfflineEngine

__all__ = ["OfflineEngine"]
