"""MoveNet MultiPose Lightning: every person's 17 keypoints in one pass (TFJS graph, via TF).

The model returns at most 6 people per pass. On a crowded frame (all 6 slots above the
score threshold) it runs again on overlapping tiles along the long side and merges the
people by box overlap, so the 7th and 8th pedestrian of a street frame are not lost
(benchmarks/action.md measures what that costs and finds). A scene (camera) whose last
frame was crowded goes straight to the tiles: two passes over 65% of the frame each
instead of three, and the same people found on the street benchmark.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from workers.action.pose import PersonPose, suppress_duplicates
from workers.action.skeleton import NUM_KEYPOINTS

log = logging.getLogger(__name__)

MAX_PEOPLE_PER_PASS = 6
_STRIDE = 32


class MoveNetMultiPose:
    name = "movenet-multipose"

    def __init__(self, model_json: Path, input_long_side: int = 640, min_person_score: float = 0.2,
                 tile_when_full: bool = True, tile_overlap: float = 0.3,
                 max_overlap_iou: float = 0.4) -> None:
        import tensorflow as tf

        from workers.action.tfjs_graph import load_graph_model

        self._tf = tf
        self._run = load_graph_model(model_json)
        self.input_long_side = input_long_side
        self.min_person_score = min_person_score
        self.tile_when_full = tile_when_full
        self.tile_overlap = tile_overlap
        self.max_overlap_iou = max_overlap_iou
        self.passes = 0
        """Model passes run so far (one per frame, more on crowded frames)."""
        self._crowded: dict[str, bool] = {}

    def estimate(self, rgb: np.ndarray, scene: str | None = None) -> list[PersonPose]:
        height, width = rgb.shape[:2]
        scale = min(1.0, self.input_long_side / max(height, width))
        image = rgb if scale == 1.0 else cv2.resize(rgb, (round(width * scale), round(height * scale)),
                                                    interpolation=cv2.INTER_AREA)
        tiles_only = self.tile_when_full and scene is not None and self._crowded.get(scene, False)
        people = [] if tiles_only else self._pass(image, 0, 0)
        if tiles_only or (self.tile_when_full and len(people) >= MAX_PEOPLE_PER_PASS):
            for x0, y0, tile in self._tiles(image):
                people.extend(self._pass(tile, x0, y0))
            people = suppress_duplicates(people, self.max_overlap_iou)
        if scene is not None:
            self._crowded[scene] = len(people) >= MAX_PEOPLE_PER_PASS
        for person in people:
            person.box /= scale
            person.keypoints[:, :2] /= scale
        return people

    def _tiles(self, image: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
        height, width = image.shape[:2]
        along_x = width >= height
        length = width if along_x else height
        span = int(length * (1 + self.tile_overlap) / 2)
        starts = (0, length - span)
        if along_x:
            return [(s, 0, image[:, s:s + span]) for s in starts]
        return [(0, s, image[s:s + span]) for s in starts]

    def _pass(self, image: np.ndarray, x0: int, y0: int) -> list[PersonPose]:
        """People in ``image`` (padded to the model's stride), in the coordinates of its parent."""
        height, width = image.shape[:2]
        padded_h, padded_w = -(-height // _STRIDE) * _STRIDE, -(-width // _STRIDE) * _STRIDE
        batch = np.zeros((1, padded_h, padded_w, 3), np.int32)
        batch[0, :height, :width] = image
        (raw,) = self._run(self._tf.constant(batch))
        self.passes += 1
        people = []
        for row in raw.numpy()[0]:
            score = float(row[55])
            if score < self.min_person_score:
                continue
            points = row[:NUM_KEYPOINTS * 3].reshape(NUM_KEYPOINTS, 3)
            keypoints = np.stack([points[:, 1] * padded_w + x0, points[:, 0] * padded_h + y0, points[:, 2]], axis=1)
            box = np.array([row[52] * padded_w + x0, row[51] * padded_h + y0,
                            row[54] * padded_w + x0, row[53] * padded_h + y0], np.float32)
            people.append(PersonPose(box, score, keypoints))
        return people
