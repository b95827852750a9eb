"""A frame above the workers' pixel limit is refused from its JPEG header, before it is
decoded, whatever size the message claims. The 12000x12000 JPEG is generated."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from schemas import FrameMsg
from tests.big_images import huge_jpeg
from vidsentry.image_header import DEFAULT_MAX_PIXELS
from workers.action.config import ActionConfig
from workers.face.config import FaceConfig
from workers.frames import DecodeError, decode_frame


def small_jpeg(width: int = 176, height: int = 144) -> bytes:
    image = np.random.default_rng(5).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", image)[1].tobytes()


def test_a_12000x12000_frame_that_claims_to_be_small_is_refused_with_the_reason():
    frame = FrameMsg("cam", 7, 1.0, 176, 144, huge_jpeg())
    with pytest.raises(DecodeError) as caught:
        decode_frame(frame)
    assert caught.value.camera == "cam" and caught.value.seq == 7
    assert "12000x12000 (144.0 MP), above the limit of 33177600 pixels (max_frame_pixels)" in str(caught.value)


def test_the_limit_is_each_pool_setting():
    assert FaceConfig().max_frame_pixels == ActionConfig().max_frame_pixels == DEFAULT_MAX_PIXELS
    frame = FrameMsg("cam", 1, 1.0, 176, 144, small_jpeg())
    assert decode_frame(frame, 176 * 144).shape == (144, 176, 3)
    with pytest.raises(DecodeError, match=r"176x144 \(0.0 MP\), above the limit of 25343 pixels"):
        decode_frame(frame, 176 * 144 - 1)


def test_an_image_that_is_not_a_jpeg_is_refused_without_decoding():
    png = cv2.imencode(".png", np.zeros((64, 64, 3), np.uint8))[1].tobytes()
    with pytest.raises(DecodeError, match="not a decodable JPEG"):
        decode_frame(FrameMsg("cam", 2, 1.0, 64, 64, png))
