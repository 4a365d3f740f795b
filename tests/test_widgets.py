"""Widgets, driven headlessly: click buttons, set values, then check what the database holds."""

from __future__ import annotations

from collections.abc import Iterator

import ipywidgets as widgets
import pytest
from sqlalchemy import update

import socrates_nb as snb
from socrates_nb.notebook.widgets import ProjectBrowser, SessionForm
from socrates_nb.storage import models
from socrates_nb.workspace import Project, Session, Workspace

HOSTILE = "<script>alert('x')</script>"
CONFLICTING = "p95 latency under 200 ms. p95 latency under 2 s."
COVER = "The team reviews it weekly. Staff record each change. Finance signs off every quarter."


def started(ws: Workspace, name: str = "Shop", template: str = "generic") -> tuple[Project, Session]:
    p = ws.create_project(name, template=template)
    return p, p.start_session()


def stored(ws: Workspace, session: Session) -> tuple[int, int, tuple[str, ...]]:
    """What the database holds for a session: its answer and question counts, its project's current item refs."""
    fresh = ws.session(session.id)
    items = ws.project(fresh.project_id).specification().items
    return fresh.answer_count, fresh.question_count, tuple(i.ref for i in items)


def button(box: widgets.Widget, description: str) -> widgets.Button:
    """The first button labelled ``description`` anywhere inside ``box``."""
    return next(w for w in descendants(box) if isinstance(w, widgets.Button) and w.description == description)


def descendants(box: widgets.Widget) -> Iterator[widgets.Widget]:
    for child in getattr(box, "children", ()):
        yield child
        yield from descendants(child)


# --- the session form --------------------------------------------------------------------------


def test_form_shows_the_question_controls_and_an_empty_specification(ws: Workspace) -> None:
    p, s = started(ws, template="web-app")
    form = s.widget()
    assert isinstance(form, snb.SessionForm) and isinstance(form, widgets.VBox) and snb.SessionForm is SessionForm
    assert "application/vnd.jupyter.widget-view+json" in form._repr_mimebundle_()
    q = s.next_question()
    assert form.question == q and q.category == "goals"
    assert "Goals" in form.question_html.value and "Why it matters" in form.question_html.value
    classes = {
        "snb-form": form, "snb-answer": form.answer, "snb-submit": form.submit, "snb-skip": form.skip_button,
        "snb-complete": form.complete_button, "snb-question": form.question_html, "snb-items": form.items_html,
        "snb-error": form.error_html,
    }
    for css, widget in classes.items():
        assert css in widget._dom_classes
    assert form.answer.placeholder == "Type your answer" and form.submit.description == "Submit"
    assert not any(b.disabled for b in (form.submit, form.skip_button, form.complete_button))
    assert (form.maturity_bar.min, form.maturity_bar.max, form.maturity_bar.value) == (0.0, 100.0, 0.0)
    assert "0.0</b>/100 (not ready)" in form.maturity_label.value
    spec = p.specification()
    assert list(form.category_bars) == list(spec.maturity.coverage)
    assert form.categories_box.children == tuple(form.category_bars.values())
    assert "Shop" in form.status_html.value and "0 answers" in form.status_html.value
    assert "next answer appear here" in form.items_html.value and form.error_html.value == ""
    assert "none" in form.conflicts_box.children[0].value and len(form.conflicts_box.children) == 1
    assert all(g.split(":")[0] in form.gaps_html.value for g in spec.gaps) and len(spec.gaps) > 1


def test_submit_stores_the_answer_and_shows_its_items(ws: Workspace) -> None:
    p, s = started(ws)
    form = snb.SessionForm(s)
    first = form.question
    form.answer.value = "Mechanics order spare parts online. Shops restock weekly."
    form.submit.click()
    answers, _, refs = stored(ws, s)
    assert answers == 1 and refs == ("GOAL-001", "GOAL-002")
    assert "GOAL-001" in form.items_html.value and "GOAL-002" in form.items_html.value
    assert "[Goals]" in form.items_html.value and "Mechanics order spare parts online." in form.items_html.value
    assert form.answer.value == "" and form.error_html.value == ""
    assert form.question is not None and form.question.id != first.id and form.question == s.next_question()
    maturity = p.specification().maturity
    assert form.maturity_bar.value == maturity.score > 0
    assert form.category_bars["goals"].value == round(maturity.coverage["goals"] * 100, 1) > 0
    assert "1 answers" in form.status_html.value


