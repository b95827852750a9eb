"""The bus interface every stage talks to; ``InMemoryBus`` and ``KafkaBus`` implement it.

Semantics are Kafka's, so a stage behaves the same on either bus: topics have partitions,
a record's key picks its partition (one key stays in order on one partition), consumers in
one group share a topic's partitions, and a group's committed offset is where a new owner
of a partition resumes. Committing only after the outputs are published gives
at-least-once delivery.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from kafka.partitioner.default import murmur2


class BusError(RuntimeError):
    """The bus could not do what was asked (broker unreachable, publish timed out...)."""


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes | None
    """None for a null value (a Kafka tombstone): a stage dead-letters it."""
    timestamp_ms: int


class CommitFailed(BusError):
    """A commit for partitions this member no longer owns (they moved in a rebalance);
    the new owner will redeliver them, so the caller logs it and goes on."""


RevokeCallback = Callable[[list[tuple[str, int]]], None]
"""Told which (topic, partition) pairs a consumer just lost, so it can drop their state."""


class PublishTimeout(BusError):
    """A publish could not complete within its timeout (backpressure or a broker outage)."""


DeliveryCallback = Callable[[Exception | None], None]
"""Called once per record when the bus has acknowledged it (None) or given up on it (why);
on Kafka from the client's own thread."""


class Publisher(Protocol):
    def publish(self, topic: str, key: str | None, value: bytes | None,
                on_delivery: DeliveryCallback | None = None) -> None:
        """Queue one record; may block when the bus pushes back. Raises PublishTimeout."""

    def connected(self) -> bool:
        """A connection to the bus is up now (local state, no request; cheap enough for every loop)."""

    def flush(self, timeout_s: float | None = None) -> None:
        """Return once every queued record is durably on the bus; raises PublishTimeout."""

    def close(self) -> None: ...


class Subscriber(Protocol):
    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        """Up to ``max_records`` records from the partitions this member owns, in order per partition."""

    def commit(self, records: Iterable[Record]) -> None:
        """Mark these records (and everything before them in their partitions) as done."""

    def assignment(self) -> set[tuple[str, int]]: ...

    def lag(self) -> dict[tuple[str, int], int]:
        """Records between this member's position and the end of each partition it owns."""

    def connected(self) -> bool:
        """A connection to the bus is up now (local state, no request): a poll returns
        nothing both when there is nothing new and when the broker is gone."""

    def close(self) -> None:
        """Leave the group without committing; uncommitted records go to the next owner."""


class Bus(Protocol):
    def create_topics(self, topics: Iterable[str], partitions: int | None = None) -> None: ...

    def publisher(self) -> Publisher: ...

    def subscriber(self, group: str, topics: Iterable[str], on_revoke: RevokeCallback | None = None) -> Subscriber: ...

    def close(self) -> None: ...


def partition_for(key: str | None, partitions: int, counter: int) -> int:
    """Stable key → partition with Kafka's own murmur2 partitioner, so a key lands on the
    same partition number on both buses; unkeyed records rotate."""
    if key is None:
        return counter % partitions
    return (murmur2(key.encode()) & 0x7FFFFFFF) % partitions
