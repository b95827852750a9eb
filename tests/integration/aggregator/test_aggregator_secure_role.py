"""The aggregator as a process on a Kafka that requires a SCRAM login and a Redis with an ACL
user, both passwords given as secret files: it works, and a wrong password stops it at start
with one clear line that never shows the secret."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from schemas import encode
from schemas.topics import ALL_TOPICS, TOPIC_OF_KIND
from tests.conftest import REDIS_USER, REDIS_USER_PASSWORD, SCRAM_PASSWORD, SCRAM_USER, kafka_config
from tests.helpers import wait_until
from tests.scenario import Scene, body, face
from vidsentry.bus.kafka import KafkaBus
from vidsentry.config import RedisConfig
from vidsentry.redis_client import redis_client

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]
WRONG = "not-the-Password-42"


def secure_env(config, redis_url: str, tmp_path: Path, kafka_password: str = SCRAM_PASSWORD,
               redis_password: str = REDIS_USER_PASSWORD) -> dict:
    (tmp_path / "kafka_password").write_text(kafka_password + "\n")
    (tmp_path / "redis_password").write_text(redis_password + "\n")
    return {**os.environ, "VIDSENTRY_BUS__KIND": "kafka", "VIDSENTRY_BUS__KAFKA__BOOTSTRAP_SERVERS": config.bootstrap_servers,
            "VIDSENTRY_BUS__KAFKA__TOPIC_PREFIX": config.topic_prefix, "VIDSENTRY_METRICS__PORT": "0",
            "VIDSENTRY_BUS__KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
            "VIDSENTRY_BUS__KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
            "VIDSENTRY_BUS__KAFKA__SASL_USERNAME": SCRAM_USER,
            "VIDSENTRY_BUS__KAFKA__SASL_PASSWORD_FILE": str(tmp_path / "kafka_password"),
            "VIDSENTRY_REDIS__URL": redis_url, "VIDSENTRY_REDIS__USERNAME": REDIS_USER,
            "VIDSENTRY_REDIS__PASSWORD_FILE": str(tmp_path / "redis_password"),
            "VIDSENTRY_AGGREGATOR__REDIS_PREFIX": "secure"}


def cli(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidsentry.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture
def sasl_config(secure_kafka_server):
    return kafka_config(secure_kafka_server.sasl_bootstrap_servers, security_protocol="SASL_PLAINTEXT",
                        sasl_mechanism="SCRAM-SHA-512", sasl_username=SCRAM_USER, sasl_password=SCRAM_PASSWORD)


def test_the_role_logs_in_to_kafka_and_redis(sasl_config, secure_redis_server, tmp_path):
    bus = KafkaBus(sasl_config)
    bus.create_topics(ALL_TOPICS)
    scene = Scene("gate")
    scene.run(3, faces=[face("f1")], bodies=[body("b1", "falling")])
    shift = time.time() - 5 - scene.messages[0].ts_capture
    pub = bus.publisher()
    for message in scene.messages:
        message.ts_capture += shift
        pub.publish(TOPIC_OF_KIND[message.KIND], message.key, encode(message))
    pub.flush(30)
    pub.close()

    env = secure_env(sasl_config, secure_redis_server.url, tmp_path)
    client = redis_client(RedisConfig(url=secure_redis_server.url, username=REDIS_USER, password=REDIS_USER_PASSWORD))
    log_path = tmp_path / "aggregator.log"
    with open(log_path, "wb") as log:
        role = subprocess.Popen([sys.executable, "-m", "vidsentry.cli", "aggregator"], cwd=REPO, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: client.xlen("secure:alerts") >= 1
                          and client.hget("secure:person:anon-f1", "action") == b'"falling"', timeout_s=120), log_path.read_text()
        role.send_signal(signal.SIGTERM)
        assert role.wait(timeout=120) == 0
    finally:
        role.kill()
    logged = log_path.read_text()
    assert SCRAM_PASSWORD not in logged and REDIS_USER_PASSWORD not in logged

    shown = cli(["persons", "--json", "--within", "3600"], env)
    assert shown.returncode == 0, shown.stderr
    assert {p["person_id"]: p["action"] for p in json.loads(shown.stdout)}["anon-f1"] == "falling", shown.stdout


def test_a_wrong_kafka_password_stops_the_role_at_start(sasl_config, secure_redis_server, tmp_path):
    result = cli(["aggregator"], secure_env(sasl_config, secure_redis_server.url, tmp_path, kafka_password=WRONG))
    assert result.returncode == 1
    assert f"error: Kafka at {sasl_config.bootstrap_servers} (security_protocol SASL_PLAINTEXT) refused the login " \
           f"of user '{SCRAM_USER}' with SCRAM-SHA-512" in result.stderr
    assert "Traceback" not in result.stderr and WRONG not in result.stderr + result.stdout


def test_a_wrong_redis_password_stops_the_role_at_start(sasl_config, secure_redis_server, tmp_path):
    result = cli(["aggregator"], secure_env(sasl_config, secure_redis_server.url, tmp_path, redis_password=WRONG))
    assert result.returncode == 1
    assert f"error: Redis at {secure_redis_server.url} refused the login of user '{REDIS_USER}'" in result.stderr
    assert "Traceback" not in result.stderr and WRONG not in result.stderr + result.stdout
