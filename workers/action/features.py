"""Fixed-size, scale-free sequences for the trainable model: one (steps, 55) array per track
window, the same whether it comes from a live camera or from a training clip.

Per step: the 17 keypoints relative to the hip centre in torso lengths (34), whether each
was seen (17), the hip centre relative to its position at the window's end in torso
lengths (2: travel), the distance to the nearest other person (1, in units of
``NO_NEIGHBOUR_DISTANCE``) and that person's wrist speed (1, /10 torso lengths/s). Steps
are evenly spaced over the window's seconds, so clips at 10, 25 or 30 fps look alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from workers.action.interaction import NO_NEIGHBOUR_DISTANCE, neighbour_series
from workers.action.keypoints import TrackHistory, body_scale, hip_centres, normalised_pose, visible_xy
from workers.action.skeleton import KEYPOINT_NAMES, NUM_KEYPOINTS

FEATURE_VERSION = 1
FEATURES_PER_STEP = NUM_KEYPOINTS * 2 + NUM_KEYPOINTS + 2 + 2

_MIRROR = [KEYPOINT_NAMES.index(n.replace("left", "@").replace("right", "left").replace("@", "right"))
           for n in KEYPOINT_NAMES]


@dataclass(frozen=True)
class SequenceSpec:
    steps: int = 20
    seconds: float = 2.0
    min_keypoint_score: float = 0.25
    feature_version: int = FEATURE_VERSION

    def to_dict(self) -> dict:
        return asdict(self)


def sequence(history: TrackHistory, neighbours: np.ndarray, spec: SequenceSpec) -> np.ndarray | None:
    """The (steps, 55) sequence of the window ending at the history's last frame; None when
    no body scale can be measured."""
    if len(history) == 0:
        return None
    xy = visible_xy(history.keypoints, spec.min_keypoint_score)
    scale = body_scale(xy)
    if not np.isfinite(scale) or scale <= 0:
        return None
    pose = np.nan_to_num(normalised_pose(xy, scale), nan=0.0).reshape(len(history), -1)
    seen = (history.keypoints[:, :, 2] >= spec.min_keypoint_score).astype(np.float32)
    centres = _hold(hip_centres(xy)) / scale
    travel = np.nan_to_num(centres - centres[-1], nan=0.0)
    near = np.stack([neighbours[:, 0] / NO_NEIGHBOUR_DISTANCE, neighbours[:, 1] / 10.0], axis=1)
    frames = np.concatenate([pose, seen, travel, near], axis=1).astype(np.float32)

    t_end = history.times[-1]
    targets = t_end - spec.seconds + spec.seconds * np.arange(1, spec.steps + 1) / spec.steps
    index = np.searchsorted(history.times, targets + 1e-6, side="right") - 1
    return frames[np.clip(index, 0, len(history) - 1)]


def track_sequence(history: TrackHistory, others: list[TrackHistory], spec: SequenceSpec) -> np.ndarray | None:
    """``sequence`` of a track window, with the neighbour series computed from ``others``."""
    window = history.between(history.times[-1] - spec.seconds, history.times[-1]) if len(history) else history
    return sequence(window, neighbour_series(window, others, spec.min_keypoint_score), spec)


def mirror(sequences: np.ndarray) -> np.ndarray:
    """Left-right mirror of (..., steps, 55) sequences: x negated, left and right swapped."""
    out = sequences.copy()
    pose = out[..., :NUM_KEYPOINTS * 2].reshape(*out.shape[:-1], NUM_KEYPOINTS, 2)[..., _MIRROR, :]
    pose[..., 0] *= -1
    out[..., :NUM_KEYPOINTS * 2] = pose.reshape(*out.shape[:-1], -1)
    seen = out[..., NUM_KEYPOINTS * 2:NUM_KEYPOINTS * 3]
    out[..., NUM_KEYPOINTS * 2:NUM_KEYPOINTS * 3] = seen[..., _MIRROR]
    out[..., NUM_KEYPOINTS * 3] *= -1
    return out


def _hold(values: np.ndarray) -> np.ndarray:
    """Fill NaN rows with the last seen row (the first seen row before any)."""
    values = values.copy()
    seen = np.flatnonzero(np.isfinite(values[:, 0]))
    if len(seen) == 0:
        return values
    index = np.maximum.accumulate(np.where(np.isfinite(values[:, 0]), np.arange(len(values)), -1))
    index[index < 0] = seen[0]
    return values[index]
