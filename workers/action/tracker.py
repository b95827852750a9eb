"""Per-camera body tracks: a stable id for each person while they stay in view.

People are joined to tracks by optimal assignment (``linear_sum_assignment``) on the
overlap of their box with the track's predicted box (constant velocity), or, when they
barely overlap (fast motion, a low frame rate, small far-away people), on a centre shift
of under ``max_shift`` box heights between boxes of similar height. A track is confirmed
after ``min_hits`` consecutive detections and ends after ``max_misses`` frames unseen.
(supervision 0.31 no longer ships ByteTrack, hence this small tracker.)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from workers.action.pose import box_iou

_FORBIDDEN = 1e6
_MAX_HEIGHT_RATIO = 1.5


@dataclass
class BodyTrack:
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
    tracks: list[BodyTrack]
    """The track of each detection, in detection order (new people get tentative tracks)."""
    ended: list[BodyTrack]
    """Tracks that ended in this update; their windows can be dropped."""


class BodyTracker:
    """Tracks of one camera. Ids carry a random token per tracker, so the ids of a worker that
    owned the camera before a rebalance never collide with the new owner's."""

    def __init__(self, camera: str, min_hits: int = 2, max_misses: int = 10, min_iou: float = 0.2,
                 max_shift: float = 0.6) -> None:
        self.camera = camera
        self.min_hits = min_hits
        self.max_misses = max_misses
        self.min_iou = min_iou
        self.max_shift = max_shift
        self.tracks: list[BodyTrack] = []
        self._id_prefix = f"{camera}/{secrets.token_hex(3)}/"
        self._next_id = 1

    @property
    def confirmed(self) -> list[BodyTrack]:
        return [t for t in self.tracks if t.confirmed]

    def update(self, boxes: np.ndarray) -> TrackUpdate:
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        assigned: list[BodyTrack | None] = [None] * len(boxes)
        matched = set()
        for track_index, det_index in self._associate(boxes):
            track = self.tracks[track_index]
            self._observe(track, boxes[det_index])
            assigned[det_index] = track
            matched.add(track_index)

        survivors, ended = [], []
        for index, track in enumerate(self.tracks):
            if index not in matched:
                track.misses += 1
                if not track.confirmed or track.misses > self.max_misses:
                    ended.append(track)
                    continue
            survivors.append(track)
        for det_index, track in enumerate(assigned):
            if track is None:
                track = BodyTrack(self._new_id(), boxes[det_index].copy(), confirmed=self.min_hits <= 1)
                assigned[det_index] = track
                survivors.append(track)
        self.tracks = survivors
        return TrackUpdate([t for t in assigned if t is not None], ended)

    def _observe(self, track: BodyTrack, box: np.ndarray) -> None:
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
        overlap = box_iou(predicted, boxes)
        heights_p = np.maximum(predicted[:, 3] - predicted[:, 1], 1.0)
        heights_b = np.maximum(boxes[:, 3] - boxes[:, 1], 1.0)
        centres_p = (predicted[:, :2] + predicted[:, 2:]) / 2
        centres_b = (boxes[:, :2] + boxes[:, 2:]) / 2
        shift = np.linalg.norm(centres_p[:, None] - centres_b[None], axis=2) / heights_p[:, None]
        ratio = np.maximum(heights_p[:, None] / heights_b[None], heights_b[None] / heights_p[:, None])
        allowed = (overlap >= self.min_iou) | ((shift <= self.max_shift) & (ratio <= _MAX_HEIGHT_RATIO))
        cost = np.where(allowed, (1.0 - overlap) + shift, _FORBIDDEN)
        rows, cols = linear_sum_assignment(cost)
        return [(int(r), int(c)) for r, c in zip(rows, cols) if allowed[r, c]]

    def _new_id(self) -> str:
        track_id = f"{self._id_prefix}{self._next_id}"
        self._next_id += 1
        return track_id
