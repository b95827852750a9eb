"""Fuzz every role's input topics on the real broker (issue #14): hundreds of malformed
records (null values and keys, empty, huge, garbage, truncated, wrong kind, wrong version,
undecodable keys) among good ones. Every role stays up, and every record is accounted
for: each group commits past every record it was sent, and each malformed record has a
dead letter naming its stage, topic, partition and offset.

The records are generated (seeded), not real footage: the point is their shape.
"""

from __future__ import annotations

import json
import os
import random
import struct
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from schemas import ActionsMsg, EmotionsMsg, EventMsg, FacesMsg, FrameMsg, decode, encode
from schemas.topics import ACTIONS, ALL_TOPICS, DEADLETTER, EMOTIONS, FACES, FRAMES
from tests.conftest import kafka_config
from tests.helpers import drain, wait_until
from vidsentry.bus.kafka import KafkaBus
from vidsentry.devservices import free_port

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
PER_TOPIC = 90

ROLES = {  # role -> (CLI args, input topics)
    "face": (["worker", "face"], [FRAMES]),
    "action": (["worker", "action"], [FRAMES]),
    "emotion": (["worker", "emotion"], [FACES]),
    "aggregator": (["aggregator"], [FACES, EMOTIONS, ACTIONS]),
}


def _good(topic: str, seq: int) -> bytes:
    if topic == FRAMES:
        image = np.full((48, 64, 3), 90, np.uint8)
        return encode(FrameMsg("fuzz-cam", seq, 1_000.0 + seq, 64, 48, cv2.imencode(".jpg", image)[1].tobytes()))
    if topic == FACES:
        return encode(FacesMsg("fuzz-cam", seq, 1_000.0 + seq, 64, 48, []))
    if topic == EMOTIONS:
        return encode(EmotionsMsg("fuzz-cam", seq, 1_000.0 + seq, []))
    return encode(ActionsMsg("fuzz-cam", seq, 1_000.0 + seq, 64, 48, []))


def _wrong_kind(topic: str) -> bytes:
    other = encode(EventMsg("e1", "p1", "fuzz-cam", 1_000.0, {})) if topic != FRAMES else _good(FACES, 1)
    return other


def _with_header(header: dict) -> bytes:
    body = json.dumps(header).encode()
    return struct.pack(">2sBBI", b"VS", 1, 0, len(body)) + body


def malformed(topic: str, rng: random.Random) -> list[tuple[bytes | None, bytes | None]]:
    """(key, value) pairs that no stage can process."""
    good = _good(topic, 0)
    shapes = [
        lambda: (b"fuzz-cam", None),
        lambda: (b"", None),
        lambda: (None, b""),
        lambda: (b"fuzz-cam", b""),
        lambda: (b"\xff\xfe\xfd", rng.randbytes(rng.randint(1, 64))),
        lambda: (b"fuzz-cam", rng.randbytes(rng.randint(1, 4096))),
        lambda: (b"fuzz-cam", good[: rng.randint(1, len(good) - 1)]),
        lambda: (b"fuzz-cam", good + b"trailing"),
        lambda: (b"fuzz-cam", _wrong_kind(topic)),
        lambda: (b"fuzz-cam", _with_header({"kind": "frame", "v": "9.0", "blobs": []})),
        lambda: (b"fuzz-cam", _with_header({"kind": "nope", "v": "1.0", "blobs": []})),
        lambda: (b"fuzz-cam", _with_header({"kind": topic.rstrip("s"), "v": "1.2", "blobs": [5]})),
        lambda: (b"fuzz-cam", b"VS\x01\x00\xff\xff\xff\xff"),
        lambda: (b"fuzz-cam", "ünïcödé text".encode()),
    ]
    records = [shapes[i % len(shapes)]() for i in range(PER_TOPIC - 1)]
    records.append((b"fuzz-cam", b"\x00" * 3_000_000))
    rng.shuffle(records)
    return records


