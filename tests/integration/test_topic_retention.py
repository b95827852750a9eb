"""Topics are created with the configured retention.ms, on the real broker; an existing
topic with another retention is left alone and named in a warning."""

from __future__ import annotations

import logging

import pytest
from kafka import KafkaAdminClient

from schemas import ALL_TOPICS
from tests.conftest import kafka_config
from tests.helpers import wait_until
from vidsentry.bus.kafka import KafkaBus, topic_retention_ms
from vidsentry.config.topics import TopicRetention

pytestmark = pytest.mark.integration


def retention_of(bus: KafkaBus) -> dict[str, int | None]:
    """Once the broker describes every topic (a just-created topic takes a moment to be known)."""
    admin = KafkaAdminClient(bootstrap_servers=bus.config.bootstrap_servers)
    found: dict[str, int | None] = {}

    def described() -> bool:
        found.update({bus.logical(n): ms for n, ms in topic_retention_ms(admin, [bus.physical(t) for t in ALL_TOPICS]).items()})
        return len(found) == len(ALL_TOPICS)

    try:
        assert wait_until(described, 60), f"the broker describes only {sorted(found)}"
        return found
    finally:
        admin.close()


def test_every_topic_is_created_with_its_configured_retention(kafka_server):
    retention = TopicRetention(faces=600_000, frames=900_000)
    bus = KafkaBus(kafka_config(kafka_server.bootstrap_servers, retention_ms=retention))
    bus.create_topics(ALL_TOPICS)
    assert retention_of(bus) == {t: getattr(retention, t) for t in ALL_TOPICS}
    assert retention.faces < retention.events, "face crops are kept shorter than person events by default too"
    assert TopicRetention().faces <= 3_600_000


def test_an_existing_topic_with_another_retention_is_left_alone_and_warned_about(kafka_server, caplog):
    first = kafka_config(kafka_server.bootstrap_servers, retention_ms=TopicRetention(faces=600_000))
    KafkaBus(first).create_topics(ALL_TOPICS)
    assert retention_of(KafkaBus(first))["faces"] == 600_000
    changed = first.model_copy(update={"retention_ms": TopicRetention(faces=120_000)})
    bus = KafkaBus(changed)
    with caplog.at_level(logging.WARNING, logger="vidsentry.bus.kafka"):
        bus.create_topics(ALL_TOPICS)
    assert retention_of(bus)["faces"] == 600_000
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert bus.physical("faces") in warnings[0] and "600000" in warnings[0] and "120000" in warnings[0]
