"""Exports of a specification: Markdown, JSON and CSV.

Exports name items by their stable refs and carry no database ids or timestamps, so the
same answers in the same order export to the same bytes.

Exports are data, not code (docs/SECURITY.md, "Exports"): every CSV cell is quoted and a
cell that a spreadsheet would read as a formula gets a leading ``'`` (:func:`csv_cell`);
user text in Markdown is escaped so that it can form neither raw HTML nor a link
(:func:`md_escape`); HTML escapes it. The JSON export keeps the raw values.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from functools import lru_cache
from importlib import resources
from typing import Any

from socrates_nb.__about__ import __version__
from socrates_nb.categories import CATEGORIES, CATEGORY_INFO
from socrates_nb.errors import ValidationError
from socrates_nb.logs import get_logger
from socrates_nb.quality.priority import definition_of
from socrates_nb.services.views import ItemView, OpenQuestionView, SpecView

_log = get_logger(__name__)

FORMATS = ("md", "json", "csv", "html")
SPEC_FORMAT_VERSION = 2


def spec_to_dict(spec: SpecView) -> dict[str, Any]:
    """The JSON shape of a specification."""
    return {
        "format": "socrates_nb.specification",
        "format_version": SPEC_FORMAT_VERSION,
        "generator": f"socrates_nb {__version__}",
        "project": {
            "name": spec.project.name,
            "description": spec.project.description,
            "template": spec.project.template,
            "status": spec.project.status,
        },
        "maturity": spec.maturity.to_dict(),
        "items": [_item(i) for i in spec.items],
        "conflicts": [
            {k: v for k, v in c.to_dict().items() if k not in ("id", "item_ids")} for c in spec.conflicts
        ],
        "gaps": list(spec.gaps),
        "open_questions": [_open_question(q) for q in spec.open_questions],
        "glossary": glossary(spec),
    }


def _open_question(q: OpenQuestionView) -> dict[str, Any]:
    return {"category": q.category, "key": q.key, "question": q.question, "answer": q.answer, "status": q.status}


def open_question_refs(spec: SpecView) -> list[tuple[str, OpenQuestionView]]:
    """The open questions numbered ``OQ-001``, ``OQ-002``... in the specification's order."""
    return [(f"OQ-{n:03d}", q) for n, q in enumerate(spec.open_questions, 1)]


def _item(item: ItemView) -> dict[str, Any]:
    return {
        "ref": item.ref,
        "category": item.category,
        "key": item.key,
        "value": item.value,
        "text": item.text,
        "confidence": item.confidence,
        "findings": list(item.findings),
        "priority": item.priority,
        "rationale": item.rationale,
        "acceptance_criteria": list(item.acceptance_criteria),
        "source": {"question": item.source_question, "answer": item.source_answer, "turn": item.turn,
                   "restated": [dict(r) for r in item.restated]},
    }


def glossary(spec: SpecView) -> list[dict[str, str]]:
    """The terms the user defined ("A slot means a 15-minute appointment"), by term."""
    found = {}
    for item in spec.items:
        defined = definition_of(str(item.value.get("text") or item.text))
        if defined is not None:
            found.setdefault(defined[0].lower(), {"term": defined[0], "definition": defined[1], "ref": item.ref})
    return [found[k] for k in sorted(found)]


