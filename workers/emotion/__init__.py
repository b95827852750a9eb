"""The emotion worker pool: `faces` in, `emotions` out (7 facial emotions per face track).

Modules, one job each: ``config`` (the EmotionConfig section), ``model`` (the EmotionModel
interface and its runtimes), ``loader`` (which model file and runtime a config means),
``labelmap`` (the label json next to a model), ``crops`` (face crop bytes to model input and
quality), ``worker`` (the stage), ``metrics``, ``errors``, ``smoothing`` (EMA and windowed
means for the aggregator); the tools: ``dataset``, ``architecture``, ``train``, ``evaluate``
and ``commands`` (the typer sub-apps).

Importing this package loads no TensorFlow; the modules that need it import it themselves.
"""

from __future__ import annotations

from schemas import FacesMsg
from schemas.topics import FACES
from vidsentry.stages import StageDecl


def _build(config, **injected):
    from workers.emotion.worker import build_stage

    return build_stage(config, **injected)


STAGE = StageDecl("emotion", inputs=(FACES,), outputs=("emotions",), section="emotion", build=_build,
                  command=("worker", "emotion"), expect=FacesMsg,
                  summary="Consume `faces`; classify 7 emotions per face track in batches; publish `emotions`.")
