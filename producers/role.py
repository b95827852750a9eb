"""Run the producer as a process: bus, topics, /metrics + /healthz, signals, exit status."""

from __future__ import annotations

import logging

from producers.producer import Producer
from schemas import ALL_TOPICS
from vidsentry.bus import make_bus
from vidsentry.camera_state import RedisCameraStates
from vidsentry.config import Config
from vidsentry.config.cameras import CamerasFile
from vidsentry.logs import set_log_fields
from vidsentry.metrics import UP, MetricsServer
from vidsentry.redis_client import redis_client
from vidsentry.runtime import stop_on_signals

log = logging.getLogger(__name__)


def serve_producer(cameras: CamerasFile, config: Config) -> dict[str, str]:
    """Run until every camera ends or SIGTERM/SIGINT; returns the cameras that failed."""
    set_log_fields(stage="producer")
    if config.bus.kind == "memory":
        log.warning("producer: on the in-memory bus frames stay inside this process; set bus.kind=kafka to feed workers")
    bus = make_bus(config.bus)
    bus.create_topics(ALL_TOPICS)
    states = (RedisCameraStates(redis_client(config.redis, socket_timeout=2, socket_connect_timeout=2), config.aggregator.redis_prefix)
              if config.redis.url else None)  # for the console: each camera's state, once a second
    producer = Producer(cameras.cameras, cameras.producer, bus, state_writer=states).start()
    stop_on_signals(producer.stop_event)
    metrics = (MetricsServer(config.metrics.host, config.metrics.port, producer.status, producer.ready).start()
               if config.metrics.enabled else None)
    log.info("producer: %d camera(s) -> frames on the %s bus", len(cameras.cameras), config.bus.kind)
    UP.labels("producer").set(1)
    try:
        producer.run()
    finally:
        UP.labels("producer").set(0)
        if metrics:
            metrics.stop()
        bus.close()
    for camera, status in producer.status()["cameras"].items():
        log.info("camera %s: %s, %d captured, %d published, %d dropped%s", camera, status["state"], status["captured"],
                 status["published"], status["dropped"], f", {status['spooled']} left in the spool" if status["spooled"] else "")
    return producer.failures()
