"""Search of past events and the person page, against the suite's real Kafka and Redis: events
published on the `events` topic with the real codec reach the console's SQLite store through its
`console-search` consumer group, are found by each filter with their snapshots, and draw the
report's charts on the person page, with user-set names escaped."""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import cv2
import numpy as np
import pytest

from aggregator.redis_store import RedisStore
from aggregator.state import PersonState
from schemas import EventMsg, encode
from schemas.topics import ALL_TOPICS, EVENTS
from tests.helpers import wait_until
from tests.integration.console.session import Browser, kafka_console_config
from vidsentry.bus.kafka import KafkaBus
from vidsentry.config import Config
from vidsentry.console.app import Console
from vidsentry.console.unknowns import track_key
from vidsentry.redis_client import redis_client
from workers.face.embedder import EMBEDDING_DIM

pytestmark = pytest.mark.integration
HAPPY, SAD = [0.0, 0.0, 0.0, 0.9, 0.0, 0.0, 0.1], [0.0, 0.0, 0.0, 0.1, 0.8, 0.0, 0.1]
EVIL = "<script>alert(1)</script>Eve"


@pytest.fixture
def config(redis_server, kafka_server, tmp_path) -> Config:
    return kafka_console_config(redis_server.url, kafka_server.bootstrap_servers, tmp_path, search_retention_s=3600)


def event(person: PersonState) -> EventMsg:
    return EventMsg(f"{person.person_id}@{person.last_seen:.3f}", person.person_id, person.camera, person.last_seen, person.to_json())


def test_events_from_the_bus_found_by_each_filter_with_snapshots(console: Console, config: Config):
    now = float(int(time.time()))  # whole seconds, as the search form gives them
    t = [now - 600 + 60 * i for i in range(6)]
    ann = [PersonState("p-ann", "door", t[0], t[0], identity="known", name="Ann", emotion="happy", emotion_probs=HAPPY, action="walking", face_tracks=["f1"]),
           PersonState("p-ann", "door", t[0], t[1], identity="known", name="Ann", emotion="happy", emotion_probs=HAPPY, action="standing", face_tracks=["f1"]),
           PersonState("p-ann", "yard", t[0], t[2], identity="known", name="Ann", emotion="sad", emotion_probs=SAD, action="sitting", face_tracks=["f1", "f4"])]
    eve = [PersonState("p-eve", "yard", t[3], t[3], identity="known", name=EVIL, emotion="sad", emotion_probs=SAD, action="walking"),
           PersonState("p-eve", "yard", t[3], t[4], identity="known", name=EVIL, emotion="happy", emotion_probs=HAPPY, action="fighting")]
    stranger = PersonState("anon-9", "door", t[5], t[5], identity="unknown", emotion="neutral", action="standing", face_tracks=["f9"])
    expired = PersonState("p-old", "door", now - 7200, now - 7200, identity="known", name="Old", emotion="happy", action="walking")
    # the stranger's face crop, as the console's unknown-people collector keeps it
    crop = cv2.imencode(".jpg", np.full((96, 96, 3), 128, np.uint8))[1].tobytes()
    console.unknowns.add_sample(track_key("door", "f9"), "door", t[5], np.ones(EMBEDDING_DIM, np.float32) / EMBEDDING_DIM ** 0.5,
                                crop, 96.0, None)

    bus = KafkaBus(config.bus.kafka)
    bus.create_topics(list(ALL_TOPICS))
    console.attach(bus)
    publisher = bus.publisher()
    for person in [*ann, *eve, stranger, expired]:
        publisher.publish(EVENTS, person.person_id, encode(event(person)))
    publisher.publish(EVENTS, "p-ann", encode(event(ann[0])))  # redelivered: kept once
    publisher.publish(EVENTS, "bad", b"not an event")  # dead-lettered by the runner; the rest still arrives
    publisher.flush()

    browser = Browser(console.url)
    assert browser.request("GET", "/api/search")[0] == 401
    browser.login()

    def search(**query: str) -> list[dict]:
        status, _, body, _ = browser.request("GET", "/api/search?" + "&".join(f"{k}={quote(v)}" for k, v in query.items()))
        assert status == 200, body
        return json.loads(body)

    def ids(**query: str) -> list[str]:
        return [e["id"] for e in search(**query)]

    assert wait_until(lambda: len(search()) == 6, 90), "every event in retention is indexed once; the one past it is not"
    assert [e["person_id"] for e in search()] == ["anon-9", "p-eve", "p-eve", "p-ann", "p-ann", "p-ann"], "newest first"
    assert ids(person="p-ann") == [event(p).id for p in reversed(ann)]
    assert ids(person="aNn") == ids(person="p-ann"), "a name matches case-insensitively"
    assert ids(person="%") == [], "a LIKE wildcard is text"
    assert ids(emotion="sad") == [event(eve[0]).id, event(ann[2]).id]
    assert ids(action="fighting") == [event(eve[1]).id]
    assert ids(camera="door") == [event(stranger).id, event(ann[1]).id, event(ann[0]).id]
    since, until = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t[1])), time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t[3]))
    assert ids(since=since, until=until) == [event(eve[0]).id, event(ann[2]).id, event(ann[1]).id]
    assert ids(since=str(t[4])) == [event(stranger).id, event(eve[1]).id], "epoch seconds work too"
    assert ids(person="ann", camera="door", action="standing") == [event(ann[1]).id]

    [found] = search(person="anon-9")
    assert found["snapshot"] == track_key("door", "f9") and search(person="p-eve")[0]["snapshot"] is None
    status, _, jpeg, _ = browser.request("GET", f"/crop/{quote(found['snapshot'], safe='')}.jpg")
    assert status == 200 and jpeg == crop

    status, _, body, _ = browser.request("GET", "/api/search?since=yesterday")
    assert status == 400 and "since" in json.loads(body)["error"]
    status, _, body, _ = browser.request("GET", f"/api/search?since={t[3]}&until={t[1]}")
    assert status == 400 and "before" in json.loads(body)["error"]

    status, _, page, _ = browser.request("GET", "/search?camera=yard")
    text = page.decode()
    assert status == 200 and text.count("<tr data-event=") == 3
    assert "&lt;script&gt;alert(1)&lt;/script&gt;Eve" in text and EVIL not in text, "a name is escaped in the results"
    status, _, page, _ = browser.request("GET", "/search?camera=door")
    assert f'src="/crop/{quote(track_key("door", "f9"), safe="")}.jpg"' in page.decode(), "results show their snapshot"


