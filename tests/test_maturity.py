"""Maturity: the one documented formula, the same number at every door."""

from __future__ import annotations

import pytest

import socrates_nb as snb
from socrates_nb.categories import CATEGORIES
from socrates_nb.quality.maturity import Maturity, compute_maturity, contribution
from socrates_nb.services.specs import describe_gaps
from socrates_nb.templates import get_template
from socrates_nb.workspace import Workspace


def test_functional_coverage_counts_capabilities_not_confidence(ws: Workspace) -> None:
    p = ws.create_project("Features", template="web-api")
    s = p.start_session()
    while (q := s.next_question()) is not None and q.category != "functional":
        s.skip()
    turn = s.answer("Merchants refund a payment. Merchants export payouts. Buyers pay by card. Buyers save a card.")
    functional = [i for i in turn.items if i.category == "functional"]
    assert len(functional) == 4
    # four one-line features are 4 of the 8 capabilities web-api wants, not 96%
    assert turn.maturity.coverage["functional"] == 0.5
    assert turn.next_question is not None


def test_nothing_known_is_zero() -> None:
    m = compute_maturity(get_template("generic"), {})
    assert m.score == 0.0
    assert set(m.coverage) == set(CATEGORIES) and set(m.coverage.values()) == {0.0}
    assert m.gaps() == list(CATEGORIES)


def test_everything_covered_is_100() -> None:
    for name in snb.TEMPLATES:
        tpl = get_template(name)
        m = compute_maturity(tpl, {c: tpl.target(c) for c in CATEGORIES})
        assert m.score == 100.0 and m.gaps() == [], name


def test_the_formula_by_hand() -> None:
    tpl = get_template("web-api")
    sums = {"functional": 4.0, "performance": 5.0, "security": 0.5, "goals": 0.75}
    weighted = 0.0
    total = 0.0
    for c in CATEGORIES:
        w, t = tpl.weight(c), tpl.target(c)
        weighted += w * min(sums.get(c, 0.0), t) / t
        total += w
    m = compute_maturity(tpl, sums)
    assert m.score == round(100 * weighted / total, 1)
    assert m.coverage["functional"] == 0.5  # 4 capabilities of 8
    assert m.coverage["performance"] == 1.0  # capped at the target
    assert m.coverage["security"] == 0.25
    assert m.coverage["goals"] == 0.5  # default target 1.5
    assert "performance" not in m.gaps() and "functional" in m.gaps()


def test_weights_shift_the_score() -> None:
    only_usability = {"usability": 10.0}
    web_app = compute_maturity(get_template("web-app"), only_usability).score
    web_api = compute_maturity(get_template("web-api"), only_usability).score
    assert web_app > web_api > 0  # usability weighs 2.0 in web-app, 0.5 in web-api


def test_zero_weight_categories_do_not_count() -> None:
    tpl = get_template("data-pipeline")
    assert tpl.weight("usability") == 0.0
    m = compute_maturity(tpl, {"usability": 100.0})
    assert m.score == 0.0 and "usability" not in m.coverage
    full = compute_maturity(tpl, {c: 10.0 for c in CATEGORIES if c != "usability"})
    assert full.score == 100.0 and full.gaps() == []


def test_rounding_and_json_shape() -> None:
    m = compute_maturity(get_template("generic"), {"goals": 1.0})
    assert m.score == round(100 * (1.0 / 1.5) / 14, 1) == 4.8
    assert m.coverage["goals"] == 0.6667
    assert m.to_dict() == {
        "score": 4.8, "ready": False, "penalty": 0.0,
        "open_conflicts": {"high": 0, "medium": 0, "low": 0}, "coverage": dict(m.coverage),
        "open_questions": 0, "out_of_scope": [], "blockers": ["Functional: 0% of its capabilities (at least 50% needed)"],
    }
    assert isinstance(m, Maturity)


def test_fewer_than_half_the_capabilities_block_readiness() -> None:
    tpl = get_template("web-api")  # 8 capabilities
    full = {c: tpl.target(c) for c in CATEGORIES}
    three = compute_maturity(tpl, {**full, "functional": 3.0})
    assert three.score >= 80 and not three.ready
    assert three.blockers() == ["Functional: 38% of its capabilities (at least 50% needed)"]
    four = compute_maturity(tpl, {**full, "functional": 4.0})
    assert four.ready and four.blockers() == []


def test_an_unprobed_vague_quality_item_blocks_readiness_a_functional_one_does_not() -> None:
    tpl = get_template("web-api")
    full = {c: tpl.target(c) for c in CATEGORIES}
    assert compute_maturity(tpl, full, unprobed_vague={"functional": 2}).ready
    blocked = compute_maturity(tpl, full, unprobed_vague={"performance": 1})
    assert blocked.score == 100.0 and not blocked.ready
    assert blocked.blockers() == ["Performance: 1 vague item(s) not yet followed up"]


