"""The Kafka broker stops for a while under a live camera (a broker of this test's own,
restarted on the same ports and data): the producer spools, /healthz of the producer and
of a worker say 503 while it is down and 200 again after, and every frame arrives on
`frames` once, in order, with no gap."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from schemas import decode
from schemas.topics import ALL_TOPICS, FRAMES
from tests.conftest import kafka_config
from tests.helpers import wait_until
from tests.mjpeg_server import MjpegCamera
from vidsentry.bus.kafka import KafkaBus
from vidsentry.devservices import LocalKafka, free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
SPOOLED_DURING_OUTAGE = 150
"""Frames spooled before the broker comes back: about 15 s of a 10 fps camera, so with the
stop and the restart the broker is away for 20 s or more."""


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return 0, {}


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


def role_env(config, metrics_port: int) -> dict[str, str]:
    return {**os.environ, "VIDSENTRY_BUS__KIND": "kafka", "VIDSENTRY_BUS__KAFKA__BOOTSTRAP_SERVERS": config.bootstrap_servers,
            "VIDSENTRY_BUS__KAFKA__TOPIC_PREFIX": config.topic_prefix, "VIDSENTRY_BUS__KAFKA__SESSION_TIMEOUT_MS": "6000",
            "VIDSENTRY_METRICS__PORT": str(metrics_port)}


@pytest.fixture
def broker(tmp_path):
    """A broker of this test's own: stopping it leaves the session's broker alone."""
    server = LocalKafka(tmp_path / "kafka")
    try:
        yield server.start()
    finally:
        server.stop(timeout_s=5)


@pytest.mark.reliability(
    fault="the Kafka broker stopped for 20 s or more under a live 10 fps camera, then restarted on the same ports and data",
    happened="the producer spools the camera's frames to disk; /healthz and /readyz of the producer and of a worker answer "
             "503 while the broker is away and 200 again after; the spool is replayed in order before newer frames, then removed",
    lost="nothing (every frame arrives once, in order, no gap); past producer.spool_max_bytes / spool_max_age_s the oldest "
         "spooled frames would be dropped and counted")
def test_a_broker_outage_loses_no_live_frame_and_health_tells_the_truth(broker, tmp_path):
    config = kafka_config(broker.bootstrap_servers, partitions=1)
    bus = KafkaBus(config)
    bus.create_topics(ALL_TOPICS)
    sink = bus.subscriber("check", [FRAMES])
    by_offset: dict[int, int] = {}  # this consumer may read a record again after its group re-forms; the log has it once

    def collect() -> None:
        by_offset.update((r.offset, decode(r.value).seq) for r in sink.poll(500, 0.2))

    producer_port, worker_port = free_port(), free_port()
    producer_url, worker_url = f"http://127.0.0.1:{producer_port}", f"http://127.0.0.1:{worker_port}"
    with MjpegCamera([], fps=10) as camera:
        cameras = tmp_path / "cameras.yaml"
        cameras.write_text(f"cameras:\n  - id: door\n    source: {camera.url}\n    fps: 10\n"
                           f"producer:\n  spool_dir: {tmp_path / 'spool'}\n")
        producer_log, worker_log = open(tmp_path / "producer.log", "wb"), open(tmp_path / "worker.log", "wb")
        producer = subprocess.Popen([sys.executable, "-m", "vidsentry.cli", "producer", "--cameras", str(cameras)], cwd=REPO,
                                    env=role_env(config, producer_port), stdout=producer_log, stderr=subprocess.STDOUT)
        worker = subprocess.Popen([sys.executable, "-m", "tests.echo_stage"], cwd=REPO, env=role_env(config, worker_port),
                                  stdout=worker_log, stderr=subprocess.STDOUT)
        logs = lambda: (tmp_path / "producer.log").read_text() + (tmp_path / "worker.log").read_text()  # noqa: E731
        try:
            assert wait_until(lambda: len(by_offset) >= 20, timeout_s=120, poll=collect), logs()
            assert wait_until(lambda: get(producer_url + "/healthz")[0] == 200 == get(producer_url + "/readyz")[0]
                              and get(worker_url + "/healthz")[0] == 200 == get(worker_url + "/readyz")[0],
                              timeout_s=60), logs()

            broker.stop(timeout_s=10)
            assert wait_until(lambda: get(producer_url + "/healthz")[0] == 503, timeout_s=120), logs()
            assert "no connection to the bus" in get(producer_url + "/healthz")[1]["bus_outage"]
            assert get(producer_url + "/readyz")[0] == 503
            assert wait_until(lambda: get(worker_url + "/healthz")[0] == 503 == get(worker_url + "/readyz")[0],
                              timeout_s=120), logs()
            spooled = lambda: get(producer_url + "/healthz")[1].get("cameras", {}).get("door", {}).get("spooled", 0)  # noqa: E731
            assert wait_until(lambda: spooled() >= SPOOLED_DURING_OUTAGE, timeout_s=120), logs()

            broker.start()
            assert wait_until(lambda: get(producer_url + "/healthz")[0] == 200 and spooled() == 0, timeout_s=180), logs()
            assert wait_until(lambda: get(worker_url + "/healthz")[0] == 200 == get(worker_url + "/readyz")[0],
                              timeout_s=120), logs()
            replayed = re.compile(r'vidsentry_producer_frames_total\{camera="door",outcome="replayed"\} (\S+)')
            def replayed_count() -> float:
                found = replayed.search(scrape(producer_port))
                return float(found[1]) if found else 0.0

            assert wait_until(lambda: replayed_count() >= SPOOLED_DURING_OUTAGE, timeout_s=120), \
                "the spooled frames were acknowledged"

            producer.send_signal(signal.SIGTERM)
            assert producer.wait(timeout=60) == 0, logs()
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
        finally:
            producer.kill()
            worker.kill()
            producer_log.close()
            worker_log.close()

    final = re.search(r"camera door: \w+, (\d+) captured, (\d+) published, (\d+) dropped", logs())
    assert final, logs()
    published, dropped = int(final[2]), int(final[3])
    assert dropped == 0, "the outage was well inside the spool's bounds"
    assert wait_until(lambda: len(by_offset) >= published, timeout_s=60, poll=collect)
    received = [by_offset[offset] for offset in sorted(by_offset)]
    assert sorted(by_offset) == list(range(published)), "the topic holds exactly the published frames"
    assert received == list(range(received[0], received[0] + published)), "each frame once, in order, without a gap"
    assert not (tmp_path / "spool" / "camera-door").exists(), "the spool is removed once replayed"
