"""How two body tracks move relative to each other: closeness and limb motion over the
frames both were seen in (matched by capture time). Fighting is judged on this.

Positions are not smoothed here: a punch lasts two or three frames at 10 fps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workers.action.keypoints import (
    TrackHistory,
    arm_extension_range,
    body_scale,
    hip_centres,
    relative_speed,
    strict_wrists,
    visible_xy,
)
from workers.action.skeleton import WRISTS

NO_NEIGHBOUR_DISTANCE = 6.0
"""Distance (torso lengths) that stands for 'nobody near' in the per-frame neighbour series."""
_MAX_LIMB_SPEED = 20.0


@dataclass
class PairMotion:
    frames: int
    """Frames both tracks were seen in."""
    close_fraction: float
    """Share of those frames with the hips at most the given distance apart."""
    distance: float
    """Median hip distance, in the pair's mean torso length."""
    wrist_motion: tuple[float, float]
    """Wrist speed relative to the own hips (torso lengths/s, 75th percentile over the common
    frames) of each."""
    arm_extension: tuple[float, float]
    """How much each one's arms straightened and bent (``arm_extension_range``)."""
    close_seconds: float
    """Time the two were close (frames within the distance times the frame interval)."""
    fast_frames: int
    """Frames in which a wrist of either moved faster than ``fast_speed``: one handshake or
    one reach is a frame or two, a fight is many."""


def _common(a: TrackHistory, b: TrackHistory) -> tuple[np.ndarray, np.ndarray]:
    _, ia, ib = np.intersect1d(np.round(a.times, 4), np.round(b.times, 4), return_indices=True)
    return ia, ib


def pair_motion(a: TrackHistory, b: TrackHistory, min_score: float, max_distance: float,
                wrist_min_score: float | None = None, fast_speed: float = float("inf")) -> PairMotion | None:
    ia, ib = _common(a, b)
    if len(ia) < 2:
        return None
    wrist_min_score = min_score if wrist_min_score is None else max(min_score, wrist_min_score)
    xa = strict_wrists(a.keypoints[ia], min_score, wrist_min_score)
    xb = strict_wrists(b.keypoints[ib], min_score, wrist_min_score)
    scale_a, scale_b = body_scale(xa), body_scale(xb)
    if not (np.isfinite(scale_a) and np.isfinite(scale_b)):
        return None
    scale = (scale_a + scale_b) / 2
    distances = np.linalg.norm(hip_centres(xa) - hip_centres(xb), axis=-1) / scale
    seen = np.isfinite(distances)
    if not seen.any():
        return None
    times = a.times[ia]
    wrists, arms, speeds = [], [], []
    for xy, own_scale in ((xa, scale_a), (xb, scale_b)):
        speed = relative_speed(xy, times, WRISTS, own_scale)
        speeds.append(np.nan_to_num(speed, nan=0.0))
        wrists.append(float(np.nanpercentile(speed, 75)) if np.isfinite(speed).any() else 0.0)
        arms.append(arm_extension_range(xy, own_scale))
    close = seen & (distances <= max_distance)
    close_seconds = float(close.sum() * np.median(np.diff(times)))
    fast_frames = int(np.sum(np.maximum(speeds[0], speeds[1]) >= fast_speed))
    return PairMotion(len(ia), float(np.mean(close[seen])), float(np.median(distances[seen])),
                      (wrists[0], wrists[1]), (arms[0], arms[1]), close_seconds, fast_frames)


def neighbour_series(target: TrackHistory, others: list[TrackHistory], min_score: float) -> np.ndarray:
    """(N, 2) per frame of ``target``: distance to the nearest other person (torso lengths of
    ``target``, ``NO_NEIGHBOUR_DISTANCE`` when nobody is near) and that person's wrist speed
    relative to their hips (torso lengths/s, 0 when nobody is near)."""
    series = np.zeros((len(target), 2), np.float32)
    series[:, 0] = NO_NEIGHBOUR_DISTANCE
    xy = visible_xy(target.keypoints, min_score)
    scale = body_scale(xy)
    if not np.isfinite(scale) or not others:
        return series
    centres = hip_centres(xy)
    for other in others:
        it, io = _common(target, other)
        if len(it) == 0:
            continue
        other_xy = visible_xy(other.keypoints[io], min_score)
        other_scale = body_scale(other_xy)
        if not np.isfinite(other_scale):
            continue
        distance = np.linalg.norm(hip_centres(other_xy) - centres[it], axis=-1) / scale
        speed = relative_speed(other_xy, other.times[io], WRISTS, other_scale)
        speed = np.concatenate([speed[:1], speed]) if len(speed) else np.zeros(len(io))
        nearer = np.isfinite(distance) & (distance < series[it, 0])
        series[it[nearer], 0] = distance[nearer]
        series[it[nearer], 1] = np.clip(np.nan_to_num(speed[nearer]), 0, _MAX_LIMB_SPEED)
    series[:, 0] = np.minimum(series[:, 0], NO_NEIGHBOUR_DISTANCE)
    return series