def to_json(spec: SpecView) -> str:
    """The specification as indented, key-sorted JSON."""
    return json.dumps(spec_to_dict(spec), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# OWASP CSV injection: a cell starting with one of these is a formula (or starts one) in a spreadsheet
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """``text`` made safe for a spreadsheet: a leading ``'`` when it starts with ``= + - @``, tab or CR.

    Negative numbers (``-5``) get the quote too, as OWASP advises: a spreadsheet shows ``-5``
    as text. The JSON export keeps the raw value.
    """
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(spec: SpecView) -> str:
    """One row per current item: ref, category, key, text, confidence, value (JSON), findings, source,
    acceptance criteria (one per line); then one row per open question: ref ``OQ-001``..., category,
    key, the question as text, empty confidence and value, findings ``open-question``, and the
    question and answer.

    Every cell of an item row is quoted (a ``;`` or ``,`` inside a cell never splits it, whatever
    separator a spreadsheet assumes) and passed through :func:`csv_cell`; the header is plain.
    """
    out = io.StringIO()
    out.write("ref,category,key,text,confidence,value,findings,question,answer,acceptance_criteria\n")
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    for i in spec.items:
        writer.writerow([csv_cell(cell) for cell in (
            i.ref, i.category, i.key, i.text, f"{i.confidence:.2f}",
            json.dumps(i.value, sort_keys=True, ensure_ascii=False),
            "; ".join(f["rule"] for f in i.findings), i.source_question or "", i.source_answer or "",
            "\n".join(i.acceptance_criteria),
        )])
    for ref, q in open_question_refs(spec):
        writer.writerow([csv_cell(cell) for cell in (
            ref, q.category, q.key, q.question, "", "", "open-question", q.question, q.answer, "",
        )])
    return out.getvalue()


def _by_category(items: tuple[ItemView, ...]) -> list[tuple[str, list[ItemView]]]:
    """The items grouped by category, in the canonical category order, empty groups left out."""
    groups: dict[str, list[ItemView]] = {c: [] for c in CATEGORIES}
    for item in items:
        groups[item.category].append(item)
    return [(c, group) for c, group in groups.items() if group]


# HTML's three, then the characters of Markdown links, images, emphasis, code spans and tables
_MD_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;", **{c: "\\" + c for c in "\\`*_[]|"}}
_MD_TABLE = str.maketrans(_MD_SPECIAL)
# what makes a line a heading, list item, block quote, thematic break or setext underline
_MD_BLOCK_START = re.compile(r"[#+\-=~]|\d{1,9}[.)]")
_LINE_BREAKS = re.compile(r"\s*[\r\n\u2028\u2029]+\s*")


def md_escape(text: str, line_start: bool = False) -> str:
    """User text as Markdown that renders as this very text, on one line, and nothing else.

    ``& < >`` become entities, so no raw HTML and no autolink (``<javascript:...>``) can form;
    ``[ ] | * _ ` \\`` are backslash-escaped, so no link, image, link reference definition,
    emphasis, code span or table cell can form; line breaks become spaces. ``line_start``:
    the text begins a line, so a leading ``#``, ``-``, ``+``, ``=``, ``~`` or ``1.`` is escaped
    too (no heading, list or rule) and leading spaces are dropped (no code block).
    """
    escaped = _LINE_BREAKS.sub(" ", text).translate(_MD_TABLE)
    if line_start:
        escaped = escaped.lstrip()
        start = _MD_BLOCK_START.match(escaped)
        if start:
            end = start.end()
            escaped = f"{escaped[:end - 1]}\\{escaped[end - 1:]}"
    return escaped


def to_markdown(spec: SpecView) -> str:
    """A readable document: items grouped by category with their sources, then conflicts and gaps."""
    p = spec.project
    lines = [f"# {md_escape(p.name)}: specification", ""]
    if p.description:
        lines += [md_escape(p.description, line_start=True), ""]
    ready = "ready" if spec.maturity.ready else "not ready"
    lines += [f"Template: `{p.template}` · Maturity: **{spec.maturity.score:.1f} / 100** ({ready})", ""]
    for cat, items in _by_category(spec.items):
        lines += [f"## {CATEGORY_INFO[cat].label}", ""]
        for item in items:
            priority = f", {item.priority}" if item.priority != "unset" else ""
            lines.append(f"- **{item.ref}** {md_escape(item.text)} _(confidence {item.confidence:.2f}{priority})_")
            if item.source_question:
                lines.append(f"  - Asked: {md_escape(item.source_question)}")
            if item.source_answer:
                lines.append(f"  - Answer: \"{md_escape(item.source_answer)}\"")
            for earlier in item.restated:
                lines.append(f"  - Also stated (turn {earlier['turn']}): \"{md_escape(earlier['answer'] or '')}\"")
            if item.acceptance_criteria:
                lines.append("  - Acceptance criteria:")
                lines += [f"    - {md_escape(c)}" for c in item.acceptance_criteria]
            for f in item.findings:
                lines.append(f"  - ⚠ `{f['rule']}`: {md_escape(f['message'])}")
        lines.append("")
    lines += ["## Open conflicts", ""]
    if spec.conflicts:
        lines += [
            f"- {c.item_a} vs {c.item_b} ({c.type}, {c.severity}): {md_escape(c.explanation)}" for c in spec.conflicts
        ]
    else:
        lines.append("None.")
    lines += ["", "## Open questions", ""]
    lines += [
        f"- **{ref}** ({CATEGORY_INFO[q.category].label}) {md_escape(q.question or q.key)} "
        f"Answer so far: \"{md_escape(q.answer)}\"" + (" _(reopened)_" if q.status == "reopened" else "")
        for ref, q in open_question_refs(spec)
    ] or ["None."]
    terms = glossary(spec)
    if terms:
        lines += ["", "## Glossary", ""]
        lines += [f"- **{md_escape(t['term'])}**: {md_escape(t['definition'])} ({t['ref']})" for t in terms]
    lines += ["", "## Gaps", ""]
    lines += [f"- {md_escape(g)}" for g in spec.gaps] or ["None: every category meets its target."]
    blockers = spec.maturity.blockers()
    if blockers:
        lines += ["", "## Not ready because", ""] + [f"- {md_escape(b)}" for b in blockers]
    return "\n".join(lines) + "\n"


@lru_cache(maxsize=1)
def spec_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) every JSON export conforms to."""
    return json.loads(resources.files("socrates_nb.data").joinpath("spec.schema.json").read_text("utf-8"))


def _severity_class(severity: str) -> str:
    return {"high": "snb-high", "medium": "snb-medium"}.get(severity, "snb-low")


def to_html(spec: SpecView) -> str:
    """An HTML fragment for notebooks: maturity, items by category, conflicts and gaps. All user text is escaped."""
    e = html.escape
    p, m = spec.project, spec.maturity
    ready = "ready" if m.ready else "not ready"
    out = [
        '<div class="snb-spec">',
        f"<h3>{e(p.name)}: specification</h3>",
        f"<p>{e(p.description)}</p>" if p.description else "",
        f"<p>Template <code>{e(p.template)}</code> · maturity <b>{m.score:.1f}</b>/100 ({ready})"
        f'<progress max="100" value="{m.score:.1f}"></progress></p>',
    ]
    for cat, items in _by_category(spec.items):
        out.append(f"<h4>{e(CATEGORY_INFO[cat].label)}</h4><table><tr><th>Ref</th><th>Requirement</th>"
                   "<th>Confidence</th><th>Findings</th></tr>")
        for i in items:
            findings = "<br>".join(f"<code>{e(f['rule'])}</code> {e(f['message'])}" for f in i.findings)
            title = f' title="{e(i.source_answer or "", quote=True)}"' if i.source_answer else ""
            out.append(f"<tr><td>{e(i.ref)}</td><td{title}>{e(i.text)}</td><td>{i.confidence:.2f}</td>"
                       f"<td>{findings}</td></tr>")
        out.append("</table>")
    if spec.conflicts:
        out.append("<h4>Open conflicts</h4><ul>")
        out += [
            f'<li class="{_severity_class(c.severity)}">{e(c.item_a)} vs {e(c.item_b)} ({e(c.type)}, {e(c.severity)}): '
            f"{e(c.explanation)}</li>"
            for c in spec.conflicts
        ]
        out.append("</ul>")
    if spec.open_questions:
        out.append("<h4>Open questions</h4><ul>" + "".join(
            f"<li>{e(ref)} ({e(CATEGORY_INFO[q.category].label)}) {e(q.question or q.key)} <i>&quot;{e(q.answer)}&quot;</i></li>"
            for ref, q in open_question_refs(spec)) + "</ul>")
    if spec.gaps:
        out.append("<h4>Gaps</h4><ul>" + "".join(f"<li>{e(g)}</li>" for g in spec.gaps) + "</ul>")
    out.append("</div>")
    return "\n".join(part for part in out if part) + "\n"


def render(spec: SpecView, fmt: str) -> str:
    """The specification in ``fmt`` (md, json, csv or html)."""
    renderers = {"md": to_markdown, "markdown": to_markdown, "json": to_json, "csv": to_csv, "html": to_html}
    if fmt not in renderers:
        raise ValidationError(f"unknown format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    text = renderers[fmt](spec)
    _log.info("specification exported", project_id=str(spec.project.id), format=fmt, items=len(spec.items),
              chars=len(text))
    return text