def test_a_category_known_only_through_open_questions_blocks_readiness() -> None:
    tpl = get_template("generic")
    nearly = {c: tpl.target(c) for c in CATEGORIES if c != "security"}
    m = compute_maturity(tpl, nearly, open_questions={"security": 2, "goals": 1})
    assert m.score >= 80 and not m.ready
    assert m.blockers() == ["Security: only open questions (2)"]  # goals has items: its open question is a gap only
    assert m.to_dict()["open_questions"] == 3


def test_out_of_scope_categories_do_not_count_and_all_out_of_scope_is_zero() -> None:
    tpl = get_template("generic")
    rest = frozenset(CATEGORIES) - {"compliance"}
    m = compute_maturity(tpl, {c: tpl.target(c) for c in rest}, out_of_scope=frozenset({"compliance"}))
    assert m.score == 100.0 and m.ready and "compliance" not in m.coverage and m.out_of_scope == ("compliance",)
    nothing = compute_maturity(tpl, {}, out_of_scope=frozenset(CATEGORIES))
    assert nothing.score == 0.0 and not nothing.ready and nothing.coverage == {}


def test_a_session_of_non_answers_scores_zero_and_is_never_ready(ws: Workspace) -> None:
    p = ws.create_project("Silent", template="web-api")
    s = p.start_session()
    asked = 0
    while s.next_question() is not None and asked < 60:
        s.answer(["Not specified.", "TBD", "We don't know yet.", "No latency number is given."][asked % 4])
        asked += 1
    spec = p.specification()
    assert spec.items == () and spec.maturity.score == 0.0 and not spec.maturity.ready
    assert len(spec.open_questions) == asked and asked < 60  # every category set aside: the session ends
    assert "only open questions" in " ".join(spec.maturity.blockers())


def test_open_conflicts_cost_points_and_block_readiness() -> None:
    tpl = get_template("generic")
    full = {c: tpl.target(c) for c in CATEGORIES}
    assert compute_maturity(tpl, full).ready
    medium = compute_maturity(tpl, full, {"medium": 2, "low": 1})
    assert medium.score == 100 - 2 * 2 - 1 and medium.penalty == 5.0 and medium.ready
    high = compute_maturity(tpl, full, {"high": 1})
    assert high.score == 95.0 and not high.ready  # score is fine, the open high conflict is not
    assert compute_maturity(tpl, {"goals": 0.1}, {"high": 3}).score == 0.0  # never below 0
    almost = {c: tpl.target(c) * 0.79 for c in CATEGORIES}
    assert not compute_maturity(tpl, almost).ready  # 79 < 80


def test_gaps_are_one_actionable_line_per_uncovered_category() -> None:
    m = compute_maturity(get_template("generic"), {"goals": 0.75, "users": 5.0})
    gaps = describe_gaps(m)
    assert len(gaps) == 13
    assert gaps[0] == (
        "Goals (50% covered): state the problem solved, for whom, and one measurable success criterion with a date"
    )
    assert not any(g.startswith("Users") for g in gaps)


def test_every_door_shows_the_same_maturity(ws: Workspace) -> None:
    p = ws.create_project("Shop", template="web-api")
    s = p.start_session()
    turns = [
        s.answer("Merchants take card payments online."),
        s.answer("Shop owners and support staff. About 500 concurrent users."),
        s.answer("p95 latency under 200 ms. Refunds are quick."),
    ]
    spec = p.specification()
    last = turns[-1].maturity
    assert spec.maturity == last
    # the formula over the spec's current items gives the same number
    sums: dict[str, float] = {}
    for item in spec.items:
        sums[item.category] = sums.get(item.category, 0.0) + contribution(item.category, item.confidence)
    assert compute_maturity(get_template("web-api"), sums) == last
    assert spec.to_dict()["maturity"] == last.to_dict()
    assert f"{last.score:.1f} / 100" in spec.to_markdown()
    # and it is stored with the answer that produced it
    from sqlalchemy import select

    from socrates_nb.storage import models

    with ws.db.read() as orm:
        stored = orm.scalars(
            select(models.Answer.maturity_after).where(models.Answer.session_id == s.id).order_by(models.Answer.seq)
        ).all()
    assert stored == [t.maturity.score for t in turns]
    assert stored == sorted(stored)


def test_superseded_items_stop_counting(ws: Workspace) -> None:
    p = ws.create_project("Perf")
    turn = p.start_session().answer("p95 latency under 200 ms. p95 latency under 2 s.")  # two performance items
    assert [i.category for i in turn.items] == ["performance", "performance"]
    assert [i.confidence for i in turn.items] == [0.9, 0.9]
    before = p.specification().maturity
    assert before.coverage["performance"] == pytest.approx(1.0)  # 0.9 + 0.9 capped at 1.5
    assert before.penalty == 5.0  # the open high-severity conflict
    p.resolve_conflict(turn.conflicts[0], "keep_a")
    after = p.specification().maturity
    assert after.coverage["performance"] == pytest.approx(0.6)  # only 0.9 of 1.5 is current
    assert after.penalty == 0.0
