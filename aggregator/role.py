"""Build the aggregator for a deployment (Redis state and alerts) or embedded mode (memory + files)."""

from __future__ import annotations

from pathlib import Path

import redis

from aggregator.aggregator import AggregatorStage
from aggregator.alerts import AlertSink, FileAlertSink, RedisAlertSink, WebhookSink
from aggregator.redis_store import RedisStore
from aggregator.rules import load_rules
from aggregator.state import MemoryStore
from schemas.topics import ACTIONS, EMOTIONS, FACES
from vidsentry.config import Config
from vidsentry.config.cameras import load_cameras

INPUT_TOPICS = [FACES, EMOTIONS, ACTIONS]


def build_aggregator(config: Config, alerts_file: Path | None = None) -> AggregatorStage:
    """Redis when ``redis.url`` is set; otherwise in-memory state and ``alerts_file``."""
    settings = config.aggregator
    rules = load_rules(settings.rules)
    zones = {c.id: c.zones for c in load_cameras(settings.cameras).cameras} if settings.cameras else {}
    sinks: list[AlertSink] = []
    if config.redis.url:
        client = redis.Redis.from_url(config.redis.url, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)
        store = RedisStore(client, settings.redis_prefix, settings.person_ttl_s)
        sinks.append(RedisAlertSink(client, settings.redis_prefix, settings.alerts_maxlen))
    else:
        if alerts_file is None:
            raise ValueError("the aggregator needs redis.url (VIDSENTRY_REDIS__URL) outside embedded mode")
        store = MemoryStore()
    if alerts_file is not None:
        sinks.append(FileAlertSink(alerts_file))
    if settings.webhook_url:
        sinks.append(WebhookSink(settings.webhook_url, settings.webhook_retries))
    return AggregatorStage(rules, store, sinks, settings, zones)


def serve(config: Config) -> None:
    from vidsentry.role import serve_stage

    stage = build_aggregator(config)
    try:
        serve_stage(stage, config, INPUT_TOPICS)
    finally:
        stage.close()
