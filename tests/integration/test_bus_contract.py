"""One contract, two buses: every test here runs on the in-memory bus and on real Kafka."""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests.helpers import drain, wait_until

pytestmark = pytest.mark.integration


def values(records):
    return [r.value for r in records]


def test_records_of_one_key_stay_in_order_on_one_partition(make_bus, topic):
    bus = make_bus(partitions=3)
    bus.create_topics([topic], partitions=3)
    pub = bus.publisher()
    keys = ["cam-a", "cam-b", "cam-c", "cam-d"]
    for i in range(40):
        for key in keys:
            pub.publish(topic, key, f"{key}:{i}".encode())
    pub.flush(30)
    sub = bus.subscriber("g-order", [topic])
    (records,) = drain([sub], 160)
    by_key = defaultdict(list)
    partitions = defaultdict(set)
    for r in records:
        by_key[r.key].append(r.value)
        partitions[r.key].add(r.partition)
    assert len(records) == 160
    for key in keys:
        assert by_key[key] == [f"{key}:{i}".encode() for i in range(40)]
        assert len(partitions[key]) == 1
    sub.close()


def test_two_members_of_a_group_share_the_partitions(make_bus, topic):
    bus = make_bus(partitions=4)
    bus.create_topics([topic], partitions=4)
    first = bus.subscriber("g-share", [topic])
    second = bus.subscriber("g-share", [topic])
    assert wait_until(lambda: len(first.assignment()) == 2 and len(second.assignment()) == 2,
                      poll=lambda: (first.poll(10, 0.1), second.poll(10, 0.1)))
    assert first.assignment().isdisjoint(second.assignment())
    assert first.assignment() | second.assignment() == {(topic, p) for p in range(4)}

    pub = bus.publisher()
    for i in range(200):
        pub.publish(topic, f"cam-{i % 16}", str(i).encode())
    pub.flush(30)
    got_first, got_second = drain([first, second], 200)
    assert got_first and got_second
    assert sorted(values(got_first) + values(got_second), key=int) == [str(i).encode() for i in range(200)]
    assert {r.partition for r in got_first}.isdisjoint({r.partition for r in got_second})
    first.close()
    second.close()


def test_every_group_gets_every_record(make_bus, topic):
    bus = make_bus()
    bus.create_topics([topic], partitions=2)
    faces, actions = bus.subscriber("g-face", [topic]), bus.subscriber("g-action", [topic])
    pub = bus.publisher()
    for i in range(30):
        pub.publish(topic, "cam", str(i).encode())
    pub.flush(30)
    (got_faces,) = drain([faces], 30)
    (got_actions,) = drain([actions], 30)
    assert values(got_faces) == values(got_actions) == [str(i).encode() for i in range(30)]
    faces.close()
    actions.close()


def test_uncommitted_records_are_redelivered_to_the_surviving_member(make_bus, topic):
    bus = make_bus(partitions=2)
    bus.create_topics([topic], partitions=2)
    doomed = bus.subscriber("g-redeliver", [topic])
    survivor = bus.subscriber("g-redeliver", [topic])
    assert wait_until(lambda: doomed.assignment() and survivor.assignment(),
                      poll=lambda: (doomed.poll(10, 0.1), survivor.poll(10, 0.1)))
    pub = bus.publisher()
    for i in range(50):
        pub.publish(topic, f"cam-{i % 8}", str(i).encode())
    pub.flush(30)

    in_hand = []
    assert wait_until(lambda: len(in_hand) >= 4, poll=lambda: in_hand.extend(doomed.poll(100, 0.2)))
    doomed_partitions = {p for _, p in doomed.assignment()}
    assert {r.partition for r in in_hand} <= doomed_partitions
    committed_half = in_hand[: len(in_hand) // 2]
    doomed.commit(committed_half)
    doomed.close()

    (rest,) = drain([survivor], 50 - len(committed_half), timeout_s=60)
    received = set(values(rest)) | set(values(committed_half))
    assert received == {str(i).encode() for i in range(50)}
    redelivered = set(values(rest)) & set(values(in_hand))
    assert redelivered == set(values(in_hand[len(in_hand) // 2:]))
    assert not set(values(rest)) & set(values(committed_half))
    assert {r.partition for r in rest} >= doomed_partitions
    survivor.close()


def test_revoked_partitions_are_reported(make_bus, topic):
    bus = make_bus(partitions=2)
    bus.create_topics([topic], partitions=2)
    revoked = []
    first = bus.subscriber("g-revoke", [topic], on_revoke=revoked.extend)
    assert wait_until(lambda: len(first.assignment()) == 2, poll=lambda: first.poll(10, 0.1))
    second = bus.subscriber("g-revoke", [topic])
    assert wait_until(lambda: len(first.assignment()) == 1 and len(second.assignment()) == 1,
                      poll=lambda: (first.poll(10, 0.1), second.poll(10, 0.1)))
    assert set(revoked) & {(topic, 0), (topic, 1)}
    first.close()
    second.close()


def test_lag_counts_records_not_yet_consumed(make_bus, topic):
    bus = make_bus()
    bus.create_topics([topic], partitions=1)
    pub = bus.publisher()
    sub = bus.subscriber("g-lag", [topic])
    for _i in range(10):
        pub.publish(topic, "cam", b"x")
    pub.flush(30)
    got = []
    assert wait_until(lambda: bool(got), poll=lambda: got.extend(sub.poll(4, 0.2)))
    assert len(got) == 4
    assert wait_until(lambda: sub.lag().get((topic, 0)) == 6)
    sub.close()


def test_a_backlog_of_large_records_is_fetched_without_dropping_the_connection(make_bus, topic, caplog):
    """60 frame-sized records (6 MB) waiting for a new group: a fetch answer of several MB must
    fit the client's network frame limit (kafka-python's default is 1 MB; past it the client
    drops the connection, logs InvalidReceiveError and fetches again)."""
    import logging
    import os

    bus = make_bus()
    bus.create_topics([topic])
    pub = bus.publisher()
    sent = [os.urandom(100_000) for _ in range(60)]
    for value in sent:
        pub.publish(topic, "cam", value)
    pub.flush(30)
    with caplog.at_level(logging.WARNING):
        sub = bus.subscriber("g-large", [topic])
        (records,) = drain([sub], len(sent))
        sub.close()
    assert values(records) == sent
    assert not [r for r in caplog.records if "Invalid" in r.getMessage() or "frame length" in r.getMessage()]
