"""Keypoint histories of body tracks and the scale-free quantities actions are judged on.

Every length is divided by the person's torso length (shoulder centre to hip centre,
the window's median), every speed is in torso lengths per second and every angle is
measured from vertical, so a person far from the camera and one close to it, anywhere
in the frame, give the same numbers.
"""

from __future__ import annotations

import warnings
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from workers.action.skeleton import ANKLES, HIPS, KNEES, NUM_KEYPOINTS, SHOULDERS, WRISTS


@dataclass
class TrackHistory:
    """One track's observations in time order: what windows, rules and models read."""

    times: np.ndarray
    """(N,) capture times in seconds."""
    keypoints: np.ndarray
    """(N, 17, 3) x, y in pixels and a score."""
    boxes: np.ndarray
    """(N, 4) person boxes in pixels."""

    def __len__(self) -> int:
        return len(self.times)

    def between(self, t_start: float, t_end: float) -> TrackHistory:
        keep = (self.times >= t_start) & (self.times <= t_end)
        return TrackHistory(self.times[keep], self.keypoints[keep], self.boxes[keep])


class TrackWindow:
    """The last ``seconds`` of one live track (what the worker keeps per track)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._items: deque[tuple[float, np.ndarray, np.ndarray]] = deque()

    def add(self, t: float, keypoints: np.ndarray, box: np.ndarray) -> None:
        if self._items and t <= self._items[-1][0]:
            return
        self._items.append((float(t), np.asarray(keypoints, np.float32), np.asarray(box, np.float32)))
        while self._items and self._items[0][0] < t - self.seconds:
            self._items.popleft()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def span(self) -> tuple[float, float]:
        return (self._items[0][0], self._items[-1][0]) if self._items else (0.0, 0.0)

    def history(self) -> TrackHistory:
        if not self._items:
            return TrackHistory(np.zeros(0), np.zeros((0, NUM_KEYPOINTS, 3), np.float32), np.zeros((0, 4), np.float32))
        times, keypoints, boxes = zip(*self._items)
        return TrackHistory(np.array(times), np.stack(keypoints), np.stack(boxes))


def visible_xy(keypoints: np.ndarray, min_score: float) -> np.ndarray:
    """(..., 17, 2) coordinates with NaN where the keypoint's score is below ``min_score``."""
    xy = keypoints[..., :2].astype(np.float64)
    return np.where(keypoints[..., 2:3] >= min_score, xy, np.nan)


def _mean_of(xy: np.ndarray, indexes: tuple[int, ...]) -> np.ndarray:
    with np.errstate(invalid="ignore"), _quiet():
        return np.nanmean(xy[..., indexes, :], axis=-2)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence numpy's warnings about all-NaN slices: NaN is the intended answer there."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def hip_centres(xy: np.ndarray) -> np.ndarray:
    """(N, 2) hip centre per frame; the shoulder centre, then all points, when the hips are unseen."""
    centre = _mean_of(xy, HIPS)
    missing = np.isnan(centre[..., 0])
    if missing.any():
        fallback = _mean_of(xy, SHOULDERS)
        centre[missing] = fallback[missing]
        missing = np.isnan(centre[..., 0])
        if missing.any():
            with _quiet():
                centre[missing] = np.nanmean(xy[missing], axis=-2)
    return centre


def torso_vectors(xy: np.ndarray) -> np.ndarray:
    """(N, 2) hip centre -> shoulder centre per frame (NaN where either is unseen)."""
    return _mean_of(xy, SHOULDERS) - _mean_of(xy, HIPS)


def body_scale(xy: np.ndarray) -> float:
    """Median torso length over the frames, in pixels; from the keypoints' height when no
    frame shows a torso (a torso is ~1/3 of a standing person); NaN when nothing is seen."""
    with _quiet():
        lengths = np.linalg.norm(torso_vectors(xy), axis=-1)
        if np.isfinite(lengths).any():
            return float(np.nanmedian(lengths))
        heights = np.nanmax(xy[..., 1], axis=-1) - np.nanmin(xy[..., 1], axis=-1)
        if np.isfinite(heights).any() and np.nanmedian(heights) > 0:
            return float(np.nanmedian(heights) / 3.0)
    return float("nan")


def torso_angles(xy: np.ndarray) -> np.ndarray:
    """(N,) degrees between the torso (hips -> shoulders) and straight up: 0 upright, 90 horizontal."""
    vectors = torso_vectors(xy)
    length = np.linalg.norm(vectors, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cosine = -vectors[..., 1] / length
    return np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0)))


def smooth(xy: np.ndarray) -> np.ndarray:
    """Median of each point over 3 neighbouring frames: pose jitter is not motion."""
    if len(xy) < 3:
        return xy
    stacked = np.stack([np.concatenate([xy[:1], xy[:-1]]), xy, np.concatenate([xy[1:], xy[-1:]])])
    with _quiet():
        return np.nanmedian(stacked, axis=0)


def relative_speed(xy: np.ndarray, times: np.ndarray, points: tuple[int, ...], scale: float) -> np.ndarray:
    """(N-1,) mean speed of ``points`` relative to the hip centre between frames, in torso lengths/s."""
    if len(xy) < 2:
        return np.zeros(0)
    relative = xy[:, points, :] - hip_centres(xy)[:, None, :]
    dt = np.diff(times)
    with _quiet():
        step = np.linalg.norm(np.diff(relative, axis=0), axis=-1)
        speed = np.nanmean(step, axis=-1) / np.where(dt > 0, dt, np.nan) / scale
    return speed