def test_a_criteria_reply_shows_the_criteria_it_added(ws: Workspace) -> None:
    p, s = started(ws)
    while s.next_question().key != "functional.core_tasks":
        s.skip()
    form = snb.SessionForm(s)
    form.answer.value = "Clerks cancel an order."
    form.submit.click()
    assert form.question.key == "criteria.functional.core_tasks" and "Clerks cancel an order." in form.question_html.value
    form.answer.value = "A shipped order <b>cannot</b> be cancelled."
    form.submit.click()
    assert "FR-001</b> acceptance criterion: A shipped order &lt;b&gt;cannot&lt;/b&gt; be cancelled." in form.items_html.value
    assert p.specification().items[-1].acceptance_criteria == ("A shipped order <b>cannot</b> be cancelled.",)


@pytest.mark.parametrize("text", ["", "   \n  ", "bad \x00 byte"])
def test_an_invalid_answer_shows_the_error_inline_and_stores_nothing(ws: Workspace, text: str) -> None:
    _, s = started(ws)
    form = s.widget()
    before, shown = stored(ws, s), form.question
    form.answer.value = text
    form.submit.click()
    assert stored(ws, s) == before == (0, 1, ())
    assert "snb-error" in form.error_html._dom_classes and "color: #b00020" in form.error_html.value
    assert "answer must not be empty" in form.error_html.value or "control characters" in form.error_html.value
    assert "Traceback" not in form.error_html.value
    assert form.question == shown and form.answer.value == text  # the text stays to be fixed
    form.answer.value = "Shops sell spare parts."
    form.submit.click()
    assert form.error_html.value == "" and stored(ws, s)[0] == 1


def test_user_text_is_escaped_everywhere(ws: Workspace) -> None:
    _, s = started(ws, name=HOSTILE)
    form = s.widget()
    form.answer.value = f"Clerks type {HOSTILE} into the search box."
    form.submit.click()
    assert stored(ws, s)[0] == 1
    for html in (form.items_html.value, form.status_html.value, form.question_html.value, form.gaps_html.value):
        assert "<script>" not in html
    assert "&lt;script&gt;" in form.items_html.value and "&lt;script&gt;" in form.status_html.value


def test_a_stale_form_shows_the_conflict_and_reloads(ws: Workspace, db_url: str) -> None:
    _, s = started(ws)
    form = s.widget()
    shown = form.question
    with snb.connect(db_url, user="alice") as elsewhere:  # another process answers first
        elsewhere.session(s.id).answer("Shops sell spare parts.")
    form.answer.value = "Mechanics buy parts."
    form.submit.click()
    assert "no longer waiting for an answer" in form.error_html.value
    assert stored(ws, s)[0] == 1, "the stale answer must not be stored"
    assert form.question is not None and form.question.id != shown.id and form.question == s.next_question()
    assert form.answer.value == "Mechanics buy parts." and "1 answers" in form.status_html.value
    form.submit.click()  # now it answers the question the form shows
    assert form.error_html.value == "" and stored(ws, s)[0] == 2


def test_skip_then_complete_disables_the_form(ws: Workspace) -> None:
    _, s = started(ws)
    form = s.widget()
    first = form.question
    form.skip_button.click()
    assert form.question is not None and form.question.id != first.id
    assert stored(ws, s)[:2] == (0, 2)
    form.complete_button.click()
    assert s.refresh().status == "completed" and s.next_question() is None
    assert all(b.disabled for b in (form.submit, form.skip_button, form.complete_button, form.answer))
    assert "session is completed" in form.question_html.value
    form.answer.value = "Too late."
    for b in (form.submit, form.skip_button, form.complete_button):
        b.click()  # a disabled button does nothing
    assert stored(ws, s)[:2] == (0, 2) and form.error_html.value == ""


