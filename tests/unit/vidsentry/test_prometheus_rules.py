"""deploy/prometheus/ checked by Prometheus's own tool: the config and rules load, and every
alert rule has a unit test (deploy/prometheus/alerts_test.yml) that fires it on a synthetic
bad series and keeps it quiet on a normal one beside it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

PROMETHEUS = Path(__file__).resolve().parents[3] / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool is not installed (Debian package `prometheus`; deploy/local/install.sh --services installs it)")


def promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PROMTOOL, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120)


@needs_promtool
def test_promtool_accepts_the_config_and_the_rules():
    config = promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr
    rules = promtool("check", "rules", "alerts.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr


@needs_promtool
def test_the_alert_unit_tests_pass():
    result = promtool("test", "rules", "alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_in_a_test_and_stays_quiet_on_a_normal_series():
    alerts = {r["alert"] for g in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"] for r in g["rules"]}
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]
    fired, quiet_beside = set(), set()
    for test in tests:
        for case in test["alert_rule_test"]:
            if not case["exp_alerts"]:
                continue
            fired.add(case["alertname"])
            # promtool matches the firing alerts exactly, so an input series that no expected
            # alert names is one that must stay quiet at the same moment.
            named = [{k: v for k, v in a["exp_labels"].items() if k != "severity"} for a in case["exp_alerts"]]
            if any(not any(labels.items() <= series_labels(s["series"]).items() for labels in named)
                   for s in test["input_series"]):
                quiet_beside.add(case["alertname"])
    quiet_alone = {case["alertname"] for test in tests for case in test["alert_rule_test"]
                   if not case["exp_alerts"] and not any(c["exp_alerts"] for c in test["alert_rule_test"])}
    assert fired == alerts, f"alerts without a firing test: {sorted(alerts - fired)}"
    assert quiet_beside | quiet_alone == alerts, f"alerts never shown quiet on a normal series: {sorted(alerts - quiet_beside - quiet_alone)}"


def series_labels(series: str) -> dict[str, str]:
    """``name{a="x", b="y"}`` -> ``{"a": "x", "b": "y"}`` (the test file's own simple notation)."""
    inside = series.partition("{")[2].rstrip("}")
    pairs = [p.strip() for p in inside.split(",") if p.strip()]
    return {k.strip(): v.strip().strip('"') for k, v in (p.split("=", 1) for p in pairs)}
