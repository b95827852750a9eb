"""Runtime delivery logic with a fake publisher (pure logic; the real buses are in integration)."""

from __future__ import annotations

import threading

from schemas import FrameMsg, encode
from schemas.topics import FRAMES
from tests.echo_stage import EchoStage
from vidsentry.bus import BusError
from vidsentry.bus.memory import InMemoryBus
from vidsentry.config import RuntimeConfig
from vidsentry.runtime import StageRunner


class FlakyPublisher:
    """Fails ``failures`` flushes (a broker outage), then delivers to the wrapped publisher."""

    def __init__(self, inner, failures: int) -> None:
        self.inner, self.failures, self.flushes = inner, failures, 0
        self.queued = []

    def publish(self, topic, key, value):
        self.queued.append((topic, key, value))

    def flush(self, timeout_s=None):
        self.flushes += 1
        if self.flushes <= self.failures:
            self.queued.clear()
            raise BusError("broker unavailable")
        for item in self.queued:
            self.inner.publish(*item)
        self.queued.clear()

    def close(self):
        pass


def setup(failures: int):
    bus = InMemoryBus(max_backlog=100)
    out = bus.subscriber("sink", ["faces"])
    runner = StageRunner(EchoStage(), bus, [FRAMES], RuntimeConfig(poll_timeout_s=0.05), expect=FrameMsg).start()
    runner._publisher = FlakyPublisher(bus.publisher(), failures)
    pub = bus.publisher()
    for i in range(3):
        pub.publish(FRAMES, "cam", encode(FrameMsg("cam", i, 1.0, 2, 2, b"x")))
    return bus, runner, out


def test_publish_is_retried_until_the_bus_heals_then_committed():
    bus, runner, out = setup(failures=3)
    assert runner.run_once() == 3
    assert runner._publisher.flushes == 4
    assert len(out.poll(10, 0.1)) == 3
    again = bus.subscriber("echo", [FRAMES])
    assert again.poll(10, 0.1) == []


def test_stop_during_an_outage_leaves_the_batch_uncommitted():
    bus, runner, out = setup(failures=10**6)
    threading.Timer(0.5, runner.stop_event.set).start()
    assert runner.run_once() == 0
    assert runner.healthy()["bus_outage"] == "broker unavailable"
    runner.close()
    assert out.poll(10, 0.1) == []
    successor = bus.subscriber("echo", [FRAMES])
    assert [r.offset for r in successor.poll(10, 0.1)] == [0, 1, 2]
