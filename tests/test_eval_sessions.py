"""scripts/eval_sessions.py: the evaluation set is consistent and the report keeps its invariants.

No figure of the engine is asserted here (they change as the engine improves): only the
report's structure, that its counts add up, and that the labelled scripts cover every
statement they send.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "eval_sessions.py"
DOC = "data_ingestion_kiro"  # openly licensed (MIT), full text committed
CATEGORIES = {
    "goals", "users", "functional", "data", "integrations", "constraints", "performance", "scalability",
    "security", "reliability", "usability", "operations", "compliance", "acceptance",
}


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("eval_sessions", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def es() -> ModuleType:
    return _load()


@pytest.fixture(scope="module")
def report(es: ModuleType) -> dict[str, Any]:
    return es.evaluate([DOC], max_questions=20)


def test_the_set_has_three_documents_with_source_text_and_script(es: ModuleType) -> None:
    names = es.doc_names()
    assert len(names) >= 3
    for name in names:
        folder = ROOT / "eval" / name
        source = (folder / "SOURCE.md").read_text("utf-8")
        assert "commit" in source and "licence" in source
        assert (folder / "document.md").read_text("utf-8").strip()
    templates = {es.load_script(n)["template"] for n in names}
    assert len(templates) >= 3, "the documents are of different kinds"


@pytest.mark.parametrize("name", sorted(p.parent.name for p in (ROOT / "eval").glob("*/script.yaml")))
def test_every_script_is_labelled_completely(es: ModuleType, name: str) -> None:
    script = es.load_script(name)
    assert es.unlabelled_statements(script) == []
    ids = {str(fr["id"]) for fr in script["functional_requirements"]}
    assert len(ids) == len(script["functional_requirements"]), "FR ids are unique"
    for s in script["statements"]:
        assert isinstance(s["requirement"], bool) and isinstance(s["vague"], bool)
        if s["requirement"]:
            assert s["category"] in CATEGORIES, s
        else:
            assert not s.get("fr") and not s["vague"], s
        frs = [s["fr"]] if isinstance(s.get("fr"), str) else list(s.get("fr") or [])
        assert set(frs) <= ids, s
    for key in script.get("non_answers", []):
        assert key in script["answers"]
    assert 0 <= script["expert"]["score"] <= 100 and isinstance(script["expert"]["ready"], bool)
    assert script["expert"]["why"]


def test_a_replay_reports_consistent_counts(report: dict[str, Any]) -> None:
    (doc,) = report["documents"]
    assert doc["document"] == DOC
    asked = doc["questions_asked"]
    assert 0 < asked <= doc["max_questions"] == 20
    criteria = doc["criteria"]
    assert asked == doc["answers_scripted"] + doc["answers_defaulted"] + doc["probes"]["total"] + criteria["asked"]
    assert criteria["asked"] == len(criteria["list"]) and criteria["answered"] <= criteria["asked"]
    assert all(c["key"].startswith("criteria.") and c["question"] for c in criteria["list"])
    assert criteria["capabilities_with_criteria"] <= criteria["capabilities"]
    assert len(doc["transcript"]) == asked
    if doc["ended"]:
        assert doc["remaining"] == []
    else:
        assert asked == doc["max_questions"]

    assert doc["items"] == doc["items_matched"] + len(doc["items_unmatched"]) == len(doc["item_rows"])
    assert len(doc["non_answer_items"]) <= doc["items_matched"]

    probes = doc["probes"]
    assert probes["true"] + probes["false"] + probes["unknown"] == probes["total"] == len(probes["list"])
    assert all(p["key"].startswith("probe.") for p in probes["list"])

    precision = doc["precision"]
    assert sum(c["items"] for c in precision["by_category"].values()) == precision["items"] == doc["items_matched"]
    assert sum(c["correct"] for c in precision["by_category"].values()) == precision["correct"]
    for category, cell in precision["by_category"].items():
        assert category in CATEGORIES
        assert 0 <= cell["correct"] <= cell["items"] and 0.0 <= cell["precision"] <= 1.0
    if precision["items"]:
        assert 0.0 <= precision["overall"] <= 1.0

    fr = doc["functional_requirements"]
    assert fr["in_source"] == 35
    assert 0 <= fr["captured"] <= fr["in_source"] and 0 <= fr["in_answers"] <= fr["in_source"]
    assert fr["functional_captured"] <= fr["functional_in_source"] <= fr["in_source"]
    assert len(fr["captured_ids"]) == fr["captured"]

    lint = doc["lint"]
    assert 0 <= lint["vague_flagged"] <= lint["vague"] and 0 <= lint["precise_flagged"] <= lint["precise"]
    assert lint["vague"] + lint["precise"] <= doc["items_matched"] - len(doc["non_answer_items"])
    every = doc["lint_all_statements"]
    if every is not None:  # over every labelled statement of the answers, asked or not
        assert 0 <= every["vague_flagged"] <= every["vague"] and 0 <= every["precise_flagged"] <= every["precise"]

    assert 0.0 <= doc["maturity"]["score"] <= 100.0 and isinstance(doc["maturity"]["ready"], bool)
    assert doc["expert"]["score"] is not None and isinstance(doc["expert"]["ready"], bool)
    assert doc["open_questions"]["count"] == len(doc["open_questions"]["items"])
    assert all(q["status"] in {"open", "reopened"} for q in doc["open_questions"]["items"])


def test_overall_sums_the_documents(report: dict[str, Any]) -> None:
    (doc,) = report["documents"]
    overall = report["overall"]
    assert overall["documents"] == 1
    assert overall["questions_asked"] == doc["questions_asked"]
    assert overall["non_answer_items"] == len(doc["non_answer_items"])
    assert overall["probes_true"] + overall["probes_false"] + overall["probes_unknown"] == doc["probes"]["total"]
    assert overall["precision"]["items"] == doc["precision"]["items"]
    assert overall["functional_requirements"]["captured"] == doc["functional_requirements"]["captured"]
    assert [m["document"] for m in overall["maturity_vs_expert"]] == [DOC]


def test_the_replay_is_deterministic(es: ModuleType, report: dict[str, Any]) -> None:
    again = es.evaluate([DOC], max_questions=20)
    first, second = report["documents"][0], again["documents"][0]
    for key in ("transcript", "item_rows", "probes", "precision", "functional_requirements", "maturity"):
        assert first[key] == second[key], key


def test_main_prints_text_and_json(es: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    es.main(["--doc", DOC, "--max-questions", "5"])
    text = capsys.readouterr().out
    assert f"== {DOC}" in text and "== overall" in text and "non-answer items" in text
    printed = es.main(["--doc", DOC, "--max-questions", "5", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert data["overall"]["questions_asked"] == printed["overall"]["questions_asked"] <= 5
    with pytest.raises(SystemExit):
        es.main(["--doc", "no_such_document"])


def test_the_committed_scripts_parse_as_yaml() -> None:
    for path in (ROOT / "eval").glob("*/script.yaml"):
        data = yaml.safe_load(path.read_text("utf-8"))
        assert {"template", "answers", "statements", "functional_requirements", "expert"} <= set(data)


def test_f_nfr_macro_f1(es: ModuleType) -> None:
    assert es.macro_f1([(True, True), (False, False)]) == 1.0
    assert es.macro_f1([(True, False), (False, True)]) == 0.0
    assert es.macro_f1([(True, True), (True, False), (False, False)]) == 0.667  # 2/3 for each class
    assert es.macro_f1([]) is None


def test_criteria_replies_come_from_the_script(es: ModuleType) -> None:
    script = {"criteria": {"criteria.functional.core_tasks": "A list holds at most 100 items."}}
    assert es.criteria_reply(script, "criteria.functional.core_tasks") == "A list holds at most 100 items."
    assert es.criteria_reply(script, "criteria.functional.other") == es.DEFAULT_REPLY
    assert es.criteria_reply({}, "criteria.functional.core_tasks") == es.DEFAULT_REPLY
