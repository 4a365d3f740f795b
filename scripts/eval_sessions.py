"""Replay the evaluation documents of ``eval/`` through offline sessions and measure the result.

Each ``eval/<doc>/script.yaml`` holds a template, answers keyed by bank question key, the
reply given to every probe, a labelled list of every statement the answers contain, the
document's functional requirements and an expert's judgement of the final specification
(see ``eval/README.md``). This script answers each asked question from the script (a key
the script does not answer gets ``Not specified.``; a probe gets the ``probes`` reply),
on a fresh temporary SQLite database per document, and reports per document and overall:

* questions asked, and whether the session ended (next question None) within the limit;
* non-answer items: current items whose source statement is labelled ``requirement: false``;
* open questions (``Project.open_questions()``);
* probes true / false (true when the probed item's source statement is labelled vague;
  a probe of an item that matches no labelled statement is counted apart);
* extraction precision by category (an item is correct when its statement is a real
  requirement and the item's category is the labelled one);
* functional requirements captured / in the source (and / in the answers given);
* lint on the items: vague statements flagged, precise statements flagged (and the same
  over every labelled statement of the script, extracted offline as the answer to its
  question, whether the session asked it or not);
* the final maturity (score, ready) beside the expert's judgement.

Nothing here tunes the engine: it only measures. Deterministic: a fixed user name, a new
database per document, the offline engine.

Usage: ``python scripts/eval_sessions.py [--doc NAME] [--max-questions 60] [--json]``
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import yaml

from socrates_nb.categories import CATEGORIES
from socrates_nb.engine.offline.probing import PROBE_RULES

ROOT = Path(__file__).resolve().parents[1]
EVAL_DIR = ROOT / "eval"
DEFAULT_REPLY = "Not specified."
_PROBE_KEY = re.compile(r"^probe\.(?P<item>.+)\.\d+$")


# ---------------------------------------------------------------------------------------
# Loading and labels
# ---------------------------------------------------------------------------------------

def doc_names() -> list[str]:
    """The evaluation documents: every folder of ``eval/`` with a ``script.yaml``."""
    return sorted(p.parent.name for p in EVAL_DIR.glob("*/script.yaml"))


def load_script(name: str) -> dict[str, Any]:
    """The parsed ``eval/<name>/script.yaml``, checked for the fields the replay needs."""
    path = EVAL_DIR / name / "script.yaml"
    data = yaml.load(path.read_text("utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    for field in ("template", "answers", "statements", "functional_requirements", "expert"):
        if field not in data:
            raise ValueError(f"{path}: missing {field!r}")
    for s in data["statements"]:
        if s.get("category") is not None and s["category"] not in CATEGORIES:
            raise ValueError(f"{path}: statement {s['text']!r} has unknown category {s['category']!r}")
    return data


def norm(text: str) -> str:
    """Text compared case- and spacing-insensitively, without closing punctuation or quotes."""
    text = " ".join(str(text).lower().replace("\u2019", "'").split())
    return text.strip(" \"'").rstrip(".;:!,").strip()


def _frs(label: dict[str, Any]) -> list[str]:
    fr = label.get("fr")
    if fr is None:
        return []
    return [fr] if isinstance(fr, str) else list(fr)


class Labels:
    """The labelled statements of one script, looked up by an item's source text."""

    def __init__(self, statements: list[dict[str, Any]]) -> None:
        self.statements = statements
        self.by_text: dict[str, dict[str, Any]] = {}
        for s in statements:
            self.by_text.setdefault(norm(s["text"]), s)

    def match(self, text: str) -> dict[str, Any] | None:
        """The labelled statement ``text`` comes from: equal; else the shortest labelled
        statement containing it (an answer split finer than the labels); else the longest
        labelled statement it contains (split coarser); else None."""
        key = norm(text)
        if not key:
            return None
        if key in self.by_text:
            return self.by_text[key]
        containing = [s for k, s in self.by_text.items() if key in k]
        if containing:
            return min(containing, key=lambda s: len(s["text"]))
        contained = [s for k, s in self.by_text.items() if len(k) >= 12 and k in key]
        if contained:
            return max(contained, key=lambda s: len(s["text"]))
        return None

    def is_non_answer(self, answer: str) -> bool:
        """Whether every statement of ``answer`` (as the engine splits it) is labelled a non-answer."""
        labels = [self.match(piece) for piece in _split(answer)]
        return bool(labels) and all(s is not None and not s.get("requirement") for s in labels)


