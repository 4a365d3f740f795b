"""Versioned prompt templates (``prompts/<name>.<version>.txt``) and the data block they carry.

User text never becomes instructions: it is JSON-encoded inside ``<data>``…``</data>``, with
``<`` and ``>`` escaped (``\\u003c``, ``\\u003e``), so no answer can close the block or open
another one.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from string import Template
from typing import Any

from socrates_nb.categories import CATEGORIES, CATEGORY_INFO
from socrates_nb.engine.base import EngineContext, QuestionDraft
from socrates_nb.engine.offline.extraction import UNITS

PROMPT_VERSION = "v1"


@lru_cache(maxsize=None)
def template(name: str, version: str = PROMPT_VERSION) -> Template:
    """The prompt template ``prompts/<name>.<version>.txt``."""
    text = resources.files("socrates_nb.engine.llm").joinpath("prompts", f"{name}.{version}.txt").read_text("utf-8")
    return Template(text)


def data_block(payload: Any) -> str:
    """``payload`` as JSON that cannot contain the block's delimiters."""
    text = json.dumps(payload, ensure_ascii=False, indent=1, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e")


@lru_cache(maxsize=None)
def system_prompt() -> str:
    """The fixed instructions of every call."""
    return template("system").substitute()


def _coverage(ctx: EngineContext) -> dict[str, str]:
    gaps = {}
    for cat in CATEGORIES:
        weight, target = ctx.template.weight(cat), ctx.template.target(cat)
        if weight > 0:
            covered = min(ctx.confidence_sums.get(cat, 0.0), target) / target
            gaps[cat] = f"{covered:.0%} covered"
    return gaps


def question_prompt(ctx: EngineContext, due: QuestionDraft) -> str:
    """Ask for a question of ``due.category`` (which the coverage model chose)."""
    data = {
        "project_template": ctx.template.name,
        "coverage": _coverage(ctx),
        "last_answers": list(ctx.recent_answers),
        "current_items": [{"key": k, "text": t} for k, t in ctx.items],
        "suggested_question": due.text,
    }
    info = CATEGORY_INFO[due.category]
    return template("question").substitute(category=due.category, category_help=info.description, data=data_block(data))


def extract_prompt(ctx: EngineContext, question: QuestionDraft | None, answer: str) -> str:
    """Ask for the items stated in ``answer`` (to ``question``, if any)."""
    data = {
        "question": None if question is None else {"text": question.text, "category": question.category},
        "answer": answer,
        "current_items": [{"key": k, "text": t} for k, t in ctx.items],
    }
    return template("extract").substitute(
        categories=", ".join(CATEGORIES), units=", ".join(UNITS), data=data_block(data)
    )


def repair_prompt(error: str) -> str:
    """Ask again after an unusable reply, saying what was wrong."""
    return template("repair").substitute(error=error)
