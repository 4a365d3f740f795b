"""Bounded turns (#14): at most 50 statements an answer, conflicts bounded per item and per
turn, extraction with no transaction open; and the adversarial corpus with hard time limits."""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

import socrates_nb as snb
from adversarial import MAX_ANSWER, corpus
from socrates_nb.engine.base import MAX_ITEMS_PER_ANSWER
from socrates_nb.engine.offline.engine import OfflineEngine
from socrates_nb.engine.offline.extraction import extract_items
from socrates_nb.errors import ValidationError
from socrates_nb.quality.conflicts import MAX_CONFLICTS_PER_ITEM, MAX_CONFLICTS_PER_TURN
from socrates_nb.services.sessions import extraction_pool
from socrates_nb.storage import models
from socrates_nb.workspace import Workspace

CORPUS = corpus(MAX_ANSWER)
LINT_LIMIT_S = 10.0
"""A hard limit per lint/classify/extract call at 20,000 characters. The worst case measured
is about 0.2 s (benchmarks/bench_adversarial.py), over 2 s under coverage on a loaded CI
machine; a super-linear rule took minutes."""
TURN_LIMIT_S = 20.0
"""A hard limit per whole offline turn (about 0.7 s measured at worst; several seconds under
coverage on a loaded machine; minutes before the rules were made linear)."""


class _TooSlow(Exception):
    pass


@contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise if the block runs longer than ``seconds`` (SIGALRM: the regex engine checks signals)."""

    def alarm(*_: object) -> None:
        raise _TooSlow(f"{what} took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def counts(ws: Workspace) -> dict[str, int]:
    with ws.db.read() as orm:
        return {t.__tablename__: orm.scalar(select(func.count()).select_from(t)) or 0
                for t in (models.Answer, models.SpecItem, models.Conflict, models.Question)}


def contradicting(n: int, start: int = 100) -> str:
    return " ".join(f"Pages must load in {start + i} ms." for i in range(n))


# --- the adversarial corpus --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_text_rules_finish_on_every_adversarial_text(name: str) -> None:
    text = CORPUS[name]
    calls: list[tuple[str, Callable[[], object]]] = [
        ("extract", lambda: extract_items(None, text)),
    ]
    if text.strip():
        calls += [("lint", lambda: snb.lint(text)), ("classify", lambda: snb.classify(text))]
    for what, call in calls:
        with time_limit(LINT_LIMIT_S, f"{what} on {name!r}"):
            try:
                call()
            except ValidationError as exc:  # refused (over 50 statements): a fast, clear answer
                assert f"at most {MAX_ITEMS_PER_ANSWER}" in str(exc)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the text work is the same on PostgreSQL
def test_whole_offline_turns_finish_on_every_adversarial_text(ws: Workspace) -> None:
    project = ws.create_project("Adversarial", template="web-app")
    for name, text in CORPUS.items():
        session = project.start_session()
        before = counts(ws)
        with time_limit(TURN_LIMIT_S, f"a turn on {name!r}"):
            try:
                turn = session.answer(text)
            except ValidationError as exc:
                assert counts(ws) == before, name  # a refused answer stores nothing
                assert text.strip() == "" or f"at most {MAX_ITEMS_PER_ANSWER}" in str(exc), (name, exc)
                continue
        assert len(turn.items) <= MAX_ITEMS_PER_ANSWER, name
        assert len(turn.conflicts) <= MAX_CONFLICTS_PER_TURN, name


# --- at most 50 statements an answer --------------------------------------------------------------


def test_an_answer_over_the_statement_limit_is_refused_and_stores_nothing(ws: Workspace) -> None:
    session = ws.create_project("Flood").start_session()
    question = session.next_question()
    before = counts(ws)
    for n in (MAX_ITEMS_PER_ANSWER + 1, 700):
        with pytest.raises(ValidationError, match=rf"holds {n:,} statements and one answer may hold at most 50"):
            session.answer(contradicting(n))
        assert counts(ws) == before
        assert session.next_question() == question  # still waiting for its answer
    turn = session.answer(contradicting(MAX_ITEMS_PER_ANSWER))
    assert len(turn.items) == MAX_ITEMS_PER_ANSWER


# --- conflicts bounded per item and per turn ---------------------------------------------------


def test_conflicts_are_bounded_per_item_and_per_turn(ws: Workspace) -> None:
    project = ws.create_project("Flood")
    turn = project.start_session().answer(contradicting(MAX_ITEMS_PER_ANSWER))
    assert len(turn.conflicts) == MAX_CONFLICTS_PER_TURN
    assert max(Counter(c.item_b for c in turn.conflicts).values()) <= MAX_CONFLICTS_PER_ITEM
    # 50 limits of one metric contradict each other pairwise (1,225 pairs when no bound applies)
    assert turn.conflicts_omitted > 0
    assert len(turn.conflicts) + turn.conflicts_omitted < 50 * 49 // 2 + 1
    assert turn.to_dict()["conflicts_omitted"] == turn.conflicts_omitted
    assert counts(ws)["conflicts"] == MAX_CONFLICTS_PER_TURN
    # another such answer adds at most the bound again: storage grows linearly with the answers
    again = project.start_session().answer(contradicting(MAX_ITEMS_PER_ANSWER, start=1000))
    assert len(again.conflicts) <= MAX_CONFLICTS_PER_TURN
    assert counts(ws)["conflicts"] <= 2 * MAX_CONFLICTS_PER_TURN
    assert "more contradicting pair(s) not recorded" in repr(turn)


def test_each_new_item_records_at_most_a_few_conflicts_newest_first(ws: Workspace) -> None:
    session = ws.create_project("Perf").start_session()
    while session.skip() is not None:  # free answers from now on: each a p95 latency in performance
        pass
    for limit in ("100 ms", "400 ms", "1.6 s", "6.4 s"):
        session.answer(f"The p95 latency shall be under {limit}.")
    turn = session.answer("The p95 latency shall be under 25.6 s.")
    # it contradicts all four earlier limits; the three newest are recorded
    assert len(turn.conflicts) == MAX_CONFLICTS_PER_ITEM and turn.conflicts_omitted == 1
    assert {c.item_a for c in turn.conflicts} == {"NFR-PERF-002", "NFR-PERF-003", "NFR-PERF-004"}


# --- no transaction open while the engine extracts -------------------------------------------------


def test_extraction_runs_with_no_connection_checked_out(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []
    extract = OfflineEngine.extract

    def spy(self: OfflineEngine, ctx, question, answer):  # noqa: ANN001, ANN202
        seen.append(ws.db.engine.pool.checkedout())
        return extract(self, ctx, question, answer)

    monkeypatch.setattr(OfflineEngine, "extract", spy)
    turn = ws.create_project("Shop").start_session().answer("Pages load in under 2 s. Shoppers pay by card.")
    assert len(turn.items) == 2
    assert seen == [0]


def test_turns_extract_in_a_worker_process_and_survive_its_death(ws: Workspace) -> None:
    pool = extraction_pool(1)
    assert pool is not None and extraction_pool(0) is None
    try:
        ws._sessions.extraction_pool = pool
        session = ws.create_project("Shop").start_session()
        turn = session.answer("Pages load in under 2 s. Shoppers pay by card.")
        assert [i.text for i in turn.items] == [d.text for d in extract_items(None, "Pages load in under 2 s. Shoppers pay by card.")]
        pool.submit(os._exit, 1)  # the worker dies: the pool is broken from now on
        with pytest.raises(BrokenExecutor):
            pool.submit(int).result(timeout=30)
        turn = session.answer("Refunds are paid within 5 days.")  # extracted in this process instead
        assert len(turn.items) == 1
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
