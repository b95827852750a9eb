"""Is a face a sample good enough to decide who it is?

A wrong name is worse than no name, so identity is only ever computed from samples that
pass every check here; the rest keep their track ``pending``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from workers.face.config import FaceConfig


@dataclass(frozen=True)
class SampleQuality:
    size_px: float
    blur: float
    """Variance of the Laplacian of the aligned gray crop: higher is sharper."""
    problem: str | None
    """Why the sample must not be used for identity; None when it is good."""

    @property
    def good(self) -> bool:
        return self.problem is None


def sharpness(rgb_crop: np.ndarray) -> float:
    """Variance of the Laplacian, measured on the aligned crop so faces of any size compare."""
    gray = cv2.cvtColor(rgb_crop, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def yaw(landmarks: np.ndarray) -> float | None:
    """How far the nose sits from the eye midpoint along the eye line, in eye distances
    (0 frontal, ~0.5 and more in profile); None without eye and nose landmarks."""
    if len(landmarks) < 3:
        return None
    right_eye, left_eye, nose = (landmarks[i].astype(np.float64) for i in range(3))
    axis = left_eye - right_eye
    eye_distance = float(np.hypot(*axis))
    if eye_distance < 1.0:
        return float("inf")
    return abs(float(np.dot(nose - (right_eye + left_eye) / 2, axis / eye_distance))) / eye_distance


CORE_LANDMARKS = 4
"""Eyes, nose tip and mouth centre: MediaPipe's first four keypoints."""
MAX_BOX_OVERFLOW = 0.35
"""Share of its side a box may reach past the frame when the eyes, nose and mouth are inside:
the detector's box includes forehead, cheeks and chin, which may be cut without harm (a
portrait cut at the cheek, 22% of its box outside, is 0.22-0.28 from the same person's
full portrait; the 5-point alignment only needs the eyes and nose)."""


def clipped(box: np.ndarray, landmarks: np.ndarray, frame_width: int, frame_height: int, margin: float) -> bool:
    """Is part of the face that identity needs outside the frame?

    With landmarks: an eye, the nose or the mouth within ``margin`` of an edge, or the box reaching
    more than ``MAX_BOX_OVERFLOW`` of its side past one. Without: the box within ``margin``."""
    x1, y1, x2, y2 = (float(v) for v in box)
    if len(landmarks) < CORE_LANDMARKS:
        return x1 < margin or y1 < margin or x2 > frame_width - margin or y2 > frame_height - margin
    core = np.asarray(landmarks[:CORE_LANDMARKS], np.float64)
    if (core[:, 0] < margin).any() or (core[:, 1] < margin).any() or (core[:, 0] > frame_width - margin).any() \
            or (core[:, 1] > frame_height - margin).any():
        return True
    side = max(min(x2 - x1, y2 - y1), 1.0)
    return max(-x1, -y1, x2 - frame_width, y2 - frame_height) > MAX_BOX_OVERFLOW * side


def assess(box: np.ndarray, score: float, landmarks: np.ndarray, rgb_crop: np.ndarray, frame_width: int,
           frame_height: int, config: FaceConfig) -> SampleQuality:
    x1, y1, x2, y2 = (float(v) for v in box)
    size = max(0.0, min(x2 - x1, y2 - y1))
    blur = sharpness(rgb_crop)
    margin = config.edge_margin_px
    turned = yaw(landmarks)
    if size < config.min_face_px:
        problem = f"face is {size:.0f} px, identity needs {config.min_face_px}"
    elif clipped(box, landmarks, frame_width, frame_height, margin):
        problem = "face is clipped by the frame edge"
    elif score < config.min_identity_score:
        problem = f"detection confidence {score:.2f} is below {config.min_identity_score}"
    elif blur < config.min_sharpness:
        problem = f"face is blurred (sharpness {blur:.0f} < {config.min_sharpness:.0f})"
    elif turned is not None and turned > config.max_yaw:
        problem = f"face is turned away (yaw {turned:.2f} > {config.max_yaw})"
    else:
        problem = None
    return SampleQuality(size, blur, problem)
