"""The console's HTTP API against the suite's real Redis and Kafka: login, CSRF, alerts from
the stream's consumer group (live over SSE, acked like `alerts ack`), camera tiles from the
bus, and unknown faces clustered, named into the gallery, merged, split, rejected, erased."""

from __future__ import annotations

import http.client
import json
import time
import uuid
from urllib.parse import quote, urlencode

import cv2
import numpy as np
import pytest

from aggregator.alerts import RedisAlertSink
from aggregator.incidents import Alert
from aggregator.redis_store import RedisStore
from aggregator.state import PersonState
from schemas import Face, FaceQuality, FacesMsg, FrameMsg, Identity, encode
from schemas.topics import FACES, FRAMES
from tests.conftest import CACHE_ROOT
from tests.helpers import wait_until
from tests.integration.console.session import PASSWORD, Browser, kafka_console_config
from vidsentry.bus.kafka import KafkaBus
from vidsentry.config import Config
from vidsentry.console.app import Console, ConsoleError, password_hash
from vidsentry.console.auth import verify_password
from vidsentry.redis_client import redis_client
from workers.face.align import aligned_crop

pytestmark = pytest.mark.integration
@pytest.fixture
def config(redis_server, kafka_server, tmp_path) -> Config:
    # obama.jpg and obama2.jpg (one man, two photos years apart) are 0.402 apart, just past the
    # default 0.40; Biden is 0.82 from both
    return kafka_console_config(redis_server.url, kafka_server.bootstrap_servers, tmp_path, cluster_threshold=0.45)


def alert(rule: str, camera: str, severity: str = "warning", subject: str = "person-1") -> Alert:
    return Alert(id=uuid.uuid4().hex[:12], rule=rule, severity=severity, status="raised", subject=subject, camera=camera,
                 ts=1_700_000_000.0, started=1_700_000_000.0, description=f"{rule} on {camera}")


def test_password_is_kept_only_as_a_hash(config: Config):
    stored = password_hash(config.console)
    assert PASSWORD not in stored and verify_password(PASSWORD, stored) and not verify_password("wrong", stored)
    with pytest.raises(ConsoleError, match="needs a login"):
        password_hash(config.console.model_copy(update={"password": None}))


@pytest.mark.reliability(fault="wrong password, missing CSRF token", happened="refused: 401 and 403 with a reason",
                         lost="nothing")
def test_login_cookie_and_csrf(console: Console):
    browser = Browser(console.url)
    status, location, _, _ = browser.request("GET", "/")
    assert (status, location) == (303, "/login")
    assert browser.request("GET", "/api/alerts")[0] == 401
    status, _, page, _ = browser.login("not the password")
    assert status == 401 and b"wrong password" in page and browser.cookie.startswith("vidsentry_login=")
    status, location, _, _ = browser.login()
    assert (status, location) == (303, "/")
    flags = [f.strip() for f in browser.set_cookie.split(";")]
    assert "HttpOnly" in flags and "SameSite=Strict" in flags and "Path=/" in flags
    status, _, page, response = browser.request("GET", "/")
    assert status == 200 and b"Cameras" in page
    assert "script-src 'self'" in response.getheader("Content-Security-Policy")
    status, _, body, _ = browser.request("POST", "/api/ack", {"entry": "1-0"})
    assert status == 403 and b"CSRF" in body
    status, _, body, _ = browser.request("POST", "/api/ack", {"entry": "1-0", "csrf": "forged"})
    assert status == 403
    status, _, body, _ = browser.request("POST", "/unknowns/delete", {"cluster": "unknown-1"})
    assert status == 403 and b"CSRF" in body
    csrf = browser.csrf()
    assert browser.request("POST", "/logout", {"csrf": csrf})[0] == 303
    assert browser.request("GET", "/api/alerts")[0] == 401


@pytest.mark.reliability(fault="login posted from another site (login CSRF)", happened="refused: 403 with a reason",
                         lost="nothing")
def test_login_form_needs_its_pre_session_token(console: Console):
    page_token = Browser(console.url)
    status, _, page, response = page_token.request("GET", "/login")
    flags = [f.strip() for f in response.getheader("Set-Cookie").split(";")]
    assert status == 200 and "HttpOnly" in flags and "SameSite=Strict" in flags and "Path=/login" in flags
    token = page.decode().split('name="csrf" value="')[1].split('"')[0]
    assert page_token.cookie == f"vidsentry_login={token}"

    cross_site = Browser(console.url)  # a forged form elsewhere: the right password, but no cookie of this console
    for form in ({"password": PASSWORD}, {"password": PASSWORD, "csrf": token}):
        status, _, body, _ = cross_site.request("POST", "/login", form)
        assert status == 403 and b"CSRF token is missing, wrong or expired" in body
        assert not (cross_site.cookie or "").startswith("vidsentry_session=")
    other = Browser(console.url)
    other.request("GET", "/login")
    status, _, body, _ = other.request("POST", "/login", {"password": PASSWORD, "csrf": token})  # another browser's token
    assert status == 403 and not other.cookie.startswith("vidsentry_session=")
    forged = Browser(console.url)
    forged.cookie = "vidsentry_login=abc.1.def"
    assert forged.request("POST", "/login", {"password": PASSWORD, "csrf": "abc.1.def"})[0] == 403, "not signed by the console"

    status, location, _, _ = page_token.request("POST", "/login", {"password": PASSWORD, "csrf": token})
    assert (status, location) == (303, "/") and page_token.cookie.startswith("vidsentry_session=")
    assert page_token.request("GET", "/api/alerts")[0] == 200


