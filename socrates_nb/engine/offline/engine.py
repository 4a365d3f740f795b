"""The offline engine: picks the least-covered category's next bank question; extracts items."""

from __future__ import annotations

import re

from socrates_nb.categories import CATEGORIES, CATEGORY_INFO
from socrates_nb.engine.base import EngineContext, ItemDraft, QuestionDraft
from socrates_nb.engine.offline.bank import BankQuestion, questions_for
from socrates_nb.engine.offline.extraction import measure, split_statements, vague_findings

_BASE_CONFIDENCE = 0.6
_MEASURED_CONFIDENCE = 0.9
_VAGUE_CONFIDENCE = 0.35
_FREE_ANSWER_KEY = "free"


class OfflineEngine:
    """Deterministic engine over the shipped question bank."""

    name = "offline"

    def next_question(self, ctx: EngineContext) -> QuestionDraft | None:
        """The first unasked question of the least-covered category (ties: the canonical order).

        A category waits while one it depends on (e.g. users before usability) is still
        uncovered and askable. Returns None when every weighted category is covered or
        nothing is left to ask.
        """
        open_questions: dict[str, BankQuestion] = {}
        coverage: dict[str, float] = {}
        for cat in CATEGORIES:
            weight, target = ctx.template.weight(cat), ctx.template.target(cat)
            coverage[cat] = min(ctx.confidence_sums.get(cat, 0.0), target) / target
            if weight <= 0 or coverage[cat] >= 1.0:
                continue
            nxt = next((q for q in questions_for(ctx.template.name, cat) if q.key not in ctx.asked_keys), None)
            if nxt is not None:
                open_questions[cat] = nxt
        if not open_questions:
            return None

        def blocked(cat: str) -> bool:
            return any(dep in open_questions and coverage[dep] == 0 for dep in CATEGORY_INFO[cat].depends_on)

        ready = [c for c in open_questions if not blocked(c)] or list(open_questions)
        rank = {c: i for i, c in enumerate(CATEGORIES)}
        best = min(ready, key=lambda c: (round(coverage[c], 4), rank[c]))
        q = open_questions[best]
        return QuestionDraft(key=q.key, category=q.category, text=q.text, why=q.why, example=q.example)

    def extract(self, ctx: EngineContext, question: QuestionDraft | None, answer: str) -> list[ItemDraft]:
        """One item per statement: the question's category, a measured value where one is stated."""
        category = question.category if question else "functional"
        base_key = question.key if question else f"{category}.{_FREE_ANSWER_KEY}"
        items: list[ItemDraft] = []
        for index, statement in enumerate(split_statements(answer)):
            measured = measure(statement)
            findings = vague_findings(statement)
            if measured:
                key = f"{category}.{measured['metric']}"
                value = {**measured, "text": statement}
                confidence = _MEASURED_CONFIDENCE
            else:
                key = base_key if index == 0 else f"{base_key}_{index + 1}"
                value = {"text": statement}
                confidence = _VAGUE_CONFIDENCE if findings else _BASE_CONFIDENCE
            items.append(
                ItemDraft(
                    category=category,
                    key=key,
                    value=value,
                    text=_sentence(statement),
                    confidence=confidence,
                    findings=findings,
                )
            )
        return items


def _sentence(statement: str) -> str:
    text = re.sub(r"\s+", " ", statement).strip()
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
