"""A message published on one bus implementation is consumed with identical content on the other."""

from __future__ import annotations

import cv2
import pytest

from schemas import FrameMsg, decode, encode
from schemas.topics import FRAMES
from tests.conftest import kafka_config
from tests.helpers import drain
from vidsentry.bus.kafka import KafkaBus
from vidsentry.bus.memory import InMemoryBus

pytestmark = pytest.mark.integration


def real_frames(video, count: int) -> list[FrameMsg]:
    capture = cv2.VideoCapture(str(video))
    frames = []
    for seq in range(count):
        ok, image = capture.read()
        assert ok
        ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
        frames.append(FrameMsg("carphone", seq, 1700000000.0 + seq / 30, image.shape[1], image.shape[0], jpeg.tobytes()))
    return frames


def roundtrip(bus, frames: list[FrameMsg]):
    bus.create_topics([FRAMES], partitions=2)
    sub = bus.subscriber("cross", [FRAMES])
    pub = bus.publisher()
    for f in frames:
        pub.publish(FRAMES, f.key, encode(f))
    pub.flush(30)
    (records,) = drain([sub], len(frames))
    sub.close()
    return records


def test_same_bytes_and_same_messages_on_both_buses(kafka_server, samples):
    frames = real_frames(samples["carphone"], 20)
    on_memory = roundtrip(InMemoryBus(max_backlog=100), frames)
    on_kafka = roundtrip(KafkaBus(kafka_config(kafka_server.bootstrap_servers)), frames)
    assert [r.value for r in on_memory] == [r.value for r in on_kafka] == [encode(f) for f in frames]
    assert [r.key for r in on_memory] == [r.key for r in on_kafka] == ["carphone"] * 20
    assert [r.partition for r in on_memory] != [] and {r.partition for r in on_kafka} == {on_kafka[0].partition}
    assert [decode(r.value) for r in on_kafka] == frames
    decoded = cv2.imdecode(__import__("numpy").frombuffer(decode(on_kafka[0].value).jpeg, "uint8"), cv2.IMREAD_COLOR)
    assert decoded.shape == (144, 176, 3)


def test_a_key_lands_on_the_same_partition_number_on_both_buses(kafka_server):
    kafka = KafkaBus(kafka_config(kafka_server.bootstrap_servers))
    memory = InMemoryBus(partitions=4, max_backlog=1000)
    kafka.create_topics(["keys"], partitions=4)
    memory.create_topics(["keys"], partitions=4)
    keys = [f"camera-{i}" for i in range(24)]
    placed = {}
    for name, bus in (("kafka", kafka), ("memory", memory)):
        sub = bus.subscriber("placement", ["keys"])
        pub = bus.publisher()
        for key in keys:
            pub.publish("keys", key, key.encode())
        pub.flush(30)
        (records,) = drain([sub], len(keys))
        placed[name] = {r.key: r.partition for r in records}
        sub.close()
    assert placed["kafka"] == placed["memory"]
    assert len(set(placed["kafka"].values())) > 1
