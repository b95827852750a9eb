"""The face worker pool: ``frames`` in, ``faces`` out.

Each frame is decoded once; faces are found (``detector``), followed per camera
(``tracker``), judged as samples (``quality``), cut out eyes-level for the emotion pool
(``align``), and named against the gallery (``embedder``, ``identity``, ``gallery``) at
most a few times per track; a still frame (a photo) is its own scene, decided from one
sample. ``worker.build_stage`` assembles the stage; ``commands.gallery_app`` is the
enrolment CLI; ``evaluate_command`` is ``vidsentry evaluate identity``.
"""

from __future__ import annotations

from schemas import FrameMsg
from schemas.topics import FRAMES
from vidsentry.stages import StageDecl


def _build(config, **injected):
    from workers.face.worker import build_stage

    return build_stage(config, **injected)


STAGE = StageDecl("face", inputs=(FRAMES,), outputs=("faces",), section="face", build=_build,
                  command=("worker", "face"), expect=FrameMsg,
                  summary="Consume `frames`; detect, track and identify faces; publish `faces` (with aligned crops).")
