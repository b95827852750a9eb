"""Runtime metrics shared by every role, and the /metrics, /healthz and /readyz HTTP server.

Stage-specific metrics (faces detected, alerts raised...) are declared next to the code
that counts them; these are the ones the worker runtime itself keeps.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

from vidsentry.redact import redact_data

log = logging.getLogger(__name__)

MESSAGES = Counter("vidsentry_messages_total", "Messages consumed by a stage, by outcome", ["stage", "topic", "outcome"])
PUBLISHED = Counter("vidsentry_published_total", "Messages published by a stage", ["stage", "topic"])
DEADLETTERED = Counter("vidsentry_deadlettered_total", "Messages sent to the dead-letter topic", ["stage", "reason"])
STAGE_SECONDS = Histogram("vidsentry_stage_seconds", "Processing time of one batch, decode to commit", ["stage"],
                          buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
BATCH_SIZE = Histogram("vidsentry_batch_size", "Messages per processed batch", ["stage"],
                       buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256))
DEADLETTER_FAILURES = Counter("vidsentry_deadletter_failures_total",
                              "Records that could not even be dead-lettered and were skipped (see the log)", ["stage"])
CONSUMER_LAG = Gauge("vidsentry_consumer_lag", "Records behind the end of the partition", ["stage", "topic", "partition"])
PUBLISH_RETRIES = Counter("vidsentry_publish_retries_total", "Publish attempts retried after a bus error", ["stage"])
UP = Gauge("vidsentry_up", "1 while the role's loop is running", ["role"])


HealthCheck = Callable[[], dict]
"""Returns a JSON-able status; key ``ok`` decides 200 or 503."""


class MetricsServer:
    """Serves ``/metrics`` (Prometheus text format), ``/healthz`` (alive and working: 503
    while the bus or a dependency is down or the loop stalls) and ``/readyz`` (ready for
    work: 503 until connected, with its models loaded; ``health`` when no ``ready`` is given)
    on one port."""

    def __init__(self, host: str, port: int, health: HealthCheck, ready: HealthCheck | None = None) -> None:
        handler = _handler(health, ready or health)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics-http", daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> MetricsServer:
        self._thread.start()
        log.info("metrics and health on http://%s:%d/metrics", *self._server.server_address[:2])
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(health: HealthCheck, ready: HealthCheck) -> type[BaseHTTPRequestHandler]:
    checks = {"/healthz": health, "/readyz": ready}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = self.path.split("?")[0]
            if path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY))
            elif path in checks:
                status = checks[path]()
                body = json.dumps(redact_data(status)).encode()  # errors quoted from clients may hold a URL's password
                self._send(200 if status.get("ok") else 503, "application/json", body)
            else:
                self._send(404, "text/plain", b"see /metrics, /healthz and /readyz\n")

        def _send(self, code: int, content_type: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("http: " + format, *args)

    return Handler
