"""Pose models behind one small interface: ``PoseEstimator.estimate(rgb, scene) -> list[PersonPose]``.

Every estimator returns all the people it finds, in pixels of the image it was given,
with COCO-17 keypoints (``skeleton.py``), so a better model is a new class here and
nothing downstream changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from workers.tracking import greedy_nms


@dataclass
class PersonPose:
    box: np.ndarray
    """[x1, y1, x2, y2] in pixels."""
    score: float
    keypoints: np.ndarray
    """(17, 3): x, y in pixels and a confidence in [0, 1] per COCO keypoint."""

    def __post_init__(self) -> None:
        self.box = np.asarray(self.box, np.float32).reshape(4)
        self.keypoints = np.asarray(self.keypoints, np.float32).reshape(-1, 3)


class PoseEstimator(Protocol):
    name: str
    """Short model name, used as the ``model`` metric label."""

    def estimate(self, rgb: np.ndarray, scene: str | None = None) -> list[PersonPose]:
        """Every person found in an RGB uint8 image (H, W, 3). ``scene`` names the view the
        image comes from (the camera), so an estimator may keep per-view state between calls
        to be faster; it may ignore it."""


def suppress_duplicates(people: list[PersonPose], max_iou: float) -> list[PersonPose]:
    """Greedy non-maximum suppression: the best-scored of overlapping people survives."""
    if not people:
        return []
    kept = greedy_nms(np.stack([p.box for p in people]), np.asarray([p.score for p in people]), max_iou)
    return [people[i] for i in kept]