def _split(text: str) -> list[str]:
    from socrates_nb.engine.offline.extraction import split_statements

    return split_statements(text)


def criteria_reply(script: dict[str, Any], key: str) -> str:
    """The reply to a criteria follow-up ``key`` (``criteria.<item key>``): ``criteria[key]`` else
    ``Not specified.`` (what the document says about how those capabilities are checked)."""
    return str((script.get("criteria") or {}).get(key, DEFAULT_REPLY))


def probe_reply(script: dict[str, Any], item_key: str) -> str:
    """The reply to a probe about ``item_key``: ``probes.by_key[item_key]`` else ``probes.default``
    (``probes`` may also be a plain string)."""
    probes = script.get("probes", DEFAULT_REPLY)
    if isinstance(probes, str):
        return probes
    return (probes.get("by_key") or {}).get(item_key, probes.get("default", DEFAULT_REPLY))


def unlabelled_statements(script: dict[str, Any]) -> list[str]:
    """Statements (as the engine splits them) of the script's answers and probe replies
    that match no labelled statement: a script to fix, not a figure of the engine."""
    labels = Labels(script["statements"])
    texts = [a for a in script["answers"].values()] + [DEFAULT_REPLY]
    probes = script.get("probes", DEFAULT_REPLY)
    if isinstance(probes, str):
        texts.append(probes)
    else:
        texts.append(probes.get("default", DEFAULT_REPLY))
        texts.extend((probes.get("by_key") or {}).values())
    missing: list[str] = []
    for text in texts:
        for piece in _split(str(text)):
            if labels.match(piece) is None and piece not in missing:
                missing.append(piece)
    return missing


# ---------------------------------------------------------------------------------------
# One document
# ---------------------------------------------------------------------------------------

def _open_questions(project: Any, asked_non_answers: list[dict[str, str]]) -> dict[str, Any]:
    """The project's open questions (``Project.open_questions()``), beside the number of asked
    questions whose whole answer was a non-answer."""
    rows = project.open_questions()
    return {
        "count": len(rows),
        "by_category": dict(Counter(r.category for r in rows)),
        "items": [{"category": r.category, "key": r.key, "status": r.status, "answer": r.answer} for r in rows],
        "non_answered_questions": len(asked_non_answers),
    }


def run_document(name: str, max_questions: int = 60) -> dict[str, Any]:
    """Replay ``eval/<name>`` on a fresh SQLite database and measure the result."""
    import socrates_nb as snb
    from socrates_nb.errors import SocratesError

    script = load_script(name)
    labels = Labels(script["statements"])
    answers: dict[str, str] = {k: str(v) for k, v in script["answers"].items()}
    started = time.perf_counter()
    shm = Path("/dev/shm")  # a RAM disk where there is one: SQLite's syncs cost most of the time
    with tempfile.TemporaryDirectory(prefix="socrates-eval-", dir=shm if shm.is_dir() else None) as tmp:
        ws = snb.connect(f"sqlite:///{tmp}/eval.db", user="eval", engine="offline")
        try:
            project = ws.create_project(f"eval {name}", template=script["template"])
            session = project.start_session(engine="offline")
            asked = 0
            transcript: list[dict[str, Any]] = []
            probes: list[dict[str, Any]] = []
            criteria: list[dict[str, str]] = []
            errors: list[dict[str, str]] = []
            asked_non_answers: list[dict[str, str]] = []
            sent: list[str] = []
            last_item: dict[str, Any] = {}  # item key -> the latest item drafted under it
            q = session.next_question()
            while q is not None and asked < max_questions:
                asked += 1
                kind = "criteria" if q.key.startswith("criteria.") else "probe" if q.is_probe else "bank"
                if kind == "criteria":
                    reply = criteria_reply(script, q.key)
                    criteria.append({"key": q.key, "question": q.text, "reply": reply})
                elif kind == "probe":
                    m = _PROBE_KEY.match(q.key)
                    item_key = m.group("item") if m else q.key
                    reply = probe_reply(script, item_key)
                    probed = last_item.get(item_key)
                    source = labels.match(probed.value.get("text", "")) if probed is not None else None
                    probes.append({
                        "key": q.key, "item_key": item_key,
                        "item_text": probed.text if probed is not None else None,
                        "statement": source["text"] if source else None,
                        "vague": bool(source and source.get("vague")),
                        "reply": reply,
                    })
                else:
                    reply = answers.get(q.key, DEFAULT_REPLY)
                if labels.is_non_answer(reply):
                    asked_non_answers.append({"category": q.category, "key": q.key, "answer": reply})
                transcript.append({"seq": asked, "key": q.key, "category": q.category, "kind": kind,
                                   "scripted": q.key in answers or kind != "bank"})
                sent.append(reply)
                try:
                    turn = session.answer(reply, question_id=q.id)
                except SocratesError as exc:
                    errors.append({"key": q.key, "error": f"{type(exc).__name__}: {exc}"})
                    q = session.skip()
                    continue
                for item in turn.items:
                    last_item[item.key] = item
                q = turn.next_question
            ended = q is None
            spec = project.specification()
            open_qs = _open_questions(project, asked_non_answers)
        finally:
            ws.close()
    elapsed = time.perf_counter() - started
    return _measure(name, script, labels, spec, asked, ended, max_questions, transcript, probes, criteria,
                    errors, open_qs, sent, elapsed)


