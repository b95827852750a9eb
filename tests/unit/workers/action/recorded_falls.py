"""Fall sequences recorded by hand from a REAL pose: a standing pedestrian's 17 keypoints, as
MoveNet finds them in a frame of OpenCV's vtest street video, moved along a fall trajectory
(no real fall footage was found on the package registries). Each sequence is the pose of
every pose pass, at a given rate; ``RecordedPoses`` replays one through the action stage.

- ``topple``: the body turns rigidly about the ankles from upright to horizontal with the
  acceleration of a falling rod (angle ~ t²) over ``fall_s``, then lies still;
- ``collapse``: the knees give first (the body above them sinks by 0.4 torso lengths), then
  the bent body topples the other way about the ankles and lies still;
- ``sit_down``: the hips sink by 0.8 torso lengths over 1.5 s with the thighs turning to
  horizontal and the trunk upright (a near miss: no fall, no lying);
- ``stand``: the pose does not move.

Keypoint jitter (1.5% of the body height, seeded) stands in for the pose model's noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workers.action.pose import PersonPose
from workers.action.skeleton import ANKLES, HIPS, KNEES, SHOULDERS

FRAME = (768, 576)
"""(width, height) of the frames the sequences are drawn in (vtest's size)."""
STREET_FRAME = 210
"""A vtest frame where MoveNet scores a pedestrian's 12 body keypoints all above 0.6."""


@dataclass
class Sequence:
    name: str
    fps: float
    poses: list[np.ndarray]
    """(17, 3) keypoints per pose pass."""
    fall_starts: float | None = None
    """Seconds from the start to the first frame of the fall (None: no fall)."""
    lying_from: float | None = None
    """Seconds from the start after which the body lies still."""


def street_pose(street_video, movenet) -> np.ndarray:
    """The clearest pedestrian of vtest's frame ``STREET_FRAME`` as MoveNet finds it, placed by ``place``."""
    import cv2

    from tests.unit.workers.action.conftest import read_frames

    (bgr,) = read_frames(street_video, STREET_FRAME, 1)
    best = max(movenet.estimate(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), key=lambda p: float(p.keypoints[5:, 2].min()))
    assert best.keypoints[5:, 2].min() > 0.5, "the street frame no longer gives a clear pedestrian"
    return place(best.keypoints)


def _rotate(points: np.ndarray, centre: np.ndarray, degrees: float) -> np.ndarray:
    """Turn (N, 2) image points about ``centre``; positive: the head goes right (y is down)."""
    a = np.radians(degrees)
    rotation = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]])
    return (points - centre) @ rotation.T + centre


def box_of(keypoints: np.ndarray) -> np.ndarray:
    seen = keypoints[keypoints[:, 2] > 0.1, :2]
    (x1, y1), (x2, y2) = seen.min(axis=0), seen.max(axis=0)
    pad = 0.08 * max(x2 - x1, y2 - y1)
    return np.array([x1 - pad, y1 - pad, x2 + pad, y2 + pad], np.float32)


def place(pose: np.ndarray, height_px: float = 220.0) -> np.ndarray:
    """The real pose scaled to ``height_px`` from nose to ankles, ankles at 80% of the frame
    height and 30% of its width, so that the whole fall stays in the frame."""
    pose = pose.astype(np.float64).copy()
    ankles = pose[list(ANKLES), :2].mean(axis=0)
    top = pose[0, 1]
    scale = height_px / max(ankles[1] - top, 1.0)
    pose[:, :2] = (pose[:, :2] - ankles) * scale + np.array([0.3 * FRAME[0], 0.8 * FRAME[1]])
    return pose


def _torso(pose: np.ndarray) -> float:
    return float(np.linalg.norm(pose[list(SHOULDERS), :2].mean(axis=0) - pose[list(HIPS), :2].mean(axis=0)))


