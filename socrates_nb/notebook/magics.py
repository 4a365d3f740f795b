"""IPython magics: ``%load_ext socrates_nb``, then ``%socrates ...`` and ``%%socrates answer``.

A thin door: each command parses its words and calls the public API. Errors print one
line and never a traceback.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class

import socrates_nb as snb
from socrates_nb.errors import SocratesError, ValidationError
from socrates_nb.quality.lint import Finding
from socrates_nb.services.specs import OPEN_QUESTION_STATUSES
from socrates_nb.templates import DEFAULT_TEMPLATE
from socrates_nb.workspace import Project, Session, Workspace

USAGE = """usage:
  %socrates connect [URL] [--user NAME] [--engine offline|anthropic|openai] [--model M] [--base-url URL]
  %socrates project new NAME [--template T] [--description TEXT]
  %socrates project use NAME
  %socrates ask
  %%socrates answer            (the cell body is the answer)
  %socrates spec [--format md|json]
  %socrates open [--status open|reopened|resolved]   (open questions: non-answers kept as gaps)
  %socrates reopen ID          (ask an open question again in the next sessions)
  %socrates lint TEXT"""


class _UsageError(Exception):
    """Words the magic cannot parse."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(message)


def _parser() -> _Parser:
    root = _Parser(prog="%socrates", add_help=False)
    sub = root.add_subparsers(dest="command", required=True, parser_class=_Parser)
    connect = sub.add_parser("connect", add_help=False)
    connect.add_argument("url", nargs="?")
    connect.add_argument("--user")
    connect.add_argument("--engine")
    connect.add_argument("--model")
    connect.add_argument("--base-url", dest="base_url")
    project = sub.add_parser("project", add_help=False)
    psub = project.add_subparsers(dest="action", required=True, parser_class=_Parser)
    new = psub.add_parser("new", add_help=False)
    new.add_argument("name")
    new.add_argument("--template", default=DEFAULT_TEMPLATE)
    new.add_argument("--description", default="")
    use = psub.add_parser("use", add_help=False)
    use.add_argument("name")
    sub.add_parser("ask", add_help=False)
    sub.add_parser("answer", add_help=False)
    spec = sub.add_parser("spec", add_help=False)
    spec.add_argument("--format", choices=("md", "json"), default="md")
    gaps = sub.add_parser("open", add_help=False)
    gaps.add_argument("--status", choices=OPEN_QUESTION_STATUSES)
    reopen = sub.add_parser("reopen", add_help=False)
    reopen.add_argument("id")
    lint = sub.add_parser("lint", add_help=False)
    lint.add_argument("text", nargs="+")
    return root


@magics_class
class SocratesMagics(Magics):
    """``%socrates`` and ``%%socrates``: connect, pick a project, ask, answer, export, lint."""

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self.workspace: Workspace | None = None
        self.project: Project | None = None
        self.session: Session | None = None

    @line_cell_magic
    def socrates(self, line: str, cell: str | None = None) -> Any:
        """Run one socrates command; see ``%socrates help``."""
        try:
            words = shlex.split(line)
            if not words or words[0] in ("help", "-h", "--help"):
                print(USAGE)
                return None
            args = _parser().parse_args(words)
            return self._run(args, cell)
        except _UsageError as exc:
            print(f"socrates: usage error: {exc} (try %socrates help)", file=sys.stderr)
        except ValueError as exc:  # shlex: unbalanced quotes
            print(f"socrates: usage error: {exc}", file=sys.stderr)
        except SocratesError as exc:
            print(f"socrates: error: {exc.message}", file=sys.stderr)
        return None

    def _run(self, args: argparse.Namespace, cell: str | None) -> Any:
        if args.command == "lint":
            return _Findings(snb.lint(" ".join(args.text)))
        if args.command == "connect":
            self.close()
            self.workspace = snb.connect(args.url, user=args.user, engine=args.engine, model=args.model,
                                         base_url=args.base_url)
            return self.workspace
        if args.command == "project":
            ws = self._workspace()
            if args.action == "new":
                self.project = ws.create_project(args.name, description=args.description, template=args.template)
            else:
                self.project = ws.project(args.name)
            self.session = None
            return self.project
        if args.command == "ask":
            return self._session().next_question() or "Nothing left to ask: the session is complete."
        if args.command == "answer":
            if cell is None:
                raise ValidationError("use %%socrates answer as a cell magic: the cell body is the answer")
            return self._session().answer(cell)
        if args.command == "open":
            return _Lines(self._project().open_questions(args.status), "No open questions.")
        if args.command == "reopen":
            return self._project().reopen_question(args.id)
        spec = self._project().specification()
        return _Text(spec.to_json() if args.format == "json" else spec.to_markdown())

    def _workspace(self) -> Workspace:
        if self.workspace is None:
            self.workspace = snb.connect()
        return self.workspace

    def _project(self) -> Project:
        if self.project is None:
            raise ValidationError("no project chosen: run %socrates project new NAME or %socrates project use NAME")
        return self.project

    def _session(self) -> Session:
        project = self._project()
        if self.session is None or self.session.refresh().status != "active":
            active = [s for s in project.sessions() if s.status == "active"]
            self.session = active[-1] if active else project.start_session()
        return self.session

    def close(self) -> None:
        """Release the workspace's connections."""
        if self.workspace is not None:
            self.workspace.close()
        self.workspace = self.project = self.session = None


class _Text(str):
    """Text shown as-is (not as a quoted string) in a cell's output."""

    def __repr__(self) -> str:
        return str(self)


class _Lines(list):  # type: ignore[type-arg]
    """Objects shown one per line (``empty`` when there are none)."""

    def __init__(self, rows: list[Any], empty: str) -> None:
        super().__init__(rows)
        self.empty = empty

    def __repr__(self) -> str:
        return "\n".join(repr(r) for r in self) if self else self.empty


class _Findings(list):  # type: ignore[type-arg]
    """Lint findings shown one per line."""

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(findings)

    def __repr__(self) -> str:
        if not self:
            return "No findings."
        return "\n".join(f"{f.severity:<7} {f.rule}: {f.message}" for f in self)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext socrates_nb``: register the magics."""
    ipython.register_magics(SocratesMagics(ipython))


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext socrates_nb``: remove the magics and close the workspace."""
    magics = ipython.magics_manager.registry.pop("SocratesMagics", None)
    if magics is not None:
        magics.close()
    for kind in ("line", "cell"):
        ipython.magics_manager.magics[kind].pop("socrates", None)
