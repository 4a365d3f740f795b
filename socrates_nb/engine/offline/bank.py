"""The question bank: questions as data (``data/questions.yaml``), filtered per template."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from socrates_nb.categories import CATEGORIES


@dataclass(frozen=True)
class BankQuestion:
    """One question of the bank, with why it matters and an example answer."""

    key: str
    category: str
    text: str
    why: str
    example: str
    templates: tuple[str, ...]
    order: int
    depth: bool = False
    """Asked even when the category's target is met (rules and edge cases of what is there)."""

    def applies_to(self, template: str) -> bool:
        """Whether the question is asked for projects of ``template``."""
        return "all" in self.templates or template in self.templates


@lru_cache(maxsize=1)
def load_bank() -> tuple[BankQuestion, ...]:
    """All questions of the bank, in (category, order, key) order."""
    text = resources.files("socrates_nb.engine.offline.data").joinpath("questions.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)["questions"]
    questions = [
        BankQuestion(
            key=q["key"],
            category=q["category"],
            text=q["text"].strip(),
            why=q["why"].strip(),
            example=q.get("example", "").strip(),
            templates=tuple(q.get("templates", ["all"])),
            order=int(q.get("order", 100)),
            depth=bool(q.get("depth", False)),
        )
        for q in raw
    ]
    rank = {c: i for i, c in enumerate(CATEGORIES)}
    return tuple(sorted(questions, key=lambda q: (rank[q.category], q.order, q.key)))


def is_depth_question(key: str | None) -> bool:
    """Whether ``key`` is a bank question asking for depth (rules, edge cases: see ``depth``)."""
    return key is not None and key in _depth_keys()


@lru_cache(maxsize=1)
def _depth_keys() -> frozenset[str]:
    return frozenset(q.key for q in load_bank() if q.depth)


def _asking_rank(q: BankQuestion) -> float:
    # Template-specific questions (order 100+) come right after the category's first
    # shared question: the basics first, then what matters most for this kind of software.
    return float(q.order) if "all" in q.templates else 15 + (q.order - 100) / 100


def questions_for(template: str, category: str) -> list[BankQuestion]:
    """The bank's questions of ``category`` that apply to ``template``, in asking order."""
    chosen = [q for q in load_bank() if q.category == category and q.applies_to(template)]
    return sorted(chosen, key=lambda q: (_asking_rank(q), q.key))
