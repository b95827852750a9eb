"""The message bus: one interface, an in-memory and a Kafka implementation."""

from __future__ import annotations

from vidsentry.bus.base import Bus, BusError, CommitFailed, Publisher, PublishTimeout, Record, Subscriber
from vidsentry.config.models import BusConfig


def make_bus(config: BusConfig) -> Bus:
    if config.kind == "kafka":
        from vidsentry.bus.kafka import KafkaBus

        return KafkaBus(config.kafka)
    from vidsentry.bus.memory import InMemoryBus

    return InMemoryBus(config.memory.partitions, config.memory.max_backlog, config.memory.publish_timeout_s)


__all__ = ["Bus", "BusError", "CommitFailed", "PublishTimeout", "Publisher", "Record", "Subscriber", "make_bus"]
