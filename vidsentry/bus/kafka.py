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
from kafka import errors as kafka_errors
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import CommitFailedError, KafkaConnectionError, KafkaError, KafkaTimeoutError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from vidsentry.bus.base import BusError, CommitFailed, DeliveryCallback, PublishTimeout, Record, RevokeCallback
from vidsentry.bus.kafka_security import KafkaAccessRefused, check_access, security_options
from vidsentry.config.models import KafkaConfig
from vidsentry.redact import redact_text

log = logging.getLogger(__name__)


RECONNECT_BACKOFF_MAX_MS = 2000
"""kafka-python's default backs off up to 30 s between reconnects, so after an outage a role
could sit idle that long with the broker back; 2 s costs a few connection attempts."""


def _key_text(key: bytes | None) -> str | None:
    """Keys are camera ids in UTF-8; a foreign producer's undecodable key must not make every
    poll raise (the record would then never be dead-lettered), so odd bytes are escaped."""
    return key.decode("utf-8", "backslashreplace") if key is not None else None


class KafkaBus:
    def __init__(self, config: KafkaConfig) -> None:
        self.config = config
        self._servers = [s.strip() for s in config.bootstrap_servers.split(",") if s.strip()]
        self.prefix = config.topic_prefix
        self._access_checked = False

    def physical(self, topic: str) -> str:
        return self.prefix + topic

    def logical(self, topic: str) -> str:
        return topic[len(self.prefix):]

    def create_topics(self, topics: Iterable[str], partitions: int | None = None) -> None:
        """Create missing topics with the configured partition count and ``retention.ms``.
        Existing ones are left alone, but a retention that differs from the configured one
        is logged as a warning (it may have been set on purpose; altering it is the operator's call)."""
        admin = self._connect(KafkaAdminClient, bootstrap_servers=self._servers, client_id=f"{self.config.client_id}-admin",
                              request_timeout_ms=self.config.request_timeout_ms)
        try:
            topics = list(topics)
            existing = set(admin.list_topics())
            missing = [
                NewTopic(self.physical(t), partitions or self.config.partitions, self.config.replication_factor,
                         topic_configs=_retention_config(self.config.retention_ms.of(t)))
                for t in topics if self.physical(t) not in existing
            ]
            if missing:
                try:
                    response = admin.create_topics(missing)
                except TopicAlreadyExistsError:
                    response = None
                existing |= self._created_meanwhile(response)
            self._warn_on_other_retention(admin, [t for t in topics if self.physical(t) in existing])
        finally:
            admin.close()

    @staticmethod
    def _created_meanwhile(response) -> set[str]:
        """Topics another process created since we listed them; other refusals are logged."""
        meanwhile = set()
        for topic, code, *_ in getattr(response, "topic_errors", []):
            error = kafka_errors.for_code(code)
            if error is TopicAlreadyExistsError:
                meanwhile.add(topic)
            elif code:
                log.warning("topic %s was not created: %s", topic, error.__name__)
        return meanwhile

    def _warn_on_other_retention(self, admin: KafkaAdminClient, topics: list[str]) -> None:
        wanted = {self.physical(t): ms for t in topics if (ms := self.config.retention_ms.of(t)) is not None}
        if not wanted:
            return
        try:
            actual = topic_retention_ms(admin, list(wanted))
        except KafkaError as exc:
            log.warning("cannot read the retention of the existing topics: %s", exc)
            return
        for name, ms in wanted.items():
            if actual.get(name) != ms:
                log.warning("topic %s keeps records for retention.ms=%s, not the configured %d (bus.kafka.retention_ms); "
                            "it is left as it is. To apply it: kafka-configs.sh --alter --entity-type topics "
                            "--entity-name %s --add-config retention.ms=%d", name, actual.get(name), ms, name, ms)

    def publisher(self) -> KafkaPublisher:
        return KafkaPublisher(self)

    def subscriber(self, group: str, topics: Iterable[str], on_revoke: RevokeCallback | None = None) -> KafkaSubscriber:
        return KafkaSubscriber(self, group, list(topics), on_revoke)

    def close(self) -> None:
        pass

    def _connect(self, client_class: type, **kwargs):
        """Every client gets the security settings; the first one of this bus is preceded by a
        login probe, because kafka-python retries a refused login silently for ever."""
        if not self._access_checked:
            self._access_checked = check_access(self.config, timeout_s=min(10.0, self.config.request_timeout_ms / 1000))
        try:
            return client_class(**{"reconnect_backoff_max_ms": RECONNECT_BACKOFF_MAX_MS, **kwargs}, **security_options(self.config))
        except (KafkaConnectionError, KafkaTimeoutError):
            raise BusError(f"no Kafka broker answers at {redact_text(self.config.bootstrap_servers)} (bus.kafka.bootstrap_servers)") from None


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

    def publish(self, topic: str, key: str | None, value: bytes | None,
                on_delivery: DeliveryCallback | None = None) -> None:
        try:
            future = self._producer.send(self._physical(topic), key=key, value=None if value is None else bytes(value))
        except KafkaTimeoutError as exc:
            raise PublishTimeout(f"{topic}: {exc}") from None
        except KafkaError as exc:
            raise BusError(f"{topic}: {exc}") from None
        if on_delivery is not None:
            future.add_callback(lambda _metadata: on_delivery(None))
            future.add_errback(on_delivery)
        if len(self._pending) >= 10000:  # a caller that tracks deliveries may never flush
            self._pending = [f for f in self._pending if not f.succeeded()]
        self._pending.append(future)

    def connected(self) -> bool:
        return _any_connection_up(self._producer._sender._client)

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
            key_deserializer=_key_text,
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

    def connected(self) -> bool:
        return _any_connection_up(self._consumer._client)

    def close(self) -> None:
        self._consumer.close(autocommit=False)


