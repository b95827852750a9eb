"""/readyz of the aggregator waits for Redis: a real Redis of this test's own, stopped and started."""

from __future__ import annotations

import pytest

from aggregator.role import INPUT_TOPICS, build_aggregator, readiness_checks
from tests.helpers import wait_until
from vidsentry.bus.memory import InMemoryBus
from vidsentry.config import Config, RuntimeConfig
from vidsentry.devservices import LocalRedis
from vidsentry.runtime import StageRunner

pytestmark = pytest.mark.integration


def test_the_aggregator_is_ready_only_while_redis_answers(tmp_path):
    server = LocalRedis(tmp_path / "redis").start()
    try:
        stage = build_aggregator(Config.model_validate({"redis": {"url": server.url}}))
        runner = StageRunner(stage, InMemoryBus(max_backlog=100), INPUT_TOPICS, RuntimeConfig(poll_timeout_s=0.01),
                             checks=readiness_checks(stage)).start()
        runner.run_once()
        assert runner.ready()["ok"]
        server.kill()
        assert wait_until(lambda: not runner.ready()["ok"], timeout_s=60)
        assert set(runner.ready()["waiting_for"]) == {"redis"}
        server.start()
        assert wait_until(lambda: runner.ready()["ok"], timeout_s=60)
        runner.close()
        stage.close()
    finally:
        server.stop(timeout_s=3)