def test_alerts_live_filtered_and_acked_like_the_cli(console: Console, config: Config):
    browser = Browser(console.url)
    browser.login()
    csrf = browser.csrf()
    conn = http.client.HTTPConnection(browser.host, browser.port, timeout=30)
    conn.request("GET", "/api/stream?rule=fall", headers={"Cookie": browser.cookie})
    stream = conn.getresponse()
    assert stream.status == 200 and stream.getheader("Content-Type") == "text/event-stream"

    sink = RedisAlertSink(redis_client(config.redis), config.aggregator.redis_prefix)
    sink.emit(alert("fight", "hall", "critical"), None)
    fall = alert("fall", "<img src=x onerror=alert(1)>", "high")
    sink.emit(fall, b"\xff\xd8 a jpeg snapshot")

    events = []
    while not any(kind == "alert" for kind, _ in events):
        kind = stream.fp.readline().decode().strip()
        if kind.startswith("event: "):
            data = json.loads(stream.fp.readline().decode().removeprefix("data: "))
            events.append((kind.removeprefix("event: "), data))
    pushed = [data for kind, data in events if kind == "alert"]
    assert [a["rule"] for a in pushed] == ["fall"], "the stream's filter holds back the fight alert"
    conn.close()

    assert wait_until(lambda: len(json.loads(browser.request("GET", "/api/alerts")[2])) == 2, 30)
    only_fall = json.loads(browser.request("GET", "/api/alerts?" + urlencode({"severity": "high"}))[2])
    assert [a["id"] for a in only_fall] == [fall.id]
    entry = only_fall[0]["entry"]
    status, _, snapshot, _ = browser.request("GET", f"/snapshot/{quote(entry)}.jpg")
    assert status == 200 and snapshot == b"\xff\xd8 a jpeg snapshot"

    page = browser.request("GET", "/alerts")[2].decode()
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page

    client = redis_client(config.redis)
    stream_key = f"{config.aggregator.redis_prefix}:alerts"
    assert client.xpending(stream_key, config.console.group)["pending"] == 2
    status, _, body, _ = browser.request("POST", "/api/ack", {"entry": entry}, {"X-CSRF-Token": csrf})
    assert status == 200 and json.loads(body) == {"acknowledged": 1, "of": 1}
    assert client.xpending(stream_key, config.console.group)["pending"] == 1
    assert [a["acked"] for a in json.loads(browser.request("GET", "/api/alerts?rule=fall")[2])] == [True]


