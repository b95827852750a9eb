"""The camera grid's state against the suite's real Redis: /api/state and the page carry what each
camera's producer reports (state, fps, dropped, reconnects, the last error, escaped); a producer that
stops refreshing reads as down on the console's own (injected) clock, and one whose record expired too."""

from __future__ import annotations

import json

import pytest

from tests.integration.console.session import Browser, kafka_console_config
from vidsentry.camera_state import CameraStateRecord, RedisCameraStates, StaleBeats
from vidsentry.config import Config
from vidsentry.console.app import Console
from vidsentry.console.cameras import NO_REPORT, STOPPED_REPORTING

pytestmark = pytest.mark.integration
EVIL = "<img src=x onerror=alert(1)>"


@pytest.fixture
def config(redis_server, kafka_server, tmp_path) -> Config:
    return kafka_console_config(redis_server.url, kafka_server.bootstrap_servers, tmp_path)


def record(camera: str, state: str, beat: int, **fields) -> CameraStateRecord:
    values = {"fps": 4.96, "dropped": 0, "reconnects": 0, "captured": 100, "published": 90, "error": None, **fields}
    return CameraStateRecord(camera=camera, state=state, beat=beat, **values)


def test_api_state_carries_each_producers_camera_state_and_a_silent_producer_is_down(console: Console, config: Config):
    now = [1000.0]
    console.beats = StaleBeats(down_after_s=5.0, clock=lambda: now[0])
    producer = RedisCameraStates(console.r, config.aggregator.redis_prefix)  # as the producer role writes them
    producer.write([record("door", "up", 1, dropped=3), record("yard", "reconnecting", 1, fps=0.0, reconnects=2,
                                                                   error=f"camera yard: refused {EVIL} (rtsp://u:pw@cam/x)"),
                    record("clip", "ended", 1), record("gone", "up", 1)])
    console.r.delete(producer.key("gone"))  # its producer died: the record expired

    browser = Browser(console.url)
    browser.login()

    def cameras() -> dict[str, dict]:
        status, _, body, _ = browser.request("GET", "/api/state")
        assert status == 200
        return {c["camera"]: c for c in json.loads(body)["cameras"]}

    got = cameras()
    assert {k: (c["state"], c["fps"], c["dropped"], c["reconnects"]) for k, c in got.items()} == {
        "door": ("up", 5.0, 3, 0), "yard": ("reconnecting", 0.0, 0, 2), "clip": ("ended", 5.0, 0, 0), "gone": ("down", 0.0, None, None)}
    assert got["yard"]["error"] == f"camera yard: refused {EVIL} (rtsp://u:***@cam/x)", "redacted when written"
    assert got["gone"]["error"] == NO_REPORT

    page = browser.request("GET", "/")[2].decode()
    assert '<span class="badge state-reconnecting" title="camera yard: refused &lt;img' in page
    assert "3 dropped" in page and "2 reconnects" in page
    assert EVIL not in page and "&lt;img src=x onerror=alert(1)&gt;" in page, "the error is escaped"

    now[0] += 4.0  # within down_after_s: one producer refreshed, the others did not yet
    producer.write([record("door", "up", 2, dropped=4)])
    assert cameras()["door"]["state"] == "up" and cameras()["yard"]["state"] == "reconnecting"
    now[0] += 2.0  # yard's producer has not refreshed for 6 s: down; door's last beat is 2 s old
    got = cameras()
    assert (got["yard"]["state"], got["yard"]["error"]) == ("down", STOPPED_REPORTING)
    assert (got["door"]["state"], got["door"]["dropped"]) == ("up", 4)
    assert got["clip"]["state"] == "ended", "an ended camera is not refreshed and stays ended"
    producer.write([record("yard", "up", 2, reconnects=2)])
    assert cameras()["yard"]["state"] == "up", "a producer back at work reads up at once"

    console.r.set(producer.key("door"), b'{"state": "<b>on fire</b>", "beat": 3}')  # not a record: left out, not shown
    got = cameras()
    assert (got["door"]["state"], got["door"]["error"]) == ("down", NO_REPORT)