def _jitter(poses: list[np.ndarray], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for pose in poses:
        noisy = pose.copy()
        height = np.ptp(pose[:, 1]) if np.ptp(pose[:, 1]) > np.ptp(pose[:, 0]) else np.ptp(pose[:, 0])
        noisy[:, :2] += rng.normal(0.0, 0.015 * height, size=(len(pose), 2))
        out.append(noisy)
    return out


def _timeline(fps: float, before_s: float, motion_s: float, after_s: float):
    """(t, progress 0..1 of the motion) for every pose pass."""
    n = int(round((before_s + motion_s + after_s) * fps))
    for i in range(n):
        t = i / fps
        yield t, float(np.clip((t - before_s) / motion_s, 0.0, 1.0))


def topple(pose: np.ndarray, fps: float, fall_s: float = 0.8, before_s: float = 2.0, after_s: float = 14.0,
           seed: int = 0) -> Sequence:
    centre = pose[list(ANKLES), :2].mean(axis=0)
    poses = []
    for _, p in _timeline(fps, before_s, fall_s, after_s):
        moved = pose.copy()
        moved[:, :2] = _rotate(pose[:, :2], centre, 90.0 * p * p)
        poses.append(moved)
    return Sequence("topple", fps, _jitter(poses, seed), before_s, before_s + fall_s)


def collapse(pose: np.ndarray, fps: float, fall_s: float = 1.0, before_s: float = 2.0, after_s: float = 14.0,
             seed: int = 1) -> Sequence:
    torso = _torso(pose)
    above_knees = [i for i in range(len(pose)) if i not in (*KNEES, *ANKLES)]
    centre = pose[list(ANKLES), :2].mean(axis=0)
    poses = []
    for _, p in _timeline(fps, before_s, fall_s, after_s):
        sink, turn = min(1.0, p / 0.4), max(0.0, (p - 0.4) / 0.6)
        moved = pose.copy()
        moved[above_knees, 1] += 0.4 * torso * sink
        moved[list(KNEES), 0] += 0.2 * torso * sink  # the knees bend forward
        moved[:, :2] = _rotate(moved[:, :2], centre, -90.0 * turn * turn)
        poses.append(moved)
    return Sequence("collapse", fps, _jitter(poses, seed), before_s, before_s + fall_s)


def sit_down(pose: np.ndarray, fps: float, motion_s: float = 1.5, before_s: float = 2.0, after_s: float = 14.0,
             seed: int = 2) -> Sequence:
    torso = _torso(pose)
    poses = []
    for _, p in _timeline(fps, before_s, motion_s, after_s):
        moved = pose.copy()
        knees = pose[list(KNEES), :2]
        hips = pose[list(HIPS), :2]
        new_hips = hips + np.array([-0.8 * torso * p, 0.8 * torso * p])[None, :] * np.array([[0.6, 1.0]])
        moved[list(HIPS), :2] = new_hips
        upper = [i for i in range(len(pose)) if i not in (*HIPS, *KNEES, *ANKLES)]
        moved[upper, :2] += (new_hips - hips).mean(axis=0)
        moved[list(KNEES), :2] = knees
        poses.append(moved)
    return Sequence("sit_down", fps, _jitter(poses, seed))


def stand(pose: np.ndarray, fps: float, seconds: float = 18.0, seed: int = 3) -> Sequence:
    return Sequence("stand", fps, _jitter([pose.copy() for _ in range(int(seconds * fps))], seed))


class RecordedPoses:
    """A pose estimator that answers the n-th call with the n-th pose of a sequence."""

    name = "recorded"

    def __init__(self, sequence: Sequence) -> None:
        self.sequence = sequence
        self.calls = 0

    def estimate(self, rgb: np.ndarray, scene: str | None = None) -> list[PersonPose]:
        pose = self.sequence.poses[min(self.calls, len(self.sequence.poses) - 1)]
        self.calls += 1
        return [PersonPose(box_of(pose), 0.8, pose.astype(np.float32))]