def _measure(
    name: str, script: dict[str, Any], labels: Labels, spec: Any, asked: int, ended: bool, limit: int,
    transcript: list[dict[str, Any]], probes: list[dict[str, Any]], criteria: list[dict[str, str]],
    errors: list[dict[str, str]], open_qs: dict[str, Any], sent: list[str], elapsed: float,
) -> dict[str, Any]:
    vague_rules = set(PROBE_RULES)
    items: list[dict[str, Any]] = []
    per_cat: dict[str, dict[str, int]] = defaultdict(lambda: {"items": 0, "correct": 0})
    non_answer_items: list[dict[str, Any]] = []
    unmatched: list[str] = []
    captured: set[str] = set()
    lint = {"vague": 0, "vague_flagged": 0, "precise": 0, "precise_flagged": 0}
    linted: set[str] = set()
    kinds: list[tuple[bool, bool]] = []  # (labelled functional, filed functional) per labelled requirement
    for item in spec.items:
        text = (item.value or {}).get("text", item.text)
        label = labels.match(text) or labels.match(item.text)
        flagged = any(f.get("rule") in vague_rules for f in item.findings)
        row = {"ref": item.ref, "key": item.key, "category": item.category, "text": item.text,
               "statement": label["text"] if label else None,
               "label_category": label.get("category") if label else None,
               "requirement": bool(label and label.get("requirement")), "flagged": flagged}
        row["rewritten"] = norm(item.text) != norm(text)
        items.append(row)
        if label is None:
            unmatched.append(item.text)
            continue
        cell = per_cat[item.category]
        cell["items"] += 1
        if label.get("requirement") and label.get("category") == item.category:
            cell["correct"] += 1
            row["correct"] = True
        else:
            row["correct"] = False
        if not label.get("requirement"):
            non_answer_items.append({"ref": item.ref, "category": item.category, "text": item.text})
            continue
        kinds.append((label.get("category") == "functional", item.category == "functional"))
        captured.update(_frs(label))
        if norm(label["text"]) not in linted:  # a statement counts once, however many items it gave
            linted.add(norm(label["text"]))
            kind = "vague" if label.get("vague") else "precise"
            lint[kind] += 1
            lint[f"{kind}_flagged"] += int(flagged)
    matched = sum(c["items"] for c in per_cat.values())
    correct = sum(c["correct"] for c in per_cat.values())
    source_frs = [str(fr["id"]) for fr in script["functional_requirements"]]
    functional_frs = {str(fr["id"]) for fr in script["functional_requirements"]
                      if fr.get("kind", "functional") == "functional"}
    sent_norm = [norm(t) for t in sent]
    in_answers: set[str] = set()
    for s in labels.statements:
        if s.get("requirement") and any(norm(s["text"]) in t for t in sent_norm):
            in_answers.update(_frs(s))
    in_answers &= set(source_frs)
    captured &= set(source_frs)
    expert = script["expert"]
    return {
        "document": name,
        "template": script["template"],
        "questions_asked": asked,
        "max_questions": limit,
        "ended": ended,
        "answers_scripted": sum(1 for t in transcript if t["scripted"] and t["kind"] == "bank"),
        "answers_defaulted": sum(1 for t in transcript if not t["scripted"]),
        "errors": errors,
        "remaining": list(spec.gaps) if not ended else [],
        "items": len(spec.items),
        "items_matched": matched,
        "items_unmatched": unmatched,
        "non_answer_items": non_answer_items,
        "rewritten_items": [{"statement": r["statement"] or r["text"], "text": r["text"]}
                            for r in items if r["rewritten"]],
        "open_questions": open_qs,
        "probes": {
            "total": len(probes),
            "true": sum(1 for p in probes if p["vague"]),
            "false": sum(1 for p in probes if p["statement"] is not None and not p["vague"]),
            "unknown": sum(1 for p in probes if p["statement"] is None),
            "list": probes,
        },
        "criteria": {
            "asked": len(criteria),
            "answered": sum(1 for c in criteria if not labels.is_non_answer(c["reply"])),
            "capabilities": sum(1 for i in spec.items if i.category == "functional"),
            "capabilities_with_criteria": sum(1 for i in spec.items if i.category == "functional"
                                              and i.acceptance_criteria),
            "list": criteria,
        },
        "precision": {
            "overall": round(correct / matched, 3) if matched else None,
            "correct": correct,
            "items": matched,
            "by_category": {
                c: {**per_cat[c], "precision": round(per_cat[c]["correct"] / per_cat[c]["items"], 3)}
                for c in CATEGORIES if per_cat[c]["items"]
            },
        },
        "f_nfr": kinds,
        "functional_requirements": {
            "in_source": len(source_frs),
            "in_answers": len(in_answers),
            "captured": len(captured),
            "functional_in_source": len(functional_frs),
            "functional_captured": len(captured & functional_frs),
            "captured_ids": sorted(captured, key=_fr_order(source_frs)),
            "missing_from_answers": sorted(set(source_frs) - in_answers, key=_fr_order(source_frs)),
        },
        "lint": lint,
        "lint_all_statements": lint_all_statements(script),
        "maturity": {"score": round(float(spec.maturity.score), 1), "ready": bool(spec.maturity.ready)},
        "expert": {"score": expert.get("score"), "ready": expert.get("ready"), "why": expert.get("why")},
        "item_rows": items,
        "transcript": transcript,
        "seconds": round(elapsed, 2),
    }


