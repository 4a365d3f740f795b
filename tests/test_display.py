"""Rich display: concise plain text (what nbval compares) and escaped HTML for every public object."""

from __future__ import annotations

import re

from socrates_nb.workspace import Workspace

HOSTILE = "<script>alert('x')</script> & \"quotes\""
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")


def test_plain_text_is_short_and_free_of_ids(ws: Workspace) -> None:
    p = ws.create_project("Shop", template="web-app")
    s = p.start_session()
    q = s.next_question()
    turn = s.answer("Shoppers buy shoes online in under 3 clicks.")
    texts = [repr(p), repr(s), repr(q), repr(turn), repr(ws.projects())]
    assert texts[0] == "Project 'Shop' (web-app, active)"
    assert texts[1] == "Session (active, 1 answers, offline engine)"  # refreshed by answer()
    assert texts[2] == f"Q1 [goals] {q.text}"
    assert texts[3].startswith("Turn 1: ") and "GOAL-001" in texts[3] and "next: Q2 [" in texts[3]
    assert texts[4] == "Project 'Shop' (web-app, active)\n-- 1-1 of 1"
    assert not any(UUID.search(t) for t in texts)
    assert repr(ws.projects(offset=5)) == "No projects (1 in all)."


def test_html_escapes_every_piece_of_user_text(ws: Workspace) -> None:
    p = ws.create_project(HOSTILE, description=HOSTILE)
    s = p.start_session()
    turn = s.answer(f"Clerks type {HOSTILE} into the search box.")
    pages = [p._repr_html_(), s._repr_html_(), turn._repr_html_(), ws.projects()._repr_html_(),
             s.next_question()._repr_html_(), p.specification()._repr_html_()]
    for page in pages:
        assert "<script>" not in page
    assert "&lt;script&gt;" in pages[0] and "&lt;script&gt;" in pages[2] and "&lt;script&gt;" in pages[3]
    assert "Why it matters" in pages[1] and "<progress" in pages[0]


def test_conflicts_and_probes_render(ws: Workspace) -> None:
    p = ws.create_project("Fast")
    s = p.start_session()
    while (q := s.next_question()) is not None and q.category != "performance":
        s.skip()
    s.answer("The p95 latency is under 200 ms.")
    while (q := s.next_question()) is not None and q.category != "performance":
        s.skip()
    turn = s.answer("The p95 latency is under 2 s.")
    [conflict] = turn.conflicts
    assert repr(conflict).startswith(f"{conflict.item_a} vs {conflict.item_b} (numeric, high, open): ")
    assert "⚠" in conflict._repr_html_() and "conflict " in repr(turn)
    vague = s.answer("Search should be fast.")
    assert vague.next_question is not None and vague.next_question.is_probe
    assert "probe]" in repr(vague.next_question) and "follow-up" in vague.next_question._repr_html_()
    done = p.start_session()
    done.complete()
    assert "Nothing left to ask" in done._repr_html_()


def test_a_specification_also_renders_as_its_markdown_export(ws: Workspace) -> None:
    p = ws.create_project("Docs", template="cli-tool")
    p.start_session().answer("Developers run it in CI; it finishes in under 30 s for 10,000 files.")
    spec = p.specification()
    assert spec._repr_markdown_() == spec.to_markdown() and spec._repr_markdown_().startswith("# Docs: specification")


def test_usage_display_lists_rows_and_totals_and_escapes_names() -> None:
    import uuid as _uuid
    from dataclasses import replace as _replace

    from socrates_nb.services.usage import UsageRow, UsageView

    row = UsageRow("openai", "gpt-4o-mini", _uuid.uuid4(), HOSTILE, 4, 1, 1, 1200, 300, 0.00036)
    gone = _replace(row, provider="anthropic", model="claude-haiku-4-5", project_id=None, project_name=None,
                    calls=2, cached_calls=0, failed_calls=0, tokens_in=100, tokens_out=50, cost_usd=0.00035)
    view = UsageView((row, gone))
    text = repr(view)
    assert "openai/gpt-4o-mini" in text and "4 calls (1 cached, 1 failed), 1200 in / 300 out" in text
    assert "(deleted project)" in text and "total: 6 calls, 1300 in / 350 out, $0.0007" in text
    assert view.totals == {"calls": 6, "cached_calls": 1, "failed_calls": 1, "tokens_in": 1300, "tokens_out": 350,
                           "cost_usd": 0.00071}
    html = view._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html and html.count("<tr>") == 4
    assert repr(UsageView(())) == "LLM usage: no calls"


def test_turn_text_names_the_engines_of_an_llm_turn(ws: Workspace) -> None:
    from dataclasses import replace as _replace

    turn = ws.create_project("Engines").start_session().answer("Shoppers buy shoes online.")
    assert "·" not in repr(turn).splitlines()[0]  # an offline turn says nothing about engines
    llm = _replace(turn, engine_used={"extract": "openai", "question": "offline"}, fallbacks={"question": "timeout"})
    assert repr(llm).splitlines()[0].endswith("· extract openai, question offline (fell back: question: timeout)")
    assert "extract openai, question offline" in llm._repr_html_()
