"""Fixtures of the emotion tests: the bundled models, real face crops from the carphone video,
and generators of synthetic data (drawn stripe patterns, said so where used)."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from schemas import Face, FacesMsg, Identity
from tests.conftest import CACHE_ROOT


@pytest.fixture(scope="session")
def bundled_paths() -> dict[str, Path]:
    from vidsentry.models import require_model

    return {"keras": require_model(CACHE_ROOT, "emotion-keras"), "tflite": require_model(CACHE_ROOT, "emotion-tflite")}


@pytest.fixture(scope="session")
def tflite_model(bundled_paths):
    from workers.emotion.loader import open_model

    return open_model(bundled_paths["tflite"], "tflite")


@pytest.fixture(scope="session")
def carphone_detections(samples) -> list[tuple[np.ndarray, list[float]]]:
    """Every face MediaPipe finds in the real carphone video (one per frame): a gray crop (square, 15%
    margin) and the face box [x1, y1, x2, y2] in frame pixels."""
    import mediapipe as mp

    found = []
    capture = cv2.VideoCapture(str(samples["carphone"]))
    with mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5) as detector:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            height, width = frame.shape[:2]
            result = detector.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
            for detection in result.detections or []:
                box = detection.location_data.relative_bounding_box
                found.append((square_crop(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), box, 0.15),
                              [box.xmin * width, box.ymin * height, (box.xmin + box.width) * width,
                               (box.ymin + box.height) * height]))
    capture.release()
    return found


@pytest.fixture(scope="session")
def carphone_faces(carphone_detections) -> list[np.ndarray]:
    return [crop for crop, _ in carphone_detections]


@pytest.fixture(scope="session")
def carphone_boxes(carphone_detections) -> list[list[float]]:
    return [box for _, box in carphone_detections]


@pytest.fixture(scope="session")
def carphone_jpegs(carphone_faces) -> list[bytes]:
    """The crops as the face worker ships them: JPEG bytes."""
    return [cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes() for crop in carphone_faces]


def square_crop(image: np.ndarray, box, margin: float) -> np.ndarray:
    height, width = image.shape[:2]
    side = max(box.width * width, box.height * height) * (1 + 2 * margin)
    cx, cy = (box.xmin + box.width / 2) * width, (box.ymin + box.height / 2) * height
    x1, y1 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x2, y2 = int(min(width, cx + side / 2)), int(min(height, cy + side / 2))
    return image[y1:y2, x1:x2].copy()


def faces_msg(crops: list[bytes | None], camera: str = "cam-1", seq: int = 0,
              person: Callable[[int], str | None] = lambda i: None, boxes: list[list[float]] | None = None) -> FacesMsg:
    """A faces message as the face worker sends it; boxes default to 60 px faces."""
    boxes = boxes or [[10.0, 10.0, 70.0, 70.0]] * len(crops)
    faces = [Face(track_id=f"{camera}-t{i}", box=box, score=0.9,
                  identity=Identity("known" if person(i) else "unknown", person_id=person(i)), crop=crop)
             for i, (crop, box) in enumerate(zip(crops, boxes))]
    return FacesMsg(camera, seq, 1700000000.0 + seq, 176, 144, faces)


PATTERNS = ("horizontal", "vertical", "checker")


def draw_pattern(kind: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """SYNTHETIC: a noisy sine grating (horizontal or vertical stripes, or a checker) of random period and phase."""
    yy, xx = np.mgrid[0:size, 0:size]
    period, phase = rng.uniform(5, 9) * size / 32, rng.uniform(0, 2 * np.pi)
    if kind == "horizontal":
        wave = np.sin(2 * np.pi * yy / period + phase)
    elif kind == "vertical":
        wave = np.sin(2 * np.pi * xx / period + phase)
    else:
        wave = np.sin(2 * np.pi * xx / period + phase) * np.sin(2 * np.pi * yy / period + phase)
    return np.clip(128 + 70 * wave + rng.normal(0, 15, (size, size)), 0, 255).astype(np.uint8)


def write_pattern_folders(root: Path, per_class: dict[str, int], seed: int = 0, size: int = 32,
                          mislabelled: int = 0) -> Path:
    """SYNTHETIC folder-per-class data set: ``root/<split>/<pattern>/<i>.png``. ``mislabelled`` horizontal
    gratings are filed under test/vertical, so a model that learned the patterns must get them wrong."""
    rng = np.random.default_rng(seed)
    for split, count in per_class.items():
        for kind in PATTERNS:
            (root / split / kind).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                cv2.imwrite(str(root / split / kind / f"{i}.png"), draw_pattern(kind, rng, size))
    for i in range(mislabelled):
        cv2.imwrite(str(root / "test" / "vertical" / f"mislabelled-{i}.png"), draw_pattern("horizontal", rng, size))
    return root


FER_INDEX = {"horizontal": 0, "vertical": 3, "checker": 6}
"""SYNTHETIC patterns filed under FER2013 classes angry (0), happy (3) and neutral (6)."""


def write_pattern_csv(path: Path, per_usage: dict[str, int], seed: int = 1, size: int = 48) -> Path:
    """SYNTHETIC FER2013-style CSV (emotion,pixels,Usage) of stripe patterns."""
    rng = np.random.default_rng(seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["emotion", "pixels", "Usage"])
        for usage, count in per_usage.items():
            for kind, emotion in FER_INDEX.items():
                for _ in range(count):
                    writer.writerow([emotion, " ".join(map(str, draw_pattern(kind, rng, size).ravel())), usage])
    return path
