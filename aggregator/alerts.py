"""Where alerts go: a capped Redis Stream plus a pub/sub channel, a JSONL file when there
is no Redis, and optionally a webhook (retried in the background, never blocking)."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import redis

from aggregator.incidents import Alert
from aggregator.metrics import WEBHOOK_FAILURES
from aggregator.snapshot_files import SnapshotFolder
from vidsentry.backoff import Backoff
from vidsentry.redact import redact_data, redact_url
from vidsentry.runtime import Retryable

log = logging.getLogger(__name__)


def alert_payload(alert: Alert) -> dict:
    """What leaves the aggregator for an alert: its fields, with any credential masked."""
    return redact_data(alert.to_json())


class AlertSink(Protocol):
    def emit(self, alert: Alert, snapshot: bytes | None) -> None:
        """Deliver an alert; keeps the snapshot its own way and sets ``alert.snapshot``."""

    def close(self) -> None: ...


class RedisAlertSink:
    def __init__(self, client: redis.Redis, prefix: str = "vidsentry", maxlen: int = 100_000,
                 snapshot_ttl_s: int = 7 * 86400) -> None:
        self.r = client
        self.stream = f"{prefix}:alerts"
        self.channel = f"{prefix}:alerts:live"
        self.prefix = prefix
        self.maxlen = maxlen
        self.snapshot_ttl_s = snapshot_ttl_s

    def emit(self, alert: Alert, snapshot: bytes | None) -> None:
        try:
            if snapshot is not None:
                alert.snapshot = f"{self.prefix}:snapshot:{alert.id}"
                self.r.set(alert.snapshot, snapshot, ex=self.snapshot_ttl_s)
            payload = alert_payload(alert)
            body = json.dumps(payload)
            self.r.xadd(self.stream, {**{k: payload[k] for k in ("id", "rule", "severity", "status", "camera", "subject")},
                                      "ts": f"{alert.ts:.3f}", "alert": body}, maxlen=self.maxlen, approximate=True)
            self.r.publish(self.channel, body)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise Retryable(f"redis unavailable: {exc}") from exc

    def close(self) -> None:
        pass


class FileAlertSink:
    """alerts.jsonl plus snapshots/<alert id>.jpg beside it (embedded mode without Redis),
    the snapshots kept within ``max_snapshots`` files and ``max_snapshot_age_s``."""

    def __init__(self, path: Path, max_snapshots: int = 1000, max_snapshot_age_s: float = 7 * 86400,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.snapshots = SnapshotFolder(self.path.parent / "snapshots", max_snapshots, max_snapshot_age_s, clock)
        self._file = open(self.path, "a", buffering=1)

    def emit(self, alert: Alert, snapshot: bytes | None) -> None:
        if snapshot is not None:
            target = self.snapshots.write(f"{alert.id}-{alert.status}.jpg", snapshot)
            alert.snapshot = str(target.relative_to(self.path.parent)) if target is not None else None
        else:
            self.snapshots.prune()
        self._file.write(json.dumps(alert_payload(alert)) + "\n")

    def close(self) -> None:
        self.snapshots.prune()
        self._file.close()


class WebhookSink:
    """POSTs each alert as JSON; retries with backoff on a background thread. A full queue
    drops the oldest alert (counted) rather than stalling the pipeline."""

    def __init__(self, url: str, retries: int = 3, timeout_s: float = 5.0, queue_size: int = 1000) -> None:
        self.url = url
        self.retries = retries
        self.timeout_s = timeout_s
        self._queue: queue.Queue[dict | None] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._deliver_forever, name="webhook", daemon=True)
        self._thread.start()

    def emit(self, alert: Alert, snapshot: bytes | None) -> None:
        body = alert_payload(alert)
        while True:
            try:
                self._queue.put_nowait(body)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    WEBHOOK_FAILURES.labels("dropped").inc()
                except queue.Empty:
                    pass

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=self.timeout_s * (self.retries + 1))

    def _deliver_forever(self) -> None:
        while (body := self._queue.get()) is not None:
            self._deliver(body)

    def _deliver(self, body: dict) -> bool:
        data = json.dumps(body).encode()
        backoff = Backoff(0.5)
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(self.url, data=data, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    if 200 <= response.status < 300:
                        return True
            except OSError as exc:
                log.debug("webhook attempt %d failed: %s", attempt + 1, exc)
            time.sleep(backoff.next())
        WEBHOOK_FAILURES.labels("gave_up").inc()
        log.warning("webhook %s: gave up on alert %s after %d attempts", redact_url(self.url), body["id"], self.retries + 1)
        return False
