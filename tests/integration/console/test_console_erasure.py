"""Data subject erasure against the suite's real Redis and a real SQLite file: deleting an unknown-people
cluster erases its embeddings and crops, the search index's events of the people seen with its face tracks
(or kept under the cluster's id), and the snapshots of the alerts about them; nothing of it is left in Redis
and nobody else's data goes."""

from __future__ import annotations

import sqlite3
import time
import uuid
from urllib.parse import unquote

import cv2
import numpy as np
import pytest

from aggregator.alerts import RedisAlertSink
from aggregator.incidents import Alert
from aggregator.state import PersonState
from schemas import EventMsg
from tests.helpers import wait_until
from tests.integration.console.session import Browser, kafka_console_config
from vidsentry.config import Config
from vidsentry.console.app import Console
from vidsentry.console.unknowns import track_key
from vidsentry.redis_client import redis_client
from workers.face.embedder import EMBEDDING_DIM

pytestmark = pytest.mark.integration


@pytest.fixture
def config(redis_server, kafka_server, tmp_path) -> Config:
    return kafka_console_config(redis_server.url, kafka_server.bootstrap_servers, tmp_path, search_retention_s=3600)


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=EMBEDDING_DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def crop(level: int) -> bytes:
    return cv2.imencode(".jpg", np.random.default_rng(level).integers(0, 255, (96, 96, 3), np.uint8))[1].tobytes()


def event(person: PersonState) -> EventMsg:
    return EventMsg(f"{person.person_id}@{person.last_seen:.3f}", person.person_id, person.camera, person.last_seen, person.to_json())


def alert(subject: str) -> Alert:
    return Alert(id=uuid.uuid4().hex[:12], rule="unknown-loitering", severity="warning", status="raised", subject=subject,
                 camera="door", ts=1_700_000_000.0, started=1_700_000_000.0, description="loitering")


def everything_under(client, prefix: str, but: str) -> list[bytes]:
    """Every key name under ``prefix`` (but the key ``but``) and every value, member and field they hold."""
    found = []
    for key in client.scan_iter(f"{prefix}:*"):
        if key.decode() == but:
            continue
        found.append(key)
        kind = client.type(key).decode()
        if kind == "string":
            found.append(client.get(key))
        elif kind == "hash":
            found += [x for kv in client.hgetall(key).items() for x in kv]
        elif kind == "set":
            found += list(client.smembers(key))
        elif kind == "zset":
            found += client.zrange(key, 0, -1)
        else:
            raise AssertionError(f"{key!r}: a {kind} this test does not read")
    return [x for x in found if x is not None]


def test_deleting_a_cluster_erases_its_sightings_search_events_and_alert_snapshots(console: Console, config: Config):
    prefix, now = config.aggregator.redis_prefix, time.time()
    stranger, other = unit(1), unit(2)
    kept = {"door|f9": crop(1), "yard|f2": crop(2), "door|f3": crop(3)}
    console.unknowns.add_sample(track_key("door", "f9"), "door", now - 50, stranger, kept["door|f9"], 96.0, None)
    console.unknowns.add_sample(track_key("yard", "f2"), "yard", now - 40, stranger, kept["yard|f2"], 90.0, None)
    console.unknowns.add_sample(track_key("door", "f3"), "door", now - 30, other, kept["door|f3"], 90.0, None)
    console.unknowns.add_sample(track_key("door", "f3"), "door", now - 29, other, kept["door|f3"], 90.0, None)
    clusters = {c["cluster"]: sorted(t["key"] for t in c["tracks"]) for c in console.unknowns.clusters()}
    target = next(c for c, keys in clusters.items() if keys == ["door|f9", "yard|f2"])
    spared = next(c for c, keys in clusters.items() if keys == ["door|f3"])

    people = [
        PersonState("anon-9", "door", now - 50, now - 50, identity="unknown", action="standing", face_tracks=["f9"]),
        PersonState("anon-9", "door", now - 50, now - 45, identity="unknown", action="walking", face_tracks=["f9"]),
        PersonState("anon-9", "yard", now - 50, now - 44, identity="unknown", action="walking", face_tracks=["f9"]),  # moved on
        PersonState(target, "yard", now - 40, now - 40, identity="unknown", action="standing", face_tracks=["f2"]),
        PersonState("p-ann", "yard", now - 20, now - 20, identity="known", name="Ann", face_tracks=["f9"]),  # yard's f9: another person
        PersonState("anon-3", "door", now - 30, now - 30, identity="unknown", action="sitting", face_tracks=["f3"]),
    ]
    assert console.search_store.add([event(p) for p in people]) == 6

    client = redis_client(config.redis)
    sink = RedisAlertSink(client, prefix)
    theirs, anns, by_cluster = alert("anon-9"), alert("p-ann"), alert(target)
    for a, picture in ((theirs, b"\xff\xd8 stranger snapshot"), (anns, b"\xff\xd8 ann snapshot"), (by_cluster, b"\xff\xd8 cluster snapshot")):
        sink.emit(a, picture)
    assert wait_until(lambda: len(console.alerts.recent()) == 3, 30)

    browser = Browser(console.url)
    browser.login()
    status, location, _, _ = browser.request("POST", "/unknowns/delete", {"csrf": browser.csrf(), "cluster": target})
    assert status == 303
    assert unquote(location) == (f"/unknowns?done=erased {target}: 2 sightings (embeddings and crops), 4 search events "
                                 "of 2 person record(s), 2 alert snapshot(s)")

    db = sqlite3.connect(config.console.search_path)
    assert sorted(p for (p,) in db.execute("SELECT person_id FROM events")) == ["anon-3", "p-ann"], \
        "the stranger's events on both cameras and those kept under the cluster's id are gone, nobody else's"
    db.close()
    assert [c["cluster"] for c in console.unknowns.clusters()] == [spared]

    # the alert records stay (what happened, when, under which pseudonym), without their pictures
    left = everything_under(client, prefix, but=f"{prefix}:alerts")
    assert [a["subject"] for a in console.alerts.recent()] == [target, "p-ann", "anon-9"]
    for gone in (target.encode(), b"door|f9", b"yard|f2", kept["door|f9"], kept["yard|f2"], stranger.tobytes()[:64],
                 b"stranger snapshot", b"cluster snapshot"):
        assert not any(gone in value for value in left), f"{gone[:20]!r} is still in Redis"
    for stays in (b"door|f3", kept["door|f3"], b"ann snapshot"):
        assert any(stays in value for value in left), f"{stays[:20]!r} was not the subject's and must stay"
    assert client.get(f"{prefix}:snapshot:{anns.id}") == b"\xff\xd8 ann snapshot"
    assert [a["snapshot"] for a in console.alerts.recent() if a["subject"] in ("anon-9", target)] == [None, None]
    assert browser.request("GET", f"/snapshot/{console.alerts.recent()[-1]['entry']}.jpg")[0] == 404