def test_nothing_left_to_ask_leaves_only_complete(ws: Workspace) -> None:
    _, s = started(ws)
    while s.next_question() is not None:
        s.skip()
    form = s.widget()
    assert form.question is None and "Nothing left to ask" in form.question_html.value
    assert form.submit.disabled and form.skip_button.disabled and not form.complete_button.disabled
    form.complete_button.click()
    assert s.refresh().status == "completed" and form.complete_button.disabled


def test_an_answer_without_items_then_a_complete_specification(ws: Workspace) -> None:
    _, s = started(ws)
    form = s.widget()
    form.answer.value = "n/a"
    form.submit.click()
    assert "produced no items" in form.items_html.value and stored(ws, s)[:3:2] == (1, ())
    assert "Open questions" in form.open_html.value and "&quot;n/a&quot;" in form.open_html.value
    assert "Goals: only open questions (1)" in form.maturity_label.value
    for _ in range(40):
        if form.question is None:
            break
        form.answer.value = COVER
        form.submit.click()
    assert form.question is None and form.error_html.value == ""
    assert form.maturity_bar.value == 100.0 and form.maturity_bar.bar_style == "success"
    assert "100.0</b>/100 (ready)" in form.maturity_label.value
    assert {b.value for b in form.category_bars.values()} == {100.0}
    assert "none, every category is covered" in form.gaps_html.value


def test_a_skip_on_a_session_completed_elsewhere_shows_the_error(ws: Workspace) -> None:
    _, s = started(ws)
    form = s.widget()
    ws.session(s.id).complete()
    form.skip_button.click()
    assert f"session {s.id} is completed" in form.error_html.value
    assert form.skip_button.disabled and "session is completed" in form.question_html.value


def test_a_deleted_project_shows_not_found_inline(ws: Workspace) -> None:
    p, s = started(ws)
    form = s.widget()
    ws.delete_project(p.id)
    form.answer.value = "Shops sell spare parts."
    form.submit.click()
    assert "not found" in form.error_html.value and "Traceback" not in form.error_html.value
    assert ws.projects().total == 0


@pytest.mark.parametrize(
    ("label", "current"),
    [("Keep A", ("NFR-PERF-001",)), ("Keep B", ("NFR-PERF-002",)), ("Dismiss", ("NFR-PERF-001", "NFR-PERF-002"))],
)
def test_conflict_buttons_resolve_and_reload(ws: Workspace, label: str, current: tuple[str, ...]) -> None:
    p, s = started(ws)
    form = s.widget()
    form.answer.value = CONFLICTING
    form.submit.click()
    [conflict] = p.conflicts()
    heading, row = form.conflicts_box.children
    assert "Open conflicts (1)" in heading.value and "snb-conflict" in row._dom_classes
    assert "NFR-PERF-001" in row.children[0].value and "NFR-PERF-002" in row.children[0].value
    assert conflict.explanation.split(":")[0] in row.children[0].value
    assert [b.description for b in row.children[1].children] == ["Keep A", "Keep B", "Dismiss"]
    score = form.maturity_bar.value
    button(row, label).click()
    assert p.conflicts() == [] and form.error_html.value == ""
    assert tuple(i.ref for i in p.specification().items if i.category == "performance") == current
    resolved = p.conflicts(status=None)[0]
    assert resolved.resolution == label.lower().replace(" ", "_")
    assert len(form.conflicts_box.children) == 1 and "none" in form.conflicts_box.children[0].value
    assert row.comm is None, "the row of a resolved conflict is closed"
    assert form.maturity_bar.value == p.specification().maturity.score >= score


def test_a_conflict_resolved_elsewhere_shows_the_error(ws: Workspace) -> None:
    p, s = started(ws)
    s.answer(CONFLICTING)
    form = s.widget()
    [conflict] = p.conflicts()
    p.resolve_conflict(conflict, "dismiss")
    button(form.conflicts_box, "Keep A").click()
    assert "is already dismissed" in form.error_html.value
    assert p.conflicts(status=None)[0].resolution == "dismiss"
    assert len(form.conflicts_box.children) == 1


