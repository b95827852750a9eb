"""/healthz and /readyz tell the truth about the bus: the watch's grace on an injected
clock, a stage runner whose consumer loses its connection, and the HTTP answers."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from schemas import FrameMsg
from schemas.topics import FRAMES
from tests.echo_stage import EchoStage
from vidsentry.bus.memory import InMemoryBus
from vidsentry.config import RuntimeConfig
from vidsentry.health import BusWatch
from vidsentry.metrics import MetricsServer
from vidsentry.runtime import StageRunner


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_an_outage_is_reported_after_the_grace_and_cleared_at_once():
    clock = Clock()
    watch = BusWatch(grace_s=3.0, clock=clock)
    assert not watch.reachable and watch.outage() is None, "nothing observed yet: not ready, not failing"
    watch.observe(None)
    assert watch.reachable
    watch.observe("no connection to the bus")
    assert not watch.reachable and watch.outage() is None, "a reconnect of a moment does not flap /healthz"
    clock.now += 2.9
    watch.observe("no connection to the bus")
    assert watch.outage() is None
    clock.now += 0.2
    assert watch.outage() == "no connection to the bus (for 3s)"
    watch.observe(None)
    assert watch.outage() is None and watch.reachable


def test_a_known_start_of_the_outage_counts_from_then():
    clock = Clock()
    watch = BusWatch(grace_s=3.0, clock=clock)
    watch.observe("no acknowledgement", since=clock.now - 3.0)
    assert watch.outage() is not None


class Link:
    """Whether the broker is reachable, for both clients of a runner."""

    up = True


class Flaky:
    """A real in-memory client whose connection can drop, as a Kafka client's does when its broker goes."""

    def __init__(self, inner, link: Link) -> None:
        self.inner, self.link = inner, link

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def connected(self) -> bool:
        return self.link.up


def runner_with(clock: Clock, checks=None) -> tuple[StageRunner, Link]:
    bus = InMemoryBus(max_backlog=100)
    runner = StageRunner(EchoStage(), bus, [FRAMES], RuntimeConfig(poll_timeout_s=0.01, unreachable_after_s=3.0),
                         expect=FrameMsg, checks=checks, clock=clock)
    assert runner.ready()["ok"] is False, "not started"
    runner.start()
    link = Link()
    runner._subscriber, runner._publisher = Flaky(runner._subscriber, link), Flaky(runner._publisher, link)
    return runner, link


def test_a_worker_whose_broker_is_gone_is_unhealthy_and_unready_then_recovers():
    clock = Clock()
    runner, link = runner_with(clock)
    runner.run_once()
    assert runner.healthy()["ok"] and runner.ready()["ok"]
    link.up = False
    runner.run_once()  # the poll returns nothing, as it would on an idle topic
    assert runner.ready()["ok"] is False and runner.ready()["waiting_for"] == {"bus": "no connection to the bus"}
    assert runner.healthy()["ok"], "within the grace"
    clock.now += 3.0
    health = runner.healthy()  # no poll needed: a loop blocked in a flush must not hide the outage
    assert health["ok"] is False and "no connection to the bus" in health["bus_outage"]
    link.up = True
    assert runner.healthy()["ok"] and runner.ready()["ok"]


def test_readiness_waits_for_every_dependency():
    down = {"redis": True}

    def ping() -> None:
        if down["redis"]:
            raise ConnectionError("Connection refused")

    runner, _ = runner_with(Clock(), checks={"redis": ping})
    runner.run_once()
    assert runner.ready() == {"ok": False, "stage": "echo", "waiting_for": {"redis": "ConnectionError: Connection refused"}}
    down["redis"] = False
    assert runner.ready()["ok"]


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_server_answers_healthz_and_readyz_from_their_checks():
    state = {"alive": True, "ready": False}
    server = MetricsServer("127.0.0.1", 0, lambda: {"ok": state["alive"]}, lambda: {"ok": state["ready"]}).start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        assert get(base + "/healthz")[0] == 200 and get(base + "/readyz")[0] == 503
        state.update(alive=False, ready=True)
        assert get(base + "/healthz")[0] == 503 and get(base + "/readyz")[0] == 200
    finally:
        server.stop()


def test_health_answers_never_carry_a_password():
    status = {"ok": False, "bus_outage": "no broker at SASL_SSL://alice:s3cretpw@10.0.0.5:9093",
              "cameras": {"door": {"error": "rtsp://user:s3cretpw@cam/stream refused"}}}
    server = MetricsServer("127.0.0.1", 0, lambda: status, lambda: status).start()
    try:
        for path in ("/healthz", "/readyz"):
            code, body = get(f"http://127.0.0.1:{server.port}{path}")
            assert code == 503 and "s3cretpw" not in json.dumps(body)
            assert body["cameras"]["door"]["error"] == "rtsp://user:***@cam/stream refused"
    finally:
        server.stop()