def _fr_order(ids: list[str]) -> Any:
    order = {fr: i for i, fr in enumerate(ids)}
    return lambda fr: order.get(fr, len(order))


def lint_all_statements(script: dict[str, Any]) -> dict[str, int] | None:
    """Lint over every labelled requirement statement of the script, asked or not: each
    answer is extracted offline as the answer to its question, and a statement counts as
    flagged when one of its items has a vagueness finding. None when the engine's
    extraction cannot be called this way."""
    try:
        from socrates_nb.engine.base import QuestionDraft
        from socrates_nb.engine.offline.extraction import extract_items
    except ImportError:  # pragma: no cover - the engine moved its API
        return None
    labels = Labels(script["statements"])
    vague_rules = set(PROBE_RULES)
    flagged: dict[str, bool] = {}
    kind: dict[str, str] = {}
    for key, answer in script["answers"].items():
        question = QuestionDraft(key=key, category=key.split(".")[0], text="", why="")
        try:
            drafts = extract_items(question, str(answer))
        except Exception:  # noqa: BLE001 - a refused answer is reported by the session replay
            continue
        for draft in drafts:
            label = labels.match((draft.value or {}).get("text", draft.text))
            if label is None or not label.get("requirement"):
                continue
            k = norm(label["text"])
            kind[k] = "vague" if label.get("vague") else "precise"
            flagged[k] = flagged.get(k, False) or any(f.get("rule") in vague_rules for f in draft.findings)
    out = {"vague": 0, "vague_flagged": 0, "precise": 0, "precise_flagged": 0}
    for k, v in kind.items():
        out[v] += 1
        out[f"{v}_flagged"] += int(flagged[k])
    return out


# ---------------------------------------------------------------------------------------
# Many documents
# ---------------------------------------------------------------------------------------

