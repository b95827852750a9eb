"""The pipeline: the stages after the producers, in order. Adding a stage is a new package that
exports a ``StageDecl`` plus one line here (docs/ARCHITECTURE.md, "Stages and topics").

Application layer: this is where the stage packages are imported."""

from __future__ import annotations

import aggregator
import workers.action
import workers.emotion
import workers.face
from vidsentry.stages import StageDecl, check_pipeline

PIPELINE: tuple[StageDecl, ...] = (
    workers.face.STAGE,
    workers.emotion.STAGE,
    workers.action.STAGE,
    aggregator.STAGE,
)
"""The aggregator comes last: it consumes what the others publish."""

AGGREGATOR = aggregator.STAGE

check_pipeline(PIPELINE)
