"""The Prometheus alert rules (extensions/prometheus/alerts.yml): promtool accepts them, their unit tests pass
(and fail when a threshold is broken), and every metric, label and outcome they use is one socrates_nb exports.

promtool comes from Debian's ``prometheus`` package (``make test`` installs it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

from socrates_nb import metrics

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "extensions" / "prometheus" / "alerts.yml"
UNIT_TESTS = ROOT / "extensions" / "prometheus" / "alerts_test.yml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None,
    reason="promtool is not installed (make test installs Debian's prometheus package; "
           "it could not be installed on this machine)",
)

SEVERITIES = {
    "SocratesNbHighErrorRatio": "critical",
    "SocratesNbHighLatencyP99": "warning",
    "SocratesNbRefreshTokenReuse": "critical",
    "SocratesNbLoginFailuresSpike": "warning",
    "SocratesNbHealthDown": "critical",
    "SocratesNbHealthDegraded": "warning",
    "SocratesNbCacheHitRatioCollapse": "warning",
    "SocratesNbLlmErrorRatio": "warning",
}
TARGET_LABELS = {"job", "instance"}
_METRIC = re.compile(r"\b(socrates_nb_[a-z0-9_]+)\s*(?:\{([^}]*)\})?")
_MATCHER = re.compile(r'([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"([^"]*)"')
_BY = re.compile(r"\bby\s*\(([^)]*)\)")


def _rules() -> list[dict[str, Any]]:
    [group] = yaml.safe_load(RULES.read_text("utf-8"))["groups"]
    assert group["name"] == "socrates_nb"
    return group["rules"]


def _promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *map(str, args)], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def _families() -> dict[str, str]:
    """Every sample name our registered metrics expose (``_total``, ``_bucket``, ...) -> its family name."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    names: dict[str, str] = {}
    for family in REGISTRY.collect():
        if family.name.startswith(metrics.PREFIX):
            names.update({family.name + suffix: family.name for suffix in suffixes[family.type]})
    return names


def _label_names() -> dict[str, set[str]]:
    """Family name -> the label names socrates_nb.metrics declares for it."""
    return {m._name: set(m._labelnames) for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)}  # noqa: SLF001


def _unknown_metrics(text: str) -> set[str]:
    return {name for name, _ in _METRIC.findall(text)} - set(_families())


def _label_problems(expr: str) -> list[str]:
    """Matchers on labels a metric does not have, outcomes it never counts, ``by`` labels none of its metrics has."""
    families, labels = _families(), _label_names()
    outcomes = set(metrics.AUTH_OUTCOMES.values())
    problems, used = [], set(TARGET_LABELS)
    for name, matchers in _METRIC.findall(expr):
        family = families.get(name)
        if family is None:
            continue
        allowed = labels[family] | TARGET_LABELS | ({"le"} if name.endswith("_bucket") else set())
        used |= allowed
        for label, _, value in _MATCHER.findall(matchers):
            if label not in allowed:
                problems.append(f"{name} has no label {label!r}")
            elif label == "outcome" and not set(value.split("|")) <= outcomes:
                problems.append(f"{name}: outcome {value!r} is not one of {sorted(outcomes)}")
    for group in _BY.findall(expr):
        problems += [f"by label {label!r} is on none of its metrics"
                     for label in (x.strip() for x in group.split(",")) if label not in used]
    return problems


# ---- promtool ---------------------------------------------------------------------------------------------


