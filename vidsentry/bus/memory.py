"""An in-process bus with Kafka's semantics: partitioned logs, consumer groups with
committed offsets and rebalancing, at-least-once redelivery, and bounded memory.

Bounded: a partition holds at most ``max_backlog`` records beyond the lowest committed
offset of the groups that have live members on its topic; a publisher blocks while the
partition is that full, so a slow stage slows the stages that feed it instead of growing
memory. A topic nobody consumes keeps only its newest ``max_backlog`` records.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Iterable

from vidsentry.bus.base import BusError, CommitFailed, DeliveryCallback, PublishTimeout, Record, RevokeCallback, partition_for

TopicPartition = tuple[str, int]


class _Partition:
    def __init__(self) -> None:
        self.log: deque[Record] = deque()
        self.base_offset = 0
        self.next_offset = 0

    def read(self, position: int, limit: int) -> list[Record]:
        start = max(position, self.base_offset) - self.base_offset
        return list(itertools.islice(self.log, start, start + limit))


class _Group:
    def __init__(self) -> None:
        self.members: list[_InMemorySubscriber] = []
        self.committed: dict[TopicPartition, int] = {}


class InMemoryBus:
    def __init__(self, partitions: int = 1, max_backlog: int = 64, publish_timeout_s: float | None = None) -> None:
        self.default_partitions = partitions
        self.max_backlog = max_backlog
        self.publish_timeout_s = publish_timeout_s
        self._cond = threading.Condition()
        self._topics: dict[str, list[_Partition]] = {}
        self._groups: dict[str, _Group] = {}
        self._closed = False

    def create_topics(self, topics: Iterable[str], partitions: int | None = None) -> None:
        with self._cond:
            for topic in topics:
                self._topic(topic, partitions)

    def publisher(self) -> _InMemoryPublisher:
        return _InMemoryPublisher(self)

    def subscriber(self, group: str, topics: Iterable[str], on_revoke: RevokeCallback | None = None) -> _InMemorySubscriber:
        member = _InMemorySubscriber(self, group, list(topics), on_revoke)
        with self._cond:
            for topic in member.topics:
                self._topic(topic)
            self._groups.setdefault(group, _Group()).members.append(member)
            self._rebalance(group)
        return member

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def _topic(self, topic: str, partitions: int | None = None) -> list[_Partition]:
        if topic not in self._topics:
            self._topics[topic] = [_Partition() for _ in range(partitions or self.default_partitions)]
        return self._topics[topic]

    def _floor(self, topic: str, partition: int) -> int | None:
        """Lowest committed offset among groups with live members on this topic (None: no such group)."""
        floors = [
            group.committed.get((topic, partition), 0)
            for group in self._groups.values()
            if any(topic in m.topics for m in group.members)
        ]
        return min(floors) if floors else None

    def _append(self, topic: str, key: str | None, value: bytes, counter: int, timeout_s: float | None) -> None:
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            partitions = self._topic(topic)
            index = partition_for(key, len(partitions), counter)
            part = partitions[index]
            while True:
                if self._closed:
                    raise BusError("bus is closed")
                floor = self._floor(topic, index)
                if floor is None or part.next_offset - floor < self.max_backlog:
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise PublishTimeout(f"{topic}[{index}] is full ({self.max_backlog} records not yet committed by its slowest group)")
                self._cond.wait(remaining)
            part.log.append(Record(topic, index, part.next_offset, key, value, int(time.time() * 1000)))
            part.next_offset += 1
            self._trim(topic, index, floor)
            self._cond.notify_all()

    def _trim(self, topic: str, index: int, floor: int | None) -> None:
        part = self._topics[topic][index]
        keep_from = floor if floor is not None else part.next_offset - self.max_backlog
        while part.log and part.base_offset < keep_from:
            part.log.popleft()
            part.base_offset += 1

    def _rebalance(self, group_name: str) -> None:
        """Round-robin the group's partitions over its members, in join order (like Kafka's
        RoundRobinAssignor); a partition that moves resumes at the committed offset."""
        group = self._groups[group_name]
        topics = sorted({t for m in group.members for t in m.topics})
        all_partitions = [(t, p) for t in topics for p in range(len(self._topics[t]))]
        wanted: dict[int, set[TopicPartition]] = {id(m): set() for m in group.members}
        eligible = itertools.cycle(group.members) if group.members else iter(())
        for tp in all_partitions:
            for _ in range(len(group.members)):
                member = next(eligible)
                if tp[0] in member.topics:
                    wanted[id(member)].add(tp)
                    break
        for member in group.members:
            new = wanted[id(member)]
            lost = member.assigned - new
            if lost:
                member.pending_revocations.extend(sorted(lost))
            for tp in new - member.assigned:
                member.positions[tp] = group.committed.get(tp, 0)
            for tp in lost:
                member.positions.pop(tp, None)
            member.assigned = new
        self._cond.notify_all()


class _InMemoryPublisher:
    def __init__(self, bus: InMemoryBus) -> None:
        self._bus = bus
        self._counter = itertools.count()
        self.timeout_s = bus.publish_timeout_s

    def publish(self, topic: str, key: str | None, value: bytes | None,
                on_delivery: DeliveryCallback | None = None) -> None:
        self._bus._append(topic, key, None if value is None else bytes(value), next(self._counter), self.timeout_s)
        if on_delivery is not None:
            on_delivery(None)

    def connected(self) -> bool:
        return not self._bus._closed

    def flush(self, timeout_s: float | None = None) -> None:
        """Records are on the bus as soon as publish returns."""

    def close(self) -> None:
        pass


class _InMemorySubscriber:
    def __init__(self, bus: InMemoryBus, group: str, topics: list[str], on_revoke: RevokeCallback | None) -> None:
        self._bus = bus
        self.group = group
        self.topics = topics
        self.on_revoke = on_revoke
        self.assigned: set[TopicPartition] = set()
        self.positions: dict[TopicPartition, int] = {}
        self.pending_revocations: list[TopicPartition] = []
        self._closed = False

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        deadline = time.monotonic() + timeout_s
        cond = self._bus._cond
        with cond:
            while True:
                revoked, self.pending_revocations = self.pending_revocations, []
                if revoked and self.on_revoke:
                    cond.release()
                    try:
                        self.on_revoke(revoked)
                    finally:
                        cond.acquire()
                records = self._take(max_records)
                remaining = deadline - time.monotonic()
                if records or remaining <= 0 or self._closed or self._bus._closed:
                    return records
                cond.wait(remaining)

    def _take(self, max_records: int) -> list[Record]:
        records: list[Record] = []
        for tp in sorted(self.assigned):
            part = self._bus._topics[tp[0]][tp[1]]
            position = max(self.positions[tp], part.base_offset)
            batch = part.read(position, max_records - len(records))
            if batch:
                self.positions[tp] = batch[-1].offset + 1
                records.extend(batch)
            if len(records) >= max_records:
                break
        return records

    def commit(self, records: Iterable[Record]) -> None:
        upto: dict[TopicPartition, int] = {}
        for record in records:
            tp = (record.topic, record.partition)
            upto[tp] = max(upto.get(tp, 0), record.offset + 1)
        with self._bus._cond:
            lost = set(upto) - self.assigned
            if lost:
                raise CommitFailed(f"group {self.group}: partitions {sorted(lost)} were reassigned before this commit")
            group = self._bus._groups[self.group]
            for tp, offset in upto.items():
                group.committed[tp] = max(group.committed.get(tp, 0), offset)
                self._bus._trim(tp[0], tp[1], self._bus._floor(*tp))
            self._bus._cond.notify_all()

    def assignment(self) -> set[TopicPartition]:
        with self._bus._cond:
            return set(self.assigned)

    def lag(self) -> dict[TopicPartition, int]:
        with self._bus._cond:
            return {tp: self._bus._topics[tp[0]][tp[1]].next_offset - self.positions[tp] for tp in self.assigned}

    def connected(self) -> bool:
        return not self._bus._closed

    def close(self) -> None:
        with self._bus._cond:
            if self._closed:
                return
            self._closed = True
            group = self._bus._groups[self.group]
            group.members.remove(self)
            self.assigned = set()
            self._bus._rebalance(self.group)
