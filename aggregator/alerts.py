"""Where alerts go: a capped Redis Stream plus a pub/sub channel, a JSONL file when there
is no Redis, and optionally a webhook (retried in the background, never blocking)."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.request
from pathlib import Path
from typing import Protocol

import redis

from aggregator.incidents import Alert
from aggregator.metrics import WEBHOOK_FAILURES
from vidsentry.runtime import Retryable

log = logging.getLogger(__name__)


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
            body = json.dumps(alert.to_json())
            self.r.xadd(self.stream, {"id": alert.id, "rule": alert.rule, "severity": alert.severity,
                                      "status": alert.status, "camera": alert.camera, "subject": alert.subject,
                                      "ts": f"{alert.ts:.3f}", "alert": body}, maxlen=self.maxlen, approximate=True)
            self.r.publish(self.channel, body)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise Retryable(f"redis unavailable: {exc}") from exc

    def close(self) -> None:
        pass


class FileAlertSink:
    """alerts.jsonl plus snapshots/<alert id>.jpg beside it (embedded mode without Redis)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.snapshots = self.path.parent / "snapshots"
        self._file = open(self.path, "a", buffering=1)

    def emit(self, alert: Alert, snapshot: bytes | None) -> None:
        if snapshot is not None:
            self.snapshots.mkdir(exist_ok=True)
            target = self.snapshots / f"{alert.id}-{alert.status}.jpg"
            target.write_bytes(snapshot)
            alert.snapshot = str(target.relative_to(self.path.parent))
        self._file.write(json.dumps(alert.to_json()) + "\n")

    def close(self) -> None:
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
        body = alert.to_json()
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
        delay = 0.5
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(self.url, data=data, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    if 200 <= response.status < 300:
                        return True
            except OSError as exc:
                log.debug("webhook attempt %d failed: %s", attempt + 1, exc)
            time.sleep(delay)
            delay *= 2
        WEBHOOK_FAILURES.labels("gave_up").inc()
        log.warning("webhook %s: gave up on alert %s after %d attempts", self.url, body["id"], self.retries + 1)
        return False
