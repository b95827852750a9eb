"""The producer through a bus outage, with a bus that goes away on cue and an injected
clock: live frames are spooled and replayed in order, drops happen only past the spool's
bound and are counted, a spool survives a restart, and health tells the truth."""

from __future__ import annotations

import queue
import threading
import uuid

import numpy as np
import pytest
from prometheus_client import REGISTRY

from producers.producer import Producer
from producers.sources import Capture
from producers.spool import HEADER, spool_folder
from schemas import decode
from schemas.topics import FRAMES
from tests.helpers import wait_until
from vidsentry.bus.memory import InMemoryBus
from vidsentry.config.cameras import CameraConfig, ProducerSettings


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class OutageBus:
    """An in-memory bus that goes away like a Kafka broker: while it is down the publisher
    reports no connection and queues what it is given, delivered in order (and acknowledged)
    when it is back. ``hold_acks`` keeps the connection but never acknowledges (a hung broker)."""

    def __init__(self) -> None:
        self.inner = InMemoryBus(max_backlog=100000)
        self.up = True
        self.hold_acks = False
        self.held: list[tuple] = []
        self.lock = threading.Lock()

    def create_topics(self, topics, partitions=None):
        self.inner.create_topics(topics, partitions)

    def publisher(self):
        return _Publisher(self)

    def subscriber(self, group, topics, on_revoke=None):
        return self.inner.subscriber(group, topics, on_revoke)

    def set(self, up: bool, hold_acks: bool = False) -> None:
        with self.lock:
            self.up, self.hold_acks = up, hold_acks
            if up and not hold_acks:
                self._deliver_held()

    def _deliver_held(self) -> None:
        held, self.held = self.held, []
        for topic, key, value, on_delivery in held:
            self.inner.publisher().publish(topic, key, value)
            if on_delivery:
                on_delivery(None)

    def close(self):
        self.inner.close()


class _Publisher:
    def __init__(self, bus: OutageBus) -> None:
        self.bus = bus

    def publish(self, topic, key, value, on_delivery=None):
        with self.bus.lock:
            self.bus.held.append((topic, key, value, on_delivery))
            if self.bus.up and not self.bus.hold_acks:
                self.bus._deliver_held()

    def connected(self) -> bool:
        return self.bus.up

    def flush(self, timeout_s=None):
        pass

    def close(self):
        pass


class LiveSource:
    """A live camera that sends a frame each time the test releases one."""

    live = True
    fps = None

    def __init__(self) -> None:
        self.frames: queue.Queue[int | None] = queue.Queue()
        self.sent = 0

    def release(self, count: int) -> None:
        for _ in range(count):
            self.frames.put(self.sent)
            self.sent += 1

    def finish(self) -> None:
        self.frames.put(None)

    def open(self) -> None:
        pass

    def read(self) -> Capture | None:
        index = self.frames.get()
        if index is None:
            return None
        return Capture(np.full((16, 16, 3), 7, np.uint8), ts=index * 0.1, index=index)

    def skipped(self) -> int:
        return 0

    def close(self) -> None:
        pass


def counted(camera: str, outcome: str) -> float:
    return REGISTRY.get_sample_value("vidsentry_producer_frames_total", {"camera": camera, "outcome": outcome}) or 0.0


class Rig:
    def __init__(self, tmp_path, bus: OutageBus | None = None, **settings) -> None:
        self.camera = f"cam-{uuid.uuid4().hex[:6]}"
        self.bus = bus or OutageBus()
        self.sink = self.bus.subscriber("sink", [FRAMES])
        self.source = LiveSource()
        self.clock = Clock()
        self.settings = ProducerSettings(**{"spool_dir": tmp_path / "spool", "buffer_frames": 100, **settings})
        self.producer = Producer([CameraConfig(id=self.camera, source="0", fps=10)], self.settings, self.bus,
                                 source_factory=lambda camera, settings: self.source, clock=self.clock).start()
        self.thread = threading.Thread(target=self.producer.run)
        self.thread.start()
        self.received: list[int] = []

    def poll(self) -> None:
        self.received.extend(decode(r.value).seq for r in self.sink.poll(1000, 0.05))

    def wait_received(self, count: int) -> None:
        assert wait_until(lambda: len(self.received) >= count, timeout_s=60, poll=self.poll), (len(self.received), count)

    def camera_status(self) -> dict:
        return self.producer.status()["cameras"][self.camera]

    def total(self, *keys: str) -> int:
        status = self.camera_status()
        return sum(status[k] for k in keys)

    def stop(self) -> None:
        self.source.finish()
        self.producer.stop_event.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()


