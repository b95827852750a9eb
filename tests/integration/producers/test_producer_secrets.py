"""`vidsentry producer` with a camera URL holding a password, on real Kafka: the password is
in none of the logs, /metrics and /healthz, while the camera is retried and named."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from schemas.topics import ALL_TOPICS
from tests.conftest import kafka_config
from tests.helpers import wait_until
from vidsentry.bus.kafka import KafkaBus
from vidsentry.devservices import free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]
SECRET = "s3cretpw"
LOCKED_CAMERA = f"rtsp://user:{SECRET}@127.0.0.1:1/x?token={SECRET}"
"""Nothing listens on port 1: the camera is refused and retried with backoff."""


def get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.read().decode()
    except OSError:
        return ""


def sample(metrics: str, name: str, camera: str) -> float:
    prefix = f'{name}{{camera="{camera}"'
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if line.startswith(prefix))


@pytest.mark.reliability(fault='a camera URL with a password and a token that keeps refusing connections, on the real broker',
                         happened='reconnected with backoff; the password and token are in no log line, /metrics label or /healthz answer',
                         lost='nothing')
def test_a_camera_password_is_in_no_log_metric_or_health_answer(kafka_server, samples, tmp_path):
    config = kafka_config(kafka_server.bootstrap_servers)
    KafkaBus(config).create_topics(ALL_TOPICS)
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(f"cameras:\n  - id: car\n    source: {samples['carphone']}\n    fps: 5\n"
                       f"  - id: door\n    source: '{LOCKED_CAMERA}'\n")
    port = free_port()
    env = {**os.environ, "VIDSENTRY_BUS__KIND": "kafka", "VIDSENTRY_BUS__KAFKA__BOOTSTRAP_SERVERS": config.bootstrap_servers,
           "VIDSENTRY_BUS__KAFKA__TOPIC_PREFIX": config.topic_prefix, "VIDSENTRY_METRICS__PORT": str(port)}
    log_path = tmp_path / "producer.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "vidsentry.cli", "producer", "--cameras", str(cameras)], cwd=REPO,
                                   env=env, stdout=log, stderr=subprocess.STDOUT)
    seen: dict[str, str] = {}

    def scrape() -> None:
        seen["metrics"] = get(f"http://127.0.0.1:{port}/metrics")
        seen["health"] = get(f"http://127.0.0.1:{port}/healthz")

    try:
        assert wait_until(lambda: sample(seen.get("metrics", ""), "vidsentry_source_reconnects_total", "door") >= 2
                          and sample(seen["metrics"], "vidsentry_producer_frames_total", "car") > 0,
                          timeout_s=120, poll=scrape), log_path.read_text()[-3000:]
        health = json.loads(seen["health"])
        assert health["cameras"]["door"]["state"] == "reconnecting"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    logs = log_path.read_text()
    assert "rtsp://user:***@127.0.0.1:1/x?token=***" in logs, "the camera is named, without its credentials"
    for where, text in {"log": logs, "/metrics": seen["metrics"], "/healthz": seen["health"]}.items():
        assert SECRET not in text, f"the password is in the {where}"
