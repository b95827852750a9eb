"""The loop every stage runs in: consume → decode → process → publish → flush → commit.

A stage is any object with ``name`` and ``process(batch) -> outputs`` over schema
messages (STYLE.md §1); it never sees the bus. The runner owns delivery:

* a record that fails to decode or validate goes to ``deadletter`` with the reason;
* a batch whose processing raises is retried one message at a time, so one poison
  message is dead-lettered and its neighbours still get through;
* offsets are committed only after every output (and dead letter) is flushed, so a crash
  redelivers rather than loses (at-least-once);
* a bus outage while publishing is retried with backoff until it heals or a stop is asked
  for; stopping then leaves the batch uncommitted for the next owner.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Protocol

from schemas import TOPIC_OF_KIND, DeadLetterMsg, Message, SchemaError, decode, encode
from schemas.topics import DEADLETTER
from vidsentry.bus import Bus, BusError, CommitFailed, Publisher, PublishTimeout, Record, Subscriber
from vidsentry.config.models import RuntimeConfig
from vidsentry.metrics import BATCH_SIZE, CONSUMER_LAG, DEADLETTERED, MESSAGES, PUBLISH_RETRIES, PUBLISHED, STAGE_SECONDS, UP

log = logging.getLogger(__name__)


class Retryable(Exception):
    """A stage's dependency (Redis, a webhook...) is down: retry the whole batch later
    instead of dead-lettering it. Stages wrap transient failures in this."""


class Stage(Protocol):
    name: str

    def process(self, batch: list[Message]) -> list[Message]:
        """Turn a batch of input messages into output messages (any kinds, any count)."""


Outgoing = tuple[str, str | None, bytes]


class StageRunner:
    """Runs one stage as a member of consumer group ``group`` on ``topics``."""

    def __init__(self, stage: Stage, bus: Bus, topics: Sequence[str], config: RuntimeConfig,
                 group: str | None = None, expect: type | None = None) -> None:
        self.stage = stage
        self.bus = bus
        self.topics = list(topics)
        self.group = group or stage.name
        self.config = config
        self.expect = expect
        self.stop_event = threading.Event()
        self.batches_done = 0
        self.records_done = 0
        self.in_batch = False
        self._subscriber: Subscriber | None = None
        self._publisher: Publisher | None = None
        self._last_loop = 0.0
        self._outage: str | None = None

    def start(self) -> StageRunner:
        self._publisher = self.bus.publisher()
        self._subscriber = self.bus.subscriber(self.group, self.topics, on_revoke=self._on_revoke)
        self._last_loop = time.monotonic()
        return self

    def run(self) -> None:
        """Process batches until ``stop_event`` is set; the batch in hand is finished first."""
        if self._subscriber is None:
            self.start()
        UP.labels(self.stage.name).set(1)
        try:
            while not self.stop_event.is_set():
                self.run_once()
        finally:
            UP.labels(self.stage.name).set(0)
            self.close()

    def run_once(self) -> int:
        """Poll and fully handle one batch; returns how many records it handled."""
        assert self._subscriber is not None and self._publisher is not None
        self._last_loop = time.monotonic()
        records = self._subscriber.poll(self.config.batch_size, self.config.poll_timeout_s)
        self._report_lag()
        if not records:
            return 0
        self.in_batch = True
        try:
            return self._complete(records)
        finally:
            self.in_batch = False

    def _complete(self, records: list[Record]) -> int:
        started = time.perf_counter()
        outgoing = self._handle_with_retry(records)
        if outgoing is None or not self._publish(outgoing):
            return 0
        try:
            self._subscriber.commit(records)
        except CommitFailed as exc:
            log.warning("%s: %s; the new owner will redeliver", self.stage.name, exc)
        STAGE_SECONDS.labels(self.stage.name).observe(time.perf_counter() - started)
        BATCH_SIZE.labels(self.stage.name).observe(len(records))
        self.batches_done += 1
        self.records_done += len(records)
        return len(records)

    def handle(self, records: list[Record]) -> list[Outgoing]:
        """Decode, process and encode a batch; never raises for bad input (that becomes dead letters)."""
        outgoing: list[Outgoing] = []
        decoded: list[tuple[Record, Message]] = []
        for record in records:
            try:
                decoded.append((record, decode(record.value, self.expect)))
                MESSAGES.labels(self.stage.name, record.topic, "ok").inc()
            except SchemaError as exc:
                outgoing.append(self._dead_letter(record, exc))
        if not decoded:
            return outgoing
        try:
            outgoing.extend(self._encode(self.stage.process([m for _, m in decoded])))
        except Retryable:
            raise
        except Exception as batch_exc:
            if len(decoded) > 1:
                log.info("%s: batch of %d failed (%s); retrying one by one", self.stage.name, len(decoded), batch_exc)
            for record, message in decoded:
                try:
                    outgoing.extend(self._encode(self.stage.process([message])))
                except Retryable:
                    raise
                except Exception as exc:
                    log.debug("%s: message at %s[%d]@%d failed", self.stage.name, record.topic, record.partition,
                              record.offset, exc_info=True)
                    outgoing.append(self._dead_letter(record, exc))
        return outgoing

    def _handle_with_retry(self, records: list[Record]) -> list[Outgoing] | None:
        """``handle``, retried with backoff while the stage reports a dependency outage;
        None if a stop came first (the batch then stays uncommitted)."""
        delay = 0.2
        while True:
            try:
                outgoing = self.handle(records)
                self._outage = None
                return outgoing
            except Retryable as exc:
                self._outage = f"{self.stage.name}: {exc}"
                log.warning("%s: %s; retrying the batch in %.1fs", self.stage.name, exc, delay)
                if self.stop_event.wait(delay):
                    return None
                delay = min(delay * 2, 10.0) * random.uniform(0.8, 1.2)

    def healthy(self) -> dict:
        stalled_s = time.monotonic() - self._last_loop
        ok = self._outage is None and stalled_s < max(60.0, 10 * self.config.poll_timeout_s) and self._subscriber is not None
        return {"ok": ok, "stage": self.stage.name, "batches": self.batches_done,
                "seconds_since_poll": round(stalled_s, 3), "bus_outage": self._outage}

    def close(self) -> None:
        """Leave the group and close the clients; whatever was not committed is redelivered."""
        if self._subscriber is not None:
            self._subscriber.close()
            self._subscriber = None
        if self._publisher is not None:
            try:
                self._publisher.flush(self.config.publish_timeout_s)
            except BusError as exc:
                log.warning("%s: final flush failed: %s", self.stage.name, exc)
            self._publisher.close()
            self._publisher = None

    def _encode(self, outputs: Iterable[Message]) -> list[Outgoing]:
        encoded = []
        for message in outputs:
            topic = TOPIC_OF_KIND[message.KIND]
            encoded.append((topic, message.key, encode(message)))
        return encoded

    def _dead_letter(self, record: Record, exc: Exception) -> Outgoing:
        reason = type(exc).__name__
        DEADLETTERED.labels(self.stage.name, reason).inc()
        MESSAGES.labels(self.stage.name, record.topic, "deadletter").inc()
        log.warning("%s: dead-lettering %s[%d]@%d: %s", self.stage.name, record.topic, record.partition, record.offset, exc)
        letter = DeadLetterMsg(stage=self.stage.name, topic=record.topic, partition=record.partition, offset=record.offset,
                               error_type=reason, error=str(exc)[:2000], ts=time.time(), original=record.value,
                               original_key=record.key)
        return DEADLETTER, record.key, encode(letter)

    def _publish(self, outgoing: list[Outgoing]) -> bool:
        """Publish and flush; retry with backoff on bus errors. False: gave up because of a stop.

        A full downstream (PublishTimeout) is waited out, resuming after the records already
        handed over; any other error resends the whole batch, since which records reached
        the broker is unknown (the consumers are idempotent on message ids).
        """
        assert self._publisher is not None
        delay = 0.2
        sent = 0
        while True:
            try:
                for topic, key, value in outgoing[sent:]:
                    self._publisher.publish(topic, key, value)
                    sent += 1
                self._publisher.flush(self.config.publish_timeout_s)
                for topic, _, _ in outgoing:
                    PUBLISHED.labels(self.stage.name, topic).inc()
                self._outage = None
                return True
            except PublishTimeout as exc:
                PUBLISH_RETRIES.labels(self.stage.name).inc()
                log.debug("%s: downstream is full (%s); waiting", self.stage.name, exc)
                if self.stop_event.is_set():
                    log.warning("%s: stopping while downstream is full; the batch stays uncommitted", self.stage.name)
                    return False
            except BusError as exc:
                sent = 0
                self._outage = str(exc)
                PUBLISH_RETRIES.labels(self.stage.name).inc()
                log.warning("%s: publish failed (%s); retrying in %.1fs", self.stage.name, exc, delay)
                if self.stop_event.wait(delay):
                    log.warning("%s: stopping during a bus outage; the batch stays uncommitted", self.stage.name)
                    return False
                delay = min(delay * 2, 10.0) * random.uniform(0.8, 1.2)

    def _report_lag(self) -> None:
        if self._subscriber is None:
            return
        for (topic, partition), lag in self._subscriber.lag().items():
            CONSUMER_LAG.labels(self.stage.name, topic, str(partition)).set(lag)

    def _on_revoke(self, partitions: list[tuple[str, int]]) -> None:
        revoke = getattr(self.stage, "revoke", None)
        if revoke is not None:
            revoke(partitions)


def stop_on_signals(*events: threading.Event) -> None:
    """SIGTERM and SIGINT set the stop events; the runners then drain and exit."""

    def handler(signum: int, _frame: object) -> None:
        log.info("received %s: finishing in-flight work", signal.Signals(signum).name)
        for event in events:
            event.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
