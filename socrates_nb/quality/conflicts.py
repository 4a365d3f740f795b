"""Contradiction rules between two items with the same key (first version).

* the same value stated again is a *restatement* (the newer item supersedes the older);
* two different limits on one tracked metric (p95 latency, availability, concurrent
  users, throughput) is a ``numeric`` conflict, high severity when they differ by 2x or more.
Other differing values of one key are left to stand side by side.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from socrates_nb.engine.offline.extraction import comparable

TRACKED_METRICS = frozenset({"latency_p95", "latency_p99", "availability", "concurrent_users", "throughput"})
_SIGNIFICANT_RATIO = 1.25
_HIGH_RATIO = 2.0


@dataclass(frozen=True)
class Verdict:
    """How a new item relates to an existing one with the same key."""

    kind: str  # "restatement" | "conflict" | "independent"
    type: str = ""
    severity: str = ""
    explanation: str = ""


def _norm(value: dict[str, Any]) -> str:
    # Keep "." inside numbers (99.9) but not at the end: "... as CSV." restates "... as CSV!".
    return re.sub(r"[^a-z0-9%.]+", " ", str(value.get("text", "")).lower()).strip(" .")


def judge(key: str, old: dict[str, Any], new: dict[str, Any]) -> Verdict:
    """Compare the values of two items that share ``key``."""
    old_n, new_n = comparable(old), comparable(new)
    if old_n is not None and new_n is not None:
        if math.isclose(old_n, new_n, rel_tol=1e-9, abs_tol=1e-12):  # 700 ms * 0.001 != 0.7 s in floats
            return Verdict("restatement")
        metric = new.get("metric", "")
        if metric in TRACKED_METRICS and old.get("metric") == metric:
            low, high = sorted((old_n, new_n))
            ratio = high / low if low > 0 else float("inf")
            if ratio >= _SIGNIFICANT_RATIO:
                severity = "high" if ratio >= _HIGH_RATIO else "medium"
                return Verdict(
                    "conflict",
                    "numeric",
                    severity,
                    f"{key}: {old['number']} {old['unit']} vs {new['number']} {new['unit']}",
                )
        return Verdict("independent")
    if _norm(old) == _norm(new):
        return Verdict("restatement")
    return Verdict("independent")
