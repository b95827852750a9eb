"""The bus on Apache Kafka, through kafka-python.

Producer: acks=all, retries, idempotence (no duplicates from the producer's own retries),
compression. Consumer: a group member with auto-commit off; the runtime commits only
after its outputs are flushed, which makes delivery at-least-once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import CommitFailedError, KafkaConnectionError, KafkaError, KafkaTimeoutError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from vidsentry.bus.base import BusError, CommitFailed, PublishTimeout, Record, RevokeCallback
from vidsentry.config.models import KafkaConfig

log = logging.getLogger(__name__)


class KafkaBus:
    def __init__(self, config: KafkaConfig) -> None:
        self.config = config
        self._servers = [s.strip() for s in config.bootstrap_servers.split(",") if s.strip()]
        self.prefix = config.topic_prefix

    def physical(self, topic: str) -> str:
        return self.prefix + topic

    def logical(self, topic: str) -> str:
        return topic[len(self.prefix):]

    def create_topics(self, topics: Iterable[str], partitions: int | None = None) -> None:
        """Create missing topics with the configured partition count; existing ones are left alone."""
        admin = self._connect(KafkaAdminClient, bootstrap_servers=self._servers, client_id=f"{self.config.client_id}-admin",
                              request_timeout_ms=self.config.request_timeout_ms)
        try:
            existing = set(admin.list_topics())
            missing = [
                NewTopic(self.physical(t), partitions or self.config.partitions, self.config.replication_factor)
                for t in topics if self.physical(t) not in existing
            ]
            if missing:
                try:
                    admin.create_topics(missing)
                except TopicAlreadyExistsError:
                    pass
        finally:
            admin.close()

    def publisher(self) -> KafkaPublisher:
        return KafkaPublisher(self)

    def subscriber(self, group: str, topics: Iterable[str], on_revoke: RevokeCallback | None = None) -> KafkaSubscriber:
        return KafkaSubscriber(self, group, list(topics), on_revoke)

    def close(self) -> None:
        pass

    def _connect(self, client_class: type, **kwargs):
        try:
            return client_class(**kwargs)
        except (KafkaConnectionError, KafkaTimeoutError):
            raise BusError(f"no Kafka broker answers at {self.config.bootstrap_servers} (bus.kafka.bootstrap_servers)") from None


class KafkaPublisher:
    def __init__(self, bus: KafkaBus) -> None:
        c = bus.config
        self._producer = bus._connect(
            KafkaProducer,
            bootstrap_servers=bus._servers,
            client_id=c.client_id,
            acks="all",
            retries=2**31 - 1,
            enable_idempotence=True,
            compression_type=None if c.compression == "none" else c.compression,
            linger_ms=c.linger_ms,
            batch_size=1024 * 1024,
            max_request_size=c.max_request_bytes,
            request_timeout_ms=c.request_timeout_ms,
            delivery_timeout_ms=max(120000, c.request_timeout_ms + c.linger_ms),
            key_serializer=lambda k: k.encode() if k is not None else None,
        )
        self._pending = []
        self._physical = bus.physical

    def publish(self, topic: str, key: str | None, value: bytes) -> None:
        try:
            self._pending.append(self._producer.send(self._physical(topic), key=key, value=bytes(value)))
        except KafkaTimeoutError as exc:
            raise PublishTimeout(f"{topic}: {exc}") from None
        except KafkaError as exc:
            raise BusError(f"{topic}: {exc}") from None

    def flush(self, timeout_s: float | None = None) -> None:
        pending, self._pending = self._pending, []
        try:
            self._producer.flush(timeout=timeout_s)
        except KafkaTimeoutError as exc:
            self._pending = pending
            raise PublishTimeout(f"flush did not finish in {timeout_s}s: {exc}") from None
        failed = [f.exception for f in pending if f.failed()]
        if failed:
            raise BusError(f"{len(failed)} of {len(pending)} records were not delivered: {failed[0]}")

    def close(self) -> None:
        self._producer.close(timeout=10)


class _Revocations(ConsumerRebalanceListener):
    def __init__(self, bus: KafkaBus, on_revoke: RevokeCallback | None) -> None:
        self.bus = bus
        self.on_revoke = on_revoke

    def on_partitions_revoked(self, revoked) -> None:
        if self.on_revoke and revoked:
            self.on_revoke(sorted((self.bus.logical(tp.topic), tp.partition) for tp in revoked))

    def on_partitions_assigned(self, assigned) -> None:
        log.info("assigned %s", sorted((tp.topic, tp.partition) for tp in assigned))


class KafkaSubscriber:
    def __init__(self, bus: KafkaBus, group: str, topics: list[str], on_revoke: RevokeCallback | None) -> None:
        c = bus.config
        self.group = group
        self._bus = bus
        fetch_max_bytes = max(c.max_request_bytes, 52428800)
        self._consumer = bus._connect(
            KafkaConsumer,
            bootstrap_servers=bus._servers,
            client_id=c.client_id,
            group_id=group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=c.session_timeout_ms,
            heartbeat_interval_ms=max(1000, c.session_timeout_ms // 3),
            max_poll_interval_ms=c.max_poll_interval_ms,
            request_timeout_ms=max(c.request_timeout_ms, c.session_timeout_ms + 5000),
            fetch_max_bytes=fetch_max_bytes,
            max_partition_fetch_bytes=c.max_request_bytes,
            receive_message_max_bytes=fetch_max_bytes + 1024 * 1024,
            key_deserializer=lambda k: k.decode() if k is not None else None,
        )
        self._consumer.subscribe([bus.physical(t) for t in topics], listener=_Revocations(bus, on_revoke))

    def poll(self, max_records: int, timeout_s: float) -> list[Record]:
        try:
            batches = self._consumer.poll(timeout_ms=int(timeout_s * 1000), max_records=max_records)
        except KafkaError as exc:
            raise BusError(f"poll failed: {exc}") from None
        return [
            Record(self._bus.logical(r.topic), r.partition, r.offset, r.key, r.value, r.timestamp)
            for tp in sorted(batches, key=lambda tp: (tp.topic, tp.partition))
            for r in batches[tp]
        ]

    def commit(self, records: Iterable[Record]) -> None:
        upto: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(self._bus.physical(record.topic), record.partition)
            upto[tp] = max(upto.get(tp, 0), record.offset + 1)
        if not upto:
            return
        try:
            self._consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in upto.items()})
        except CommitFailedError as exc:
            raise CommitFailed(f"group {self.group}: {exc}") from None
        except KafkaError as exc:
            raise BusError(f"commit failed: {exc}") from None

    def assignment(self) -> set[tuple[str, int]]:
        return {(self._bus.logical(tp.topic), tp.partition) for tp in self._consumer.assignment()}

    def lag(self) -> dict[tuple[str, int], int]:
        lags = {}
        for tp in self._consumer.assignment():
            highwater = self._consumer.highwater(tp)
            if highwater is None:
                continue
            try:
                position = self._consumer.position(tp, timeout_ms=0)
            except KafkaError:
                continue
            if position is not None:
                lags[(self._bus.logical(tp.topic), tp.partition)] = max(0, highwater - position)
        return lags

    def close(self) -> None:
        self._consumer.close(autocommit=False)


def wait_for_broker(bootstrap_servers: str, timeout_s: float = 60.0) -> None:
    """Block until a broker answers metadata requests (used by scripts and tests)."""
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000)
            admin.list_topics()
            admin.close()
            return
        except Exception as exc:  # any failure means "not ready yet"
            last = exc
            time.sleep(0.5)
    raise BusError(f"Kafka at {bootstrap_servers} not ready after {timeout_s}s: {last}")
