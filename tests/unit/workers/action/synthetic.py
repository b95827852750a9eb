"""GENERATED keypoint sequences of each action, for tests (no real footage shows a fall or a
fight on demand). A simple kinematic body in torso units (hip centre at 0, image y down,
torso length 1): legs and arms swing by phase, the torso turns and drops for a fall, two
bodies face each other and punch for a fight. ``scale`` (px per torso length) and
``origin`` (px) place it in an image; ``noise`` is keypoint jitter in torso lengths.
"""

from __future__ import annotations

import math

import numpy as np

from workers.action.keypoints import TrackHistory
from workers.action.skeleton import K

ACTIONS = ("standing", "walking", "running", "sitting", "lying", "falling", "fighting")

THIGH = 0.9
SHIN = 0.9
UPPER_ARM = 0.55
FOREARM = 0.5


def _at(angle_deg: float, length: float) -> np.ndarray:
    """A limb vector hanging ``angle_deg`` from straight down (positive: forward, +x)."""
    a = math.radians(angle_deg)
    return np.array([math.sin(a), math.cos(a)]) * length


def _body(thighs: tuple[float, float], knees: tuple[float, float], arms: tuple[float, float],
          elbows: tuple[float, float], lean: float = 0.0, width: float = 0.15, facing: int = 1) -> np.ndarray:
    """(17, 2) joints for limb angles in degrees (left, right); ``lean`` tilts the torso forward."""
    points = np.zeros((17, 2))
    shoulder_centre = _at(180 - lean, 1.0)
    for side, sign in (("left", -1), ("right", 1)):
        i = 0 if side == "left" else 1
        hip = np.array([sign * width, 0.0])
        knee = hip + _at(thighs[i], THIGH)
        ankle = knee + _at(thighs[i] - knees[i], SHIN)
        shoulder = shoulder_centre + np.array([sign * width * 1.5, 0.0])
        elbow = shoulder + _at(arms[i], UPPER_ARM)
        wrist = elbow + _at(arms[i] + elbows[i], FOREARM)
        for name, value in (("hip", hip), ("knee", knee), ("ankle", ankle), ("shoulder", shoulder), ("elbow", elbow),
                            ("wrist", wrist)):
            points[K[f"{side}_{name}"]] = value
    head = shoulder_centre + _at(180 - lean, 0.45)
    points[K["nose"]] = head + np.array([0.08, 0.0])
    points[K["left_eye"]] = head + np.array([0.02, -0.06])
    points[K["right_eye"]] = head + np.array([0.12, -0.06])
    points[K["left_ear"]] = head + np.array([-0.12, -0.02])
    points[K["right_ear"]] = head + np.array([0.1, -0.02])
    points[:, 0] *= facing
    return points


def _rotate(points: np.ndarray, degrees: float) -> np.ndarray:
    a = math.radians(degrees)
    rotation = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return points @ rotation.T


STAND = dict(thighs=(0.0, 0.0), knees=(0.0, 0.0), arms=(5.0, -5.0), elbows=(5.0, 5.0))


def _pose_at(action: str, t: float, rng: np.random.Generator, facing: int, fall_start: float,
             partner: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(joints (17, 2), hip centre offset (2,)) of one person at time ``t``, in torso units."""
    if action == "standing":
        sway = 0.03 * math.sin(2 * math.pi * 0.3 * t)
        return _body(**STAND, facing=facing), np.array([sway, 0.0])
    if action in ("walking", "running"):
        running = action == "running"
        speed, cadence = (7.5, 2.8) if running else (2.5, 1.7)
        swing, arm_swing = (40.0, 45.0) if running else (25.0, 20.0)
        phase = 2 * math.pi * cadence * t / 2
        s = math.sin(phase)
        thighs = (swing * s, -swing * s)
        knees = (max(0.0, -60 * math.cos(phase)) + (30 if running else 5), max(0.0, 60 * math.cos(phase)) + (30 if running else 5))
        arms = (-arm_swing * s, arm_swing * s)
        elbows = (90.0, 90.0) if running else (15.0, 15.0)
        bounce = (0.08 if running else 0.03) * abs(math.cos(phase))
        body = _body(thighs, knees, arms, elbows, lean=10.0 if running else 3.0, facing=facing)
        return body, np.array([facing * speed * t, -bounce])
    if action == "sitting":
        body = _body(thighs=(85.0, 88.0), knees=(85.0, 88.0), arms=(20.0, 25.0), elbows=(60.0, 60.0), facing=facing)
        return body, np.array([0.02 * math.sin(t), 0.0])
    if action == "lying":
        body = _rotate(_body(**STAND, facing=1), 90.0 * facing)
        return body, np.array([0.0, 1.55])
    if action == "falling":
        progress = min(1.0, max(0.0, (t - fall_start) / 0.6))
        eased = progress * progress
        body = _rotate(_body(**STAND, facing=1), 90.0 * facing * eased)
        return body, np.array([0.3 * facing * eased, 1.55 * eased])
    if action == "fighting":
        arms, elbows = [], []
        for hand in (0, 1):
            cycle = (2.0 * t + 0.5 * hand + 0.3 * partner) % 1.0
            reach = cycle / 0.2 if cycle < 0.2 else max(0.0, 1.0 - (cycle - 0.2) / 0.4)
            arms.append(40.0 + 55.0 * reach)
            elbows.append(-130.0 * (1.0 - reach))
        body = _body(thighs=(15.0, -10.0), knees=(10.0, 10.0), arms=tuple(arms), elbows=tuple(elbows), lean=8.0,
                     facing=facing)
        return body, np.array([0.1 * math.sin(2 * math.pi * 1.3 * t + partner), 0.0])
    raise ValueError(f"no generator for {action!r}")


def action_sequence(action: str, fps: float = 10.0, seconds: float = 2.0, scale: float = 40.0,
                    origin: tuple[float, float] = (320.0, 240.0), seed: int = 0, noise: float = 0.02,
                    facing: int = 1, t0: float = 1000.0, fall_start: float | None = None,
                    fight_gap: float = 1.1) -> list[TrackHistory]:
    """One history per person (two for fighting, ``fight_gap`` torso lengths either side of
    ``origin``) of a GENERATED ``action`` clip, in pixels."""
    rng = np.random.default_rng(seed)
    times = t0 + np.arange(int(round(seconds * fps))) / fps
    fall_start = seconds * 0.3 if fall_start is None else fall_start
    people = [(facing, np.zeros(2), 0)]
    if action == "fighting":
        people = [(1, np.array([-fight_gap, 0.0]), 0), (-1, np.array([fight_gap, 0.0]), 1)]
    histories = []
    for person_facing, offset, partner in people:
        keypoints = np.zeros((len(times), 17, 3), np.float32)
        for n, t in enumerate(times):
            joints, centre = _pose_at(action, float(t - t0), rng, person_facing, fall_start, partner)
            joints = joints + centre + offset + rng.normal(0.0, noise, joints.shape)
            keypoints[n, :, :2] = np.asarray(origin) + scale * joints
            keypoints[n, :, 2] = rng.uniform(0.6, 0.95, 17)
        xy = keypoints[..., :2]
        boxes = np.concatenate([xy.min(axis=1), xy.max(axis=1)], axis=1)
        histories.append(TrackHistory(times.copy(), keypoints, boxes.astype(np.float32)))
    return histories


def labelled_histories(action: str, **kwargs: object) -> dict[str, TrackHistory]:
    return {f"{action}-{i}": h for i, h in enumerate(action_sequence(action, **kwargs))}
