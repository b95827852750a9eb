"""Scale-out on the real broker: two members of one worker pool (one consumer group) share a
4-partition `frames` topic fed by 4 cameras. Both get partitions and together process every
frame; then one is SIGKILLed mid-batch, the survivor takes over its partitions, and every frame
the broker acknowledged is processed. Duplicates (at-least-once redelivery) are counted and
reported, not hidden.

The members are real role processes (``tests.echo_stage``: the runtime every worker pool runs,
with a trivial stage, so the test measures group membership, commits and redelivery, not model
speed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaAdminClient
from kafka.coordinator.protocol import ConsumerProtocolMemberAssignment_v0
from kafka.errors import KafkaError

from schemas import FrameMsg, decode, encode
from schemas.topics import ALL_TOPICS, FACES, FRAMES
from tests.conftest import kafka_config
from tests.helpers import wait_until
from vidsentry.bus.base import partition_for
from vidsentry.bus.kafka import KafkaBus

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
PARTITIONS = 4
PER_CAMERA = 12
CAMERAS = [next(f"cam-{p}-{i}" for i in range(1000) if partition_for(f"cam-{p}-{i}", PARTITIONS, 0) == p) for p in range(PARTITIONS)]
"""One camera per partition (frames are keyed by camera)."""


def start_member(config, name: str, tmp_path: Path, started_file: Path) -> subprocess.Popen:
    env = {**os.environ, "VIDSENTRY_BUS__KIND": "kafka", "VIDSENTRY_BUS__KAFKA__BOOTSTRAP_SERVERS": config.bootstrap_servers,
           "VIDSENTRY_BUS__KAFKA__TOPIC_PREFIX": config.topic_prefix, "VIDSENTRY_BUS__KAFKA__SESSION_TIMEOUT_MS": "6000",
           "VIDSENTRY_BUS__KAFKA__CLIENT_ID": name, "VIDSENTRY_RUNTIME__BATCH_SIZE": "4", "VIDSENTRY_METRICS__PORT": "0",
           "ECHO_DELAY_S": "0.2", "ECHO_STARTED_FILE": str(started_file)}
    log = open(tmp_path / f"{name}.log", "wb")
    return subprocess.Popen([sys.executable, "-m", "tests.echo_stage"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)


def assignments(admin: KafkaAdminClient, topic: str) -> dict[str, set[int]]:
    """Consumer group ``echo``: each member's client id -> its partitions of ``topic``, as the broker has them."""
    try:
        (group,) = admin.describe_consumer_groups(["echo"])
    except KafkaError as exc:  # the group coordinator is still starting, or moving
        if not exc.retriable:
            raise
        return {}
    owned: dict[str, set[int]] = {}
    for member in group.members:
        assignment = member.member_assignment
        if not assignment:
            continue
        if isinstance(assignment, bytes):
            assignment = ConsumerProtocolMemberAssignment_v0.decode(assignment)
        for assigned_topic, partitions in assignment.assignment:
            if assigned_topic == topic:
                owned.setdefault(member.client_id, set()).update(partitions)
    return owned if group.state == "Stable" else {}


def publish(bus, seqs: range) -> set[tuple[str, int]]:
    """Publishes each camera's frames ``seqs``; returns the frames the broker acknowledged."""
    pub = bus.publisher()
    for seq in seqs:
        for camera in CAMERAS:
            pub.publish(FRAMES, camera, encode(FrameMsg(camera, seq, 1.0 + seq, 2, 2, b"jpeg")))
    pub.flush(60)  # raises unless every record was acknowledged
    pub.close()
    return {(camera, seq) for seq in seqs for camera in CAMERAS}


@pytest.mark.reliability(fault='SIGKILL of one of two workers of a pool sharing a 4-partition topic fed by 4 cameras, mid-batch',
                         happened='both members had partitions and processed frames; the survivor took over all 4 partitions '
                                  'and processed the killed member\'s uncommitted frames',
                         lost='nothing the broker acknowledged (redelivered frames are processed twice and counted)')
def test_two_members_share_the_partitions_and_the_survivor_takes_over(kafka_server, tmp_path, record_property):
    config = kafka_config(kafka_server.bootstrap_servers, partitions=PARTITIONS)
    bus = KafkaBus(config)
    bus.create_topics(ALL_TOPICS)
    frames_topic = config.topic_prefix + FRAMES
    # DescribeGroups v2: kafka-python 2.3 fails to decode v3's authorized operations (ValueError: not a valid ACLOperation)
    admin = KafkaAdminClient(bootstrap_servers=config.bootstrap_servers, client_id="scale-out-test", api_version=(2, 2, 0))
    sink = bus.subscriber("sink", [FACES])
    outputs: Counter[tuple[str, int]] = Counter()

    def collect() -> None:
        for record in sink.poll(200, 0.2):
            message = decode(record.value)
            outputs[(message.camera, message.seq)] += 1

    started = {name: tmp_path / f"{name}.started" for name in ("worker-a", "worker-b")}
    members = {name: start_member(config, name, tmp_path, started[name]) for name in started}

    def logs() -> str:
        return "\n".join(f"--- {n}\n{(tmp_path / f'{n}.log').read_text()[-3000:]}" for n in members)

    try:
        owned: dict[str, set[int]] = {}

        def look() -> None:
            owned.clear()
            owned.update(assignments(admin, frames_topic))

        assert wait_until(lambda: set(owned) == set(members) and all(owned.values()), timeout_s=120, poll=look), (owned, logs())
        assert owned["worker-a"].isdisjoint(owned["worker-b"]) and owned["worker-a"] | owned["worker-b"] == set(range(PARTITIONS))

        sent = publish(bus, range(PER_CAMERA))
        assert wait_until(lambda: set(outputs) >= sent, timeout_s=120, poll=collect), (len(outputs), logs())
        assert all(path.exists() for path in started.values()), "a member with partitions processed nothing"

        # Kill worker-b while it holds a batch: frames it was sent and had not committed go to worker-a.
        started["worker-b"].unlink()
        more = publish(bus, range(PER_CAMERA, 3 * PER_CAMERA))
        assert wait_until(started["worker-b"].exists, timeout_s=120, poll=collect), logs()
        members["worker-b"].send_signal(signal.SIGKILL)
        members["worker-b"].wait(timeout=60)

        assert wait_until(lambda: owned == {"worker-a": set(range(PARTITIONS))}, timeout_s=120, poll=look), (owned, logs())
        assert wait_until(lambda: set(outputs) >= sent | more, timeout_s=120, poll=collect), \
            (sorted((sent | more) - set(outputs))[:20], logs())
        assert members["worker-a"].poll() is None, logs()
    finally:
        for member in members.values():
            member.kill()
        admin.close()
    missing = (sent | more) - set(outputs)
    duplicates = sum(count - 1 for count in outputs.values())
    record_property("frames", len(sent | more))
    record_property("duplicates", duplicates)
    print(f"scale-out: {len(sent | more)} frames from {len(CAMERAS)} cameras, {len(missing)} missing, "
          f"{duplicates} processed twice (redelivered after the kill)")
    assert missing == set()
    assert set(outputs) == sent | more, "an output for a frame that was never sent"
