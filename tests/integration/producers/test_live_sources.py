"""A live HTTP MJPEG camera that stalls, refuses and comes back (a local server, generated frames)."""

from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest
from prometheus_client import REGISTRY

from producers.producer import Producer
from schemas import decode
from schemas.topics import FRAMES
from tests.helpers import wait_until
from tests.mjpeg_server import MjpegCamera, frame_number
from vidsentry.bus.memory import InMemoryBus
from vidsentry.config.cameras import CameraConfig, ProducerSettings

pytestmark = pytest.mark.integration

FAST_RECONNECT = ProducerSettings(read_timeout_s=1.0, open_timeout_s=2.0, reconnect_initial_s=0.2, reconnect_max_s=1.0)


def metric(name: str, camera: str) -> float:
    return REGISTRY.get_sample_value(name, {"camera": camera}) or 0.0


def numbers(records) -> list[int]:
    return [frame_number(cv2.imdecode(np.frombuffer(decode(r.value).jpeg, np.uint8), cv2.IMREAD_COLOR)) for r in records]


@pytest.mark.reliability(fault='a stream that stalls, then refuses connections',
                         happened='it is reopened with backoff and resumes',
                         lost='the frames the camera sent while unreachable')
def test_stream_that_stalls_then_refuses_is_reopened_and_resumes():
    script = [("stall", 10), ("refuse", 0), ("refuse", 0), ("serve", 10**6)]
    with MjpegCamera(script, fps=20) as camera:
        bus = InMemoryBus(max_backlog=10000)
        sink = bus.subscriber("sink", [FRAMES])
        producer = Producer([CameraConfig(id="door", source=camera.url, fps=20)], FAST_RECONNECT, bus).start()
        runner = threading.Thread(target=producer.run)
        runner.start()
        got = []
        try:
            assert wait_until(lambda: camera.connections >= 4 and len(got) >= 20, timeout_s=120,
                              poll=lambda: got.extend(sink.poll(100, 0.1)))
            assert producer.status()["cameras"]["door"]["state"] == "streaming"
        finally:
            producer.stop_event.set()
            runner.join(timeout=60)
    seen = numbers(got)
    assert any(n < 10 for n in seen) and any(n >= 10 for n in seen), "frames from before and after the outage"
    assert producer.status()["cameras"]["door"]["reconnects"] >= 3
    assert metric("vidsentry_source_reconnects_total", "door") >= 3
    assert metric("vidsentry_source_down_seconds_total", "door") > 0.5
    assert [decode(r.value).seq for r in got] == sorted(decode(r.value).seq for r in got)


@pytest.mark.reliability(fault='one live camera drops while others run',
                         happened='health says reconnecting for it; the others continue',
                         lost='nothing from the other cameras')
def test_live_camera_is_unhealthy_while_reconnecting_and_other_cameras_continue(samples):
    with MjpegCamera([("refuse", 0)] * 1000) as dead:
        bus = InMemoryBus(max_backlog=10000)
        sink = bus.subscriber("sink", [FRAMES])
        producer = Producer([CameraConfig(id="dead", source=dead.url, fps=5),
                             CameraConfig(id="file", source=str(samples["carphone"]), fps=10, realtime=True)],
                            FAST_RECONNECT, bus).start()
        runner = threading.Thread(target=producer.run)
        runner.start()
        got = []
        try:
            assert wait_until(lambda: sum(r.key == "file" for r in got) >= 20
                              and producer.status()["cameras"]["dead"]["state"] == "reconnecting", timeout_s=120,
                              poll=lambda: got.extend(sink.poll(100, 0.1)))
            status = producer.status()
            assert status["cameras"]["dead"]["state"] == "reconnecting"
            assert status["ok"] is False
            assert wait_until(lambda: dead.connections >= 3, timeout_s=120), "backoff keeps trying"
        finally:
            producer.stop_event.set()
            runner.join(timeout=60)
    assert not runner.is_alive()
