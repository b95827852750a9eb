"""Shared by the face tests: the real models loaded once per session, real photos as frames.

Import the fixtures into a conftest (``from tests.unit.workers.face.support import *``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from schemas import FrameMsg
from tests.conftest import CACHE_ROOT
from workers.face.detector import MediaPipeFaceDetector
from workers.face.embedder import DlibFaceEmbedder, load_embedder
from workers.face.ranges import MultiRangeDetector

__all__ = ["CountingEmbedder", "face_detector", "face_embedder", "frame_of", "jpeg_of", "photo_detector", "photo_embedding",
           "read_rgb"]


@pytest.fixture(scope="session")
def face_detector() -> MediaPipeFaceDetector:
    return MediaPipeFaceDetector(full_range=True, min_score=0.5)


@pytest.fixture(scope="session")
def photo_detector(face_detector) -> MultiRangeDetector:
    """Both ranges, as enrolment and still photos use them (``mediapipe-auto``)."""
    return MultiRangeDetector(face_detector, MediaPipeFaceDetector(full_range=False, min_score=0.5))


@pytest.fixture(scope="session")
def face_embedder() -> DlibFaceEmbedder:
    return load_embedder(CACHE_ROOT)


@pytest.fixture(scope="session")
def photo_embedding(samples, face_detector, face_embedder) -> Callable[[str], np.ndarray]:
    """The embedding of the single face in a sample photo (computed once per photo)."""
    cache: dict[str, np.ndarray] = {}

    def embedding(name: str) -> np.ndarray:
        if name not in cache:
            rgb = read_rgb(samples[name])
            found = face_detector.detect(rgb)
            assert len(found) == 1, f"{name}: expected one face, found {len(found)}"
            cache[name] = face_embedder.embed(rgb, found.boxes)[0]
        return cache[name]

    return embedding


def read_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path))
    assert bgr is not None, path
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def jpeg_of(rgb: np.ndarray, quality: int = 92) -> bytes:
    ok, buffer = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return buffer.tobytes()


def frame_of(rgb: np.ndarray, camera: str, seq: int, still: bool = False) -> FrameMsg:
    height, width = rgb.shape[:2]
    return FrameMsg(camera, seq, 1700000000.0 + seq / 30, width, height, jpeg_of(rgb), still=still)


class CountingEmbedder:
    """The real embedder, counting how many faces it was asked to embed."""

    def __init__(self, inner: DlibFaceEmbedder) -> None:
        self.inner = inner
        self.model = inner.model
        self.calls = 0
        self.faces = 0

    def embed(self, rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.faces += len(boxes)
        return self.inner.embed(rgb, boxes)
