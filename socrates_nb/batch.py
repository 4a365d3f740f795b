"""Scripted sessions: answers from a file, run through the service layer.

Shared by ``socrates session run --answers``, ``socrates batch`` and :func:`run_batch`
(the Python API behind the papermill batch notebook).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from socrates_nb.categories import CATEGORIES
from socrates_nb.errors import NotFoundError, ValidationError
from socrates_nb.services.views import QuestionView, TurnView
from socrates_nb.services.criteria import is_criteria_key
from socrates_nb.templates import DEFAULT_TEMPLATE
from socrates_nb.workspace import Session, Workspace

Script = list[str] | dict[str, list[str]]
"""A list of answers taken in order, or a mapping of category (or ``criteria``) to its answers in order."""

CRITERIA = "criteria"
"""The key of a mapping script's replies to the criteria follow-ups (how a capability is tested)."""


def load_answers(path: str | Path) -> Script:
    """Read a scripted-answers file (YAML or JSON): a list of strings, or category -> list of strings."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ValidationError(f"{path}: no such answers file") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path}: not valid YAML/JSON ({str(exc).splitlines()[0]})") from None
    if isinstance(data, list) and all(isinstance(a, str) for a in data):
        return data
    if isinstance(data, dict) and all(isinstance(v, list) and all(isinstance(a, str) for a in v) for v in data.values()):
        unknown = sorted(set(data) - {*CATEGORIES, CRITERIA})
        if unknown:
            raise ValidationError(f"{path}: unknown categories {', '.join(unknown)}; valid: {', '.join(CATEGORIES)} "
                                  f"and {CRITERIA}")
        return {k: list(v) for k, v in data.items()}
    raise ValidationError(f"{path}: expected a list of answers or a mapping of category to a list of answers")


def run_script(
    session: Session,
    script: Script,
    on_question: Callable[[QuestionView, str], None] | None = None,
    on_turn: Callable[[TurnView], None] | None = None,
) -> int:
    """Answer the session's questions from ``script``, then complete it; returns the number of answers.

    A list is answered in order until it runs out. With a mapping, each question takes
    the next answer of its category; a question whose category has none left is skipped.
    A criteria follow-up (how the capabilities just given are tested) takes the next answer of
    the mapping's ``criteria`` list; a list script, written for the bank's questions, skips it.
    """
    remaining: Script = list(script) if isinstance(script, list) else {k: list(v) for k, v in script.items()}
    answered = 0
    q = session.next_question()
    while q is not None:
        criteria = is_criteria_key(q.key)
        answer = None if criteria and isinstance(remaining, list) else _next_answer(
            remaining, CRITERIA if criteria else q.category)
        if answer is None and criteria:
            q = session.skip()
            continue
        if answer is None:
            if isinstance(remaining, list) or not any(remaining.values()):
                break
            q = session.skip()
            continue
        if on_question:
            on_question(q, answer)
        turn = session.answer(answer, question_id=q.id)
        answered += 1
        if on_turn:
            on_turn(turn)
        q = turn.next_question
    session.complete()
    return answered


def _next_answer(remaining: Script, category: str) -> str | None:
    if isinstance(remaining, list):
        return remaining.pop(0) if remaining else None
    answers = remaining.get(category)
    return answers.pop(0) if answers else None


@dataclass(frozen=True)
class BatchResult:
    """What a batch run produced: counts, maturity and the files written."""

    project: str
    answers: int
    items: int
    open_conflicts: int
    maturity: float
    ready: bool
    gaps: tuple[str, ...]
    files: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON form of the summary."""
        return {
            "project": self.project, "answers": self.answers, "items": self.items,
            "open_conflicts": self.open_conflicts, "maturity": self.maturity, "ready": self.ready,
            "gaps": list(self.gaps), "files": list(self.files),
        }


def _slug(name: str) -> str:
    slug = "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")
    return "_".join(part for part in slug.split("_") if part) or "project"


def run_batch(
    ws: Workspace,
    project_name: str,
    answers_path: str | Path,
    output_dir: str | Path,
    template: str = DEFAULT_TEMPLATE,
    description: str = "",
) -> BatchResult:
    """Run a scripted session and write ``<slug>.md``, ``<slug>.json`` and ``<slug>.summary.json``.

    The project is created if it does not exist (else a new session is added to it). The
    answers file is read before anything is stored, so a bad file stores nothing.
    """
    script = load_answers(answers_path)
    try:
        project = ws.project(project_name)
    except NotFoundError:
        project = ws.create_project(project_name, description=description, template=template)
    answered = run_script(project.start_session(), script)
    spec = project.specification()
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    base = out / _slug(project.name)
    files = {base.with_suffix(".md"): spec.to_markdown(), base.with_suffix(".json"): spec.to_json()}
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    summary_path = base.with_suffix(".summary.json")
    result = BatchResult(
        project=project.name, answers=answered, items=len(spec.items), open_conflicts=len(spec.conflicts),
        maturity=spec.maturity.score, ready=spec.maturity.ready, gaps=spec.gaps,
        files=tuple(str(p) for p in [*files, summary_path]),
    )
    summary_path.write_text(json.dumps(result.to_dict(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return result