def test_an_outage_is_spooled_and_replayed_in_order_before_newer_frames(tmp_path):
    rig = Rig(tmp_path)
    rig.source.release(5)
    rig.wait_received(5)
    rig.bus.set(up=False)
    rig.source.release(30)
    assert wait_until(lambda: rig.camera_status()["spooled"] + len(rig.bus.held) == 30, timeout_s=60)
    assert rig.camera_status()["spooled"] > 0
    assert spool_folder(rig.settings.spool_dir, rig.camera).is_dir()
    assert rig.producer.status()["ok"], "within unreachable_after_s the outage is not reported yet"
    assert rig.producer.ready()["ok"] is False, "not connected: not ready"
    rig.clock.now += 3.0
    status = rig.producer.status()
    assert status["ok"] is False and "no connection" in status["bus_outage"]

    rig.bus.set(up=True)
    rig.source.release(5)
    rig.wait_received(40)
    rig.stop()
    base = rig.received[0]
    assert rig.received == list(range(base, base + 40)), "every frame, in order, the spooled ones before the newer"
    status = rig.producer.status()
    camera = status["cameras"][rig.camera]
    assert camera["dropped"] == 0 and camera["spooled"] == 0 and camera["published"] == 40
    assert camera["replayed"] == counted(rig.camera, "spooled") == counted(rig.camera, "replayed") > 0
    assert status["ok"] and status["bus_outage"] is None
    assert not spool_folder(rig.settings.spool_dir, rig.camera).exists(), "a replayed spool is removed"


@pytest.mark.reliability(fault="a bus outage longer than the producer's spool holds (spool_max_bytes)",
                         happened="past the bound the oldest spooled frames are dropped; the newest are replayed in order",
                         lost="only the frames past the bound, each counted as dropped in /healthz and the metrics")
def test_past_the_spool_bound_the_oldest_are_dropped_and_every_drop_is_counted(tmp_path):
    rig = Rig(tmp_path, spool_max_bytes=10 * (HEADER.size + 1500))
    rig.source.release(3)
    rig.wait_received(3)
    rig.bus.set(up=False)
    rig.source.release(60)
    assert wait_until(lambda: rig.total("spooled", "dropped") + len(rig.bus.held) == 60,
                      timeout_s=60)
    rig.bus.set(up=True)
    rig.source.release(3)
    assert wait_until(lambda: rig.received and rig.received[-1] - rig.received[0] == 65, timeout_s=60, poll=rig.poll)
    rig.stop()
    dropped = rig.camera_status()["dropped"]
    assert dropped > 0, "60 frames do not fit a spool of about ten"
    assert len(rig.received) + dropped == 66, "every frame is either delivered or counted as dropped"
    assert rig.received == sorted(rig.received)
    assert rig.received[-13:] == list(range(rig.received[-1] - 12, rig.received[-1] + 1)), "the newest are kept"
    assert counted(rig.camera, "dropped") == dropped


@pytest.mark.reliability(fault="the producer stopped during a bus outage, with frames in its spool",
                         happened="the spool stays on disk; the next producer replays it first, in order, then removes it",
                         lost="nothing")
