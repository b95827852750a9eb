"""The default action classifier: interpretable rules on scale-free keypoint windows.

Order of precedence, first match wins: falling (a fast hip drop while the torso turns to
horizontal, anywhere in the window), fighting (two people close for a while, neither running, with wrists fast again and
again and an arm that straightens and bends),
lying (torso near horizontal), sitting (upright torso, knees barely below the hips,
little travel), running, walking, standing. Each threshold is a field of
``RulesConfig``; the confidence grows with how far past its threshold a value is.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

from workers.action.classifier import UNKNOWN, ActionGuess
from workers.action.config import RulesConfig, WindowConfig
from workers.action.interaction import pair_motion
from workers.action.keypoints import BodyMotion, TrackHistory, body_motion


def _confidence(value: float, threshold: float, span: float) -> float:
    """0.5 at the threshold, rising linearly to 0.99 at ``span`` past it (either direction)."""
    if span <= 0:
        return 0.99
    return float(min(0.99, max(0.5, 0.5 + 0.49 * abs(value - threshold) / span)))


def _far_apart(a: TrackHistory, b: TrackHistory, scale_a: float, scale_b: float, limit: float) -> bool:
    """Whether two people's latest boxes are more than ``limit`` torso lengths apart: such a
    pair cannot be fighting, and skipping it keeps a crowd from costing n² pair analyses."""
    centre_a = (a.boxes[-1, :2] + a.boxes[-1, 2:]) / 2
    centre_b = (b.boxes[-1, :2] + b.boxes[-1, 2:]) / 2
    return float(np.linalg.norm(centre_a - centre_b)) > limit * (scale_a + scale_b) / 2


class RuleClassifier:
    name = "rules"

    def __init__(self, rules: RulesConfig | None = None, window: WindowConfig | None = None) -> None:
        self.rules = rules or RulesConfig()
        self.window = window or WindowConfig()
        self.window_seconds = self.window.seconds

    def motion(self, history: TrackHistory) -> BodyMotion | None:
        if len(history) < self.window.min_frames:
            return None
        r = self.rules
        return body_motion(history, self.window.min_keypoint_score, r.fall_max_seconds, r.lying_angle - 15.0,
                           r.fall_min_angle_change)

    def classify(self, histories: dict[str, TrackHistory]) -> dict[str, ActionGuess]:
        motions = {track_id: self.motion(history) for track_id, history in histories.items()}
        guesses = {track_id: self._single(m) if m else ActionGuess(UNKNOWN, 0.0) for track_id, m in motions.items()}
        for track_id, guess in self._fights(histories, motions).items():
            if guesses[track_id].label != "falling":
                guesses[track_id] = guess
        return guesses

    def _single(self, m: BodyMotion) -> ActionGuess:
        r = self.rules
        if m.fall_drop >= r.fall_min_drop:
            return ActionGuess("falling", _confidence(m.fall_drop, r.fall_min_drop, r.fall_min_drop))
        if m.torso_angle >= r.lying_angle and m.speed < r.run_speed:
            return ActionGuess("lying", _confidence(m.torso_angle, r.lying_angle, 90.0 - r.lying_angle + 1.0))
        if (m.torso_angle <= r.sit_max_torso_angle and m.thigh_drop <= r.sit_max_thigh_drop
                and m.speed < r.walk_speed and m.leg_motion < r.walk_leg_motion):
            return ActionGuess("sitting", _confidence(m.thigh_drop, r.sit_max_thigh_drop, r.sit_max_thigh_drop))
        if m.speed >= r.run_speed or (m.speed >= r.walk_speed and m.leg_motion >= r.run_leg_motion):
            value, threshold = (m.speed, r.run_speed) if m.speed >= r.run_speed else (m.leg_motion, r.run_leg_motion)
            return ActionGuess("running", _confidence(value, threshold, threshold))
        if m.speed >= r.walk_speed or m.leg_motion >= r.walk_leg_motion:
            margin = max(m.speed / r.walk_speed, m.leg_motion / r.walk_leg_motion)
            return ActionGuess("walking", _confidence(margin, 1.0, 1.0))
        margin = max(m.speed / r.walk_speed, m.leg_motion / r.walk_leg_motion)
        return ActionGuess("standing", _confidence(margin, 1.0, 1.0))

    def _fights(self, histories: dict[str, TrackHistory], motions: dict[str, BodyMotion | None]) -> dict[str, ActionGuess]:
        r = self.rules
        fighting: dict[str, ActionGuess] = {}
        ready = [t for t, m in motions.items() if m is not None and m.speed < r.run_speed]
        for a, b in combinations(ready, 2):
            if _far_apart(histories[a], histories[b], motions[a].scale, motions[b].scale, 2 * r.fight_max_distance):
                continue
            pair = pair_motion(histories[a], histories[b], self.window.min_keypoint_score, r.fight_max_distance,
                               r.fight_min_wrist_score, r.fight_limb_speed)
            if (pair is None or pair.frames < self.window.min_frames or pair.close_fraction < r.fight_min_fraction
                    or pair.close_seconds < r.fight_min_seconds):
                continue
            limbs = sum(pair.wrist_motion) / 2
            if (limbs < r.fight_limb_speed or max(pair.arm_extension) < r.fight_min_arm_extension
                    or pair.fast_frames < r.fight_min_fast_frames):
                continue
            guess = ActionGuess("fighting", _confidence(limbs, r.fight_limb_speed, r.fight_limb_speed))
            for track_id in (a, b):
                if fighting.get(track_id, ActionGuess("", 0.0)).confidence < guess.confidence:
                    fighting[track_id] = guess
        return fighting