def test_person_page_draws_the_reports_charts_from_the_search_store(console: Console, config: Config):
    now = time.time()
    eve = [PersonState("p-eve", "yard", now - 30, now - 30 + 10 * i, identity="known", name=EVIL,
                       emotion=("sad", "happy", "happy")[i], emotion_probs=(SAD, HAPPY, HAPPY)[i],
                       action=("walking", "walking", "fighting")[i]) for i in range(3)]
    bus = KafkaBus(config.bus.kafka)
    bus.create_topics(list(ALL_TOPICS))
    console.attach(bus)
    publisher = bus.publisher()
    for person in eve:
        publisher.publish(EVENTS, person.person_id, encode(event(person)))
    publisher.flush()
    # in view (the table shows people seen in the last 10 s: a last sighting ahead of the clock keeps it there however slow the machine)
    in_view = PersonState("p-eve", "yard", now, now + 3600, identity="known", name=EVIL, in_view_since=now)
    RedisStore(redis_client(config.redis), config.aggregator.redis_prefix).save_persons([in_view])

    browser = Browser(console.url)
    browser.login()
    assert 'href="/person/p-eve"' in browser.request("GET", "/")[2].decode(), "the people table links the person page"
    assert wait_until(lambda: len(json.loads(browser.request("GET", "/api/search?person=p-eve")[2])) == 3, 90)
    status, _, page, _ = browser.request("GET", "/person/p-eve")
    text = page.decode()
    assert status == 200
    assert 'id="emotion-chart" alt="emotion over time" src="data:image/png;base64,' in text
    assert 'id="action-chart" alt="action timeline" src="data:image/png;base64,' in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;Eve" in text and EVIL not in text, "the name is escaped on the person page"
    assert "3 events on yard" in text

    status, _, page, _ = browser.request("GET", "/person/" + quote("<b>nobody</b>", safe=""))
    assert status == 200 and b"No event of this person" in page and b"<b>nobody" not in page
