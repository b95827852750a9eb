"""deploy/compose/kafka-sasl.sh, the compose broker's start script, run here on Kafka's own jars
(deploy/local/kafka) in place of the image's /opt/kafka: the roles' compose settings log in, a
client without the password does not."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from schemas.topics import FRAMES
from tests.helpers import drain
from vidsentry.bus.base import BusError
from vidsentry.bus.kafka import KafkaBus, wait_for_broker
from vidsentry.bus.kafka_security import KafkaAccessRefused
from vidsentry.config import load_config
from vidsentry.devservices import KAFKA_PROJECT, ensure_kafka_jars, free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "compose" / "kafka-sasl.sh"
PASSWORD = "0123456789abcdef0123456789abcdef"


def fake_kafka_home(home: Path) -> Path:
    """bin/kafka-storage.sh and bin/kafka-server-start.sh as the image has them, on the local jars."""
    lib, log4j = ensure_kafka_jars(), KAFKA_PROJECT / "log4j.properties"
    (home / "bin").mkdir(parents=True)
    for name, main, heap in (("kafka-storage.sh", "kafka.tools.StorageTool", ""),
                             ("kafka-server-start.sh", "kafka.Kafka", "-Xms256m -Xmx512m ")):
        script = home / "bin" / name
        script.write_text(f'#!/bin/sh\nexec java {heap}-Dlog4j.configuration=file:{log4j} -cp "{lib}/*" {main} "$@"\n')
        script.chmod(0o755)
    return home


def script_env(tmp_path: Path, password: str, **ports: int) -> dict[str, str]:
    secret = tmp_path / "kafka_password"
    secret.write_text(password + "\n")
    compose = yaml.safe_load((REPO / "deploy" / "compose" / "docker-compose.yml").read_text())
    return {**os.environ, **compose["services"]["kafka"]["environment"], "KAFKA_PASSWORD_FILE": str(secret),
            "KAFKA_HOME": str(tmp_path / "kafka-home"), "KAFKA_DATA": str(tmp_path / "data"),
            "KAFKA_CONFIG_FILE": str(tmp_path / "server.properties"), "KAFKA_ADVERTISED_HOST": "127.0.0.1",
            **{k: str(v) for k, v in ports.items()}}


@pytest.fixture(scope="module")
def compose_kafka(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("compose-kafka")
    fake_kafka_home(tmp_path / "kafka-home")
    port = free_port()
    env = script_env(tmp_path, PASSWORD, KAFKA_PORT=port, KAFKA_CONTROLLER_PORT=free_port(), KAFKA_LOCAL_PORT=free_port())
    with open(tmp_path / "kafka.log", "wb") as log:
        broker = subprocess.Popen(["/bin/sh", str(SCRIPT)], env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        yield f"127.0.0.1:{port}", tmp_path
    finally:
        os.killpg(broker.pid, signal.SIGTERM)
        try:
            broker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(broker.pid, signal.SIGKILL)
            broker.wait(timeout=10)


def role_config(bootstrap: str, tmp_path: Path, password_file: Path):
    """The settings every compose role gets, pointed at this broker."""
    compose = yaml.safe_load((REPO / "deploy" / "compose" / "docker-compose.yml").read_text())
    env = {k: v for k, v in compose["services"]["face"]["environment"].items() if k.startswith("VIDSENTRY_BUS__")}
    env.update({"VIDSENTRY_BUS__KAFKA__BOOTSTRAP_SERVERS": bootstrap,
                "VIDSENTRY_BUS__KAFKA__SASL_PASSWORD_FILE": str(password_file),
                "VIDSENTRY_BUS__KAFKA__TOPIC_PREFIX": f"test-{uuid.uuid4().hex[:8]}-",
                "VIDSENTRY_BUS__KAFKA__LINGER_MS": "0"})
    return load_config(None, env).bus.kafka


def test_the_compose_roles_log_in_and_move_records(compose_kafka):
    bootstrap, tmp_path = compose_kafka
    config = role_config(bootstrap, tmp_path, tmp_path / "kafka_password")
    wait_for_broker(bootstrap, timeout_s=120, security=config)
    bus = KafkaBus(config)
    bus.create_topics([FRAMES])
    sub = bus.subscriber("g", [FRAMES])
    pub = bus.publisher()
    pub.publish(FRAMES, "cam-1", b"frame")
    pub.flush(30)
    pub.close()
    (records,) = drain([sub], 1, timeout_s=60)
    sub.close()
    assert [r.value for r in records] == [b"frame"]


def test_the_compose_broker_refuses_other_passwords_and_anonymous_clients(compose_kafka):
    bootstrap, tmp_path = compose_kafka
    wrong = tmp_path / "wrong_password"
    wrong.write_text("not-the-password")
    config = role_config(bootstrap, tmp_path, wrong)
    with pytest.raises(KafkaAccessRefused, match="refused the login of user 'vidsentry'"):
        wait_for_broker(bootstrap, timeout_s=120, security=config)
    with pytest.raises(BusError, match="security_protocol"):
        KafkaBus(config.model_copy(update={"security_protocol": "PLAINTEXT", "sasl_mechanism": None,
                                           "sasl_username": None, "sasl_password": None})).create_topics([FRAMES])


@pytest.mark.parametrize("password", ["", "has space", "quote'd"])
def test_the_script_refuses_a_password_it_cannot_pass_on_safely(tmp_path, password):
    result = subprocess.run(["/bin/sh", str(SCRIPT)], env=script_env(tmp_path, password), capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 2 and "must be non-empty letters, digits" in result.stderr
