"""The producer publishes each camera's state for the console (vidsentry/camera_state.py) into the suite's
real Redis: a live camera that drops reads `reconnecting` with its (redacted) error, then `up` again with the
reconnect counted; a file camera reads `ended`; a producer whose Redis is down goes on without it."""

from __future__ import annotations

import threading

import pytest

from producers.producer import Producer
from schemas.topics import FRAMES
from tests.helpers import wait_until
from tests.mjpeg_server import MjpegCamera
from vidsentry.bus.memory import InMemoryBus
from vidsentry.camera_state import RedisCameraStates
from vidsentry.config.cameras import CameraConfig, ProducerSettings
from vidsentry.config.models import RedisConfig
from vidsentry.devservices import free_port
from vidsentry.redis_client import redis_client

pytestmark = pytest.mark.integration

FAST_RECONNECT = ProducerSettings(read_timeout_s=1.0, open_timeout_s=2.0, reconnect_initial_s=0.2, reconnect_max_s=1.0)
SECRET = "hunter2-camera"


@pytest.mark.reliability(fault="a live camera drops (refuses connections) and comes back",
                         happened="its state record for the console reads reconnecting with the redacted error, then up",
                         lost="the frames the camera sent while unreachable")
def test_a_camera_that_drops_reads_reconnecting_then_up(redis_server, request):
    states = RedisCameraStates(redis_client(RedisConfig(url=redis_server.url)), f"cs-{request.node.name[:20]}")
    with MjpegCamera([("serve", 20)] + [("refuse", 0)] * 10_000, fps=20) as camera:
        url = camera.url.replace("http://", f"http://operator:{SECRET}@")
        bus = InMemoryBus(max_backlog=10000)
        sink = bus.subscriber("sink", [FRAMES])
        producer = Producer([CameraConfig(id="door", source=url, fps=20)], FAST_RECONNECT, bus, state_writer=states).start()
        runner = threading.Thread(target=producer.run)
        runner.start()
        seen: list[str] = []

        def record():
            sink.poll(1000, 0.05)
            found = states.read()[0].get("door")
            if found is not None and (not seen or seen[-1] != found.state):
                seen.append(found.state)
            return found

        try:
            assert wait_until(lambda: (r := record()) is not None and r.state == "up" and r.captured > 0, timeout_s=120)
            assert wait_until(lambda: (r := record()) is not None and r.state == "reconnecting" and r.reconnects >= 1,
                              timeout_s=120)
            dropped = record()
            assert SECRET not in dropped.error and "operator:***@" in dropped.error, "the camera URL's password is redacted"
            camera.script.clear()  # the camera is back: every connection now serves
            assert wait_until(lambda: (r := record()) is not None and r.state == "up" and r.beat > dropped.beat
                              and r.captured > dropped.captured, timeout_s=120)
        finally:
            producer.stop_event.set()
            runner.join(timeout=60)
    assert seen[-3:] == ["up", "reconnecting", "up"] and seen[:-3] in ([], ["reconnecting"]), \
        f"{seen}: opening for the first time reads reconnecting too (it is being tried)"
    back = states.read()[0]["door"]
    assert back.reconnects >= 1 and back.error == dropped.error, "the last error stays visible after the camera is back"
    assert states.read()[0]["door"].state == "down", "a stopped producer leaves its live camera down"


@pytest.mark.reliability(fault="the producer's Redis (camera state for the console) is unreachable",
                         happened="every frame is published; the state is not, with one warning", lost="nothing")
def test_a_file_camera_reads_ended_and_a_down_redis_costs_no_frame(redis_server, samples, request, caplog):
    states = RedisCameraStates(redis_client(RedisConfig(url=redis_server.url)), f"cs-{request.node.name[:20]}")
    bus = InMemoryBus(max_backlog=10000)
    Producer([CameraConfig(id="car", source=str(samples["carphone"]), fps=10)], ProducerSettings(), bus, state_writer=states).run()
    ended = states.read()[0]["car"]
    assert (ended.state, ended.captured, ended.published, ended.dropped) == ("ended", 120, 40, 0)

    unreachable = RedisCameraStates(redis_client(RedisConfig(url=f"redis://127.0.0.1:{free_port()}/0"), socket_connect_timeout=1,
                                                 socket_timeout=1), "nowhere")
    bus = InMemoryBus(max_backlog=10000)
    sink = bus.subscriber("sink", [FRAMES])
    producer = Producer([CameraConfig(id="car", source=str(samples["carphone"]), fps=10)], ProducerSettings(), bus,
                        state_writer=unreachable)
    producer.run()
    assert len(sink.poll(1000, 0.5)) == 40 and producer.status()["cameras"]["car"]["state"] == "finished"
    assert producer.reporter.failing is not None
    assert "camera state not published" in caplog.text
