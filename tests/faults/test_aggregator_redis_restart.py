"""Redis going away mid-stream: the aggregator retries its batch (no dead letters, no loss)
and resumes when Redis is back; alert webhooks are retried until the receiver answers."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis

from aggregator.aggregator import AggregatorStage
from aggregator.alerts import RedisAlertSink, WebhookSink
from aggregator.config import AggregatorConfig
from aggregator.redis_store import RedisStore
from aggregator.rules import load_rules
from schemas import encode
from schemas.topics import ALL_TOPICS, DEADLETTER, TOPIC_OF_KIND
from tests.helpers import wait_until
from tests.scenario import Scene, body
from vidsentry.bus.memory import InMemoryBus
from vidsentry.config import RuntimeConfig
from vidsentry.devservices import LocalRedis
from vidsentry.runtime import StageRunner

pytestmark = pytest.mark.integration


@pytest.mark.reliability(fault='Redis restarted under the aggregator',
                         happened='the batch is retried with backoff until Redis answers; nothing is dead-lettered',
                         lost='nothing')
def test_redis_restart_is_retried_not_dead_lettered(tmp_path):
    server = LocalRedis(tmp_path / "redis").start()
    try:
        client = redis.Redis.from_url(server.url, socket_timeout=30, socket_connect_timeout=30)
        stage = AggregatorStage(load_rules(), RedisStore(client, "f"), [RedisAlertSink(client, "f")], AggregatorConfig())
        bus = InMemoryBus(max_backlog=10000)
        bus.create_topics(ALL_TOPICS)
        letters = bus.subscriber("ops", [DEADLETTER])
        runner = StageRunner(stage, bus, ["faces", "actions", "emotions"], RuntimeConfig(batch_size=5, poll_timeout_s=0.1))
        runner.start()
        thread = threading.Thread(target=runner.run)
        thread.start()

        scene = Scene("yard")
        scene.run(15, bodies=[body("b1", "lying")], faces=None)
        pub = bus.publisher()
        first, rest = scene.messages[:10], scene.messages[10:]
        for message in first:
            pub.publish(TOPIC_OF_KIND[message.KIND], message.key, encode(message))
        assert wait_until(lambda: client.exists("f:person:yard:body:b1"), timeout_s=60)

        server.kill()
        for message in rest:
            pub.publish(TOPIC_OF_KIND[message.KIND], message.key, encode(message))
        assert wait_until(lambda: runner.healthy()["bus_outage"] is not None, timeout_s=60)
        assert runner.healthy()["ok"] is False

        server.start()
        assert wait_until(lambda: client.xlen("f:alerts") >= 1, timeout_s=120)
        runner.stop_event.set()
        thread.join(timeout=60)
        assert letters.poll(100, 0.2) == [], "an outage is not the message's fault"
        alerts = [json.loads(f[b"alert"]) for _, f in client.xrange("f:alerts")]
        assert [(a["rule"], a["status"]) for a in alerts] == [("person-down", "raised")]
    finally:
        server.stop(timeout_s=3)


@pytest.mark.reliability(fault='the alert webhook receiver down',
                         happened='delivery is retried until it answers',
                         lost='nothing')
def test_webhook_is_retried_until_the_receiver_answers():
    received, attempts = [], []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            attempts.append(1)
            body_bytes = self.rfile.read(int(self.headers["Content-Length"]))
            if len(attempts) < 3:
                self.send_response(503)
                self.end_headers()
                return
            received.append(json.loads(body_bytes))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        from aggregator.state import MemoryStore

        sink = WebhookSink(f"http://127.0.0.1:{server.server_address[1]}/alerts", retries=4, timeout_s=30)
        stage = AggregatorStage(load_rules(), MemoryStore(), [sink], AggregatorConfig())
        scene = Scene("door")
        scene.run(1, bodies=[body("b1", "falling")], faces=None)
        stage.process(scene.messages)
        assert wait_until(lambda: received, timeout_s=60)
        sink.close()
        assert received[0]["rule"] == "fall" and len(attempts) == 3
    finally:
        server.shutdown()
