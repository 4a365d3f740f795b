"""HTML and plain-text renderings of the public objects for Jupyter.

Every piece of user text goes through :func:`html.escape`. The plain-text forms are
short and free of ids and timestamps, so notebooks compared by nbval stay stable.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Iterable

from socrates_nb.categories import CATEGORY_INFO
from socrates_nb.quality.maturity import Maturity

if TYPE_CHECKING:
    from socrates_nb.services.usage import UsageView
    from socrates_nb.services.views import ConflictView, ItemView, OpenQuestionView, QuestionView, TurnView
    from socrates_nb.workspace import Project, ProjectPage, Session

_STYLE = "font-family: var(--jp-ui-font-family, sans-serif); line-height: 1.4"


def category_label(category: str) -> str:
    """The display name of a category (the code itself if unknown)."""
    info = CATEGORY_INFO.get(category)
    return info.label if info else category


def question_text(q: "QuestionView") -> str:
    """``Q3 [performance] What response time ...?`` (``probe`` marks a follow-up)."""
    kind = " probe" if q.is_probe else ""
    return f"Q{q.seq} [{q.category}{kind}] {q.text}"


def question_html(q: "QuestionView") -> str:
    """The question with its category and why it matters."""
    badge = "follow-up · " if q.is_probe else ""
    return (
        f'<div style="{_STYLE}"><div><small>{badge}{escape(category_label(q.category))} · question {q.seq}</small></div>'
        f"<div><b>{escape(q.text)}</b></div><div><small><i>Why it matters:</i> {escape(q.why)}</small></div></div>"
    )


def maturity_html(m: Maturity) -> str:
    """A progress bar with the score and whether the specification is ready."""
    state = "ready" if m.ready else "not ready"
    return f'<progress max="100" value="{m.score:.1f}"></progress> <b>{m.score:.1f}</b>/100 ({state})'


def _items_html(items: Iterable["ItemView"]) -> str:
    rows = "".join(
        f"<tr><td>{escape(i.ref)}</td><td>{escape(i.text)}</td><td>{i.confidence:.2f}</td>"
        f"<td>{escape(', '.join(f['rule'] for f in i.findings))}</td></tr>"
        for i in items
    )
    return f"<table><tr><th>Ref</th><th>Item</th><th>Confidence</th><th>Findings</th></tr>{rows}</table>" if rows else ""


def conflict_text(c: "ConflictView") -> str:
    """``NFR-PERF-001 vs NFR-PERF-002 (numeric, high, open): ...``."""
    return f"{c.item_a} vs {c.item_b} ({c.type}, {c.severity}, {c.status}): {c.explanation}"


def conflict_html(c: "ConflictView") -> str:
    """One conflict as an HTML line."""
    return f'<div style="{_STYLE}">⚠ {escape(conflict_text(c))}</div>'


def open_question_text(q: "OpenQuestionView") -> str:
    """``open [performance] What response time ...? -> "Not specified."`` (``reopened`` when reopened)."""
    asked = f"{q.question} -> " if q.question else ""
    return f'{q.status} [{q.category}] {asked}"{q.answer}"'


def open_question_html(q: "OpenQuestionView") -> str:
    """One open question: the question, what the user said, its category and status."""
    return (
        f'<div style="{_STYLE}">❓ <small>{escape(category_label(q.category))} · {escape(q.status)}</small> '
        f'{escape(q.question)} <i>"{escape(q.answer)}"</i></div>'
    )


def _engines(t: "TurnView") -> str:
    """`` · anthropic (question offline: timeout)`` for an LLM turn; empty for an offline one."""
    used = set(t.engine_used.values())
    if used == {"offline"} and not t.fallbacks:
        return ""
    steps = ", ".join(f"{step} {engine}" for step, engine in t.engine_used.items())
    why = "; ".join(f"{step}: {reason}" for step, reason in t.fallbacks.items())
    return f" · {steps}" + (f" (fell back: {why})" if why else "")


def turn_text(t: "TurnView") -> str:
    """Items, conflicts, maturity and the next question of one answer."""
    lines = [f"Turn {t.seq}: {len(t.items)} item(s), maturity {t.maturity.score:.1f}{_engines(t)}"]
    lines += [f"  {i.ref} {i.text} ({i.confidence:.2f})" for i in t.items]
    lines += [f"  {ref} acceptance criterion: {c}" for ref, c in t.criteria]
    lines += [f"  conflict {conflict_text(c)}" for c in t.conflicts]
    lines += [f"  open question: {open_question_text(q)}" for q in t.open_questions]
    if t.conflicts_omitted:
        lines.append(f"  {_omitted(t)}")
    lines.append(f"  next: {question_text(t.next_question)}" if t.next_question else "  next: nothing left to ask")
    return "\n".join(lines)


def _omitted(t: "TurnView") -> str:
    return (f"+{t.conflicts_omitted} more contradicting pair(s) not recorded: "
            "resolve the conflicts shown, then restate what still contradicts")


def turn_html(t: "TurnView") -> str:
    """What the answer produced, then the next question."""
    conflicts = "".join(conflict_html(c) for c in t.conflicts)
    if t.conflicts_omitted:
        conflicts += f"<p>{escape(_omitted(t))}</p>"
    conflicts += "".join(open_question_html(q) for q in t.open_questions)
    if t.criteria:
        conflicts += "<ul>" + "".join(f"<li><b>{escape(ref)}</b> acceptance criterion: {escape(c)}</li>"
                                      for ref, c in t.criteria) + "</ul>"
    nxt = question_html(t.next_question) if t.next_question else "<p>Nothing left to ask.</p>"
    return (
        f'<div style="{_STYLE}"><div>Answer {t.seq} · maturity {maturity_html(t.maturity)}{escape(_engines(t))}</div>'
        f"{_items_html(t.items)}{conflicts}<hr>{nxt}</div>"
    )


def project_text(p: "Project") -> str:
    """``Project 'Payments API' (web-api, active)``."""
    return f"Project {p.name!r} ({p.template}, {p.status})"


def project_html(p: "Project") -> str:
    """Name, template, status, description and the current maturity."""
    m = p.specification().maturity
    desc = f"<div>{escape(p.description)}</div>" if p.description else ""
    return (
        f'<div style="{_STYLE}"><b>{escape(p.name)}</b> <small>{escape(p.template)} · {escape(p.status)}</small>'
        f"{desc}<div>maturity {maturity_html(m)}</div></div>"
    )


def session_text(s: "Session") -> str:
    """``Session (active, 3 answers, offline engine)``."""
    return f"Session ({s.status}, {s.answer_count} answers, {s.engine} engine)"


def session_html(s: "Session") -> str:
    """The session's state and its pending question."""
    q = s.next_question()
    body = question_html(q) if q else "<p>Nothing left to ask.</p>"
    return f'<div style="{_STYLE}"><small>{escape(session_text(s))}</small>{body}</div>'


