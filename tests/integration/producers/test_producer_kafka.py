"""`vidsentry producer` as a process publishing to real Kafka."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemas import decode
from schemas.topics import ALL_TOPICS, FRAMES
from tests.conftest import kafka_config
from tests.helpers import drain
from vidsentry.bus.kafka import KafkaBus

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]


def run_cli(args: list[str], config, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "VIDSENTRY_BUS__KIND": "kafka", "VIDSENTRY_BUS__KAFKA__BOOTSTRAP_SERVERS": config.bootstrap_servers,
           "VIDSENTRY_BUS__KAFKA__TOPIC_PREFIX": config.topic_prefix, "VIDSENTRY_METRICS__PORT": "0"}
    return subprocess.run([sys.executable, "-m", "vidsentry.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_cameras_file_publishes_every_camera_to_kafka_and_reports_a_bad_one(kafka_server, samples, tmp_path):
    config = kafka_config(kafka_server.bootstrap_servers, partitions=3)
    bus = KafkaBus(config)
    bus.create_topics(ALL_TOPICS)
    sink = bus.subscriber("check", [FRAMES])
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(f"""
cameras:
  - id: car
    source: {samples['carphone']}
    fps: 10
  - id: bikes
    source: {samples['bikes']}
    fps: 5
    max_side: 320
  - id: broken
    source: {tmp_path / 'missing.mp4'}
""")
    result = run_cli(["producer", "--cameras", str(cameras)], config)
    assert result.returncode == 1
    assert "camera broken: no such video file" in result.stderr
    (records,) = drain([sink], 90, timeout_s=120)
    by_camera = {}
    for r in records:
        by_camera.setdefault(r.key, []).append(decode(r.value))
    assert {k: len(v) for k, v in by_camera.items()} == {"car": 40, "bikes": 50}
    for frames in by_camera.values():
        assert [f.seq for f in frames] == sorted(f.seq for f in frames), "per-camera order is kept"
        assert len({r.partition for r in records if r.key == frames[0].camera}) == 1


def test_single_source_cli_succeeds(kafka_server, samples):
    config = kafka_config(kafka_server.bootstrap_servers)
    result = run_cli(["producer", "--source", str(samples["carphone"]), "--camera-id", "car", "--fps", "5"], config)
    assert result.returncode == 0, result.stderr
    assert "camera car: finished, 120 captured, 20 published, 0 dropped" in result.stderr
