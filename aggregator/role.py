"""Build the aggregator for a deployment (Redis state and alerts) or embedded mode (memory + files)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aggregator.aggregator import AggregatorStage
from aggregator.alerts import AlertSink, FileAlertSink, RedisAlertSink, WebhookSink
from aggregator.redis_store import RedisStore
from aggregator.rules import load_rules
from aggregator.state import MemoryStore
from schemas.topics import ACTIONS, EMOTIONS, FACES
from vidsentry.config import Config
from vidsentry.config.cameras import load_cameras
from vidsentry.redis_client import check_redis_access, redis_client

INPUT_TOPICS = [FACES, EMOTIONS, ACTIONS]


def build_aggregator(config: Config, alerts_file: Path | None = None) -> AggregatorStage:
    """Redis when ``redis.url`` is set; otherwise in-memory state and ``alerts_file``."""
    settings = config.aggregator
    rules = load_rules(settings.rules)
    zones = {c.id: c.zones for c in load_cameras(settings.cameras).cameras} if settings.cameras else {}
    sinks: list[AlertSink] = []
    if config.redis.url:
        client = redis_client(config.redis, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)
        check_redis_access(client, config.redis)  # a refused login fails the start; an outage is retried later
        store = RedisStore(client, settings.redis_prefix, settings.person_ttl_s)
        sinks.append(RedisAlertSink(client, settings.redis_prefix, settings.alerts_maxlen, settings.snapshot_ttl_s))
    else:
        if alerts_file is None:
            raise ValueError("the aggregator needs redis.url (VIDSENTRY_REDIS__URL) outside embedded mode")
        store = MemoryStore()
    if alerts_file is not None:
        sinks.append(FileAlertSink(alerts_file, settings.snapshot_files_max, settings.snapshot_files_max_age_s))
    if settings.webhook_url:
        sinks.append(WebhookSink(settings.webhook_url, settings.webhook_retries))
    return AggregatorStage(rules, store, sinks, settings, zones)


def readiness_checks(stage: AggregatorStage) -> dict[str, Callable[[], object]]:
    """For /readyz: the aggregator is not ready while its Redis does not answer a PING."""
    return {"redis": stage.store.r.ping} if isinstance(stage.store, RedisStore) else {}


def serve(config: Config) -> None:
    from vidsentry.role import serve_stage

    stage = build_aggregator(config)
    try:
        serve_stage(stage, config, INPUT_TOPICS, checks=readiness_checks(stage))
    finally:
        stage.close()
