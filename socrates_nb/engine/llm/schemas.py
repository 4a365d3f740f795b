"""JSON Schemas of what a model must return, and the parsing that applies them."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from socrates_nb.categories import CATEGORIES
from socrates_nb.engine.offline.extraction import UNITS
from socrates_nb.engine.llm.providers import sdk
from socrates_nb.quality.lint import MAX_LENGTH

MAX_ITEMS = 20


class OutputError(ValueError):
    """A reply that is not the JSON the task asked for; the message goes into the repair prompt."""


def question_schema(category: str) -> dict[str, Any]:
    """``{text, category, why}`` with the category the coverage model chose."""
    return {
        "type": "object",
        "properties": {
            "text": {"type": "string", "minLength": 10, "maxLength": 500, "pattern": r"\?\s*$"},
            "category": {"const": category},
            "why": {"type": "string", "maxLength": 500},
        },
        "required": ["text", "category", "why"],
        "additionalProperties": False,
    }


ITEMS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "maxItems": MAX_ITEMS,
    "items": {
        "type": "object",
        "properties": {
            "category": {"enum": list(CATEGORIES)},
            "key": {"type": "string", "pattern": r"^[a-z_]+\.[a-z0-9_]{1,60}$"},
            "value": {
                "type": "object",
                "properties": {
                    "text": {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH},
                    "number": {"type": "number"},
                    "unit": {"enum": list(UNITS)},
                    "metric": {"type": "string", "pattern": r"^[a-z][a-z0-9_]{0,40}$"},
                    "bound": {"enum": ["max", "min", "exact"]},
                    "choice": {"type": "string", "minLength": 1, "maxLength": 100},
                    "negated": {"type": "boolean"},
                },
                "required": ["text"],
                "dependentRequired": {"number": ["unit"], "unit": ["number"]},
                "additionalProperties": False,
            },
            "text": {"type": "string", "minLength": 1, "maxLength": MAX_LENGTH},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["category", "key", "value", "text", "confidence"],
        "additionalProperties": False,
    },
}

_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(?P<body>.*?)\n\s*```\s*$", re.S)


@lru_cache(maxsize=64)
def _validator(schema_json: str) -> Any:
    jsonschema = sdk("jsonschema")
    schema = json.loads(schema_json)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def parse(text: str, schema: dict[str, Any]) -> Any:
    """The JSON in ``text`` (a code fence around it is tolerated) if it matches ``schema``.

    Raises OutputError with the first problem found, phrased for the repair prompt.
    """
    m = _FENCE.match(text)
    body = m.group("body") if m else text
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        raise OutputError(f"the reply is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    errors = sorted(_validator(json.dumps(schema, sort_keys=True)).iter_errors(value), key=lambda e: list(e.path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.path) or "the top level"
        raise OutputError(f"at {where}: {first.message[:300]}")
    return value
