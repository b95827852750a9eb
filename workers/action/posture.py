"""Posture from one pose: standing, sitting or lying judged from a single frame's keypoints.

Used where there is no window to judge from: every photo of an image folder, and a track
whose window is still too short for the temporal labels (walking, running, falling,
fighting). Lengths are in torso lengths (shoulder centre to hip centre), angles in degrees
from vertical, as in the rules.

- lying: the torso is near horizontal (``rules.lying_angle``), or 15 degrees short of it in a
  box much wider than tall; unless the thighs hang straight down below the hips (bending over).
- sitting: the knees are at most ``rules.sit_max_thigh_drop`` below the hips (the thighs are
  near horizontal) with the torso short of lying.
- standing: the knees are far below the hips (``stand_min_thigh_drop``), the thighs near
  vertical, and, when the ankles are seen, the knees nearly straight (not kneeling); a torso
  bent over on such legs is still standing.
- unknown: the shoulders, the hips or the knees are not seen (a photo cut at the waist), or
  the legs are between sitting and standing.

Where no knee is seen (close-up photos: seated knees score 0.05-0.2, standing legs run off the
frame's bottom), knees scored at least 0.08 count when their geometry can only be a leg
(``_weak_legs``). The label needs both legs to count and agree (one weak knee alone was a
hand on a shop counter or a coat's hem in CCTV frames), under a torso short of 45 degrees,
and is never more confident than 0.7:

- a knee on the frame's bottom edge is at or below that edge: the frame gives a lower bound on
  the thigh drop. A bound past ``stand_min_thigh_drop`` on a near-vertical thigh is a standing
  leg (a seated person's knees are at most ``sit_max_thigh_drop`` below the hips: they would
  be in view). Hips near the edge give no bound worth having: unknown, not sitting. An edge
  more than 1.5 torso lengths below the hips would have the knee in view: a guess, ignored.
- a weak knee inside the frame counts only where the thigh it draws is 0.4-1.5 torso lengths
  long (a knee on the hip is the model's guess), and no hand or elbow of the person lies on
  it (a wrist at hip height scores as a knee of a standing person); then the same sitting and
  standing thresholds apply.
"""

from __future__ import annotations

import numpy as np

from workers.action.classifier import POSTURE, UNKNOWN, ActionGuess
from workers.action.config import PostureConfig, RulesConfig
from workers.action.skeleton import ANKLES, HIPS, KNEES, SHOULDERS, WRISTS, K

_LEGS = tuple(zip(HIPS, KNEES, ANKLES))
_LYING_BOX_ASPECT = 1.5
EDGE = 0.015
"""Share of the frame's long side along its border where keypoints count as not seen."""
_WEAK_KNEE_SCORE = 0.08
"""Knees scored from this up to ``min_keypoint_score`` count only by their geometry."""
_THIGH_LENGTHS = (0.4, 1.5)
"""A thigh's image length, in torso lengths, from a weak knee: an adult's thigh is ~0.9 torso
lengths; shorter is foreshortening a knee guess can not be told from."""
_HAND_ON_KNEE = 0.25
"""A weak knee this close (torso lengths) to the person's seen wrist or elbow may be the hand."""
_WEAK_MAX_TORSO_ANGLE = 45.0
_WEAK_MAX_CONFIDENCE = 0.7
_HANDS = (*WRISTS, K["left_elbow"], K["right_elbow"])


def _angle_from_vertical(vector: np.ndarray) -> float:
    """0 pointing down the image, 90 horizontal, 180 pointing up."""
    return float(np.degrees(np.arctan2(abs(vector[0]), vector[1])))


def _joint_angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    """The angle at ``b`` between ``b->a`` and ``b->c`` (180: straight)."""
    u, v = a - b, c - b
    norm = float(np.linalg.norm(u) * np.linalg.norm(v))
    if norm < 1e-6:
        return 180.0
    return float(np.degrees(np.arccos(np.clip(np.dot(u, v) / norm, -1.0, 1.0))))


def _confidence(margin: float, span: float) -> float:
    """0.5 on the threshold, 0.99 at ``span`` past it."""
    return float(min(0.99, max(0.5, 0.5 + 0.49 * margin / span))) if span > 0 else 0.99


def _guess(label: str, confidence: float) -> ActionGuess:
    return ActionGuess(label, round(confidence, 3), POSTURE)


