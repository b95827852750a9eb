"""The aggregator: faces, emotions and actions in; per-person state, events and alerts out."""

from __future__ import annotations

from schemas.topics import ACTIONS, EMOTIONS, FACES
from vidsentry.stages import StageDecl


def _build(config, **injected):
    from aggregator.role import build_aggregator

    return build_aggregator(config, **injected)


def _checks(stage):
    from aggregator.role import readiness_checks

    return readiness_checks(stage)


STAGE = StageDecl("aggregator", inputs=(FACES, EMOTIONS, ACTIONS), outputs=("event",), section="aggregator",
                  build=_build, command=("aggregator",), checks=_checks,
                  summary="Consume faces, emotions and actions; fuse per-person state; raise alerts into Redis.")
