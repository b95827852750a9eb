"""The aggregator as a process on real Kafka + Redis, and the operator commands around it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from schemas import encode
from schemas.topics import ALL_TOPICS, TOPIC_OF_KIND
from tests.conftest import kafka_config
from tests.helpers import wait_until
from tests.scenario import Scene, body, emotion, face
from vidsentry.bus.kafka import KafkaBus

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]


def env_for(config, redis_url: str, prefix: str) -> dict:
    return {**os.environ, "VIDSENTRY_BUS__KIND": "kafka", "VIDSENTRY_BUS__KAFKA__BOOTSTRAP_SERVERS": config.bootstrap_servers,
            "VIDSENTRY_BUS__KAFKA__TOPIC_PREFIX": config.topic_prefix, "VIDSENTRY_METRICS__PORT": "0",
            "VIDSENTRY_REDIS__URL": redis_url, "VIDSENTRY_AGGREGATOR__REDIS_PREFIX": prefix}


def cli(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidsentry.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=240)


def test_aggregator_process_raises_alerts_and_the_cli_shows_them(kafka_server, redis_server, tmp_path):
    config = kafka_config(kafka_server.bootstrap_servers)
    bus = KafkaBus(config)
    bus.create_topics(ALL_TOPICS)
    env = env_for(config, redis_server.url, "role")
    client = redis.Redis.from_url(redis_server.url)

    scene = Scene("hall")
    now = time.time() - 5
    scene.run(3, faces=[face("f1")], bodies=[body("b1", "falling")], emotions=[emotion("f1", "fear", 0.9)])
    shift = now - scene.messages[0].ts_capture
    for message in scene.messages:
        message.ts_capture += shift
    pub = bus.publisher()
    for message in scene.messages:
        pub.publish(TOPIC_OF_KIND[message.KIND], message.key, encode(message))
    pub.flush(30)

    log = open(tmp_path / "aggregator.log", "wb")
    role = subprocess.Popen([sys.executable, "-m", "vidsentry.cli", "aggregator"], cwd=REPO, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        # Face and body fused (it takes a second face frame) before the stop: an alert and an emotion alone can
        # come from the first batches, and a stop then leaves the body a record of its own.
        assert wait_until(lambda: client.xlen("role:alerts") >= 1 and client.hget("role:person:anon-f1", "emotion")
                          and "b1" in json.loads(client.hget("role:person:anon-f1", "body_tracks") or "[]"),
                          timeout_s=120), (tmp_path / "aggregator.log").read_text()
        role.send_signal(signal.SIGTERM)
        assert role.wait(timeout=120) == 0
    finally:
        role.kill()

    # Stamped 5 s before the start: "recently" must allow for however long the role took to start and stop.
    shown = cli(["persons", "--json", "--within", "3600"], env)
    assert shown.returncode == 0, shown.stderr
    persons = json.loads(shown.stdout)
    assert len(persons) == 1, shown.stdout
    (person,) = persons
    assert (person["person_id"], person["action"], person["emotion"]) == ("anon-f1", "falling", "fear")

    tailed = cli(["alerts", "tail", "--no-follow", "--group", "ops", "--from-start", "--json"], env)
    assert tailed.returncode == 0, tailed.stderr
    alerts = [json.loads(line) for line in tailed.stdout.splitlines()]
    assert {a["rule"] for a in alerts} == {"fall"}
    assert client.xpending("role:alerts", "ops")["pending"] == len(alerts)
    acked = cli(["alerts", "ack", "--group", "ops", *[a["entry"] for a in alerts]], env)
    assert acked.returncode == 0 and f"acknowledged {len(alerts)}" in acked.stdout
    assert client.xpending("role:alerts", "ops")["pending"] == 0
    again = cli(["alerts", "tail", "--no-follow", "--group", "ops", "--json"], env)
    assert again.stdout == "", "a group sees each alert once"


def test_a_bad_rules_file_stops_the_role_with_the_line(kafka_server, redis_server, tmp_path):
    config = kafka_config(kafka_server.bootstrap_servers)
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: x\n    when: {action: dancing}\n")
    result = cli(["aggregator", "--rules", str(rules)], env_for(config, redis_server.url, "bad"))
    assert result.returncode == 2
    assert f"{rules}:3: rules.0.when.action (rule x)" in result.stderr
