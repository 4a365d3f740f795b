"""The in-process read cache: a TTL cache behind a lock, keyed per user.

Keys are tuples whose first element is the user id, so one user's entries can never be
served to another. Services invalidate by key prefix after every write they commit, so a
process always reads its own writes; other processes see changes within the TTL.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Hashable, TypeVar

from cachetools import TTLCache

from socrates_nb import metrics

T = TypeVar("T")
Key = tuple[Hashable, ...]


@dataclass(frozen=True)
class CacheStats:
    """Hit and miss counters and the current number of entries."""

    hits: int
    misses: int
    size: int

    @property
    def hit_ratio(self) -> float:
        """Hits over lookups (0.0 before the first lookup)."""
        lookups = self.hits + self.misses
        return self.hits / lookups if lookups else 0.0


class ReadCache:
    """A thread-safe TTL cache with prefix invalidation and hit/miss counters.

    Lookups also count in the ``socrates_nb_cache_*`` metrics unless ``counted`` is False (a probe's).
    """

    def __init__(self, maxsize: int = 2048, ttl: float = 5.0, counted: bool = True) -> None:
        self._enabled = ttl > 0
        self._counted = counted
        self._cache: TTLCache[Key, object] = TTLCache(maxsize=maxsize, ttl=ttl if ttl > 0 else 1)
        self._lock = threading.RLock()
        self._hits = 0
        self._misses = 0
        self._generation = 0

    def get_or_load(self, key: Key, load: Callable[[], T]) -> T:
        """The cached value for ``key``, else ``load()`` stored under it."""
        with self._lock:
            if self._enabled and key in self._cache:
                self._hits += 1
                if self._counted:
                    metrics.CACHE_HITS.inc()
                return self._cache[key]  # type: ignore[return-value]
            self._misses += 1
            if self._counted:
                metrics.CACHE_MISSES.inc()
            generation = self._generation
        value = load()
        with self._lock:
            # Skip the store if a write invalidated while we loaded: the value may be stale.
            if self._enabled and generation == self._generation:
                self._cache[key] = value
        return value

    def invalidate(self, *prefix: Hashable) -> int:
        """Drop every entry whose key starts with ``prefix``; returns how many were dropped."""
        n = len(prefix)
        with self._lock:
            self._generation += 1
            doomed = [k for k in list(self._cache.keys()) if k[:n] == prefix]
            for k in doomed:
                self._cache.pop(k, None)
            return len(doomed)

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            self._generation += 1
            self._cache.clear()

    def stats(self) -> CacheStats:
        """Current counters."""
        with self._lock:
            return CacheStats(self._hits, self._misses, len(self._cache))
