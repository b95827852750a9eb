"""Per-camera box tracks, shared by the face and action pools: a stable id for each face or
body while it stays in view.

Detections are joined to tracks by optimal assignment (``linear_sum_assignment``) on the
overlap with each track's predicted box (constant velocity), or, when they barely overlap
(fast motion, a low frame rate, small far-away people), on a centre shift of under
``max_shift`` box sizes between boxes of similar size. A box's size is the square root of its
area (faces) or its height (bodies, whose width changes with every stride). Hysteresis keeps
flicker out: a track is born only after ``min_hits`` consecutive detections and dies only
after ``max_misses`` frames without one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

_FORBIDDEN = 1e6
_MAX_SIZE_RATIO = 1.5


@dataclass
class Track:
    track_id: str
    box: np.ndarray
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float64))
    hits: int = 1
    misses: int = 0
    confirmed: bool = False

    def predicted_box(self) -> np.ndarray:
        return self.box + self.velocity * (self.misses + 1)


@dataclass
class TrackUpdate:
    tracks: list[Track]
    """The track of each detection, in detection order (new detections get tentative tracks)."""
    ended: list[Track]
    """Tracks that died in this update; their per-track state can be dropped."""


class BoxTracker:
    """Tracks of one camera. Track ids carry a random token per tracker, so ids from a
    worker that owned the camera before a rebalance never collide with the new ones."""

    size_by = "area"

    def __init__(self, camera: str, min_hits: int = 3, max_misses: int = 10, min_iou: float = 0.2,
                 max_shift: float = 1.0) -> None:
        self.camera = camera
        self.min_hits = min_hits
        self.max_misses = max_misses
        self.min_iou = min_iou
        self.max_shift = max_shift
        self.tracks: list[Track] = []
        self._id_prefix = f"{camera}/{secrets.token_hex(3)}/"
        self._next_id = 1

    @property
    def confirmed(self) -> list[Track]:
        return [t for t in self.tracks if t.confirmed]

    def update(self, boxes: np.ndarray) -> TrackUpdate:
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        pairs = self._associate(boxes)
        assigned: list[Track | None] = [None] * len(boxes)
        matched_tracks = set()
        for track_index, det_index in pairs:
            track = self.tracks[track_index]
            self._observe(track, boxes[det_index])
            assigned[det_index] = track
            matched_tracks.add(track_index)

        survivors, ended = [], []
        for index, track in enumerate(self.tracks):
            if index not in matched_tracks:
                track.misses += 1
                if not track.confirmed or track.misses > self.max_misses:
                    ended.append(track)
                    continue
            survivors.append(track)
        for det_index, track in enumerate(assigned):
            if track is None:
                track = Track(self._new_id(), boxes[det_index].copy(), confirmed=self.min_hits <= 1)
                assigned[det_index] = track
                survivors.append(track)
        self.tracks = survivors
        return TrackUpdate([t for t in assigned if t is not None], ended)

    def _observe(self, track: Track, box: np.ndarray) -> None:
        step = (box - track.box) / (track.misses + 1)
        track.velocity = 0.5 * track.velocity + 0.5 * step
        track.box = box.copy()
        track.hits += 1
        track.misses = 0
        if track.hits >= self.min_hits:
            track.confirmed = True

    def _associate(self, boxes: np.ndarray) -> list[tuple[int, int]]:
        if not self.tracks or not len(boxes):
            return []
        predicted = np.stack([t.predicted_box() for t in self.tracks])
        overlap = iou_matrix(predicted, boxes)
        shift, size_ratio = _shift_and_size_ratio(predicted, boxes, self.size_by)
        allowed = (overlap >= self.min_iou) | ((shift <= self.max_shift) & (size_ratio <= _MAX_SIZE_RATIO))
        cost = np.where(allowed, (1.0 - overlap) + shift, _FORBIDDEN)
        rows, cols = linear_sum_assignment(cost)
        return [(int(r), int(c)) for r, c in zip(rows, cols) if allowed[r, c]]

    def _new_id(self) -> str:
        track_id = f"{self._id_prefix}{self._next_id}"
        self._next_id += 1
        return track_id


def greedy_nms(boxes: np.ndarray, scores: np.ndarray, max_overlap: float,
               overlap: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> list[int]:
    """Greedy non-maximum suppression: indexes of the boxes kept, best score first. A box is
    dropped when its ``overlap`` (default: IoU) with a better-scored kept box exceeds ``max_overlap``;
    equal scores keep their input order."""
    overlap = overlap or iou_matrix
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    kept: list[int] = []
    for i in np.argsort(-np.asarray(scores, np.float64), kind="stable").tolist():
        if kept and overlap(boxes[[i]], boxes[kept]).max() > max_overlap:
            continue
        kept.append(i)
    return kept


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in ``a`` with every box in ``b`` (x1, y1, x2, y2)."""
    inter, area_a, area_b = _intersections(a, b)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)


def overlap_of_smaller_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over the smaller box's area, every box in ``a`` with every box in ``b``:
    1 when one box lies inside the other, whatever their sizes."""
    inter, area_a, area_b = _intersections(a, b)
    smaller = np.minimum(area_a[:, None], area_b[None, :])
    return np.where(smaller > 0, inter / np.maximum(smaller, 1e-9), 0.0)


def _intersections(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairwise intersection areas of boxes ``a`` and ``b``, and each box's own area."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter, area_a, area_b


def _size(boxes: np.ndarray, by: str) -> np.ndarray:
    if by == "height":
        return np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
    return np.maximum(np.sqrt(np.abs((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))), 1.0)


def _shift_and_size_ratio(a: np.ndarray, b: np.ndarray, by: str) -> tuple[np.ndarray, np.ndarray]:
    """Centre distance in sizes of the track's box, and the larger/smaller size ratio."""
    centre_a = (a[:, :2] + a[:, 2:]) / 2
    centre_b = (b[:, :2] + b[:, 2:]) / 2
    size_a, size_b = _size(a, by), _size(b, by)
    shift = np.linalg.norm(centre_a[:, None, :] - centre_b[None, :, :], axis=2) / size_a[:, None]
    ratio = np.maximum(size_a[:, None] / size_b[None, :], size_b[None, :] / size_a[:, None])
    return shift, ratio
