"""What an LLM item goes through before it is stored: the offline engine's own rules.

A model's item keeps its statement, but its category passes the classification sanity
check of offline extraction (:func:`category_of`: a measured latency is performance
whatever the model said), its key becomes the known subject's key when there is one (so it
restates or conflicts with offline items), a choice is named canonically, the lint rules
give its findings, and its confidence is at most what the offline formula gives.
"""

from __future__ import annotations

import re
from typing import Any

from socrates_nb.engine.base import ItemDraft
from socrates_nb.engine.offline.extraction import category_of, choice, confidence, subject_of
from socrates_nb.quality.lint import MAX_LENGTH, lint

_SLUG = re.compile(r"[^a-z0-9_]+")


def checked_item(raw: dict[str, Any]) -> ItemDraft:
    """``raw`` (already valid against ``ITEMS_SCHEMA``) as an ItemDraft under the offline rules."""
    text = " ".join(raw["text"].split())
    value = dict(raw["value"])
    metric = value.get("metric")
    category = category_of(text, raw["category"], metric)
    subject = subject_of(text, category, metric)
    if subject is not None and subject.category != category:
        category = subject.category
    if subject is not None:
        key = subject.key
        picked = choice(text, subject.choices) if subject.choices else None
        if picked is not None:
            value["choice"] = picked
    else:
        prefix, _, slug = raw["key"].partition(".")
        key = raw["key"] if prefix == category else f"{category}.{_SLUG.sub('_', slug)[:60]}"
    findings = [f.to_dict() for f in lint(text[:MAX_LENGTH], category)]
    score = min(float(raw["confidence"]), confidence(value, text, category, findings))
    return ItemDraft(category=category, key=key, value=value, text=text,
                     confidence=round(max(0.1, score), 2), findings=findings)
