"""Person first, then pose: a person detector's boxes, and MediaPipe Pose (BlazePose full,
single-person) run on each person's crop. BlazePose on a whole street frame finds at most
one person; on a crop around each detected person it sees one person at a useful size.
"""

from __future__ import annotations

import numpy as np

from workers.action.person_detector import PersonDetector
from workers.action.pose import PersonPose
from workers.action.skeleton import MEDIAPIPE_TO_COCO


class CropPoseEstimator:
    def __init__(self, detector: PersonDetector, crop_margin: float = 0.25, min_pose_score: float = 0.5) -> None:
        import mediapipe as mp

        self.detector = detector
        self.crop_margin = crop_margin
        self.name = f"{detector.name}+blazepose"
        self._pose = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1,
                                            min_detection_confidence=min_pose_score)

    def estimate(self, rgb: np.ndarray, scene: str | None = None) -> list[PersonPose]:
        height, width = rgb.shape[:2]
        found = self.detector.detect(rgb)
        people = []
        for box, score in zip(found.boxes, found.scores):
            x1, y1, x2, y2 = box
            pad_x, pad_y = (x2 - x1) * self.crop_margin, (y2 - y1) * self.crop_margin
            cx1, cy1 = int(max(0, x1 - pad_x)), int(max(0, y1 - pad_y))
            cx2, cy2 = int(min(width, x2 + pad_x)), int(min(height, y2 + pad_y))
            if cx2 - cx1 < 8 or cy2 - cy1 < 8:
                continue
            result = self._pose.process(np.ascontiguousarray(rgb[cy1:cy2, cx1:cx2]))
            if result.pose_landmarks is None:
                continue
            marks = result.pose_landmarks.landmark
            keypoints = np.array([[cx1 + marks[i].x * (cx2 - cx1), cy1 + marks[i].y * (cy2 - cy1), marks[i].visibility]
                                  for i in MEDIAPIPE_TO_COCO], np.float32)
            people.append(PersonPose(box, float(score), keypoints))
        return people

    def close(self) -> None:
        self._pose.close()