@needs_promtool
def test_promtool_check_rules_finds_every_rule() -> None:
    result = _promtool("check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    found = re.search(r"SUCCESS: (\d+) rules found", result.stdout)
    assert found, result.stdout
    assert int(found.group(1)) == len(_rules()) == len(SEVERITIES)


@needs_promtool
def test_promtool_check_rules_rejects_a_broken_expression(tmp_path: Path) -> None:
    broken = tmp_path / "alerts.yml"
    broken.write_text(RULES.read_text("utf-8").replace("> 1/60", "> 1/", 1), "utf-8")
    result = _promtool("check", "rules", broken)
    assert result.returncode == 1
    assert "SocratesNbLlmErrorRatio" in result.stderr + result.stdout


@needs_promtool
def test_promtool_unit_tests_pass() -> None:
    result = _promtool("test", "rules", UNIT_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@needs_promtool
@pytest.mark.parametrize(
    ("alert", "before", "after"),
    [
        ("SocratesNbHighErrorRatio", "          ) > 0.05\n", "          ) > 0.5\n"),  # threshold
        ("SocratesNbRefreshTokenReuse", "            unless\n", "            and\n"),  # the first reuse is missed
        ("SocratesNbLoginFailuresSpike", "login_failed|rate_limited", "login_failed"),  # rate limits ignored
    ],
)
def test_unit_tests_fail_when_a_rule_is_broken(alert: str, before: str, after: str, tmp_path: Path) -> None:
    text = RULES.read_text("utf-8")
    assert text.count(before) == 1
    (tmp_path / "alerts.yml").write_text(text.replace(before, after), "utf-8")
    shutil.copy(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
    result = _promtool("test", "rules", tmp_path / UNIT_TESTS.name)
    assert result.returncode == 1
    failed = set(re.findall(r"alertname: (\w+),", result.stdout + result.stderr))
    assert failed == {alert}


# ---- the rules' shape ---------------------------------------------------------------------------------------


def test_rules_have_a_severity_a_summary_and_a_description() -> None:
    rules = _rules()
    assert {r["alert"]: r["labels"]["severity"] for r in rules} == SEVERITIES
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert set(rule["labels"]) == {"severity"}, rule["alert"]
        assert set(rule["annotations"]) == {"summary", "description"}, rule["alert"]
        assert "{{ $labels.instance }}" in rule["annotations"]["summary"], rule["alert"]


def test_every_rule_has_a_firing_and_a_quiet_unit_test() -> None:
    cases = [case for test in yaml.safe_load(UNIT_TESTS.read_text("utf-8"))["tests"]
             for case in test["alert_rule_test"]]
    for rule in _rules():
        mine = [c for c in cases if c["alertname"] == rule["alert"]]
        assert any(c["exp_alerts"] == [] for c in mine), f"{rule['alert']}: no case where it must stay quiet"
        firing = [a for c in mine for a in c["exp_alerts"]]
        assert firing, f"{rule['alert']}: no case where it fires"
        for alert in firing:
            assert alert["exp_labels"]["severity"] == rule["labels"]["severity"]
            assert set(alert["exp_annotations"]) == {"summary", "description"}


# ---- the metrics they use exist --------------------------------------------------------------------------


def test_metric_names_come_from_the_registry() -> None:
    families = _families()
    assert families["socrates_nb_http_requests_total"] == "socrates_nb_http_requests"
    assert families["socrates_nb_http_request_duration_seconds_bucket"] == "socrates_nb_http_request_duration_seconds"
    assert families["socrates_nb_health_status"] == "socrates_nb_health_status"
    assert "socrates_nb_http_requests" not in families  # a counter is only exposed with _total
    assert _unknown_metrics("rate(socrates_nb_http_request_total[5m]) > socrates_nb_cache_hits") == {
        "socrates_nb_http_request_total", "socrates_nb_cache_hits",
    }


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r["alert"])
def test_every_metric_in_a_rule_is_exported(rule: dict[str, Any]) -> None:
    text = " ".join([rule["expr"], *rule["annotations"].values()])
    assert _METRIC.search(rule["expr"]), rule["expr"]
    assert _unknown_metrics(text) == set()


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r["alert"])
def test_every_label_and_outcome_in_a_rule_exists(rule: dict[str, Any]) -> None:
    assert _label_problems(rule["expr"]) == []


def test_label_check_reports_wrong_labels_outcomes_and_groupings() -> None:
    expr = ('sum by (job, provider) (rate(socrates_nb_auth_events_total{outcome=~"login_failed|refresh_reused",'
            'code="500"}[5m])) + socrates_nb_http_request_duration_seconds_count{le="1"}')
    assert _label_problems(expr) == [
        "socrates_nb_auth_events_total: outcome 'login_failed|refresh_reused' is not one of "
        f"{sorted(set(metrics.AUTH_OUTCOMES.values()))}",
        "socrates_nb_auth_events_total has no label 'code'",
        "socrates_nb_http_request_duration_seconds_count has no label 'le'",
        "by label 'provider' is on none of its metrics",
    ]
