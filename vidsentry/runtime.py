"""The loop every stage runs in: consume → decode → process → publish → flush → commit.

A stage is any object with ``name`` and ``process(batch) -> outputs`` over schema
messages (docs/STYLE.md §1); it never sees the bus. The runner owns delivery:

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
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from schemas import TOPIC_OF_KIND, DeadLetterMsg, Message, SchemaError, decode, encode
from schemas.topics import DEADLETTER
from vidsentry.backoff import Backoff
from vidsentry.bus import Bus, BusError, CommitFailed, Publisher, PublishTimeout, Record, Subscriber
from vidsentry.config.models import RuntimeConfig
from vidsentry.health import BusWatch
from vidsentry.metrics import (
    BATCH_SIZE,
    CONSUMER_LAG,
    DEADLETTER_FAILURES,
    DEADLETTERED,
    MESSAGES,
    PUBLISH_RETRIES,
    PUBLISHED,
    STAGE_SECONDS,
    UP,
)

log = logging.getLogger(__name__)


class MessageTooLarge(Exception):
    """An output bigger than the bus takes (``runtime.max_message_bytes``)."""


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
                 group: str | None = None, expect: type | None = None,
                 checks: Mapping[str, Callable[[], object]] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """``checks``: the stage's dependencies for /readyz (name -> a call that raises when it is down)."""
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
        self.checks = dict(checks or {})
        self._bus_watch = BusWatch(config.unreachable_after_s, clock)

    def start(self) -> StageRunner:
        self._publisher = self.bus.publisher()
        self._subscriber = self.bus.subscriber(self.group, self.topics, on_revoke=self._on_revoke)
        self._last_loop = time.monotonic()
        self._observe_bus()
        return self

    def run(self) -> None:
        """Process batches until ``stop_event`` is set; the batch in hand is finished first."""
        if self._subscriber is None:
            self.start()
        UP.labels(self.stage.name).set(1)
        try:
            backoff, poll_failed = Backoff(0.2, 10.0), False
            while not self.stop_event.is_set():
                try:
                    self.run_once()
                    if poll_failed:
                        self._outage, poll_failed = None, False
                    backoff.reset()
                except BusError as exc:
                    poll_failed = True
                    self._outage = f"{self.stage.name}: {exc}"
                    delay = backoff.next()
                    log.warning("%s: %s; polling again in %.1fs", self.stage.name, exc, delay)
                    self.stop_event.wait(delay)
        finally:
            UP.labels(self.stage.name).set(0)
            self.close()

    def run_once(self) -> int:
        """Poll and fully handle one batch; returns how many records it handled."""
        assert self._subscriber is not None and self._publisher is not None
        self._last_loop = time.monotonic()
        records = self._subscriber.poll(self.config.batch_size, self.config.poll_timeout_s)
        self._observe_bus()
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
                decoded.append((record, self._decode(record)))
                MESSAGES.labels(self.stage.name, record.topic, "ok").inc()
            except Exception as exc:  # decode promises SchemaError; anything else is still this record's fault
                outgoing.extend(self._letters(record, exc))
        if not decoded:
            return outgoing
        try:
            whole = self._encode(self.stage.process([m for _, m in decoded]))
            if len(decoded) > 1 and any(len(value) > self.config.max_message_bytes for _, _, value in whole):
                raise MessageTooLarge("an output is over runtime.max_message_bytes")
            outgoing.extend(whole if len(decoded) > 1 else self._fits(whole, decoded[0][0]))
        except Retryable:
            raise
        except Exception as batch_exc:
            if len(decoded) > 1:
                log.info("%s: batch of %d failed (%s); retrying one by one", self.stage.name, len(decoded), batch_exc)
            for record, message in decoded:
                try:
                    outgoing.extend(self._fits(self._encode(self.stage.process([message])), record))
                except Retryable:
                    raise
                except Exception as exc:
                    log.debug("%s: message at %s[%d]@%d failed", self.stage.name, record.topic, record.partition,
                              record.offset, exc_info=True)
                    outgoing.extend(self._letters(record, exc))
        return outgoing

    def _decode(self, record: Record) -> Message:
        message = decode(record.value, self.expect)
        if TOPIC_OF_KIND[message.KIND] != record.topic:
            raise SchemaError(f"a {message.KIND} message does not belong on topic {record.topic}", message.KIND)
        return message

    def _letters(self, record: Record, exc: Exception) -> list[Outgoing]:
        letter = self._dead_letter(record, exc)
        return [letter] if letter else []

    def _handle_with_retry(self, records: list[Record]) -> list[Outgoing] | None:
        """``handle``, retried with backoff while the stage reports a dependency outage;
        None if a stop came first (the batch then stays uncommitted)."""
        backoff = Backoff(0.2, 10.0, jitter=0.2)
        while True:
            try:
                outgoing = self.handle(records)
                self._outage = None
                return outgoing
            except Retryable as exc:
                self._outage = f"{self.stage.name}: {exc}"
                delay = backoff.next()
                log.warning("%s: %s; retrying the batch in %.1fs", self.stage.name, exc, delay)
                if self.stop_event.wait(delay):
                    return None

    def healthy(self) -> dict:
        """For /healthz: not ok while the loop has stalled, a dependency is down, or the bus has
        been unreachable for ``runtime.unreachable_after_s``."""
        stalled_s = time.monotonic() - self._last_loop
        self._observe_bus()
        outage = self._outage or self._bus_watch.outage()
        ok = outage is None and stalled_s < max(60.0, 10 * self.config.poll_timeout_s) and self._subscriber is not None
        return {"ok": ok, "stage": self.stage.name, "batches": self.batches_done,
                "seconds_since_poll": round(stalled_s, 3), "bus_outage": outage}

    def ready(self) -> dict:
        """For /readyz: started (the stage, models included, is built before), connected to the
        bus at the last poll, and every dependency check passes."""
        waiting: dict[str, str] = {}
        self._observe_bus()
        if self._subscriber is None:
            waiting["bus"] = "not started"
        elif not self._bus_watch.reachable:
            waiting["bus"] = "no connection to the bus"
        for name, check in self.checks.items():
            try:
                check()
            except Exception as exc:  # any failure means "not ready"; the reason is reported
                waiting[name] = f"{type(exc).__name__}: {exc}"
        return {"ok": not waiting, "stage": self.stage.name, "waiting_for": waiting}

    def _observe_bus(self) -> None:
        """The clients' connection state (from the loop and from /healthz): a poll returns nothing
        both when idle and when the broker is gone, and a flush in an outage blocks the loop for
        ``publish_timeout_s``; the clients' own threads keep their connection state current."""
        subscriber, publisher = self._subscriber, self._publisher
        if subscriber is None:
            return
        up = subscriber.connected() or (publisher is not None and publisher.connected())
        self._bus_watch.observe(None if up else "no connection to the bus")

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

    def _dead_letter(self, record: Record, exc: Exception) -> Outgoing | None:
        """The dead letter for ``record``; never raises. A null value, an odd key or an
        original too big for the topic still gets a letter (the original cut to
        ``runtime.deadletter_original_max_bytes``); if even that cannot be built, the record
        is counted as lost in ``vidsentry_deadletter_failures_total`` and logged, and the
        loop goes on: one record must never stop a pool."""
        reason = type(exc).__name__
        DEADLETTERED.labels(self.stage.name, reason).inc()
        MESSAGES.labels(self.stage.name, record.topic, "deadletter").inc()
        log.warning("%s: dead-lettering %s[%d]@%d: %s", self.stage.name, record.topic, record.partition, record.offset, exc,
                    extra={"camera": record.key if isinstance(record.key, str) else None, "topic": record.topic,
                           "partition": record.partition, "offset": record.offset})
        value = record.value if isinstance(record.value, (bytes, bytearray, memoryview)) else None
        original = bytes(value or b"")[:self.config.deadletter_original_max_bytes]
        try:
            letter = DeadLetterMsg(stage=self.stage.name, topic=record.topic, partition=record.partition,
                                   offset=record.offset, error_type=reason, error=str(exc)[:2000], ts=time.time(),
                                   original=original, original_key=record.key if isinstance(record.key, str) else None,
                                   original_size=None if value is None else len(value))
            return DEADLETTER, letter.key, encode(letter)
        except Exception as letter_exc:  # the letter itself is the last resort: report, never raise
            DEADLETTER_FAILURES.labels(self.stage.name).inc()
            log.error("%s: could not dead-letter %s[%d]@%d (%s: %s); the record is skipped", self.stage.name,
                      record.topic, record.partition, record.offset, type(letter_exc).__name__, letter_exc)
            return None

    def _fits(self, outgoing: list[Outgoing], record: Record) -> list[Outgoing]:
        """Outputs larger than ``runtime.max_message_bytes`` would be refused by the broker on
        every retry and stall the pool; the input that produced them is dead-lettered instead."""
        too_big = [(topic, len(value)) for topic, _, value in outgoing if len(value) > self.config.max_message_bytes]
        if not too_big:
            return outgoing
        topic, size = too_big[0]
        letter = self._dead_letter(record, MessageTooLarge(
            f"output for {topic} is {size} bytes, over runtime.max_message_bytes={self.config.max_message_bytes}"))
        return [letter] if letter else []

    def _publish(self, outgoing: list[Outgoing]) -> bool:
        """Publish and flush; retry with backoff on bus errors. False: gave up because of a stop.

        A full downstream (PublishTimeout) is waited out, resuming after the records already
        handed over; any other error resends the whole batch, since which records reached
        the broker is unknown (the consumers are idempotent on message ids).
        """
        assert self._publisher is not None
        backoff = Backoff(0.2, 10.0, jitter=0.2)
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
                delay = backoff.next()
                log.warning("%s: publish failed (%s); retrying in %.1fs", self.stage.name, exc, delay)
                if self.stop_event.wait(delay):
                    log.warning("%s: stopping during a bus outage; the batch stays uncommitted", self.stage.name)
                    return False

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
