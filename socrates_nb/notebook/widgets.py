"""Notebook widgets: a form to work through a session and a browser of projects.

Both are composed from standard ipywidgets 8 controls. Every action calls one public
method of the Python API (``socrates_nb.workspace``); a :class:`SocratesError` is shown
inline in a red error line, never as a traceback, and all user text is escaped. Stable
CSS classes (``snb-form``, ``snb-answer``, ``snb-submit``, ...) let browser tests find
the controls.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from html import escape
from typing import Any

import ipywidgets as widgets

from socrates_nb.errors import SocratesError
from socrates_nb.notebook import display
from socrates_nb.quality.maturity import Maturity
from socrates_nb.services.validation import PROJECT_STATUSES
from socrates_nb.services.views import ConflictView, ItemView, OpenQuestionView, QuestionView
from socrates_nb.workspace import Project, Session, Workspace

ALL_STATUSES = "all"
"""The status dropdown's choice that lists projects of every status."""

RESOLUTIONS: tuple[tuple[str, str], ...] = (("Keep A", "keep_a"), ("Keep B", "keep_b"), ("Dismiss", "dismiss"))
"""Button label and resolution code of each way a conflict can be resolved from the form."""

_ERROR_STYLE = "color: #b00020; font-weight: bold"


# --- small builders ---------------------------------------------------------------------------


def _html(css_class: str, value: str = "") -> widgets.HTML:
    return widgets.HTML(value).add_class(css_class)


def _button(description: str, css_class: str, action: Callable[[], None], **kwargs: Any) -> widgets.Button:
    """A button running ``action`` when clicked; a click on a disabled button does nothing."""
    button = widgets.Button(description=description, **kwargs).add_class(css_class)
    button.on_click(lambda b: None if b.disabled else action())
    return button


def _close(widget: widgets.Widget) -> None:
    """Close a widget and every widget inside it (frees their kernel-side state)."""
    for child in getattr(widget, "children", ()):
        _close(child)
    widget.close()


def _attempt(error_html: widgets.HTML, *steps: Callable[[], object]) -> None:
    """Run every step; show the first SocratesError's message in ``error_html``, or clear it."""
    message = ""
    for step in steps:
        try:
            step()
        except SocratesError as exc:
            message = message or str(exc)
    error_html.value = f'<div style="{_ERROR_STYLE}">⚠ {escape(message)}</div>' if message else ""


# --- HTML fragments -------------------------------------------------------------------------------


def _items_html(items: Sequence[ItemView] | None, criteria: Sequence[tuple[str, str]] = ()) -> str:
    if items is None:
        return "<small>The items extracted from your next answer appear here.</small>"
    if not items and not criteria:
        return "<small>Your last answer produced no items.</small>"
    rows = "".join(
        f"<li><b>{escape(i.ref)}</b> <small>[{escape(display.category_label(i.category))}]</small> {escape(i.text)}</li>" for i in items
    ) + "".join(f"<li><b>{escape(ref)}</b> acceptance criterion: {escape(c)}</li>" for ref, c in criteria)
    return f"<b>From your last answer</b><ul>{rows}</ul>"


def _gaps_html(gaps: Sequence[str]) -> str:
    if not gaps:
        return "<b>Gaps</b>: none, every category is covered."
    return "<b>Gaps</b><ul>" + "".join(f"<li>{escape(g)}</li>" for g in gaps) + "</ul>"


def _open_html(open_questions: Sequence[OpenQuestionView]) -> str:
    """The questions still waiting for an answer: non-answers are gaps, not requirements."""
    if not open_questions:
        return ""
    rows = "".join(
        f"<li><small>[{escape(display.category_label(q.category))}]</small> {escape(q.question or q.key)} "
        f"<i>&quot;{escape(q.answer)}&quot;</i></li>" for q in open_questions
    )
    return f"<b>Open questions</b> <small>(answered with a non-answer: not requirements)</small><ul>{rows}</ul>"


def _conflict_html(c: ConflictView) -> str:
    return (
        f"⚠ <b>A</b> {escape(c.item_a)} vs <b>B</b> {escape(c.item_b)} "
        f"<small>({escape(c.type)}, {escape(c.severity)})</small>: {escape(c.explanation)}"
    )


# --- the session form ----------------------------------------------------------------------------


