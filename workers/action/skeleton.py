"""The one keypoint layout every part of the action worker speaks: COCO's 17 body points.

MoveNet emits it directly; MediaPipe's 33 BlazePose landmarks are mapped onto it, so
rules, tracks and trained models never depend on which pose model produced the points.
"""

from __future__ import annotations

KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
NUM_KEYPOINTS = len(KEYPOINT_NAMES)
K = {name: index for index, name in enumerate(KEYPOINT_NAMES)}

SHOULDERS = (K["left_shoulder"], K["right_shoulder"])
HIPS = (K["left_hip"], K["right_hip"])
KNEES = (K["left_knee"], K["right_knee"])
ANKLES = (K["left_ankle"], K["right_ankle"])
WRISTS = (K["left_wrist"], K["right_wrist"])

EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10), (5, 11), (6, 12), (11, 12),
    (11, 13), (13, 15), (12, 14), (14, 16),
)

MEDIAPIPE_TO_COCO: tuple[int, ...] = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
"""For each COCO keypoint, the index of the matching BlazePose landmark."""
