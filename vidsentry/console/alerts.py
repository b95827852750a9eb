"""Alerts for the console: read from the Redis alerts stream as one consumer group (each alert
stays pending in the group until an operator acks it, with the same XACK as `alerts ack`),
kept in memory for the page and pushed to every open page (Server-Sent Events)."""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import OrderedDict
from dataclasses import dataclass

import redis

from aggregator.commands import ack_alerts
from vidsentry.backoff import Backoff

log = logging.getLogger(__name__)

FILTERS = ("rule", "camera", "severity")


@dataclass(frozen=True)
class AlertFilter:
    rule: str | None = None
    camera: str | None = None
    severity: str | None = None

    @classmethod
    def from_query(cls, query: dict[str, str]) -> AlertFilter:
        return cls(**{k: (query.get(k) or None) for k in FILTERS})

    def accepts(self, alert: dict) -> bool:
        return all(getattr(self, k) is None or alert.get(k) == getattr(self, k) for k in FILTERS)


class Fanout:
    """Events to every subscribed page; a page too slow to take them loses the oldest."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._queues: set[queue.Queue] = set()
        self._lock = threading.Lock()

    def subscribe(self) -> queue.Queue:
        q: queue.Queue = queue.Queue(maxsize=self.size)
        with self._lock:
            self._queues.add(q)
        return q

    def unsubscribe(self, q: queue.Queue) -> None:
        with self._lock:
            self._queues.discard(q)

    def publish(self, kind: str, data: dict) -> None:
        with self._lock:
            queues = list(self._queues)
        for q in queues:
            while True:
                try:
                    q.put_nowait((kind, data))
                    break
                except queue.Full:
                    try:
                        q.get_nowait()
                    except queue.Empty:
                        pass


class AlertFeed:
    def __init__(self, client: redis.Redis, prefix: str, group: str, fanout: Fanout, consumer: str = "console",
                 keep: int = 500) -> None:
        self.r = client
        self.prefix = prefix
        self.stream = f"{prefix}:alerts"
        self.group = group
        self.consumer = consumer
        self.fanout = fanout
        self.keep = keep
        self._alerts: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> AlertFeed:
        try:
            self.r.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._take(self.r.xreadgroup(self.group, self.consumer, {self.stream: "0"}, count=self.keep))  # still pending
        self._thread = threading.Thread(target=self._follow, name="console-alerts", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def recent(self, wanted: AlertFilter = AlertFilter()) -> list[dict]:
        with self._lock:
            alerts = list(self._alerts.values())
        return [a for a in reversed(alerts) if wanted.accepts(a)]

    def get(self, entry: str) -> dict | None:
        with self._lock:
            return self._alerts.get(entry)

    def choices(self) -> dict[str, list[str]]:
        """The rules, cameras and severities seen, for the filter menus."""
        alerts = self.recent()
        return {k: sorted({str(a.get(k)) for a in alerts if a.get(k)}) for k in FILTERS}

    def ack(self, entries: list[str]) -> int:
        done = ack_alerts(self.r, self.prefix, self.group, entries)
        with self._lock:
            for entry in entries:
                if entry in self._alerts:
                    self._alerts[entry]["acked"] = True
        for entry in entries:
            self.fanout.publish("ack", {"entry": entry})
        return done

    def snapshot(self, entry: str) -> bytes | None:
        alert = self.get(entry)
        key = (alert or {}).get("snapshot")
        if not key or not str(key).startswith(f"{self.prefix}:snapshot:"):
            return None
        return self.r.get(key)

    def erase_snapshots(self, subjects: set[str]) -> int:
        """Delete the snapshots (face crops) of every alert about one of ``subjects`` (person ids) still in the stream,
        which ``alerts_maxlen`` bounds; returns how many were deleted. The alert records stay, without their picture."""
        if not subjects:
            return 0
        keys, start = set(), "-"
        while True:
            entries = self.r.xrange(self.stream, min=start, max="+", count=500)
            for _entry_id, fields in entries:
                try:
                    alert = json.loads(fields.get(b"alert", b"{}"))
                except ValueError:
                    continue
                key = alert.get("snapshot") if isinstance(alert, dict) and alert.get("subject") in subjects else None
                if isinstance(key, str) and key.startswith(f"{self.prefix}:snapshot:"):
                    keys.add(key)
            if len(entries) < 500:
                break
            start = "(" + entries[-1][0].decode()
        with self._lock:
            for alert in self._alerts.values():
                if alert.get("subject") in subjects:
                    alert["snapshot"] = None
        return int(self.r.delete(*keys)) if keys else 0

    def _follow(self) -> None:
        backoff = Backoff(0.5, 10.0)
        while not self._stop.is_set():
            try:
                self._take(self.r.xreadgroup(self.group, self.consumer, {self.stream: ">"}, count=100, block=1000))
                backoff.reset()
            except redis.ResponseError as exc:
                if "NOGROUP" in str(exc):  # the stream was deleted (e.g. FLUSHDB): start over
                    self.r.xgroup_create(self.stream, self.group, id="0", mkstream=True)
                    continue
                raise
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                delay = backoff.next()
                log.warning("console: redis unavailable (%s); retrying in %.1fs", exc, delay)
                self._stop.wait(delay)

    def _take(self, reply) -> None:
        for _stream, entries in reply or []:
            for entry_id, fields in entries:
                if fields is None or b"alert" not in fields:  # trimmed away while pending
                    continue
                try:
                    alert = json.loads(fields[b"alert"])
                except ValueError:
                    log.warning("console: alert %s is not JSON; skipped", entry_id)
                    continue
                entry = entry_id.decode()
                alert = {**alert, "entry": entry, "acked": False}
                with self._lock:
                    self._alerts[entry] = alert
                    while len(self._alerts) > self.keep:
                        self._alerts.popitem(last=False)
                self.fanout.publish("alert", alert)
