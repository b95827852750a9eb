"""Both BlazeFace models on every image, each trusted for the face sizes it was made for.

The full-range model finds small, far faces (CCTV) but scores a face filling the frame low or
not at all (a 800x542 close-up is "no face"); the short-range model is the reverse. Both run
(the short one costs a few ms), and where they find the same face, the one made for its size
gives the box and landmarks. A short-range face the full range did not find is kept only when
it is large and confident: at small sizes the full range is the better judge.

A photo (``detect_photo``) that still shows no face is tried again inside a border: a face
that fills the whole picture (a passport-style crop) has no context around it otherwise.
"""

from __future__ import annotations

import cv2
import numpy as np

from workers.face.detector import FaceBoxes, FaceDetector
from workers.tracking import greedy_nms, overlap_of_smaller_matrix

NEAR_FACE_FRACTION = 0.3
"""A face whose box is at least this fraction of the image's shorter side is "near": the
short-range model's box is kept for it."""
SMALLEST_NEAR_FRACTION = 0.12
"""Short-range faces smaller than this fraction of the shorter side are dropped unless the
full-range model found them too."""
NEAR_ONLY_MIN_SCORE = 0.8
"""Least confidence of a short-range face the full-range model did not find: alone, the short
range also fires on large round things (a seal behind a speaker scored 0.70; real close-ups
that the full range misses score 0.85-0.95 on the dev photos)."""
SAME_FACE_OVERLAP = 0.5
"""Intersection over the smaller box above which two detections are the same face."""
PHOTO_BORDER = 0.25
"""Border added around a photo without a face, as a fraction of its longer side."""


class MultiRangeDetector:
    model = "mediapipe-auto"

    def __init__(self, far: FaceDetector, near: FaceDetector) -> None:
        self.far = far
        self.near = near

    def detect(self, rgb: np.ndarray) -> FaceBoxes:
        return merge_ranges(self.far.detect(rgb), self.near.detect(rgb), min(rgb.shape[:2]))

    def detect_photo(self, rgb: np.ndarray) -> FaceBoxes:
        """``detect``, then, when nothing was found, the same inside a border."""
        found = self.detect(rgb)
        if len(found):
            return found
        border = max(1, int(round(PHOTO_BORDER * max(rgb.shape[:2]))))
        framed = cv2.copyMakeBorder(rgb, border, border, border, border, cv2.BORDER_REPLICATE)
        found = self.detect(framed)
        found.boxes -= border
        found.landmarks -= border
        return found

    def close(self) -> None:
        for detector in (self.far, self.near):
            close = getattr(detector, "close", None)
            if close is not None:
                close()


def merge_ranges(far: FaceBoxes, near: FaceBoxes, short_side: int) -> FaceBoxes:
    """One detection per face: ``far`` (full range) and ``near`` (short range) combined.

    Each detection keeps the best score either model gave its face."""
    near_sizes = near.sizes() / max(short_side, 1)
    overlap = overlap_of_smaller_matrix(far.boxes, near.boxes)
    rows = []  # (source, index, score)
    claimed = np.zeros(len(near), bool)
    for i in range(len(far)):
        matches = np.flatnonzero((overlap[i] >= SAME_FACE_OVERLAP) & ~claimed)
        if len(matches) == 0:
            rows.append((far, i, float(far.scores[i])))
            continue
        j = int(matches[np.argmax(near.scores[matches])])
        claimed[matches] = True
        score = max(float(far.scores[i]), float(near.scores[j]))
        rows.append((near, j, score) if near_sizes[j] >= NEAR_FACE_FRACTION else (far, i, score))
    alone = ~claimed & (near_sizes >= SMALLEST_NEAR_FRACTION) & (near.scores >= NEAR_ONLY_MIN_SCORE)
    candidates = np.flatnonzero(alone)
    # suppressed from SAME_FACE_OVERLAP on (>=): greedy_nms drops above its limit (>)
    for j in candidates[greedy_nms(near.boxes[candidates], near.scores[candidates],
                                   float(np.nextafter(SAME_FACE_OVERLAP, 0.0)), overlap_of_smaller_matrix)]:
        rows.append((near, j, float(near.scores[j])))
    if not rows:
        points = max(far.landmarks.shape[1], near.landmarks.shape[1])
        return FaceBoxes(landmarks=np.zeros((0, points, 2), np.float32))
    return FaceBoxes(np.stack([source.boxes[i] for source, i, _ in rows]).astype(np.float32),
                     np.asarray([score for _, _, score in rows], np.float32),
                     np.stack([source.landmarks[i] for source, i, _ in rows]).astype(np.float32))