def judge_posture(keypoints: np.ndarray, box: np.ndarray, rules: RulesConfig, config: PostureConfig,
                  frame_size: tuple[int, int] | None = None) -> ActionGuess:
    """Standing, sitting, lying or unknown for one person's (17, 3) keypoints and box.
    ``frame_size`` (width, height): keypoints on the frame's edge count as not seen (where a
    photo cuts a person off, the pose model puts the missing knees on the edge)."""
    keypoints = np.asarray(keypoints, np.float64).reshape(-1, 3)
    inside = np.ones(len(keypoints), bool)
    bottom = None
    if frame_size is not None:
        width, height = frame_size
        margin = EDGE * max(width, height)
        x, y = keypoints[:, 0], keypoints[:, 1]
        inside = (x > margin) & (x < width - margin) & (y > margin) & (y < height - margin)
        bottom = height - margin
    seen = inside & (keypoints[:, 2] >= config.min_keypoint_score)
    shoulders = [keypoints[i, :2] for i in SHOULDERS if seen[i]]
    hips = [keypoints[hip, :2] for hip, _, _ in _LEGS if seen[hip]]
    if not shoulders or not hips:
        return _guess(UNKNOWN, 0.0)
    torso = np.mean(hips, axis=0) - np.mean(shoulders, axis=0)
    scale = float(np.linalg.norm(torso))
    if scale < 1e-3:
        return _guess(UNKNOWN, 0.0)
    torso_angle = _angle_from_vertical(torso)

    thighs = []
    for hip, knee, ankle in _LEGS:
        if not (seen[hip] and seen[knee]):
            continue
        thigh = keypoints[knee, :2] - keypoints[hip, :2]
        bend = _joint_angle(keypoints[hip, :2], keypoints[knee, :2], keypoints[ankle, :2]) if seen[ankle] else None
        thighs.append((thigh[1] / scale, _angle_from_vertical(thigh), bend))
    drop = float(np.mean([t[0] for t in thighs])) if thighs else None
    thigh_angle = float(np.mean([t[1] for t in thighs])) if thighs else None
    bends = [t[2] for t in thighs if t[2] is not None]
    legs_upright = (drop is not None and drop >= config.stand_min_thigh_drop
                    and thigh_angle <= config.stand_max_thigh_angle)

    x1, y1, x2, y2 = (float(v) for v in np.asarray(box).reshape(4))
    wide = (x2 - x1) >= _LYING_BOX_ASPECT * max(y2 - y1, 1e-6)
    if not legs_upright and (torso_angle >= rules.lying_angle or (wide and torso_angle >= rules.lying_angle - 15.0)):
        return _guess("lying", _confidence(torso_angle - rules.lying_angle + 15.0, 90.0 - rules.lying_angle + 15.0))
    if drop is None:
        if torso_angle >= _WEAK_MAX_TORSO_ANGLE:
            return _guess(UNKNOWN, 0.0)
        return _weak_legs(keypoints, seen, inside, bottom, scale, rules, config)
    if drop <= rules.sit_max_thigh_drop and torso_angle < rules.lying_angle:
        return _guess("sitting", _confidence(rules.sit_max_thigh_drop - drop, rules.sit_max_thigh_drop))
    if legs_upright and (not bends or min(bends) >= config.stand_min_knee_angle):
        return _guess("standing", _confidence(drop - config.stand_min_thigh_drop, config.stand_min_thigh_drop))
    return _guess(UNKNOWN, 0.0)


def _weak_legs(keypoints: np.ndarray, seen: np.ndarray, inside: np.ndarray, bottom: float | None, scale: float,
               rules: RulesConfig, config: PostureConfig) -> ActionGuess:
    """Sitting or standing from knees too weak to count alone (see the module docstring), or unknown."""
    hands = [keypoints[i, :2] for i in _HANDS if seen[i]]
    verdicts = []
    for hip, knee, ankle in _LEGS:
        if not seen[hip] or keypoints[knee, 2] < _WEAK_KNEE_SCORE:
            continue
        thigh = keypoints[knee, :2] - keypoints[hip, :2]
        drop, angle = thigh[1] / scale, _angle_from_vertical(thigh)
        upright = drop >= config.stand_min_thigh_drop and angle <= config.stand_max_thigh_angle
        if seen[ankle] and upright:
            upright = _joint_angle(keypoints[hip, :2], keypoints[knee, :2], keypoints[ankle, :2]) \
                >= config.stand_min_knee_angle
        length = float(np.linalg.norm(thigh)) / scale
        if bottom is not None and keypoints[knee, 1] >= bottom:
            if length <= _THIGH_LENGTHS[1]:
                verdicts.append(("standing", drop - config.stand_min_thigh_drop) if upright else (UNKNOWN, 0.0))
            continue
        if not inside[knee]:
            continue
        on_hand = any(np.linalg.norm(keypoints[knee, :2] - hand) / scale < _HAND_ON_KNEE for hand in hands)
        if not _THIGH_LENGTHS[0] <= length <= _THIGH_LENGTHS[1] or on_hand:
            continue
        if drop <= rules.sit_max_thigh_drop:
            verdicts.append(("sitting", rules.sit_max_thigh_drop - drop))
        else:
            verdicts.append(("standing", drop - config.stand_min_thigh_drop) if upright else (UNKNOWN, 0.0))
    labels = {label for label, _ in verdicts}
    if len(verdicts) < len(_LEGS) or len(labels) != 1 or UNKNOWN in labels:
        return _guess(UNKNOWN, 0.0)
    label = labels.pop()
    span = rules.sit_max_thigh_drop if label == "sitting" else config.stand_min_thigh_drop
    margin = min(m for _, m in verdicts)
    return _guess(label, min(_WEAK_MAX_CONFIDENCE, _confidence(margin, span)))
