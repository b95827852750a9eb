"""What only the in-memory bus promises: bounded memory through backpressure."""

import threading
import time

import pytest

from vidsentry.bus import PublishTimeout
from vidsentry.bus.memory import InMemoryBus


def test_a_slow_consumer_blocks_the_publisher_instead_of_growing_memory():
    bus = InMemoryBus(max_backlog=5)
    sub = bus.subscriber("slow", ["frames"])
    pub = bus.publisher()
    for i in range(5):
        pub.publish("frames", "cam", bytes([i]))
    pub.timeout_s = 0.2
    with pytest.raises(PublishTimeout, match="full"):
        pub.publish("frames", "cam", b"one too many")

    pub.timeout_s = None
    released = threading.Event()

    def publish_sixth():
        pub.publish("frames", "cam", b"\x05")
        released.set()

    threading.Thread(target=publish_sixth, daemon=True).start()
    assert not released.wait(0.3), "publisher should wait for the consumer"
    records = sub.poll(2, 0.1)
    sub.commit(records)
    assert released.wait(60)
    assert len(bus._topics["frames"][0].log) <= 5


def test_polling_without_commit_does_not_free_space():
    bus = InMemoryBus(max_backlog=3)
    sub = bus.subscriber("g", ["t"])
    pub = bus.publisher()
    pub.timeout_s = 0.1
    for _i in range(3):
        pub.publish("t", None, b"x")
    assert len(sub.poll(10, 0.1)) == 3
    with pytest.raises(PublishTimeout):
        pub.publish("t", None, b"x")


def test_a_topic_nobody_reads_keeps_only_the_newest_records():
    bus = InMemoryBus(max_backlog=4)
    pub = bus.publisher()
    for i in range(100):
        pub.publish("events", "p", str(i).encode())
    part = bus._topics["events"][0]
    assert [r.value for r in part.log] == [b"96", b"97", b"98", b"99"]


def test_records_are_trimmed_once_every_group_committed():
    bus = InMemoryBus(max_backlog=100)
    a, b = bus.subscriber("a", ["t"]), bus.subscriber("b", ["t"])
    pub = bus.publisher()
    for _ in range(10):
        pub.publish("t", "k", b"x")
    a.commit(a.poll(10, 0.1))
    assert len(bus._topics["t"][0].log) == 10
    b.commit(b.poll(10, 0.1))
    assert len(bus._topics["t"][0].log) == 0


def test_poll_waits_for_new_records():
    bus = InMemoryBus()
    sub = bus.subscriber("g", ["t"])
    threading.Timer(0.2, lambda: bus.publisher().publish("t", None, b"late")).start()
    started = time.monotonic()
    records = sub.poll(10, 120)
    assert [r.value for r in records] == [b"late"]
    assert time.monotonic() - started < 120, "poll returns when a record comes, not at its timeout"
