"""The offline engine: picks the least-covered category's next bank question; extracts items."""

from __future__ import annotations

from socrates_nb.categories import CATEGORIES, CATEGORY_INFO
from socrates_nb.engine.base import EngineContext, ItemDraft, QuestionDraft
from socrates_nb.engine.offline.bank import BankQuestion, load_bank, questions_for
from socrates_nb.engine.offline.extraction import extract_items
from socrates_nb.engine.offline.probing import probe_question
from socrates_nb.quality.conflicts import Candidate, detect

_WARM_UP = ("Pages shall load within 2 s.", "Customer data shall stay on premises.")


def warm_up() -> None:
    """Load the offline engine's data (question bank, extraction tables, classifier model and
    lexicon, conflict groups) now. Parsing them holds the interpreter lock for a few hundred
    milliseconds: a server pays that at start, not in its first answer, while other requests wait."""
    load_bank()
    drafts = [d for text in _WARM_UP for d in extract_items(None, text)]
    first, second = (Candidate(id=i, key=d.key, category=d.category, text=d.text, value=d.value)
                     for i, d in enumerate(drafts))
    detect(second, [first])


class OfflineEngine:
    """Deterministic engine over the shipped question bank."""

    name = "offline"

    def next_question(self, ctx: EngineContext) -> QuestionDraft | None:
        """The first unasked question of the least-covered category (ties: the canonical order).

        A category waits while one it depends on (e.g. users before usability) is still
        uncovered and askable. Categories in ``ctx.closed`` (out of scope, or set aside after
        non-answers) are not asked about. A covered category still asks its ``depth`` questions
        (business rules, edge cases: the depth of the capabilities given, not more of them).
        Returns None when every weighted category is covered (depth questions asked), closed,
        or has nothing left to ask.
        """
        open_questions: dict[str, BankQuestion] = {}
        coverage: dict[str, float] = {}
        for cat in CATEGORIES:
            weight, target = ctx.template.weight(cat), ctx.template.target(cat)
            coverage[cat] = min(ctx.confidence_sums.get(cat, 0.0), target) / target
            if weight <= 0 or cat in ctx.closed:
                continue
            covered = coverage[cat] >= 1.0
            nxt = next((q for q in questions_for(ctx.template.name, cat)
                        if q.key not in ctx.asked_keys and (q.depth or not covered)), None)
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
        """One item per statement of ``answer``: see :func:`extraction.extract_items`."""
        return extract_items(question, answer)

    def probe(self, ctx: EngineContext, item: ItemDraft, attempt: int) -> QuestionDraft | None:
        """A follow-up quoting ``item``'s weak words: see :func:`probing.probe_question`."""
        return probe_question(item, attempt)
