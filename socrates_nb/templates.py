"""Project templates: which categories matter and how much (weights and targets)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from types import MappingProxyType
from typing import Mapping

import yaml

from socrates_nb.categories import CATEGORIES
from socrates_nb.errors import ValidationError


@dataclass(frozen=True)
class CategoryGoal:
    """How much a category counts (weight) and what covers it (target confidence sum)."""

    weight: float
    target: float


@dataclass(frozen=True)
class Template:
    """A named template with a goal for every category."""

    name: str
    description: str
    goals: Mapping[str, CategoryGoal]

    def weight(self, category: str) -> float:
        """The category's weight in the maturity score."""
        return self.goals[category].weight

    def target(self, category: str) -> float:
        """The confidence sum at which the category counts as covered."""
        return self.goals[category].target


@lru_cache(maxsize=1)
def _load() -> dict[str, Template]:
    raw = yaml.safe_load(resources.files("socrates_nb.data").joinpath("templates.yaml").read_text("utf-8"))
    default = raw["defaults"]
    out: dict[str, Template] = {}
    for name, spec in raw["templates"].items():
        goals = {}
        for cat in CATEGORIES:
            cfg = {**default, **spec["categories"].get(cat, {})}
            goals[cat] = CategoryGoal(weight=float(cfg["weight"]), target=float(cfg["target"]))
        unknown = set(spec["categories"]) - set(CATEGORIES)
        if unknown:  # pragma: no cover - guards the shipped data file
            raise RuntimeError(f"template {name} names unknown categories {sorted(unknown)}")
        out[name] = Template(name, spec["description"], MappingProxyType(goals))
    return out


TEMPLATES: tuple[str, ...] = tuple(_load())
"""Names of the available templates."""

DEFAULT_TEMPLATE = "generic"


def get_template(name: str) -> Template:
    """Return the template called ``name``; an unknown name raises a ValidationError listing the valid ones."""
    templates = _load()
    if not isinstance(name, str) or name not in templates:  # a list or dict from JSON is not hashable
        raise ValidationError(f"unknown template {name!r}; valid templates: {', '.join(templates)}")
    return templates[name]