def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def evaluate(names: list[str] | None = None, max_questions: int = 60) -> dict[str, Any]:
    """Replay ``names`` (default: every document) and return the per-document and overall report."""
    names = names or doc_names()
    docs = [run_document(n, max_questions) for n in names]
    by_cat: dict[str, dict[str, int]] = defaultdict(lambda: {"items": 0, "correct": 0})
    for d in docs:
        for c, cell in d["precision"]["by_category"].items():
            by_cat[c]["items"] += cell["items"]
            by_cat[c]["correct"] += cell["correct"]
    items = sum(c["items"] for c in by_cat.values())
    correct = sum(c["correct"] for c in by_cat.values())
    lint = {k: sum(d["lint"][k] for d in docs) for k in ("vague", "vague_flagged", "precise", "precise_flagged")}
    every = [d["lint_all_statements"] for d in docs]
    lint_all = None if any(e is None for e in every) else {
        k: sum(e[k] for e in every) for k in ("vague", "vague_flagged", "precise", "precise_flagged")}
    if lint_all is not None:
        lint_all.update(vague_recall=_ratio(lint_all["vague_flagged"], lint_all["vague"]),
                        precise_flag_rate=_ratio(lint_all["precise_flagged"], lint_all["precise"]))
    overall = {
        "documents": len(docs),
        "questions_asked": sum(d["questions_asked"] for d in docs),
        "ended": sum(1 for d in docs if d["ended"]),
        "non_answer_items": sum(len(d["non_answer_items"]) for d in docs),
        "open_questions": sum(d["open_questions"]["count"] for d in docs),
        "probes_true": sum(d["probes"]["true"] for d in docs),
        "probes_false": sum(d["probes"]["false"] for d in docs),
        "probes_unknown": sum(d["probes"]["unknown"] for d in docs),
        "criteria": {k: sum(d["criteria"][k] for d in docs)
                     for k in ("asked", "answered", "capabilities", "capabilities_with_criteria")},
        "f_nfr_macro_f1": macro_f1([k for d in docs for k in d["f_nfr"]]),
        "precision": {
            "overall": _ratio(correct, items), "correct": correct, "items": items,
            "by_category": {c: {**by_cat[c], "precision": _ratio(by_cat[c]["correct"], by_cat[c]["items"])}
                            for c in CATEGORIES if by_cat[c]["items"]},
        },
        "functional_requirements": {
            k: sum(d["functional_requirements"][k] for d in docs)
            for k in ("in_source", "in_answers", "captured", "functional_in_source", "functional_captured")
        },
        "lint": {**lint, "vague_recall": _ratio(lint["vague_flagged"], lint["vague"]),
                 "precise_flag_rate": _ratio(lint["precise_flagged"], lint["precise"])},
        "lint_all_statements": lint_all,
        "maturity_vs_expert": [
            {"document": d["document"], "score": d["maturity"]["score"], "ready": d["maturity"]["ready"],
             "expert_score": d["expert"]["score"], "expert_ready": d["expert"]["ready"]}
            for d in docs
        ],
        "seconds": round(sum(d["seconds"] for d in docs), 2),
    }
    return {"documents": docs, "overall": overall}


def macro_f1(kinds: list[tuple[bool, bool]]) -> float | None:
    """Macro-F1 of functional versus non-functional over (labelled functional, filed functional) pairs."""
    scores = []
    for positive in (True, False):
        tp = sum(1 for gold, got in kinds if gold == positive and got == positive)
        fp = sum(1 for gold, got in kinds if gold != positive and got == positive)
        fn = sum(1 for gold, got in kinds if gold == positive and got != positive)
        if tp + fp + fn == 0:
            return None
        scores.append(2 * tp / (2 * tp + fp + fn))
    return round(sum(scores) / 2, 3)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _precision_and_capture(pr: dict[str, Any], fr: dict[str, Any]) -> list[str]:
    """The report's precision lines (overall, then per category) and its captured-FR line."""
    lines = [f"precision (category)     {_pct(pr['overall'])}  ({pr['correct']}/{pr['items']})"]
    lines += [f"    {c:<14}       {_pct(cell['precision'])}  ({cell['correct']}/{cell['items']})"
              for c, cell in pr["by_category"].items()]
    lines.append(f"FRs captured / source    {fr['captured']} / {fr['in_source']}  (in the answers given: "
                 f"{fr['in_answers']})")
    return lines


def _criteria_line(c: dict[str, Any]) -> str:
    return (f"criteria follow-ups      {c['asked']} asked, {c['answered']} answered; capabilities with "
            f"criteria {c['capabilities_with_criteria']} / {c['capabilities']}")