def arm_extension_range(xy: np.ndarray, scale: float) -> float:
    """How much an arm straightens and bends over the window: the spread (90th minus 10th
    percentile) of the wrist-to-shoulder distance in torso lengths, the larger of the two
    arms. A punch opens and closes the arm; a walking swing keeps it straight; jitter
    moves both ends at random."""
    distances = np.linalg.norm(xy[:, WRISTS, :] - xy[:, SHOULDERS, :], axis=-1) / scale
    spreads = []
    for arm in range(distances.shape[1]):
        seen = distances[:, arm][np.isfinite(distances[:, arm])]
        if len(seen) >= 3:
            spreads.append(float(np.percentile(seen, 90) - np.percentile(seen, 10)))
    return max(spreads) if spreads else 0.0


def strict_wrists(keypoints: np.ndarray, min_score: float, wrist_min_score: float) -> np.ndarray:
    """``visible_xy`` with the wrists held to a stricter score: wrists are the points pose
    models guess most on small people, and fast-limb rules must not read their jitter."""
    xy = visible_xy(keypoints, min_score)
    weak = keypoints[:, WRISTS, 2] < wrist_min_score
    wrists = xy[:, WRISTS, :]
    wrists[weak] = np.nan
    xy[:, WRISTS, :] = wrists
    return xy


def travel_speed(centres: np.ndarray, times: np.ndarray, scale: float) -> float:
    """Speed of the hip centre over the window (torso lengths/s), from the mean position of
    its first and last thirds, so one bad frame cannot fake a step."""
    seen = np.isfinite(centres[:, 0])
    if seen.sum() < 2:
        return 0.0
    centres, times = centres[seen], times[seen]
    third = max(1, len(times) // 3)
    start, end = centres[:third].mean(axis=0), centres[-third:].mean(axis=0)
    dt = times[-third:].mean() - times[:third].mean()
    if dt <= 0:
        return 0.0
    return float(np.linalg.norm(end - start) / dt / scale)


@dataclass
class BodyMotion:
    """The scale-free summary of one track's window that the rules read."""

    frames: int
    seconds: float
    scale: float
    speed: float
    """Hip travel, torso lengths/s."""
    leg_motion: float
    """Median ankle speed relative to the hips, torso lengths/s."""
    wrist_motion: float
    """Wrist speed relative to the hips (torso lengths/s), the 75th percentile over the frames,
    unsmoothed: a punch lasts two or three frames at 10 fps and is followed by a slower
    retraction; a median (or a median filter) would erase it."""
    torso_angle: float
    """Now, degrees from vertical."""
    thigh_drop: float
    """Now, knees below hips in torso lengths (NaN when the knees are unseen)."""
    fall_drop: float
    """Largest hip drop (torso lengths) that came with a large enough turn of the torso towards
    horizontal within the fall interval; 0 when there was none."""
    fall_turn: float
    """The torso turn (degrees) of that drop."""


def _recent(values: np.ndarray, count: int = 3) -> float:
    tail = values[-count:]
    tail = tail[np.isfinite(tail)]
    return float(np.median(tail)) if len(tail) else float("nan")


def body_motion(history: TrackHistory, min_score: float, fall_max_seconds: float = 1.5, fall_end_angle: float = 45.0,
                fall_min_turn: float = 40.0) -> BodyMotion | None:
    """The motion summary of a history, or None when no body scale can be measured."""
    raw = visible_xy(history.keypoints, min_score)
    xy = smooth(raw)
    scale = body_scale(xy)
    if not np.isfinite(scale) or scale <= 0:
        return None
    times = history.times
    centres = hip_centres(xy)
    angles = torso_angles(xy)
    with _quiet():
        leg = relative_speed(xy, times, ANKLES, scale)
        wrist = relative_speed(raw, times, WRISTS, scale)
        knees_below = (_mean_of(xy, KNEES)[:, 1] - _mean_of(xy, HIPS)[:, 1]) / scale
        leg_motion = float(np.nanmedian(leg)) if np.isfinite(leg).any() else 0.0
        wrist_motion = float(np.nanpercentile(wrist, 75)) if np.isfinite(wrist).any() else 0.0
    fall_drop, fall_turn = _largest_fall(centres[:, 1] / scale, angles, times, fall_max_seconds, fall_end_angle,
                                         fall_min_turn)
    return BodyMotion(len(times), float(times[-1] - times[0]) if len(times) else 0.0, scale,
                      travel_speed(centres, times, scale), leg_motion, wrist_motion, _recent(angles),
                      _recent(knees_below), fall_drop, fall_turn)


def _largest_fall(heights: np.ndarray, angles: np.ndarray, times: np.ndarray, max_seconds: float,
                  end_angle: float, min_turn: float) -> tuple[float, float]:
    """The largest downward hip move (image y grows downwards) from an earlier frame to a later
    one at most ``max_seconds`` after it, during which the torso turned at least ``min_turn``
    degrees and ended beyond ``end_angle``."""
    best_drop, best_turn = 0.0, 0.0
    for j in range(1, len(times)):
        if not (np.isfinite(angles[j]) and angles[j] >= end_angle and np.isfinite(heights[j])):
            continue
        earlier = (times[:j] >= times[j] - max_seconds) & np.isfinite(heights[:j]) & np.isfinite(angles[:j])
        earlier &= angles[j] - np.nan_to_num(angles[:j], nan=180.0) >= min_turn
        if not earlier.any():
            continue
        drops = heights[j] - heights[:j][earlier]
        turns = angles[j] - angles[:j][earlier]
        i = int(np.argmax(drops))
        if drops[i] > best_drop:
            best_drop, best_turn = float(drops[i]), float(turns[i])
    return best_drop, best_turn


def normalised_pose(xy: np.ndarray, scale: float) -> np.ndarray:
    """(N, 17, 2) keypoints relative to each frame's hip centre, in torso lengths (NaN unseen)."""
    return (xy - hip_centres(xy)[:, None, :]) / scale
