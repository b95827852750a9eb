"""The state-store contract, on Redis and on the in-memory store alike: the rule-engine unit
tests run on MemoryStore, so it must keep what RedisStore keeps."""

from __future__ import annotations

import json
import uuid

import pytest
import redis

from aggregator.redis_store import RedisStore
from aggregator.state import Incident, MemoryStore, PersonState

pytestmark = pytest.mark.integration


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        return MemoryStore()
    client = redis.Redis.from_url(request.getfixturevalue("redis_server").url)
    return RedisStore(client, f"t{uuid.uuid4().hex[:8]}")


def test_claim_is_true_once_per_message_id(store):
    assert store.claim(["a", "b", "a"]) == [True, True, False]
    assert store.claim(["b", "c"]) == [False, True]


def test_persons_round_trip_and_delete(store):
    ann = PersonState("p-ann", "lobby", 10.0, 12.5, identity="known", name="Ann", cameras=["lobby"],
                      emotion_probs=[0.1] * 7, zones={"door": 11.0})
    bob = PersonState("lobby:body:b1", "lobby", 11.0, 12.0, action="walking")
    store.save_persons([ann, bob])
    assert sorted(store.load_persons(), key=lambda p: p.person_id) == [bob, ann]
    store.delete_person("lobby:body:b1")
    assert store.load_persons() == [ann]


def test_incidents_round_trip_as_incidents(store):
    raised = Incident(id="0123456789abcdef", rule="fight", subject="camera:yard", camera="yard", started=5.0,
                      severity="critical")
    ended = Incident(id="fedcba9876543210", rule="fall", subject="p-ann", camera="lobby", started=1.0, severity="critical",
                     status="ended", escalated=True, ended=9.5)
    store.save_incident(raised.key, raised, ttl_s=60)
    store.save_incident(ended.key, ended, ttl_s=60)
    assert store.load_incidents() == {"fight:camera:yard": raised, "fall:p-ann": ended}
    raised.status = "ended"
    store.save_incident(raised.key, raised, ttl_s=60)
    assert store.load_incidents()["fight:camera:yard"].status == "ended"


def test_redis_keeps_incidents_as_the_same_json_with_their_ttl(redis_server):
    client = redis.Redis.from_url(redis_server.url)
    store = RedisStore(client, "contract")
    incident = Incident(id="0123456789abcdef", rule="fall", subject="p-ann", camera="lobby", started=1.0, severity="high")
    store.save_incident(incident.key, incident, ttl_s=120)
    assert json.loads(client.get("contract:incident:fall:p-ann")) == {
        "id": "0123456789abcdef", "rule": "fall", "subject": "p-ann", "camera": "lobby", "started": 1.0,
        "severity": "high", "status": "raised", "escalated": False, "ended": 0.0}
    assert 0 < client.ttl("contract:incident:fall:p-ann") <= 120
