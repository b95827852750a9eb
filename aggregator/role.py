"""Build the aggregator for a deployment (Redis state and alerts) or embedded mode (memory + files)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from aggregator import STAGE
from aggregator.aggregator import AggregatorStage
from aggregator.alerts import AlertSink, FileAlertSink, RedisAlertSink, WebhookSink
from aggregator.clusters import RedisClusters
from aggregator.conditions import KnownCameras
from aggregator.redis_store import RedisStore
from aggregator.rules import load_rules
from aggregator.state import MemoryStore
from vidsentry.config import Config
from vidsentry.config.cameras import CamerasFile, load_cameras
from vidsentry.redis_client import check_redis_access, redis_client

INPUT_TOPICS = list(STAGE.inputs)


def build_aggregator(config: Config, alerts_file: Path | None = None, camera_ids: list[str] | None = None) -> AggregatorStage:
    """Redis when ``redis.url`` is set; otherwise in-memory state and ``alerts_file``.

    ``camera_ids``: every camera there will be (embedded mode knows them from its sources);
    the rules may then name no other. Otherwise only a cameras file (``aggregator.cameras``)
    tells which cameras exist."""
    settings = config.aggregator
    cameras = load_cameras(settings.cameras) if settings.cameras else None
    rules = load_rules(settings.rules, known_cameras(cameras, settings.cameras, camera_ids))
    zones = {c.id: c.zones for c in cameras.cameras} if cameras else {}
    sinks: list[AlertSink] = []
    clusters = None
    if config.redis.url:
        client = redis_client(config.redis, socket_timeout=5, socket_connect_timeout=5, health_check_interval=30)
        check_redis_access(client, config.redis)  # a refused login fails the start; an outage is retried later
        store = RedisStore(client, settings.redis_prefix, settings.person_ttl_s)
        clusters = RedisClusters(client, settings.redis_prefix)  # the console's, when one runs
        sinks.append(RedisAlertSink(client, settings.redis_prefix, settings.alerts_maxlen, settings.snapshot_ttl_s))
    else:
        if alerts_file is None:
            raise ValueError("the aggregator needs redis.url (VIDSENTRY_REDIS__URL) outside embedded mode")
        store = MemoryStore()
    if alerts_file is not None:
        sinks.append(FileAlertSink(alerts_file, settings.snapshot_files_max, settings.snapshot_files_max_age_s))
    if settings.webhook_url:
        sinks.append(WebhookSink(settings.webhook_url, settings.webhook_retries))
    return AggregatorStage(rules, store, sinks, settings, zones, clusters)


def known_cameras(cameras: CamerasFile | None, path: Path | None, camera_ids: list[str] | None) -> KnownCameras:
    """What the rules are checked against: the cameras of this run if given, else the cameras
    file's; with neither, camera ids cannot be checked (producers own them) and there are no zones."""
    known = KnownCameras.from_file(cameras, path) if cameras else KnownCameras(ids=None)
    if camera_ids is None:
        return known
    return KnownCameras(frozenset(camera_ids), {c: known.zones.get(c, frozenset()) for c in camera_ids},
                        "this run's sources" + (f" (zones from {known.origin})" if cameras else ""))


def readiness_checks(stage: AggregatorStage) -> dict[str, Callable[[], object]]:
    """For /readyz: the aggregator is not ready while its Redis does not answer a PING."""
    return {"redis": stage.store.r.ping} if isinstance(stage.store, RedisStore) else {}

