"""A role as a real process on real Kafka: /metrics and /healthz, SIGTERM drains and commits,
SIGKILL before commit redelivers to the surviving member of the group."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from schemas import FrameMsg, decode, encode
from schemas.topics import ALL_TOPICS, FACES, FRAMES
from tests.conftest import kafka_config
from tests.helpers import drain, wait_until
from vidsentry.bus.base import partition_for
from vidsentry.bus.kafka import KafkaBus
from vidsentry.devservices import free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


CAMERAS_ON_BOTH_PARTITIONS = next(
    (a, b) for a in (f"cam-{i}" for i in range(50)) for b in (f"cam-{j}" for j in range(50))
    if partition_for(a, 2, 0) == 0 and partition_for(b, 2, 0) == 1
)


def start_role(config, delay_s: float, metrics_port: int, log_path: Path, started_file: Path | None = None) -> subprocess.Popen:
    env = {**os.environ, "VIDSENTRY_BUS__KIND": "kafka",
           "VIDSENTRY_BUS__KAFKA__BOOTSTRAP_SERVERS": config.bootstrap_servers,
           "VIDSENTRY_BUS__KAFKA__TOPIC_PREFIX": config.topic_prefix,
           "VIDSENTRY_BUS__KAFKA__SESSION_TIMEOUT_MS": "6000",
           "VIDSENTRY_RUNTIME__BATCH_SIZE": "4", "VIDSENTRY_METRICS__PORT": str(metrics_port),
           "ECHO_DELAY_S": str(delay_s), **({"ECHO_STARTED_FILE": str(started_file)} if started_file else {})}
    log = open(log_path, "wb")
    return subprocess.Popen([sys.executable, "-m", "tests.echo_stage"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def publish_frames(bus, count: int) -> None:
    pub = bus.publisher()
    for seq in range(count):
        camera = CAMERAS_ON_BOTH_PARTITIONS[seq % 2]
        pub.publish(FRAMES, camera, encode(FrameMsg(camera, seq, 1.0 + seq, 2, 2, b"jpeg")))
    pub.flush(30)
    pub.close()


@pytest.fixture
def kafka_bus(kafka_server):
    config = kafka_config(kafka_server.bootstrap_servers, partitions=2)
    bus = KafkaBus(config)
    bus.create_topics(ALL_TOPICS)
    return config, bus


@pytest.mark.reliability(fault='SIGTERM to a worker mid-stream',
                         happened='the batch in hand is finished, published and committed, then the process exits 0',
                         lost='nothing')
def test_sigterm_finishes_the_batch_in_hand_and_commits(kafka_bus, tmp_path):
    config, bus = kafka_bus
    port = free_port()
    sink = bus.subscriber("sink", [FACES])
    publish_frames(bus, 40)
    role = start_role(config, delay_s=0.5, metrics_port=port, log_path=tmp_path / "role.log")
    try:
        outputs = []
        assert wait_until(lambda: len(outputs) >= 4, timeout_s=120, poll=lambda: outputs.extend(sink.poll(50, 0.2))), \
            (tmp_path / "role.log").read_text()
        status, body = get(f"http://127.0.0.1:{port}/healthz")
        assert status == 200 and json.loads(body)["stage"] == "echo"
        scraped = {}
        assert wait_until(lambda: 'vidsentry_stage_seconds_bucket{le="0.5",stage="echo"}' in scraped.get("text", ""),
                          timeout_s=60, poll=lambda: scraped.update(text=get(f"http://127.0.0.1:{port}/metrics")[1]))
        assert 'vidsentry_messages_total{outcome="ok",stage="echo",topic="frames"}' in scraped["text"]
        assert 'vidsentry_up{role="echo"} 1.0' in scraped["text"]
        role.send_signal(signal.SIGTERM)
        assert role.wait(timeout=120) == 0
    finally:
        role.kill()
    log = (tmp_path / "role.log").read_text()
    assert "finishing in-flight work" in log
    # Every frame is either processed (its output reaches the sink) or left uncommitted for the
    # next member: read both until 40 have shown up, however long the broker takes to hand them over.
    remaining_sub = bus.subscriber("echo", [FRAMES])
    remaining = []
    wait_until(lambda: len({decode(r.value).seq for r in outputs}) + len({decode(r.value).seq for r in remaining}) >= 40,
               timeout_s=120, poll=lambda: (outputs.extend(sink.poll(50, 0.2)), remaining.extend(remaining_sub.poll(50, 0.2))))
    done = {decode(r.value).seq for r in outputs}
    left = {decode(r.value).seq for r in remaining}
    assert done | left == set(range(40)), "a frame was neither processed nor left for the next worker"
    assert not done & left, "a batch finished during shutdown was not committed"


@pytest.mark.reliability(fault='SIGKILL of a worker mid-batch',
                         happened='its uncommitted frames are redelivered to the surviving group member',
                         lost='nothing (at-least-once; the aggregator is idempotent on message ids)')
def test_killed_worker_uncommitted_frames_go_to_the_survivor(kafka_bus, tmp_path):
    config, bus = kafka_bus
    sink = bus.subscriber("sink", [FACES])
    survivor = bus.subscriber("echo", [FRAMES])
    started = tmp_path / "batch-started"
    # The role never finishes a batch on its own: it is killed while the first one is in hand.
    role = start_role(config, delay_s=600.0, metrics_port=0, log_path=tmp_path / "role.log", started_file=started)
    survivor_got = []

    def survivor_polls():
        survivor_got.extend(survivor.poll(50, 0.2))

    try:
        assert wait_until(lambda: len(survivor.assignment()) == 1, timeout_s=120, poll=survivor_polls), \
            (tmp_path / "role.log").read_text()
        publish_frames(bus, 20)
        assert wait_until(started.exists, timeout_s=120, poll=survivor_polls), (tmp_path / "role.log").read_text()
        role.send_signal(signal.SIGKILL)
        role.wait(timeout=60)
        assert wait_until(lambda: len(survivor.assignment()) == 2, timeout_s=120, poll=survivor_polls)
        assert wait_until(lambda: len({decode(r.value).seq for r in survivor_got}) == 20, timeout_s=60, poll=survivor_polls)
    finally:
        role.kill()
    published_by_dead = []
    assert wait_until(lambda: sink.assignment(), timeout_s=60, poll=lambda: published_by_dead.extend(sink.poll(50, 0.2)))
    (later,) = drain([sink], 20, timeout_s=2)
    assert not published_by_dead + later, "the killed worker was mid-batch and had published nothing"
    assert {decode(r.value).seq for r in survivor_got} == set(range(20))
    assert {r.partition for r in survivor_got} == {0, 1}
