"""Face detectors behind one small interface: ``detect(rgb) -> FaceBoxes``.

MediaPipe BlazeFace (short and full range together, ``ranges.py``, or either alone) is the
production detector; the Haar cascade of the research prototype stays as a baseline for
benchmarks only (slower, more false positives, no landmarks).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

MEDIAPIPE_KEYPOINTS: tuple[str, ...] = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear", "left_ear")
"""MediaPipe's six keypoints, in its order; "right" is the subject's right (image left)."""


@dataclass
class FaceBoxes:
    """Faces found in one image: boxes ``(n, 4)`` as x1, y1, x2, y2 pixels (may reach past
    the frame edge), scores ``(n,)`` in [0, 1], landmarks ``(n, k, 2)`` pixels (k = 0 when
    the detector gives none)."""

    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))
    landmarks: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 2), np.float32))

    def __len__(self) -> int:
        return len(self.scores)

    def select(self, indices: np.ndarray | list[int]) -> FaceBoxes:
        indices = np.asarray(indices, dtype=int)
        return FaceBoxes(self.boxes[indices], self.scores[indices], self.landmarks[indices])

    def sizes(self) -> np.ndarray:
        """The shorter side of each box, pixels."""
        return np.minimum(self.boxes[:, 2] - self.boxes[:, 0], self.boxes[:, 3] - self.boxes[:, 1])


class FaceDetector(Protocol):
    model: str

    def detect(self, rgb: np.ndarray) -> FaceBoxes:
        """Faces in an RGB uint8 image."""


def _import_face_detection():
    """MediaPipe's face detection module, without TensorFlow.

    ``mediapipe.tasks`` imports TensorFlow, if installed, only for an API-doc decorator
    (``optional_dependencies.doc_controls``), and falls back to a no-op without it; in a face
    worker that import alone costs ~7 s of start-up and ~500 MB of memory (benchmarks/pipeline.md),
    and in `vidsentry run` the face stage would wait for the action stage's TensorFlow import
    (benchmarks/startup.md). So that module is given as the no-op. (Hiding ``tensorflow`` from
    ``sys.modules`` instead would break a TensorFlow import running on another thread.)
    """
    import sys
    import types

    name = "mediapipe.tasks.python.core.optional_dependencies"
    if name not in sys.modules:
        no_docs = types.ModuleType(name, "TensorFlow's doc decorator as a no-op (workers/face/detector.py)")
        no_docs.doc_controls = types.SimpleNamespace(do_not_generate_docs=lambda thing: thing)
        sys.modules.setdefault(name, no_docs)
    from mediapipe.python.solutions import face_detection

    return face_detection


class MediaPipeFaceDetector:
    """BlazeFace through MediaPipe's face detection solution (its models ship in the wheel).

    ``model_file`` is the verified copy from ``require_model``; MediaPipe's graph loads the
    same pinned file from the installed package, so the copy proves the installed model is
    the one whose sha256 we pinned.
    """

    def __init__(self, full_range: bool = True, min_score: float = 0.5, model_file: Path | None = None) -> None:
        face_detection = _import_face_detection()
        self.model = "mediapipe-full" if full_range else "mediapipe-short"
        self.model_file = model_file
        self._solution = face_detection.FaceDetection(model_selection=1 if full_range else 0,
                                                      min_detection_confidence=min_score)
        self._lock = threading.Lock()

    def detect(self, rgb: np.ndarray) -> FaceBoxes:
        height, width = rgb.shape[:2]
        with self._lock:
            result = self._solution.process(rgb)
        detections = result.detections or []
        if not detections:
            return FaceBoxes(landmarks=np.zeros((0, len(MEDIAPIPE_KEYPOINTS), 2), np.float32))
        boxes, scores, landmarks = [], [], []
        for det in detections:
            rel = det.location_data.relative_bounding_box
            x1, y1 = rel.xmin * width, rel.ymin * height
            boxes.append([x1, y1, x1 + rel.width * width, y1 + rel.height * height])
            scores.append(det.score[0])
            landmarks.append([[kp.x * width, kp.y * height] for kp in det.location_data.relative_keypoints])
        return FaceBoxes(np.asarray(boxes, np.float32), np.clip(np.asarray(scores, np.float32), 0, 1),
                         np.asarray(landmarks, np.float32))

    def close(self) -> None:
        self._solution.close()


class HaarFaceDetector:
    """OpenCV's frontal-face Haar cascade (the prototype's detector): a benchmark baseline.

    It has no calibrated confidence; the cascade's level weight is squashed into [0, 1]
    so that the weakest accepted windows score low.
    """

    model = "haar"

    def __init__(self, min_size_px: int = 24, scale_factor: float = 1.1, min_neighbors: int = 5) -> None:
        path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise FileNotFoundError(f"OpenCV's Haar cascade is missing at {path}")
        self.min_size_px = min_size_px
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors

    def detect(self, rgb: np.ndarray) -> FaceBoxes:
        gray = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
        rects, _, weights = self._cascade.detectMultiScale3(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
            minSize=(self.min_size_px, self.min_size_px), outputRejectLevels=True)
        if len(rects) == 0:
            return FaceBoxes()
        rects = np.asarray(rects, np.float32)
        boxes = np.column_stack([rects[:, 0], rects[:, 1], rects[:, 0] + rects[:, 2], rects[:, 1] + rects[:, 3]])
        scores = 1.0 / (1.0 + np.exp(-np.asarray(weights, np.float32).reshape(-1) / 2.0))
        return FaceBoxes(boxes.astype(np.float32), scores.astype(np.float32), np.zeros((len(rects), 0, 2), np.float32))


def make_detector(kind: str, min_score: float, cache_root: Path | None = None, fetch_on_demand: bool = True) -> FaceDetector:
    """The detector named by ``FaceConfig.detector``."""
    if kind == "haar":
        return HaarFaceDetector()
    if kind == "mediapipe-auto":
        from workers.face.ranges import MultiRangeDetector

        return MultiRangeDetector(make_detector("mediapipe-full", min_score, cache_root, fetch_on_demand),
                                  make_detector("mediapipe-short", min_score, cache_root, fetch_on_demand))
    if kind not in ("mediapipe-full", "mediapipe-short"):
        raise ValueError(f"unknown face detector {kind!r}; choose mediapipe-auto, mediapipe-full, mediapipe-short or haar")
    full_range = kind == "mediapipe-full"
    model_file = None
    if cache_root is not None:
        from vidsentry.models import require_model

        model_file = require_model(cache_root, "face-detection-full" if full_range else "face-detection-short",
                                   fetch_on_demand)
    return MediaPipeFaceDetector(full_range, min_score, model_file)