class SessionForm(widgets.VBox):
    """A form for one session: the pending question, an answer box, Submit / Skip / Complete,
    maturity overall and per category (with what blocks readiness), the last answer's items, open
    conflicts, open questions and gaps.

    ``reload()`` rebuilds everything from the database, so a form made after a kernel
    restart (``ws.session(id).widget()``) shows the same state.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.project: Project = session.project()
        self.question: QuestionView | None = None
        self.last_items: tuple[ItemView, ...] | None = None
        self.last_criteria: tuple[tuple[str, str], ...] = ()
        self.status_html = _html("snb-status")
        self.question_html = _html("snb-question")
        self.answer = widgets.Textarea(
            placeholder="Type your answer", layout=widgets.Layout(width="100%", height="6em")
        ).add_class("snb-answer")
        self.submit = _button("Submit", "snb-submit", lambda: self._act(self._submit), button_style="primary")
        self.skip_button = _button("Skip", "snb-skip", lambda: self._act(self.session.skip))
        self.complete_button = _button("Complete", "snb-complete", lambda: self._act(self.session.complete))
        self.error_html = _html("snb-error")
        self.maturity_bar = widgets.FloatProgress(min=0.0, max=100.0, description="Maturity").add_class("snb-maturity")
        self.maturity_label = _html("snb-maturity-label")
        self.category_bars: dict[str, widgets.FloatProgress] = {}
        self.categories_box = widgets.VBox().add_class("snb-categories")
        self.items_html = _html("snb-items")
        self.conflicts_box = widgets.VBox().add_class("snb-conflicts")
        self._conflicts_heading = _html("snb-conflicts-heading")
        self._conflict_rows: dict[uuid.UUID, widgets.VBox] = {}
        self.gaps_html = _html("snb-gaps")
        self.open_html = _html("snb-open-questions")
        super().__init__(children=(
            self.status_html,
            self.question_html,
            self.answer,
            widgets.HBox((self.submit, self.skip_button, self.complete_button)),
            self.error_html,
            widgets.HBox((self.maturity_bar, self.maturity_label)),
            self.categories_box,
            self.items_html,
            self.conflicts_box,
            self.open_html,
            self.gaps_html,
        ))
        self.add_class("snb-form")
        self.reload()

    def reload(self) -> None:
        """Rebuild the form's state from the database (session, question, specification)."""
        self.session.refresh()
        self.question = self.session.next_question()
        spec = self.project.specification()
        self._show_session(spec.view.project.name)
        self._show_maturity(spec.maturity)
        self._show_conflicts(spec.conflicts)
        self.items_html.value = _items_html(self.last_items, self.last_criteria)
        self.gaps_html.value = _gaps_html(spec.gaps)
        self.open_html.value = _open_html(spec.open_questions)

    def _act(self, action: Callable[[], object]) -> None:
        """Run a user action, show its error inline, then reload (also after an error: the form may be stale)."""
        _attempt(self.error_html, action, self.reload)

    def _submit(self) -> None:
        """Answer the displayed question; a stale form gets a ConflictError instead of answering another one."""
        turn = self.session.answer(self.answer.value, question_id=self.question.id if self.question else None)
        self.last_items, self.last_criteria = turn.items, turn.criteria
        self.answer.value = ""

    def _show_session(self, project_name: str) -> None:
        active = self.session.status == "active"
        can_answer = active and self.question is not None
        self.submit.disabled = self.skip_button.disabled = self.answer.disabled = not can_answer
        self.complete_button.disabled = not active
        state = escape(display.session_text(self.session))
        self.status_html.value = f"<b>{escape(project_name)}</b> · <small>{state}</small>"
        if not active:
            self.question_html.value = (
                f"<p>This session is {escape(self.session.status)}: start a new session to continue.</p>"
            )
        elif self.question is None:
            self.question_html.value = "<p>Nothing left to ask: click Complete to close the session.</p>"
        else:
            self.question_html.value = display.question_html(self.question)

    def _show_maturity(self, maturity: Maturity) -> None:
        self.maturity_bar.value = maturity.score
        self.maturity_bar.bar_style = "success" if maturity.ready else "info"
        state = "ready" if maturity.ready else "not ready"
        why = "".join(f"<br><small>{escape(b)}</small>" for b in maturity.blockers())
        self.maturity_label.value = f"<b>{maturity.score:.1f}</b>/100 ({state}){why}"
        for category, coverage in maturity.coverage.items():
            if category not in self.category_bars:
                self.category_bars[category] = widgets.FloatProgress(
                    min=0.0, max=100.0, description=display.category_label(category), style={"description_width": "8em"},
                    layout=widgets.Layout(height="14px"),
                ).add_class("snb-category")
            self.category_bars[category].value = round(coverage * 100, 1)
        self.categories_box.children = tuple(self.category_bars.values())

    def _show_conflicts(self, conflicts: Sequence[ConflictView]) -> None:
        """One row per open conflict; rows of conflicts no longer open are closed, others are reused."""
        open_ids = {c.id for c in conflicts}
        for cid in [cid for cid in self._conflict_rows if cid not in open_ids]:
            _close(self._conflict_rows.pop(cid))
        for c in conflicts:
            if c.id not in self._conflict_rows:
                self._conflict_rows[c.id] = self._conflict_row(c)
        heading = f"<b>Open conflicts ({len(conflicts)})</b>" if conflicts else "<b>Open conflicts</b>: none."
        self._conflicts_heading.value = heading
        self.conflicts_box.children = (self._conflicts_heading, *(self._conflict_rows[c.id] for c in conflicts))

    def _conflict_row(self, conflict: ConflictView) -> widgets.VBox:
        auto = widgets.Layout(width="auto")
        buttons = [
            _button(label, f"snb-{code.replace('_', '-')}", self._resolver(conflict, code), layout=auto)
            for label, code in RESOLUTIONS
        ]
        return widgets.VBox((widgets.HTML(_conflict_html(conflict)), widgets.HBox(buttons))).add_class("snb-conflict")

    def _resolver(self, conflict: ConflictView, resolution: str) -> Callable[[], None]:
        return lambda: self._act(lambda: self.project.resolve_conflict(conflict, resolution))