def frame_jpeg(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


def faces_of(photo, detector) -> tuple[np.ndarray, object]:
    from workers.face.photos import read_photo

    rgb = read_photo(photo)
    found = detector.detect_photo(rgb)
    assert len(found) == 1
    return rgb, found


def test_camera_tiles_and_unknown_people_from_the_bus(console: Console, config: Config, samples):
    from workers.face.detector import make_detector

    detector = make_detector("mediapipe-auto", 0.5, CACHE_ROOT)
    bus = KafkaBus(config.bus.kafka)
    bus.create_topics([FRAMES, FACES])
    console.attach(bus)
    publisher = bus.publisher()
    sightings = [("door", "t1", "obama"), ("yard", "t7", "obama2"), ("door", "t2", "biden")]
    now = time.time()
    for seq, (camera, track, photo) in enumerate(sightings):
        rgb, found = faces_of(samples[photo], detector)
        crop = aligned_crop(rgb, found.boxes[0], found.landmarks[0], 96)
        box = [float(v) for v in found.boxes[0]]
        for step in range(2):  # a track is embedded again only after a gap of frames
            frame = FrameMsg(camera, seq * 100 + step * 10, now - 86400 * (2 - seq) + step, rgb.shape[1], rgb.shape[0], frame_jpeg(rgb))
            face = Face(track, box, 0.9, Identity("unknown", person_id=f"anon-{track}"),
                        quality=FaceQuality(size_px=box[2] - box[0], blur=100.0), crop=frame_jpeg(crop))
            publisher.publish(FRAMES, camera, encode(frame))
            publisher.publish(FACES, camera, encode(FacesMsg(camera, frame.seq, frame.ts_capture, frame.width, frame.height, [face])))
    publisher.flush()

    browser = Browser(console.url)
    browser.login()
    assert wait_until(lambda: {c["camera"] for c in json.loads(browser.request("GET", "/api/state")[2])["cameras"]} == {"door", "yard"}, 60)
    status, _, tile, response = browser.request("GET", "/camera/door.jpg")
    assert status == 200 and response.getheader("Content-Type") == "image/jpeg"
    assert cv2.imdecode(np.frombuffer(tile, np.uint8), cv2.IMREAD_COLOR) is not None

    def clusters() -> list[dict]:
        return json.loads(browser.request("GET", "/api/unknowns")[2])

    assert wait_until(lambda: sum(c["sightings"] for c in clusters()) == 3 and
                      sum(t["embeddings"] for c in clusters() for t in c["tracks"]) == 6, 90)
    by_size = sorted(clusters(), key=lambda c: -c["sightings"])
    assert [(c["sightings"], c["cameras"], len(c["days"])) for c in by_size] == [(2, ["door", "yard"], 2), (1, ["door"], 1)], \
        "one stranger seen on two cameras on two days is one unknown person"
    obama, biden = by_size[0]["cluster"], by_size[1]["cluster"]
    store = RedisStore(redis_client(config.redis), config.aggregator.redis_prefix)
    store.save_persons([PersonState("anon-t1", "door", now - 5, time.time(), identity="unknown", face_tracks=["t1"],
                                    in_view_since=now - 5, emotion="neutral", action="standing")])
    [person] = json.loads(browser.request("GET", "/api/state")[2])["people"]
    assert (person["who"], person["camera"], person["emotion"], person["action"]) == (obama, "door", "neutral", "standing"), \
        "an unknown person in view is shown as their cluster"
    csrf = browser.csrf()
    crop_key = by_size[0]["tracks"][0]["key"]
    status, _, crop, _ = browser.request("GET", f"/crop/{quote(crop_key, safe='')}.jpg")
    assert status == 200 and crop[:2] == b"\xff\xd8"

    status, _, page, _ = browser.request("POST", "/unknowns/name", {"csrf": csrf, "cluster": obama, "name": "<b>Mallory</b>"})
    assert status == 400 and b"&lt;" in page and b"<b>Mallory" not in page, "an HTML name is refused, and the refusal escaped"

    status, location, _, _ = browser.request("POST", "/unknowns/merge", {"csrf": csrf, "cluster": [obama, biden]})
    assert status == 303 and len(clusters()) == 1
    status, _, _, _ = browser.request("POST", "/unknowns/split", {"csrf": csrf, "cluster": obama,
                                                                  "track": [t["key"] for t in clusters()[0]["tracks"] if t["key"].endswith("|t2")]})
    assert status == 303 and sorted(c["sightings"] for c in clusters()) == [1, 2]
    split_off = next(c["cluster"] for c in clusters() if c["sightings"] == 1)

    status, location, _, _ = browser.request("POST", "/unknowns/name", {"csrf": csrf, "cluster": obama, "name": "Barack Obama"})
    assert status == 303 and "Barack%20Obama" in location
    gallery = {p.name: p for p in console.gallery().people()}
    assert len(gallery["Barack Obama"].embeddings) == 4, "enrolled from the cluster's embeddings, no photo upload"
    assert [c["cluster"] for c in clusters()] == [split_off]

    status, _, _, _ = browser.request("POST", "/unknowns/delete", {"csrf": csrf, "cluster": split_off})
    assert status == 303 and clusters() == []
    client = redis_client(config.redis)
    assert not list(client.scan_iter(f"{config.aggregator.redis_prefix}:unknown:track:*")), "erasure leaves no crop or embedding"

    # The face stage now names him: his track is kept as a named face, and "not Barack Obama" rejects it.
    rgb, found = faces_of(samples["obama"], detector)
    crop = aligned_crop(rgb, found.boxes[0], found.landmarks[0], 96)
    named = Face("t9", [float(v) for v in found.boxes[0]], 0.9, Identity("known", "person-x", "Barack Obama", 0.3),
                 quality=FaceQuality(size_px=100.0, blur=100.0), crop=frame_jpeg(crop))
    publisher.publish(FACES, "door", encode(FacesMsg("door", 900, now, rgb.shape[1], rgb.shape[0], [named])))
    publisher.flush()
    assert wait_until(lambda: b"Not Barack Obama" in browser.request("GET", "/unknowns")[2], 60)
    status, _, _, _ = browser.request("POST", "/unknowns/reject", {"csrf": csrf, "track": "door|t9"})
    assert status == 303
    assert len({p.name: p for p in console.gallery().people()}["Barack Obama"].rejected) == 1
    assert [c["sightings"] for c in clusters()] == [1], "the rejected face is an unknown person again"
    console.detach()
    bus.close()
