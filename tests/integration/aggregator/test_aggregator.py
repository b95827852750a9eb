"""The aggregator against a real Redis, on constructed (generated) scenarios."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import redis

from aggregator.aggregator import AggregatorStage
from aggregator.alerts import RedisAlertSink
from aggregator.config import AggregatorConfig
from aggregator.redis_store import RedisStore
from aggregator.rules import RuleSet, load_rules
from tests.scenario import DEFAULT_RULE_SCENARIOS as SCENARIOS
from tests.scenario import T0, Scene, body, emotion, face
from vidsentry.config.cameras import Zone

pytestmark = pytest.mark.integration


@pytest.fixture
def client(redis_server):
    return redis.Redis.from_url(redis_server.url)


@pytest.fixture
def prefix():
    return f"t{uuid.uuid4().hex[:8]}"


def make(client, prefix, rules: RuleSet | None = None, zones=None, **config) -> AggregatorStage:
    settings = AggregatorConfig(redis_prefix=prefix, **config)
    return AggregatorStage(rules or load_rules(), RedisStore(client, prefix), [RedisAlertSink(client, prefix)],
                           settings, zones=zones)


def stream(client, prefix) -> list[dict]:
    return [json.loads(fields[b"alert"]) for _, fields in client.xrange(f"{prefix}:alerts")]


def feed(stage: AggregatorStage, messages, batch: int = 7):
    events = []
    for i in range(0, len(messages), batch):
        events.extend(stage.process(messages[i:i + batch]))
    return events


def raised(alerts, rule: str) -> list[dict]:
    return [a for a in alerts if a["rule"] == rule and a["status"] == "raised"]


def test_face_and_body_tracks_fuse_into_one_person(client, prefix):
    stage = make(client, prefix)
    scene = Scene()
    scene.run(2, faces=[face("f1")], bodies=[body("b1", "walking")], emotions=[emotion("f1", "happy", 0.8)])
    events = feed(stage, scene.messages)
    assert set(stage.persons) == {"anon-f1"}
    person = stage.persons["anon-f1"]
    assert (person.identity, person.action, person.emotion) == ("unknown", "walking", "happy")
    assert person.face_tracks == ["f1"] and person.body_tracks == ["b1"]
    stored = client.hgetall(f"{prefix}:person:anon-f1")
    assert json.loads(stored[b"action"]) == "walking" and json.loads(stored[b"emotion"]) == "happy"
    assert 0 < client.ttl(f"{prefix}:person:anon-f1") <= 3600
    assert not client.exists(f"{prefix}:person:cam-1:body:b1")
    assert {e.person_id for e in events} >= {"anon-f1"}


def test_faces_and_bodies_arriving_out_of_order_still_fuse(client, prefix):
    stage = make(client, prefix)
    scene = Scene()
    scene.run(1, faces=[face("f9", "known", "Ann")], bodies=[body("b9", "sitting")])
    reordered = [m for m in scene.messages if m.KIND == "actions"] + [m for m in scene.messages if m.KIND == "faces"]
    feed(stage, reordered, batch=3)
    assert set(stage.persons) == {"p-ann"}
    assert stage.persons["p-ann"].action == "sitting" and stage.persons["p-ann"].name == "Ann"


def test_emotions_arriving_before_their_faces_are_kept(client, prefix):
    stage = make(client, prefix)
    scene = Scene()
    scene.run(1, faces=[face("f3")], bodies=None, emotions=[emotion("f3", "sad", 0.9)])
    emotions_first = [m for m in scene.messages if m.KIND == "emotions"] + [m for m in scene.messages if m.KIND == "faces"]
    feed(stage, emotions_first, batch=2)
    assert stage.persons["anon-f3"].emotion == "sad"
    assert stage._early_emotions == {}


def test_a_person_back_after_a_short_gap_keeps_their_id(client, prefix):
    stage = make(client, prefix)
    scene = Scene()
    scene.run(1, faces=[face("f1")], bodies=[body("b1")])
    scene.run(1, start=2.0, faces=[face("f2", box=(305, 102, 345, 152))], bodies=[body("b2", box=(284, 92, 364, 402))])
    feed(stage, scene.messages)
    assert set(stage.persons) == {"anon-f1"}
    assert set(stage.persons["anon-f1"].face_tracks) == {"f1", "f2"}


def test_a_known_person_is_linked_across_cameras(client, prefix):
    stage = make(client, prefix)
    lobby, yard = Scene("lobby"), Scene("yard")
    lobby.run(1, faces=[face("f1", "known", "Ann")], bodies=None)
    yard.run(1, start=30, faces=[face("x7", "known", "Ann")], bodies=None)
    feed(stage, lobby.messages + yard.messages)
    assert set(stage.persons) == {"p-ann"}
    assert stage.persons["p-ann"].cameras == ["lobby", "yard"]


@pytest.mark.parametrize("rule", list(SCENARIOS))
def test_each_default_rule_fires_on_its_scenario(client, prefix, rule):
    positive, seconds, _, _ = SCENARIOS[rule]
    stage = make(client, prefix)
    scene = Scene()
    scene.run(seconds, **positive)
    feed(stage, scene.messages)
    alerts = stream(client, prefix)
    assert len(raised(alerts, rule)) == 1, [a["rule"] for a in alerts]


@pytest.mark.parametrize("rule", list(SCENARIOS))
def test_each_default_rule_stays_quiet_on_its_negative(client, prefix, rule):
    _, _, negative, seconds = SCENARIOS[rule]
    stage = make(client, prefix)
    scene = Scene()
    scene.run(seconds, **negative)
    feed(stage, scene.messages)
    assert raised(stream(client, prefix), rule) == []


def test_watchlist_names_only_the_listed_person(client, prefix):
    rules = load_rules().model_copy(update={"watchlist": ["Mallory"]})
    stage = make(client, prefix, rules)
    scene = Scene()
    scene.run(1, faces=[face("f1", "known", "Mallory"), face("f2", "known", "Bob", box=(10, 10, 50, 60))], bodies=None)
    feed(stage, scene.messages)
    hits = raised(stream(client, prefix), "watchlist")
    assert [a["subject"] for a in hits] == ["p-mallory"]
    assert hits[0]["snapshot"] == f"{prefix}:snapshot:{hits[0]['id']}"
    assert client.get(hits[0]["snapshot"]) == b"\xff\xd8 generated crop"


def test_one_incident_one_alert_then_ended_then_cooldown(client, prefix):
    stage = make(client, prefix)
    scene = Scene()
    fighting = dict(bodies=[body("b1", "fighting"), body("b2", "fighting", box=(380, 90, 460, 400))], faces=None)
    calm = dict(bodies=[body("b1", "standing"), body("b2", "standing", box=(380, 90, 460, 400))], faces=None)
    scene.run(10, **fighting)
    scene.run(6, start=10, **calm)
    scene.run(3, start=16, **fighting)
    scene.run(6, start=19, **calm)
    scene.run(3, start=25 + 60, **fighting)
    feed(stage, scene.messages)
    alerts = [a for a in stream(client, prefix) if a["rule"] == "fight"]
    assert [a["status"] for a in alerts] == ["raised", "ended", "raised"]
    assert alerts[0]["id"] == alerts[1]["id"] != alerts[2]["id"]
    assert alerts[2]["ts"] >= T0 + 85, "the fight at 16 s fell in the 60 s cooldown"


def test_a_lasting_incident_escalates_once(client, prefix):
    stage = make(client, prefix)
    scene = Scene()
    scene.run(45, bodies=[body("b1", "lying")], faces=None)
    feed(stage, scene.messages)
    down = [a for a in stream(client, prefix) if a["rule"] == "person-down"]
    assert [(a["status"], a["severity"]) for a in down] == [("raised", "high"), ("escalated", "critical")]


def test_replaying_the_same_input_raises_the_same_alerts_once(client, prefix):
    stage = make(client, prefix)
    scene = Scene()
    scene.run(3, bodies=[body("b1", "fighting"), body("b2", "fighting", box=(380, 90, 460, 400))], faces=None)
    feed(stage, scene.messages)
    first = stream(client, prefix)
    feed(stage, scene.messages)
    feed(stage, list(reversed(scene.messages)))
    assert stream(client, prefix) == first
    assert len(raised(first, "fight")) == 1


def test_restart_restores_state_and_does_not_raise_again(client, prefix):
    scene = Scene()
    scene.run(30, faces=[face("f1")], bodies=[body("b1", "lying")])
    half = len(scene.messages) // 2
    feed(make(client, prefix), scene.messages[:half])
    assert len(raised(stream(client, prefix), "person-down")) == 1
    restarted = make(client, prefix)
    assert "anon-f1" in restarted.persons and restarted.persons["anon-f1"].action == "lying"
    feed(restarted, scene.messages)
    assert len(raised(stream(client, prefix), "person-down")) == 1


def test_time_of_day_window(client, prefix, tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("timezone: Europe/Paris\nrules:\n  - name: night-visitor\n    when: {identity: unknown}\n"
                    "    active: [{start: '22:00', end: '06:00'}]\n")
    stage = make(client, prefix, load_rules(path))
    door = Scene("door")
    door.run(1, start=12 * 3600, faces=[face("f1")], bodies=None)
    feed(stage, door.messages)
    assert raised(stream(client, prefix), "night-visitor") == [], "13:00 in Paris is outside 22:00-06:00"
    door.messages.clear()
    door.run(1, start=23 * 3600, faces=[face("f2", box=(10, 10, 50, 60))], bodies=None)
    feed(stage, door.messages)
    assert len(raised(stream(client, prefix), "night-visitor")) == 1


def test_dwell_in_a_zone(client, prefix, tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - name: lingering-at-door\n    when: {zone: door, dwell_s: 5}\n")
    door = Zone(name="door", polygon=[(0.4, 0.5), (0.6, 0.5), (0.6, 1.0), (0.4, 1.0)])
    stage = make(client, prefix, load_rules(path), zones={"cam-1": [door]})
    scene = Scene()
    scene.run(4, bodies=[body("b1", "standing", box=(280, 90, 360, 400))], faces=None)
    scene.run(4, start=4, bodies=[body("b1", "standing", box=(20, 90, 100, 400))], faces=None)
    scene.run(6, start=8, bodies=[body("b1", "standing", box=(280, 90, 360, 400))], faces=None)
    feed(stage, scene.messages)
    hits = raised(stream(client, prefix), "lingering-at-door")
    assert len(hits) == 1 and hits[0]["ts"] >= T0 + 13


def next_message(listener, kind: str, timeout_s: float = 60.0) -> dict | None:
    """The listener's next message of this kind (``subscribe``, ``message``), waiting as long as it takes."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        message = listener.get_message(timeout=1.0)
        if message and message["type"] == kind:
            return message
    return None


def test_alerts_are_published_live(client, prefix):
    listener = client.pubsub()
    listener.subscribe(f"{prefix}:alerts:live")
    assert next_message(listener, "subscribe"), "Redis confirms the subscription before anything is published"
    stage = make(client, prefix)
    scene = Scene()
    scene.run(1, bodies=[body("b1", "falling")], faces=None)
    feed(stage, scene.messages)
    message = next_message(listener, "message")
    assert message and json.loads(message["data"])["rule"] == "fall"
