"""The people of one photo: the pose model's pass on the photo, plus a pass on a copy shrunk
to ``long_side``, merged. MoveNet MultiPose looks for people at the scale of a CCTV view;
in a close-up group photo it finds few of them at 640 px and most at 256 px
(EVALUATION.md, "Posture from one photo")."""

from __future__ import annotations

import cv2
import numpy as np

from workers.action.pose import PersonPose, PoseEstimator, suppress_duplicates

_MAX_OVERLAP_IOU = 0.4


def photo_people(estimator: PoseEstimator, rgb: np.ndarray, long_side: int | None) -> list[PersonPose]:
    """Every person of a photo, in its pixels; ``scene=None``: a photo keeps no state."""
    people = estimator.estimate(rgb, scene=None)
    height, width = rgb.shape[:2]
    scale = long_side / max(height, width) if long_side else 1.0
    if scale >= 1.0:
        return people
    small = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    for person in estimator.estimate(small, scene=None):
        person.box = person.box / scale
        person.keypoints[:, :2] /= scale
        people.append(person)
    return suppress_duplicates(people, _MAX_OVERLAP_IOU)