def healthz(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@pytest.mark.reliability(fault='360 malformed records (null values and keys, empty, 3 MB garbage, truncated, wrong kind, wrong version, undecodable keys) on every input topic of every role, on the real broker',
                         happened='each is dead-lettered with its stage, topic, partition and offset; every role stays up and healthy; every group commits past every record',
                         lost='nothing: processed + dead-lettered = sent')
def test_every_role_survives_hundreds_of_malformed_records_and_accounts_for_each(kafka_server, redis_server, tmp_path):
    config = kafka_config(kafka_server.bootstrap_servers, partitions=2)
    KafkaBus(config).create_topics(ALL_TOPICS)
    base_env = {**os.environ, "VIDSENTRY_BUS__KIND": "kafka", "VIDSENTRY_BUS__KAFKA__BOOTSTRAP_SERVERS": config.bootstrap_servers,
                "VIDSENTRY_BUS__KAFKA__TOPIC_PREFIX": config.topic_prefix, "VIDSENTRY_REDIS__URL": redis_server.url,
                "VIDSENTRY_AGGREGATOR__REDIS_PREFIX": f"fuzz{config.topic_prefix}", "VIDSENTRY_RUNTIME__BATCH_SIZE": "8"}
    ports = {role: free_port() for role in ROLES}
    processes = {}
    for role, (args, _) in ROLES.items():
        log = open(tmp_path / f"{role}.log", "wb")
        processes[role] = subprocess.Popen([sys.executable, "-m", "vidsentry.cli", *args], cwd=REPO, stdout=log,
                                           stderr=subprocess.STDOUT, env={**base_env, "VIDSENTRY_METRICS__PORT": str(ports[role])})

    def logs() -> str:
        return "\n".join(f"--- {role}\n{(tmp_path / f'{role}.log').read_text()[-3000:]}" for role in ROLES)

    rng = random.Random(14)
    bad = {topic: malformed(topic, rng) for topic in (FRAMES, FACES, EMOTIONS, ACTIONS)}
    producer = KafkaProducer(bootstrap_servers=config.bootstrap_servers, max_request_size=8_000_000)
    sent_offsets: dict[str, set[tuple[int, int]]] = {topic: set() for topic in bad}
    good_sent = Counter()
    try:
        for topic, records in bad.items():
            physical = config.topic_prefix + topic
            for i, (key, value) in enumerate(records):
                meta = producer.send(physical, key=key, value=value).get(timeout=60)
                sent_offsets[topic].add((meta.partition, meta.offset))
                if i % 9 == 0:
                    producer.send(physical, key=b"fuzz-cam", value=_good(topic, i)).get(timeout=60)
                    good_sent[topic] += 1
        producer.flush(60)

        letters: set[tuple[str, str, int, int]] = set()
        audit = KafkaBus(config).subscriber("audit", [DEADLETTER])
        expected = {(stage, topic, p, o) for stage, (_, topics) in ROLES.items() for topic in topics
                    for p, o in sent_offsets[topic]}

        def collect() -> None:
            for (records,) in [drain([audit], 10_000, timeout_s=1)]:
                for record in records:
                    letter = decode(record.value)
                    letters.add((letter.stage, letter.topic, letter.partition, letter.offset))

        assert wait_until(lambda: expected <= letters, timeout_s=240, poll=collect), \
            f"{len(expected - letters)} malformed records without a dead letter\n{logs()}"
        assert all(p.poll() is None for p in processes.values()), logs()
        assert all(healthz(port) == 200 for port in ports.values()), logs()
        assert wait_until(lambda: _all_committed(config), timeout_s=120), f"a group did not commit past every record\n{logs()}"
        unexpected = {letter for letter in letters if letter[1] in bad and (letter[2], letter[3]) not in sent_offsets[letter[1]]}
        assert not unexpected, f"good records were dead-lettered: {sorted(unexpected)[:5]}"
        per_stage = Counter(stage for stage, *_ in letters)
        for stage, (_, topics) in ROLES.items():
            assert per_stage[stage] == sum(len(bad[t]) for t in topics), stage
    finally:
        producer.close()
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _all_committed(config) -> bool:
    """processed + dead-lettered = sent: every group's committed offset is at the end of
    every partition of every topic it consumes."""
    admin = KafkaAdminClient(bootstrap_servers=config.bootstrap_servers)
    consumer = KafkaConsumer(bootstrap_servers=config.bootstrap_servers)
    try:
        for group, (_, topics) in ROLES.items():
            committed = admin.list_consumer_group_offsets(group)
            partitions = [TopicPartition(config.topic_prefix + t, p) for t in topics for p in range(config.partitions)]
            consumer.assign(partitions)
            consumer.seek_to_end()
            for tp in partitions:
                end, done = consumer.position(tp), committed.get(tp)
                if end and (done is None or done.offset < end):
                    return False
        return True
    finally:
        admin.close()
        consumer.close()