def _any_connection_up(client) -> bool:
    """Whether any broker connection of a kafka-python 2.3 client is up. Its only public
    check, ``bootstrap_connected()``, covers the bootstrap address, which it closes once
    the cluster is known; so this reads the client's connection table (a copy: the
    client's own thread changes it)."""
    return any(conn.connected() for conn in dict(client._conns).values())


def _retention_config(ms: int | None) -> dict[str, str]:
    return {} if ms is None else {"retention.ms": str(ms)}


def topic_retention_ms(admin: KafkaAdminClient, names: list[str]) -> dict[str, int | None]:
    """``retention.ms`` of each named (physical) topic, as the broker reports it."""
    found: dict[str, int | None] = {}
    for response in admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, n, {"retention.ms": None}) for n in names]):
        for error_code, _message, _type, name, entries, *_ in response.resources:
            if error_code:
                continue
            values = {entry[0]: entry[1] for entry in entries}
            found[name] = int(values["retention.ms"]) if values.get("retention.ms") not in (None, "") else None
    return found


def wait_for_broker(bootstrap_servers: str, timeout_s: float = 60.0, security: KafkaConfig | None = None) -> None:
    """Block until a broker answers metadata requests (used by scripts and tests). ``security``
    gives the SASL/SSL settings (its own bootstrap_servers is not used); a refused login or TLS
    handshake fails at once with ``KafkaAccessRefused``."""
    config = (security or KafkaConfig()).model_copy(update={"bootstrap_servers": bootstrap_servers})
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            check_access(config, timeout_s=5.0)
            admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000, **security_options(config))
            admin.list_topics()
            admin.close()
            return
        except KafkaAccessRefused:
            raise
        except Exception as exc:  # any other failure means "not ready yet"
            last = exc
            time.sleep(0.5)
    raise BusError(redact_text(f"Kafka at {bootstrap_servers} not ready after {timeout_s}s: {last}"))