# --- the project browser ---------------------------------------------------------------------------


class ProjectBrowser(widgets.VBox):
    """Your projects with a name filter, a status choice and paging; "Open" shows the
    session form of the project's latest active session (a new session if none is active)."""

    def __init__(self, ws: Workspace, page_size: int = 10) -> None:
        self.ws = ws
        self.page_size = page_size
        self.page_index = 0
        self.total = 0
        self.form: SessionForm | None = None
        self.filter_text = widgets.Text(placeholder="Filter by name", description="Name").add_class("snb-filter")
        self.status_dropdown = widgets.Dropdown(
            options=(ALL_STATUSES, *PROJECT_STATUSES), value=ALL_STATUSES, description="Status"
        ).add_class("snb-status-filter")
        self.prev_button = _button("Prev", "snb-prev", lambda: self._act(lambda: self._load(self.page_index - 1)))
        self.next_button = _button("Next", "snb-next", lambda: self._act(lambda: self._load(self.page_index + 1)))
        self.page_label = widgets.Label().add_class("snb-page")
        self.project_list = widgets.Select(
            rows=min(page_size, 20), layout=widgets.Layout(width="100%")
        ).add_class("snb-projects")
        self.open_button = _button("Open", "snb-open", lambda: self._act(self._open), button_style="primary")
        self.error_html = _html("snb-browser-error")
        self.form_box = widgets.VBox().add_class("snb-form-box")
        super().__init__(children=(
            widgets.HBox((self.filter_text, self.status_dropdown)),
            self.project_list,
            widgets.HBox((self.prev_button, self.page_label, self.next_button, self.open_button)),
            self.error_html,
            self.form_box,
        ))
        self.add_class("snb-browser")
        self.filter_text.observe(lambda _change: self._act(lambda: self._load(0)), names="value")
        self.status_dropdown.observe(lambda _change: self._act(lambda: self._load(0)), names="value")
        self.project_list.observe(lambda change: self._allow_open(change["new"] is not None), names="value")
        self.refresh()

    def refresh(self) -> None:
        """Reload the current page from the database."""
        self._load(self.page_index)

    @property
    def pages(self) -> int:
        """How many pages the current filter gives (at least 1)."""
        return max(1, math.ceil(self.total / self.page_size))

    def _act(self, action: Callable[[], object]) -> None:
        _attempt(self.error_html, action)

    def _load(self, index: int) -> None:
        """Show page ``index``; the state changes only once the page is loaded (an error leaves it as it was)."""
        status = self.status_dropdown.value
        page = self.ws.projects(
            status=None if status == ALL_STATUSES else status, offset=index * self.page_size, limit=self.page_size,
            name_contains=self.filter_text.value,
        )
        if not page.items and index > 0:  # the list shrank under us: show its last page
            self._load(max(0, math.ceil(page.total / self.page_size) - 1))
            return
        self.page_index, self.total = index, page.total
        self.page_label.value = f"page {index + 1} of {self.pages} ({page.total} projects)"
        self.prev_button.disabled = index == 0
        self.next_button.disabled = index + 1 >= self.pages
        self.project_list.options = tuple((f"{p.name} ({p.template}, {p.status})", str(p.id)) for p in page.items)
        self.project_list.value = str(page.items[0].id) if page.items else None
        self._allow_open(bool(page.items))

    def _allow_open(self, allowed: bool) -> None:
        self.open_button.disabled = not allowed

    def _open(self) -> None:
        project = self.ws.project(self.project_list.value)
        active = [s for s in project.sessions() if s.status == "active"]
        self.show(SessionForm(active[-1] if active else project.start_session()))

    def show(self, form: SessionForm) -> None:
        """Show ``form`` below the list, closing the form shown before."""
        if self.form is not None:
            _close(self.form)
        self.form = form
        self.form_box.children = (form,)
