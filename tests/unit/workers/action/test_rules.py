"""The rule classifier on GENERATED keypoint sequences (synthetic.py): one per action, and
the same sequences scaled, moved, mirrored and re-seeded give the same label."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from tests.unit.workers.action.synthetic import ACTIONS, action_sequence, labelled_histories
from workers.action.config import ActionConfig, RulesConfig, WindowConfig
from workers.action.interaction import pair_motion
from workers.action.keypoints import TrackHistory, body_motion
from workers.action.rules import RuleClassifier

PLACEMENTS = [
    dict(scale=40.0, origin=(320.0, 240.0), seed=0, facing=1),
    dict(scale=12.0, origin=(60.0, 420.0), seed=1, facing=-1),
    dict(scale=150.0, origin=(900.0, 300.0), seed=2, facing=1),
    dict(scale=25.0, origin=(-500.0, 5000.0), seed=3, facing=-1),
]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("placement", PLACEMENTS, ids=["40px", "12px-far", "150px-near", "25px-offset"])
def test_each_generated_action_gets_its_label_at_any_scale_and_place(action, placement):
    guesses = RuleClassifier().classify(labelled_histories(action, **placement))
    assert {g.label for g in guesses.values()} == {action}, guesses
    assert all(0.5 <= g.confidence <= 1.0 for g in guesses.values())


@pytest.mark.parametrize("action", ACTIONS)
def test_scaling_and_translating_keypoints_changes_nothing(action):
    """Exactly the same motion, its pixels multiplied and shifted: the features are equal
    (to float32 rounding, which is how keypoints are stored)."""
    histories = labelled_histories(action, seed=7)
    moved = {k: TrackHistory(h.times, _transform(h.keypoints, 3.7, (-250.0, 80.0)), h.boxes * 3.7) for k, h in histories.items()}
    classifier = RuleClassifier()
    before, after = classifier.classify(histories), classifier.classify(moved)
    assert {k: g.label for k, g in before.items()} == {k: g.label for k, g in after.items()} == dict.fromkeys(histories, action)
    for key in histories:
        assert after[key].confidence == pytest.approx(before[key].confidence, rel=1e-4)
        a, b = classifier.motion(histories[key]), classifier.motion(moved[key])
        assert b.scale == pytest.approx(3.7 * a.scale, rel=1e-4)
        for field in ("speed", "leg_motion", "wrist_motion", "torso_angle", "thigh_drop", "fall_drop"):
            assert getattr(b, field) == pytest.approx(getattr(a, field), rel=1e-4, abs=1e-6), field


def _transform(keypoints: np.ndarray, scale: float, shift: tuple[float, float]) -> np.ndarray:
    out = keypoints.copy()
    out[..., :2] = out[..., :2] * scale + np.asarray(shift)
    return out


def test_people_walking_side_by_side_are_not_fighting():
    left = action_sequence("walking", origin=(200.0, 240.0), seed=4)[0]
    right = action_sequence("walking", origin=(240.0, 242.0), seed=5)[0]
    guesses = RuleClassifier().classify({"a": left, "b": right})
    assert {g.label for g in guesses.values()} == {"walking"}


def test_people_standing_close_are_not_fighting_but_punching_far_apart_is_not_either():
    still = RuleClassifier().classify({"a": action_sequence("standing", origin=(200.0, 240.0), seed=1)[0],
                                       "b": action_sequence("standing", origin=(230.0, 240.0), seed=2)[0]})
    assert {g.label for g in still.values()} == {"standing"}
    far = action_sequence("fighting", fight_gap=4.0, seed=3)
    apart = RuleClassifier().classify({"a": far[0], "b": far[1]})
    assert "fighting" not in {g.label for g in apart.values()}


def test_a_fall_becomes_lying_once_it_leaves_the_window():
    (fall,) = action_sequence("falling", seconds=5.0, fall_start=0.5)
    classifier = RuleClassifier()
    early = fall.between(fall.times[0], fall.times[0] + 2.0)
    late = fall.between(fall.times[-1] - 2.0, fall.times[-1])
    assert classifier.classify({"p": early})["p"].label == "falling"
    assert classifier.classify({"p": late})["p"].label == "lying"


def test_a_short_window_is_unknown():
    (walk,) = action_sequence("walking", seconds=0.3)
    guess = RuleClassifier(window=WindowConfig(min_frames=5)).classify({"p": walk})["p"]
    assert (guess.label, guess.confidence) == ("unknown", 0.0)


def test_unseen_keypoints_give_no_motion_rather_than_a_guess():
    (walk,) = action_sequence("walking")
    hidden = walk.keypoints.copy()
    hidden[..., 2] = 0.05
    assert body_motion(TrackHistory(walk.times, hidden, walk.boxes), min_score=0.25) is None
    assert RuleClassifier().classify({"p": TrackHistory(walk.times, hidden, walk.boxes)})["p"].label == "unknown"


def test_thresholds_come_from_the_config():
    walking = labelled_histories("walking")
    assert RuleClassifier().classify(walking)["walking-0"].label == "walking"
    slow_world = RulesConfig(walk_speed=10.0, walk_leg_motion=10.0, run_speed=20.0, run_leg_motion=20.0)
    assert RuleClassifier(slow_world).classify(walking)["walking-0"].label == "standing"


def test_config_bounds_and_consistency_are_enforced():
    with pytest.raises(ValidationError, match="run_speed"):
        RulesConfig(walk_speed=3.0, run_speed=2.0)
    with pytest.raises(ValidationError):
        RulesConfig(lying_angle=120)
    with pytest.raises(ValidationError, match="module:callable"):
        ActionConfig.model_validate({"pose": {"model": "openpose"}})
    with pytest.raises(ValidationError):
        ActionConfig.model_validate({"window": {"secnds": 2}})
    config = ActionConfig.model_validate({"pose": {"model": "hog-blazepose"}, "rules": {"fight_limb_speed": 7}})
    assert config.rules.fight_limb_speed == 7 and config.pose.model == "hog-blazepose"
    for field in RulesConfig.model_fields.values():
        assert field.description, "every threshold documents itself"


def test_one_quick_reach_between_two_people_is_not_a_fight():
    """A handshake or handing something over: one arm shoots out once and stays (GENERATED)."""
    (a,) = action_sequence("standing", origin=(200.0, 240.0), seed=1)
    (b,) = action_sequence("standing", origin=(280.0, 240.0), seed=2, facing=-1)
    reach = a.keypoints.copy()
    reach[10:, 10, 0] += 35.0
    reach[10:, 10, 1] -= 25.0
    reaching = TrackHistory(a.times, reach, a.boxes)
    guesses = RuleClassifier().classify({"a": reaching, "b": b})
    assert {g.label for g in guesses.values()} == {"standing"}
    rules = RulesConfig()
    once = pair_motion(reaching, b, 0.25, rules.fight_max_distance, rules.fight_min_wrist_score, rules.fight_limb_speed)
    fight = pair_motion(*action_sequence("fighting", seed=4), 0.25, rules.fight_max_distance,
                        rules.fight_min_wrist_score, rules.fight_limb_speed)
    assert once.fast_frames == 1 and once.close_seconds >= rules.fight_min_seconds
    assert fight.fast_frames >= 3 * rules.fight_min_fast_frames
