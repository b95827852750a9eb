"""The Redis snapshot TTL is the `aggregator.snapshot_ttl_s` setting, on the real Redis,
through the aggregator as a deployment builds it."""

from __future__ import annotations

import json
import uuid

import pytest
import redis

from aggregator.role import build_aggregator
from tests.scenario import Scene, face
from vidsentry.config import Config

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("ttl_s", [3600, 4 * 86400])
def test_an_alert_snapshot_expires_after_the_configured_ttl(redis_server, tmp_path, ttl_s):
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - name: stranger\n    severity: warning\n    when: {identity: unknown}\n")
    prefix = f"t{uuid.uuid4().hex[:8]}"
    config = Config()
    config.redis.url = redis_server.url
    config.aggregator = config.aggregator.model_copy(update={"rules": rules, "redis_prefix": prefix, "snapshot_ttl_s": ttl_s})
    stage = build_aggregator(config)
    scene = Scene()
    scene.run(1, faces=[face("f1")], bodies=None)
    stage.process(scene.messages)
    stage.close()
    client = redis.Redis.from_url(redis_server.url)
    (entry,) = client.xrange(f"{prefix}:alerts")
    key = json.loads(entry[1][b"alert"])["snapshot"]
    assert client.get(key) == b"\xff\xd8 generated crop"
    # Set with EX ttl_s: the remaining time can only have gone down since (60 s of slack for a slow machine).
    assert (ttl_s - 60) * 1000 < client.pttl(key) <= ttl_s * 1000
