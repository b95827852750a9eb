"""The console's unknown-people clusters, written by its UnknownStore to a real Redis, are the
identities the aggregator (built as a deployment builds it) gives strangers: one stranger on two
cameras is one "unknown-N" person, with one dwell and one unknown-loitering incident, shown as
"unknown-N" in the console's people list; an operator's merge folds two strangers into one."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest
import redis

from aggregator.redis_store import RedisStore
from aggregator.role import build_aggregator
from tests.scenario import T0, Scene, face
from vidsentry.config import Config
from vidsentry.console.people import people_in_view
from vidsentry.console.unknowns import UnknownStore, track_key
from workers.face.embedder import EMBEDDING_DIM

pytestmark = pytest.mark.integration


def unit(axis: int) -> np.ndarray:
    vector = np.zeros(EMBEDDING_DIM, np.float32)
    vector[axis] = 1.0
    return vector


def feed(stage, *scenes: Scene, until: float) -> None:
    """The scenes' messages up to capture time T0 + ``until``, in capture order, 5 per batch."""
    messages = sorted((m for s in scenes for m in s.messages if m.ts_capture < T0 + until), key=lambda m: m.ts_capture)
    for i in range(0, len(messages), 5):
        stage.process(messages[i:i + 5])
    for scene in scenes:
        scene.messages[:] = [m for m in scene.messages if m.ts_capture >= T0 + until]


def test_the_consoles_clusters_are_the_aggregators_strangers(redis_server):
    prefix = f"t{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_server.url)
    unknowns = UnknownStore(client, prefix, ttl_s=7 * 86400, threshold=0.5, clock=lambda: T0 + 100)
    stage = build_aggregator(Config.model_validate({"redis": {"url": redis_server.url},
                                                    "aggregator": {"redis_prefix": prefix}}))
    door, hall, yard = Scene("door"), Scene("hall"), Scene("yard")
    door.run(40, faces=[face("d1")], bodies=None)
    hall.run(41, start=39, faces=[face("h1")], bodies=None)
    yard.run(20, start=60, faces=[face("y1", box=(100, 100, 140, 150))], bodies=None)

    unknowns.add_sample(track_key("door", "d1"), "door", T0 + 1, unit(0), b"crop", 40.0, None)
    feed(stage, door, hall, yard, until=42)
    unknowns.add_sample(track_key("hall", "h1"), "hall", T0 + 42, unit(0), b"crop", 40.0, None)  # clustered later
    unknowns.add_sample(track_key("yard", "y1"), "yard", T0 + 60, unit(1), b"crop", 40.0, None)  # someone else
    assert unknowns.cluster_of("door", "d1") == unknowns.cluster_of("hall", "h1") == "unknown-1"
    assert unknowns.cluster_of("yard", "y1") == "unknown-2"
    feed(stage, door, hall, yard, until=70)

    stored = {p.person_id: p for p in RedisStore(client, prefix).load_persons()}
    assert set(stored) >= {"unknown-1", "unknown-2"} and "anon-h1" not in stored
    stranger = stored["unknown-1"]
    assert (stranger.name, stranger.cameras, stranger.in_view_since) == ("unknown-1", ["door", "hall"], T0)
    shown = {row["person_id"]: row["who"] for row in people_in_view(RedisStore(client, prefix), clock=lambda: T0 + 70)}
    assert shown["unknown-1"] == "unknown-1" and shown["unknown-2"] == "unknown-2"

    unknowns.merge(["unknown-1", "unknown-2"])  # the operator: the yard's stranger is the same one
    feed(stage, door, hall, yard, until=90)
    stored = {p.person_id: p for p in RedisStore(client, prefix).load_persons()}
    assert "unknown-2" not in stored and stored["unknown-1"].cameras == ["door", "hall", "yard"]
    alerts = [json.loads(fields[b"alert"]) for _, fields in client.xrange(f"{prefix}:alerts")]
    loitering = [a for a in alerts if a["rule"] == "unknown-loitering" and a["status"] == "raised"]
    assert [a["subject"] for a in loitering] == ["unknown-1"]
    stage.close()
