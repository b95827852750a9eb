"""The action worker pool: ``frames`` -> ``actions``.

Every person's pose (``pose.py``: MoveNet MultiPose by default, chosen by measurement in
benchmarks/action.md), body tracks per camera (``tracker.py``), a window of scale-free
keypoints per track (``keypoints.py``), and a label per track from the rules
(``rules.py``) or a trained GRU (``temporal.py``). ``worker.build_stage`` assembles the
stage; ``commands.py`` holds ``train action``, ``evaluate action`` and ``dataset stats``.
"""

from __future__ import annotations

from schemas import FrameMsg
from schemas.topics import FRAMES
from vidsentry.stages import StageDecl


def _build(config, **injected):
    from workers.action.worker import build_stage

    return build_stage(config, **injected)


STAGE = StageDecl("action", inputs=(FRAMES,), outputs=("actions",), section="action", build=_build,
                  command=("worker", "action"), expect=FrameMsg,
                  summary="Consume `frames`; find people, track bodies, recognise actions; publish `actions`.")
