"""The requirement classifier: shipped model, own example sentences, errors, LOPO regression."""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from socrates_nb.categories import CATEGORIES
from socrates_nb.errors import ValidationError
from socrates_nb.quality import classifier
from socrates_nb.quality.classifier import classify, classify_scores, is_functional

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = resources.files("socrates_nb.quality.data")
PROMISE_CSV = Path(os.environ.get("SOCRATES_PROMISE_CSV", REPO.parent / "shared" / "data" / "promise_nfr.csv"))

# Leave-one-project-out figures of the shipped configuration (scripts/eval_classifier.py).
LOPO_NFR_F1 = 0.864
LOPO_MACRO_F1_F_NFR = 0.832
LOPO_MACRO_F1_CATEGORIES = 0.685
TOLERANCE = 0.02

# Our own example statements (not from any data set), a few per category.
EXAMPLES = {
    "goals": [
        "Our main goal is to cut the time clerks spend on invoice matching.",
        "The business objective is to replace three spreadsheets with one shared tool.",
        "Success will be measured by the number of repeat bookings.",
    ],
    "users": [
        "The primary users are nurses on night shifts and ward administrators.",
        "Personas: a warehouse picker, a shift lead and an auditor.",
        "Roles: nurse, admin, auditor.",
    ],
    "functional": [
        "The system shall let a clerk approve or reject each expense claim.",
        "The app shall send the customer a reminder email one day before the appointment.",
        "The system shall calculate the shipping cost from the parcel weight and destination.",
    ],
    "data": [
        "The system shall retain invoice records for 10 years.",
        "Audit logs must be kept for at least 90 days and then purged.",
        "The data model has orders, customers and line items.",
    ],
    "integrations": [
        "The service shall integrate with our Salesforce CRM.",
        "Orders are imported from the ERP system every night.",
        "Payments go through the Stripe API.",
    ],
    "constraints": [
        "The backend must be written in Python and run on the existing Linux servers.",
        "The total budget is 50,000 EUR and the deadline is March.",
        "The product must use the company's PostgreSQL cluster.",
    ],
    "performance": [
        "Search results shall appear within 2 seconds for 95% of queries.",
        "The API p95 latency must stay under 200 ms.",
        "A report must render in less than 5 seconds.",
    ],
    "scalability": [
        "The system shall support 10,000 concurrent users.",
        "It must support up to 200 simultaneous sessions without degradation.",
        "Storage must handle growth to 5 TB of documents.",
    ],
    "security": [
        "Only authorised staff may view salary data.",
        "Data in transit must be encrypted with TLS 1.2 or later.",
        "Users must log in with two-factor authentication.",
    ],
    "reliability": [
        "The service shall be available 99.9% of the time.",
        "Nightly backups shall be restorable within one hour.",
    ],
    "usability": [
        "The interface must be easy to use for people with no technical background.",
        "All screens shall follow the corporate colour scheme and fonts.",
        "A new cashier shall learn to process a sale within 10 minutes of training.",
    ],
    "operations": [
        "Operators must be able to monitor error rates on a dashboard.",
        "New releases shall be installed without downtime by the support team.",
        "The code must be maintainable by a two-person team.",
    ],
    "compliance": [
        "The system must comply with GDPR.",
        "Patient data handling shall conform to HIPAA regulations.",
        "All financial reports must follow the Sarbanes-Oxley Act.",
    ],
    "acceptance": [
        "The release is accepted when all acceptance tests pass on the staging server.",
        "Acceptance criteria: a user can book, pay and cancel a room.",
        "Given a logged-in user, when she cancels a booking, then she gets a refund email.",
    ],
}


# ---- shipped files ---------------------------------------------------------------------------


