"""Cut a face out of a frame, eyes level and at a fixed scale, for the emotion pool.

The emotion model (mini-Xception, trained on FER2013) expects tight, upright faces, so
the crop puts the eye midpoint at a fixed place and the eyes a fixed distance apart. A
detector without landmarks gets a plain square crop around its box.
"""

from __future__ import annotations

import cv2
import numpy as np

EYE_Y = 0.38
"""Height of the eye line in the crop, as a fraction of its side."""
EYE_DISTANCE = 0.40
"""Distance between the eyes in the crop, as a fraction of its side."""


def alignment_matrix(box: np.ndarray, landmarks: np.ndarray, size: int) -> np.ndarray:
    """The 2x3 affine map from frame pixels to a ``size``-pixel crop.

    ``landmarks`` are MediaPipe's keypoints (the subject's right eye first, then the
    left); with fewer than two, the crop is the box's enclosing square.
    """
    if len(landmarks) >= 2:
        right_eye, left_eye = landmarks[0].astype(np.float64), landmarks[1].astype(np.float64)
        delta = left_eye - right_eye
        eye_distance = float(np.hypot(*delta))
        if eye_distance >= 1.0:
            angle = float(np.degrees(np.arctan2(delta[1], delta[0])))
            centre = (right_eye + left_eye) / 2
            matrix = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), angle, EYE_DISTANCE * size / eye_distance)
            matrix[:, 2] += np.array([size / 2, EYE_Y * size]) - centre
            return matrix
    x1, y1, x2, y2 = (float(v) for v in box)
    side = max(x2 - x1, y2 - y1, 1.0)
    scale = size / side
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return np.array([[scale, 0.0, size / 2 - scale * cx], [0.0, scale, size / 2 - scale * cy]])


def aligned_crop(rgb: np.ndarray, box: np.ndarray, landmarks: np.ndarray, size: int) -> np.ndarray:
    """The face as a ``size`` x ``size`` RGB image; parts outside the frame repeat its edge."""
    matrix = alignment_matrix(box, landmarks, size)
    return cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_AREA if matrix[0, 0] < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def encode_crop(rgb_crop: np.ndarray, quality: int) -> bytes:
    ok, buffer = cv2.imencode(".jpg", cv2.cvtColor(rgb_crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError("OpenCV failed to encode a face crop as JPEG")
    return buffer.tobytes()
