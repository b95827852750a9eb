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


COMPOSE = DEPLOY / "compose" / "docker-compose.yml"
ROLES = ("topics", "producer", "face", "emotion", "action", "aggregator")


def test_compose_turns_authentication_on_with_secret_files():
    compose = yaml.safe_load(COMPOSE.read_text())
    services, secrets = compose["services"], compose["secrets"]
    assert "kafka-sasl.sh" in " ".join(services["kafka"]["command"]) and services["kafka"]["secrets"] == ["kafka_password"]
    assert "requirepass" in " ".join(services["redis"]["command"]) and services["redis"]["secrets"] == ["redis_password"]
    assert "GF_SECURITY_ADMIN_PASSWORD__FILE" in services["grafana"]["environment"]
    for name in ROLES:
        env = services[name]["environment"]
        assert env["VIDSENTRY_BUS__KAFKA__SECURITY_PROTOCOL"].startswith("SASL_"), name
        assert env["VIDSENTRY_BUS__KAFKA__SASL_PASSWORD_FILE"] == "/run/secrets/kafka_password", name
        assert env["VIDSENTRY_REDIS__PASSWORD_FILE"] == "/run/secrets/redis_password", name
        assert set(services[name]["secrets"]) == {"kafka_password", "redis_password"}, name
    for service in services.values():  # secrets come from files, never as literal values
        assert not [k for k in service.get("environment", {}) if k.upper().endswith("PASSWORD")]
    assert all(set(s) == {"file"} and s["file"].startswith("./secrets/") for s in secrets.values())


def test_compose_publishes_only_the_dashboards_and_only_on_loopback():
    compose = yaml.safe_load(COMPOSE.read_text())
    published = {name: s["ports"] for name, s in compose["services"].items() if s.get("ports")}
    assert set(published) == {"prometheus", "grafana"}
    assert all(str(port).startswith("127.0.0.1:") for ports in published.values() for port in ports)
    assert compose["networks"]["backend"]["internal"] is True
    for name in ("kafka", "redis", "face", "emotion", "action", "topics"):
        assert compose["services"][name]["networks"] == ["backend"], name
    assert "0.0.0.0:" not in COMPOSE.read_text()


def test_the_compose_kafka_user_is_the_one_the_roles_log_in_as():
    compose = yaml.safe_load(COMPOSE.read_text())
    kafka, role = compose["services"]["kafka"]["environment"], compose["services"]["face"]["environment"]
    assert kafka["KAFKA_SASL_USER"] == role["VIDSENTRY_BUS__KAFKA__SASL_USERNAME"]
    script = (DEPLOY / "compose" / "kafka-sasl.sh").read_text()
    assert f"sasl.enabled.mechanisms={role['VIDSENTRY_BUS__KAFKA__SASL_MECHANISM']}" in script
