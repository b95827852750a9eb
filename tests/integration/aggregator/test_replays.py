"""Idempotency against a real Redis: a message redelivered within a run is ignored (and counted),
but a second run of the same file, whose frames carry the same ids (seq is the frame index) and
capture times from that run's own start, is processed again."""

from __future__ import annotations

import dataclasses
import json
import uuid

import pytest
import redis
from prometheus_client import REGISTRY

from aggregator.aggregator import AggregatorStage
from aggregator.alerts import RedisAlertSink
from aggregator.config import AggregatorConfig
from aggregator.redis_store import RedisStore
from aggregator.rules import load_rules
from tests.scenario import Scene, body, face

pytestmark = pytest.mark.integration


def duplicates(kind: str) -> float:
    return REGISTRY.get_sample_value("vidsentry_duplicate_messages_total", {"kind": kind}) or 0.0


def falls(client, prefix) -> list[dict]:
    alerts = [json.loads(fields[b"alert"]) for _, fields in client.xrange(f"{prefix}:alerts")]
    return [a for a in alerts if a["rule"] == "fall" and a["status"] == "raised"]


def test_a_second_run_of_a_file_is_processed_and_a_redelivery_is_not(redis_server):
    prefix = f"t{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_server.url)

    def aggregator() -> AggregatorStage:  # each run its own aggregator process, the same Redis
        return AggregatorStage(load_rules(), RedisStore(client, prefix), [RedisAlertSink(client, prefix)],
                               AggregatorConfig(redis_prefix=prefix))

    scene = Scene("clip")
    scene.run(1, faces=[face("f1")], bodies=[body("b1", "falling")])
    scene.run(4, start=1, faces=[face("f1")], bodies=[body("b1", "walking")])  # up again: the incident ends
    first = scene.messages
    second = [dataclasses.replace(m, ts_capture=m.ts_capture + 3600.0) for m in first]  # an hour later
    assert [m.id for m in second] == [m.id for m in first]

    stage = aggregator()
    events = [e for i in range(0, len(first), 4) for e in stage.process(first[i:i + 4])]
    assert events and len(falls(client, prefix)) == 1
    before = duplicates("faces"), duplicates("actions")
    assert stage.process(first[:4]) == []  # redelivered within the run
    assert (duplicates("faces"), duplicates("actions")) == (before[0] + 2, before[1] + 2)

    stage = aggregator()
    events = [e for i in range(0, len(second), 4) for e in stage.process(second[i:i + 4])]
    assert (duplicates("faces"), duplicates("actions")) == (before[0] + 2, before[1] + 2), "the new run is no redelivery"
    assert events and max(e.ts for e in events) == pytest.approx(second[-1].ts_capture)
    assert len(falls(client, prefix)) == 2, "the second run's fall is an alert of its own"
    assert stage.process(second[-4:]) == []  # and within the second run, a redelivery is still ignored
    assert duplicates("faces") + duplicates("actions") == before[0] + before[1] + 8
    stage.close()