def test_a_new_form_after_a_restart_shows_the_same_state(ws: Workspace, db_url: str) -> None:
    p, s = started(ws, template="web-app")
    form = s.widget()
    for text in ("Shoppers buy shoes online in under 3 clicks.", CONFLICTING):
        form.answer.value = text
        form.submit.click()
    form.skip_button.click()

    def state(f: SessionForm) -> tuple[object, ...]:
        buttons = tuple(b.disabled for b in (f.submit, f.skip_button, f.complete_button))
        bars = {c: b.value for c, b in f.category_bars.items()}
        conflicts = tuple(row.children[0].value for row in f.conflicts_box.children[1:])
        return (f.question, f.question_html.value, f.status_html.value, f.maturity_bar.value, f.maturity_label.value,
                bars, conflicts, f.gaps_html.value, buttons)

    before = state(form)
    ws.close()
    with snb.connect(db_url, user="alice") as restarted:  # a new kernel on the same database
        again = restarted.session(s.id).widget()
        assert state(again) == before and len(before[6]) == 1
        again.answer.value = "Shoppers pay by card."
        again.submit.click()
        assert again.error_html.value == "" and restarted.session(s.id).answer_count == 3


def test_the_form_is_displayable() -> None:
    assert issubclass(SessionForm, widgets.VBox) and issubclass(ProjectBrowser, widgets.VBox)
    assert {"SessionForm", "ProjectBrowser"} <= set(snb.__all__)
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        snb.Nope  # noqa: B018


# --- the project browser -------------------------------------------------------------------------


def make_projects(ws: Workspace, n: int = 25) -> list[str]:
    names = [f"Project {i:02d}" for i in range(n)]
    for name in names:
        ws.create_project(name)
    return names[::-1]  # newest first


def shown_names(browser: ProjectBrowser) -> list[str]:
    return [label.split(" (")[0] for label, _ in browser.project_list.options]


def test_browser_pages_through_projects(ws: Workspace) -> None:
    newest_first = make_projects(ws)
    browser = ws.browser()
    assert isinstance(browser, snb.ProjectBrowser) and "snb-browser" in browser._dom_classes
    assert shown_names(browser) == newest_first[:10] and browser.page_label.value.startswith("page 1 of 3")
    assert browser.prev_button.disabled and not browser.next_button.disabled
    assert browser.project_list.value == str(ws.project(newest_first[0]).id) and not browser.open_button.disabled
    browser.next_button.click()
    assert shown_names(browser) == newest_first[10:20] and browser.page_label.value.startswith("page 2 of 3")
    browser.next_button.click()
    assert shown_names(browser) == newest_first[20:] and browser.page_label.value == "page 3 of 3 (25 projects)"
    assert browser.next_button.disabled and not browser.prev_button.disabled
    browser.next_button.click()  # disabled: stays on the last page
    assert browser.page_index == 2
    browser.prev_button.click()
    assert shown_names(browser) == newest_first[10:20]
    assert shown_names(ws.browser(page_size=4)) == newest_first[:4]


def test_browser_filters_by_name_and_status_on_the_server(ws: Workspace) -> None:
    make_projects(ws)
    with ws.db.write() as orm:
        archived = models.Project.name.in_(["Project 12", "Project 03"])
        orm.execute(update(models.Project).where(archived).values(status="archived"))
    ws.cache.clear()
    browser = ws.browser()
    browser.next_button.click()
    browser.filter_text.value = "PROJECT 1"  # case-insensitive, back to page 1
    assert shown_names(browser) == [f"Project {i}" for i in range(19, 9, -1)]
    assert browser.page_label.value == "page 1 of 1 (10 projects)" and browser.next_button.disabled
    browser.status_dropdown.value = "archived"
    assert shown_names(browser) == ["Project 12"]
    browser.filter_text.value = ""
    assert shown_names(browser) == ["Project 12", "Project 03"]
    assert browser.status_dropdown.options == ("all", "active", "archived")
    browser.filter_text.value = "zzz"
    assert browser.project_list.options == () and browser.open_button.disabled
    assert browser.page_label.value == "page 1 of 1 (0 projects)"