def render(report: dict[str, Any]) -> str:
    """The report as text."""
    out: list[str] = []
    for d in report["documents"]:
        fr = d["functional_requirements"]
        pr = d["precision"]
        oq = d["open_questions"]
        out.append(f"== {d['document']} (template {d['template']}) ==")
        ended = "yes" if d["ended"] else f"no (limit {d['max_questions']}; remaining: {', '.join(d['remaining']) or '-'})"
        out.append(f"questions asked          {d['questions_asked']}  (scripted answers {d['answers_scripted']}, "
                   f"defaulted {d['answers_defaulted']}, probes {d['probes']['total']}, "
                   f"criteria follow-ups {d['criteria']['asked']})")
        out.append(f"session ended            {ended}")
        out.append(f"items                    {d['items']} current ({d['items_matched']} matched to a labelled "
                   f"statement, {len(d['items_unmatched'])} unmatched)")
        out.append(f"non-answer items         {len(d['non_answer_items'])}")
        out.append(f"rewritten items          {len(d['rewritten_items'])} (text differs from the statement; "
                   f"listed in --json for a faithfulness check)")
        out.append(f"open questions           {oq['count']}")
        unknown = f"  ({d['probes']['unknown']} of an item matching no statement)" if d["probes"]["unknown"] else ""
        out.append(f"probes true / false      {d['probes']['true']} / {d['probes']['false']}{unknown}")
        out.append(_criteria_line(d["criteria"]))
        out += _precision_and_capture(pr, fr)
        out.append(f"F/NFR macro-F1           {_pct(macro_f1(d['f_nfr']))}  (question and classifier together)")
        if fr["functional_in_source"] != fr["in_source"]:
            out.append(f"    of kind functional   {fr['functional_captured']} / {fr['functional_in_source']}")
        lint = d["lint"]
        out.append(f"lint flags vague         {lint['vague_flagged']} / {lint['vague']};  precise flagged "
                   f"{lint['precise_flagged']} / {lint['precise']}")
        la = d["lint_all_statements"]
        if la is not None:
            out.append(f"  (all labelled)         {la['vague_flagged']} / {la['vague']};  precise flagged "
                       f"{la['precise_flagged']} / {la['precise']}")
        e = d["expert"]
        out.append(f"maturity                 {d['maturity']['score']:.1f} ready={d['maturity']['ready']}   "
                   f"expert {e['score']} ready={e['ready']}")
        if d["errors"]:
            out.append(f"errors                   {len(d['errors'])}: {d['errors'][0]['error']}")
        out.append(f"time                     {d['seconds']:.1f} s")
        out.append("")
    o = report["overall"]
    pr = o["precision"]
    fr = o["functional_requirements"]
    lint = o["lint"]
    out.append(f"== overall ({o['documents']} documents) ==")
    out.append(f"questions asked          {o['questions_asked']}; sessions ended {o['ended']}/{o['documents']}")
    out.append(f"non-answer items         {o['non_answer_items']}")
    out.append(f"open questions           {o['open_questions']}")
    unknown = f"  ({o['probes_unknown']} unmatched)" if o["probes_unknown"] else ""
    out.append(f"probes true / false      {o['probes_true']} / {o['probes_false']}{unknown}")
    out.append(_criteria_line(o["criteria"]))
    out += _precision_and_capture(pr, fr)
    out.append(f"F/NFR macro-F1           {_pct(o['f_nfr_macro_f1'])}  (question and classifier together)")
    out.append(f"lint flags vague         {lint['vague_flagged']} / {lint['vague']} ({_pct(lint['vague_recall'])});  "
               f"precise flagged {lint['precise_flagged']} / {lint['precise']} ({_pct(lint['precise_flag_rate'])})")
    la = o["lint_all_statements"]
    if la is not None:
        out.append(f"  (all labelled)         {la['vague_flagged']} / {la['vague']} ({_pct(la['vague_recall'])});  "
                   f"precise flagged {la['precise_flagged']} / {la['precise']} ({_pct(la['precise_flag_rate'])})")
    out.append("maturity vs expert")
    for m in o["maturity_vs_expert"]:
        out.append(f"    {m['document']:<24} tool {m['score']:5.1f} ready={m['ready']!s:<5}   "
                   f"expert {m['expert_score']} ready={m['expert_ready']}")
    out.append(f"time                     {o['seconds']:.1f} s")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command line entry point; returns the report it printed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--doc", action="append", help="a document of eval/ (repeatable; default: all)")
    parser.add_argument("--max-questions", type=int, default=60, help="stop a session after this many questions")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument("--check-labels", action="store_true",
                        help="list the answer statements that match no labelled statement, then exit")
    args = parser.parse_args(argv)
    names = args.doc or doc_names()
    unknown = sorted(set(names) - set(doc_names()))
    if unknown:
        parser.error(f"unknown document(s) {', '.join(unknown)}; known: {', '.join(doc_names())}")
    if args.check_labels:
        report = {n: unlabelled_statements(load_script(n)) for n in names}
        print(json.dumps(report, indent=2))
        return report
    report = evaluate(names, args.max_questions)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True, default=str))
    else:
        print(render(report))
    return report


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
