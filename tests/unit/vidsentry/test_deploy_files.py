"""The dashboards and alert rules in deploy/ only use metrics the code really exports."""

import json
import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import aggregator.metrics  # noqa: F401
import producers.metrics  # noqa: F401
import vidsentry.metrics  # noqa: F401
import workers.action.metrics  # noqa: F401

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
SUFFIXES = ("_bucket", "_sum", "_count", "_total", "_created")


def exported() -> set[str]:
    names = set()
    for collector in list(REGISTRY._collector_to_names):
        for metric in collector.describe() if hasattr(collector, "describe") else []:
            names.add(metric.name)
            names.update(s.name for s in metric.samples)
        names.update(REGISTRY._collector_to_names[collector])
    return names


def used(text: str) -> set[str]:
    return set(re.findall(r"vidsentry_[a-z_]+", text))


def test_grafana_and_prometheus_name_only_real_metrics():
    dashboard = json.loads((DEPLOY / "grafana" / "vidsentry.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    exprs += " ".join(r["expr"] for g in rules["groups"] for r in g["rules"])
    names = exported()
    missing = sorted(n for n in used(exprs) if n not in names and not any(n.removesuffix(s) in names for s in SUFFIXES))
    assert missing == []
    assert len(used(exprs)) >= 8