def test_a_bad_filter_shows_the_error_and_keeps_the_list(ws: Workspace) -> None:
    make_projects(ws, 12)
    browser = ws.browser()
    browser.next_button.click()
    before = (browser.project_list.options, browser.page_index, browser.page_label.value)
    browser.filter_text.value = "x" * 201
    assert "name_contains is 201 characters long; the limit is 200" in browser.error_html.value
    assert (browser.project_list.options, browser.page_index, browser.page_label.value) == before
    browser.filter_text.value = "Project 0"
    assert browser.error_html.value == "" and len(browser.project_list.options) == 10


def test_browser_moves_back_when_its_page_empties(ws: Workspace) -> None:
    newest_first = make_projects(ws, 12)
    browser = ws.browser()
    browser.next_button.click()
    for name in newest_first[10:]:
        ws.delete_project(name)
    browser.refresh()
    assert browser.page_index == 0 and shown_names(browser) == newest_first[:10]
    assert browser.page_label.value == "page 1 of 1 (10 projects)"


def test_open_starts_or_reuses_the_latest_active_session(ws: Workspace) -> None:
    p = ws.create_project("Shop")
    browser = ws.browser()
    browser.open_button.click()
    [session] = p.sessions()
    first = browser.form
    assert isinstance(first, SessionForm) and browser.form_box.children == (first,) and first.session.id == session.id
    first.answer.value = "Shops sell spare parts."
    first.submit.click()
    assert ws.session(session.id).answer_count == 1

    browser.open_button.click()  # reopens the same active session, closing the old form
    assert [x.id for x in p.sessions()] == [session.id] and browser.form.session.id == session.id
    assert browser.form is not first and first.comm is None and first.submit.comm is None

    browser.form.complete_button.click()
    browser.open_button.click()  # no active session left: a new one
    sessions = p.sessions()
    assert [x.status for x in sessions] == ["completed", "active"] and browser.form.session.id == sessions[1].id


def test_open_reports_a_project_deleted_meanwhile(ws: Workspace) -> None:
    ws.create_project("Gone")
    browser = ws.browser()
    ws.delete_project("Gone")
    browser.open_button.click()
    assert "not found" in browser.error_html.value and browser.form is None
    browser.project_list.value = None
    assert browser.open_button.disabled


def test_browser_page_size_is_validated(ws: Workspace) -> None:
    with pytest.raises(snb.ValidationError, match="limit must be an integer from 1 to 100"):
        ws.browser(page_size=0)


# --- the name filter of the project list -----------------------------------------------------------


def test_projects_name_filter(ws: Workspace, other_ws: Workspace) -> None:
    for name in ("Payments API", "payment reports", "Shop", "100% done", "a_b"):
        ws.create_project(name)
    other_ws.create_project("Payments (bob)")
    assert [p.name for p in ws.projects(name_contains="PAYMENT").items] == ["payment reports", "Payments API"]
    assert ws.projects(name_contains="payment", limit=1).total == 2
    assert [p.name for p in ws.projects(name_contains="%").items] == ["100% done"]  # wildcards are literal
    assert [p.name for p in ws.projects(name_contains="_").items] == ["a_b"]
    assert ws.projects(name_contains="  ").total == 5 and ws.projects(name_contains=None).total == 5
    assert ws.projects(status="archived", name_contains="Shop").total == 0
    with pytest.raises(snb.ValidationError, match="name_contains is 201 characters long; the limit is 200"):
        ws.projects(name_contains="x" * 201)
    with pytest.raises(snb.ValidationError, match="name_contains contains control characters"):
        ws.projects(name_contains="a\x00b")
    with pytest.raises(snb.ValidationError, match="name_contains must be text"):
        ws.projects(name_contains=5)  # type: ignore[arg-type]