def test_a_spool_left_by_a_stopped_producer_is_replayed_first_at_the_next_start(tmp_path):
    bus = OutageBus()
    bus.set(up=False)
    first = Rig(tmp_path, bus=bus)
    camera = first.camera
    first.source.release(12)
    assert wait_until(lambda: first.camera_status()["spooled"] == 12, timeout_s=60)
    first.stop()
    assert first.camera_status()["spooled"] == 12 and first.camera_status()["dropped"] == 0
    spooled = [decode(r).seq for r in _spooled_payloads(tmp_path / "spool", camera)]
    assert len(spooled) == 12

    bus.set(up=True)
    sink = bus.subscriber("restart", [FRAMES])
    source = LiveSource()
    producer = Producer([CameraConfig(id=camera, source="0", fps=10)], ProducerSettings(spool_dir=tmp_path / "spool"),
                        bus, source_factory=lambda c, s: source).start()
    assert producer.status()["cameras"][camera]["spooled"] == 12
    thread = threading.Thread(target=producer.run)
    thread.start()
    source.release(4)
    got: list[int] = []
    assert wait_until(lambda: len(got) >= 16, timeout_s=60, poll=lambda: got.extend(decode(r.value).seq for r in sink.poll(100, 0.05)))
    source.finish()
    thread.join(timeout=60)
    assert got[:12] == spooled, "the previous run's frames first, in order"
    assert got[12:] == sorted(got[12:]) and len(got) == 16
    assert not spool_folder(tmp_path / "spool", camera).exists()


def _spooled_payloads(spool_dir, camera) -> list[bytes]:
    """The records on disk, read without touching the spool."""
    payloads = []
    for segment in sorted(spool_folder(spool_dir, camera).glob("*.seg")):
        data, pos = segment.read_bytes(), 0
        while pos < len(data):
            length = HEADER.unpack_from(data, pos)[0]
            payloads.append(data[pos + HEADER.size:pos + HEADER.size + length])
            pos += HEADER.size + length
    return payloads


@pytest.mark.reliability(fault="a broker that keeps the connection but never acknowledges",
                         happened="after producer.unreachable_after_s /healthz answers 503 and frames go to the spool; "
                                  "they are replayed in order once it answers",
                         lost="nothing")
def test_a_broker_that_never_acknowledges_is_reported_and_frames_go_to_the_spool(tmp_path):
    rig = Rig(tmp_path)
    rig.source.release(2)
    rig.wait_received(2)
    rig.bus.set(up=True, hold_acks=True)
    rig.source.release(1)
    assert wait_until(lambda: len(rig.bus.held) == 1, timeout_s=60)
    assert rig.producer.status()["ok"]
    rig.clock.now += 3.0
    status = rig.producer.status()
    assert status["ok"] is False and "not acknowledged" in status["bus_outage"]
    rig.source.release(5)
    assert wait_until(lambda: rig.camera_status()["spooled"] + len(rig.bus.held) == 6, timeout_s=60)
    assert rig.camera_status()["spooled"] >= 4, "stalled: later frames wait on disk"
    rig.bus.set(up=True)
    rig.wait_received(8)
    rig.stop()
    base = rig.received[0]
    assert rig.received == list(range(base, base + 8))
    assert rig.producer.status()["ok"]


def test_without_a_spool_an_outage_keeps_only_the_newest_buffered_frames_counted(tmp_path):
    rig = Rig(tmp_path, spool_max_bytes=0, buffer_frames=4)
    rig.source.release(2)
    rig.wait_received(2)
    rig.bus.set(up=False)
    rig.source.release(20)
    assert wait_until(lambda: rig.total("dropped", "buffered") + len(rig.bus.held) == 20,
                      timeout_s=60)
    rig.bus.set(up=True)
    assert wait_until(lambda: rig.camera_status()["buffered"] == 0, timeout_s=60)
    rig.stop()
    rig.poll()
    status = rig.camera_status()
    assert status["dropped"] >= 16 - 1 and len(rig.received) + status["dropped"] == 22
    assert not (tmp_path / "spool").exists(), "spooling off: nothing on disk"


@pytest.mark.parametrize("problem", ["down", "refused"])
def test_health_recovers_once_the_bus_takes_frames_again(tmp_path, problem):
    rig = Rig(tmp_path)
    if problem == "down":
        rig.bus.set(up=False)
    else:
        rig.producer._refuse("the bus refused a frame: test")
    assert rig.producer.ready()["ok"] is False
    rig.clock.now += 5.0
    assert rig.producer.status()["ok"] is False
    rig.bus.set(up=True)
    rig.clock.now += 5.0  # past the refusal's backoff: the next frame is the probe
    rig.source.release(1)
    rig.wait_received(1)
    assert rig.producer.status()["ok"] and rig.producer.ready()["ok"]
    rig.stop()
