"""People boxes for the person-first pose route: OpenCV's HOG + linear SVM people detector.

The detector's window is 64x128 px, so people shorter than ~128 px (most of a CCTV
frame) are only found on an upscaled image; ``upscale`` trades time for recall
(benchmarks/action.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from workers.tracking import greedy_nms


@dataclass
class PersonBoxes:
    boxes: np.ndarray
    """(N, 4) [x1, y1, x2, y2] in pixels."""
    scores: np.ndarray
    """(N,) detector confidences (not probabilities)."""

    def __len__(self) -> int:
        return len(self.boxes)


class PersonDetector(Protocol):
    name: str

    def detect(self, rgb: np.ndarray) -> PersonBoxes:
        """Every person box in an RGB uint8 image."""


class HogPersonDetector:
    name = "hog"

    def __init__(self, upscale: float = 1.5, min_score: float = 0.5, scale_step: float = 1.05,
                 max_overlap_iou: float = 0.4) -> None:
        self.upscale = upscale
        self.min_score = min_score
        self.scale_step = scale_step
        self.max_overlap_iou = max_overlap_iou
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def detect(self, rgb: np.ndarray) -> PersonBoxes:
        image = rgb if self.upscale == 1.0 else cv2.resize(rgb, None, fx=self.upscale, fy=self.upscale,
                                                           interpolation=cv2.INTER_LINEAR)
        rects, weights = self._hog.detectMultiScale(image, winStride=(8, 8), padding=(8, 8), scale=self.scale_step)
        if len(rects) == 0:
            return PersonBoxes(np.zeros((0, 4), np.float32), np.zeros(0, np.float32))
        rects = np.asarray(rects, np.float32) / self.upscale
        scores = np.asarray(weights, np.float32).reshape(-1)
        boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1)
        keep = scores >= self.min_score
        boxes, scores = boxes[keep], scores[keep]
        kept = greedy_nms(boxes, scores, self.max_overlap_iou)
        return PersonBoxes(boxes[kept], scores[kept])
