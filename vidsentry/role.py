"""Run one role as a process: config → bus → topics → metrics/health server → stage loop.

Lifecycle (docs/STYLE.md §6): ``start`` connects and serves /metrics; ``run`` processes until
SIGTERM/SIGINT; the runner then finishes its batch, publishes, commits and closes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from schemas import ALL_TOPICS
from vidsentry.bus import make_bus
from vidsentry.config import Config
from vidsentry.logs import set_log_fields
from vidsentry.metrics import MetricsServer
from vidsentry.runtime import Stage, StageRunner, stop_on_signals

log = logging.getLogger(__name__)


def serve_stage(stage: Stage, config: Config, topics: Sequence[str], expect: type | None = None,
                checks: Mapping[str, Callable[[], object]] | None = None) -> None:
    """``checks``: the stage's dependencies for /readyz (name -> a call that raises when it is down)."""
    set_log_fields(stage=stage.name)
    bus = make_bus(config.bus)
    bus.create_topics(ALL_TOPICS)
    runner = StageRunner(stage, bus, topics, config.runtime, expect=expect, checks=checks).start()
    stop_on_signals(runner.stop_event)
    metrics = (MetricsServer(config.metrics.host, config.metrics.port, runner.healthy, runner.ready).start()
               if config.metrics.enabled else None)
    log.info("%s: consuming %s as group %s on the %s bus", stage.name, ", ".join(topics), runner.group, config.bus.kind)
    try:
        runner.run()
    finally:
        if metrics:
            metrics.stop()
        bus.close()
        log.info("%s: stopped after %d batches", stage.name, runner.batches_done)
