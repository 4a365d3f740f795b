"""First-pass extraction: statements, measurable values and vague words in an answer."""

from __future__ import annotations

import re
from typing import Any

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?;])\s+|\n+")

# unit spelling -> (canonical unit, metric the unit measures)
_UNITS: dict[str, tuple[str, str]] = {
    "ms": ("ms", "latency"), "millisecond": ("ms", "latency"), "milliseconds": ("ms", "latency"),
    "s": ("s", "latency"), "sec": ("s", "latency"), "second": ("s", "latency"), "seconds": ("s", "latency"),
    "min": ("min", "duration"), "minute": ("min", "duration"), "minutes": ("min", "duration"),
    "h": ("h", "duration"), "hour": ("h", "duration"), "hours": ("h", "duration"),
    "req/s": ("req/s", "throughput"), "rps": ("req/s", "throughput"), "requests per second": ("req/s", "throughput"),
    "users": ("users", "users"), "concurrent users": ("users", "concurrent_users"), "user": ("users", "users"),
    "kb": ("KB", "size"), "mb": ("MB", "size"), "gb": ("GB", "size"), "tb": ("TB", "size"),
    "%": ("%", "percent"),
}
_UNIT_PATTERN = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))
_MEASURE = re.compile(rf"(?<![\w.,])(\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?)\s*({_UNIT_PATTERN})(?![\w/])", re.IGNORECASE)
_TO_SECONDS = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0}

VAGUE_TERMS = (
    "fast", "quick", "quickly", "user-friendly", "user friendly", "easy", "easily", "intuitive", "simple",
    "scalable", "robust", "secure", "efficient", "flexible", "modern", "reliable", "adequate", "appropriate",
    "etc", "and so on", "as needed", "as appropriate", "if possible", "good", "nice", "seamless", "minimal",
)
_VAGUE = re.compile(r"\b(" + "|".join(re.escape(t) for t in VAGUE_TERMS) + r")\b", re.IGNORECASE)


def split_statements(answer: str) -> list[str]:
    """Split an answer into statements (sentences or lines), dropping empty bits."""
    parts = (p.strip(" \t-*•;") for p in _SENTENCE_SPLIT.split(answer))
    return [p for p in parts if len(p) >= 3]


def measure(statement: str) -> dict[str, Any] | None:
    """The first number with a unit in ``statement``: ``{number, unit, metric}``, else None."""
    match = _MEASURE.search(statement)
    if not match:
        return None
    number = float(match.group(1).replace(",", ""))
    unit, metric = _UNITS[match.group(2).lower()]
    context = statement.lower()
    if unit == "%" and any(w in context for w in ("availab", "uptime")):
        metric = "availability"
    if metric == "latency" and "p99" in context:
        metric = "latency_p99"
    elif metric == "latency" and ("p95" in context or "95th" in context):
        metric = "latency_p95"
    value: dict[str, Any] = {"number": int(number) if number.is_integer() else number, "unit": unit, "metric": metric}
    return value


def comparable(value: dict[str, Any]) -> float | None:
    """A numeric value in base units (seconds for time), for comparing two values of one metric."""
    if "number" not in value:
        return None
    return float(value["number"]) * _TO_SECONDS.get(value.get("unit", ""), 1.0)


def vague_findings(statement: str) -> list[dict[str, Any]]:
    """A ``vague-term`` finding for each weak word in ``statement``."""
    return [
        {
            "rule": "vague-term",
            "message": f"'{m.group(0)}' is vague: state a measurable criterion",
            "span": [m.start(), m.end()],
        }
        for m in _VAGUE.finditer(statement)
    ]