def page_text(page: "ProjectPage") -> str:
    """One line per project, then the position in the list."""
    if not page.items:
        return f"No projects ({page.total} in all)."
    lines = [project_text(p) for p in page.items]
    lines.append(f"-- {page.offset + 1}-{page.offset + len(page.items)} of {page.total}")
    return "\n".join(lines)


def page_html(page: "ProjectPage") -> str:
    """A table of the page's projects."""
    rows = "".join(
        f"<tr><td>{escape(p.name)}</td><td>{escape(p.template)}</td><td>{escape(p.status)}</td></tr>" for p in page.items
    )
    return (
        f'<div style="{_STYLE}"><table><tr><th>Project</th><th>Template</th><th>Status</th></tr>{rows}</table>'
        f"<small>{page.offset + 1 if page.items else 0}-{page.offset + len(page.items)} of {page.total}</small></div>"
    )


def usage_text(u: "UsageView") -> str:
    """One line per provider, model and project, then the totals."""
    if not u.rows:
        return "LLM usage: no calls" + (f" since {u.since:%Y-%m-%d %H:%M} UTC" if u.since else "")
    lines = ["LLM usage (estimated cost in USD):"]
    for r in u.rows:
        lines.append(f"  {r.provider}/{r.model} · {r.project_name or '(deleted project)'}: {r.calls} calls "
                     f"({r.cached_calls} cached, {r.failed_calls} failed), {r.tokens_in} in / {r.tokens_out} out, "
                     f"${r.cost_usd:.4f}")
    t = u.totals
    lines.append(f"  total: {t['calls']} calls, {t['tokens_in']} in / {t['tokens_out']} out, ${t['cost_usd']:.4f}")
    return "\n".join(lines)


def usage_html(u: "UsageView") -> str:
    """A table of :func:`usage_text`'s rows."""
    head = "".join(f"<th>{h}</th>" for h in ("Provider", "Model", "Project", "Calls", "Cached", "Failed",
                                             "Tokens in", "Tokens out", "Cost (USD, est.)"))
    body = "".join(
        f"<tr><td>{escape(r.provider)}</td><td>{escape(r.model)}</td>"
        f"<td>{escape(r.project_name or '(deleted project)')}</td><td>{r.calls}</td><td>{r.cached_calls}</td>"
        f"<td>{r.failed_calls}</td><td>{r.tokens_in}</td><td>{r.tokens_out}</td><td>{r.cost_usd:.4f}</td></tr>"
        for r in u.rows
    )
    t = u.totals
    foot = (f"<tr><th colspan=3>Total</th><th>{t['calls']}</th><th>{t['cached_calls']}</th><th>{t['failed_calls']}</th>"
            f"<th>{t['tokens_in']}</th><th>{t['tokens_out']}</th><th>{t['cost_usd']:.4f}</th></tr>")
    return f'<div style="{_STYLE}"><b>LLM usage</b><table><tr>{head}</tr>{body}{foot}</table></div>'