def test_model_file_is_small_and_carries_the_attribution() -> None:
    model_file = DATA_DIR.joinpath(classifier.MODEL_FILE)
    data_files = [p for p in DATA_DIR.iterdir() if p.is_file()]
    assert sum(p.stat().st_size for p in data_files) < 5_000_000  # type: ignore[attr-defined]
    doc = json.loads(model_file.read_text(encoding="utf-8"))
    attribution = doc["attribution"]
    assert "PROMISE NFR" in attribution["data_set"]
    assert "Cleland-Huang" in attribution["authors"] and "2007" in attribution["authors"]
    assert "CC BY-SA 3.0" in attribution["licence"]
    assert attribution["licence_url"] == "http://creativecommons.org/licenses/by-sa/3.0/"
    assert attribution["url"].startswith("http")
    assert classifier.model_attribution() == attribution


def test_attribution_file() -> None:
    text = DATA_DIR.joinpath("ATTRIBUTION.md").read_text(encoding="utf-8")
    for needle in ("PROMISE NFR", "Cleland-Huang", "2007", "CC BY-SA 3.0",
                   "http://creativecommons.org/licenses/by-sa/3.0/", classifier.MODEL_FILE):
        assert needle in text


@pytest.mark.skipif(not PROMISE_CSV.exists(), reason="PROMISE NFR data set not available")
def test_no_sentence_of_the_data_set_is_shipped() -> None:
    with open(PROMISE_CSV, newline="", encoding="utf-8") as handle:
        sentences = [row["text"].lower() for row in csv.DictReader(handle)]
    for path in DATA_DIR.iterdir():
        if not path.is_file():
            continue
        content = path.read_text(encoding="utf-8").lower()
        leaked = [s for s in sentences if s in content]
        assert not leaked, f"{path.name} contains data set sentences: {leaked[:3]}"
    # The hand-written lexicon shares no run of six words with the data set.
    def windows(text: str) -> set[str]:
        words = re.findall(r"[a-z]+", text.lower())
        return {" ".join(words[i : i + 6]) for i in range(len(words) - 5)}

    lexicon = DATA_DIR.joinpath(classifier.LEXICON_FILE).read_text(encoding="utf-8")
    from_data = set().union(*(windows(s) for s in sentences))
    assert not windows(lexicon) & from_data


def test_model_is_loaded_lazily_and_once() -> None:
    code = (
        "import socrates_nb.quality.classifier as c\n"
        "assert c._model_cache is None\n"
        "c.classify('The system shall export the report as a PDF.')\n"
        "m = c._model_cache\n"
        "assert m is not None\n"
        "c.classify('The system shall be available 99.9% of the time.')\n"
        "assert c._model_cache is m\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_unknown_model_format_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(classifier, "_read_json", lambda name: {"format": "something-else/9"})
    with pytest.raises(ValueError, match="unsupported format"):
        classifier._load_model()


# ---- behaviour -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "text"), [(c, t) for c, texts in EXAMPLES.items() for t in texts], ids=lambda v: v[:40]
)
def test_own_examples(category: str, text: str) -> None:
    assert classify(text) == category


def test_every_category_has_examples() -> None:
    assert set(EXAMPLES) == set(CATEGORIES)


def test_scores_are_probabilities_over_all_categories() -> None:
    for texts in EXAMPLES.values():
        for text in texts:
            scores = classify_scores(text)
            assert list(scores) == list(CATEGORIES)
            assert all(0.0 <= v <= 1.0 for v in scores.values())
            assert math.isclose(sum(scores.values()), 1.0, rel_tol=1e-9)
            assert max(scores, key=scores.get) == classify(text)


def test_is_functional() -> None:
    for text in EXAMPLES["functional"]:
        assert is_functional(text)
    for category in ("performance", "security", "reliability", "usability", "compliance"):
        for text in EXAMPLES[category]:
            assert not is_functional(text), text


def test_deterministic_within_and_across_processes() -> None:
    texts = [t for texts in EXAMPLES.values() for t in texts]
    here = [classify_scores(t) for t in texts]
    assert here == [classify_scores(t) for t in texts]
    code = (
        "import json, sys\n"
        "from socrates_nb.quality.classifier import classify_scores\n"
        "print(json.dumps([classify_scores(t) for t in json.load(sys.stdin)]))\n"
    )
    for seed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        out = subprocess.run([sys.executable, "-c", code], input=json.dumps(texts), capture_output=True,
                             text=True, check=True, cwd=REPO, env=env)
        assert json.loads(out.stdout) == json.loads(json.dumps(here))


def test_unusual_but_valid_text() -> None:
    for text in ("x", "???", "12345", "Das System muss schnell sein.", "  shall  \n\t be   fast  ", "ü" * 500):
        assert classify(text) in CATEGORIES


@pytest.mark.parametrize("func", [classify, classify_scores, is_functional])
@pytest.mark.parametrize("bad", ["", "   ", "\n\t"])
def test_empty_text_is_rejected(func, bad) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="non-empty requirement statement"):
        func(bad)


@pytest.mark.parametrize("func", [classify, classify_scores, is_functional])
@pytest.mark.parametrize("bad", [None, 42, b"The system shall log in users.", ["a list"]])
def test_non_string_is_rejected(func, bad) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="as a string, got"):
        func(bad)


# ---- training-side checks (need the dev extra and the data set) ------------------------------


def _load_script(name: str):  # type: ignore[no-untyped-def]
    path = REPO / "scripts" / f"{name}.py"
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_analyzers_match_scikit_learn() -> None:
    text_mod = pytest.importorskip("sklearn.feature_extraction.text")
    samples = [
        "The System shall respond within 2 s; p95 < 200ms!",
        "  Über-fast\tsync  with the ERP's API (v2.1) — e.g. nightly…  ",
        "a I x_y 3d  A-B",
        "",
    ]
    word = text_mod.TfidfVectorizer(ngram_range=(1, 2)).build_analyzer()
    char = text_mod.TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).build_analyzer()
    for s in samples:
        assert classifier.word_ngrams(s, (1, 2)) == word(s)
        assert classifier.char_wb_ngrams(s, (3, 5)) == char(s)


@pytest.mark.skipif(not PROMISE_CSV.exists(), reason="PROMISE NFR data set not available")
def test_shipped_model_matches_a_fresh_training_run() -> None:
    """Refit the pipeline with the shipped hyperparameters: pure-Python inference of the shipped
    file must predict exactly what scikit-learn predicts, on every row (catches a lexicon or
    tokeniser change made without retraining)."""
    pytest.importorskip("sklearn")
    tc = _load_script("train_classifier")
    data = tc.load_dataset(PROMISE_CSV)
    params = json.loads(DATA_DIR.joinpath(classifier.MODEL_FILE).read_text(encoding="utf-8"))["hyperparameters"]
    import numpy as np

    pipe = tc.fit_pipeline(data, np.arange(len(data.texts)), params)
    assert tc.verify_pure_python(pipe, data) == 625


@pytest.mark.skipif(not PROMISE_CSV.exists(), reason="PROMISE NFR data set not available")
def test_lopo_evaluation_does_not_regress() -> None:
    pytest.importorskip("sklearn")
    ev = _load_script("eval_classifier")
    data = ev.tc.load_dataset(PROMISE_CSV)
    params = json.loads(DATA_DIR.joinpath(classifier.MODEL_FILE).read_text(encoding="utf-8"))["hyperparameters"]
    summary = ev.summarize(data, ev.lopo_fixed(data, params))
    assert summary["rows"] == len(data.texts) == 625
    assert summary["f_vs_nfr"]["nfr_f1"] >= LOPO_NFR_F1 - TOLERANCE
    assert summary["f_vs_nfr"]["macro_f1"] >= LOPO_MACRO_F1_F_NFR - TOLERANCE
    assert summary["macro_f1_categories"] >= LOPO_MACRO_F1_CATEGORIES - TOLERANCE
