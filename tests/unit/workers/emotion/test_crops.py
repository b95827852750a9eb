"""Face crop bytes: decoding, rejection of bad crops, quality and resizing to the model input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from workers.emotion.crops import decode_crop, fit_to_input, sharpness
from workers.emotion.errors import BadCrop
from workers.emotion.model import InputSpec


def test_a_real_crop_decodes_with_its_quality(carphone_faces, carphone_jpegs):
    crop = decode_crop(carphone_jpegs[0], min_face_px=24)
    assert crop.pixels.shape == carphone_faces[0].shape
    assert crop.pixels.dtype == np.uint8
    assert crop.quality.size_px == min(carphone_faces[0].shape)
    assert crop.quality.blur > 0


def test_the_size_that_counts_is_the_face_in_its_frame():
    upscaled = cv2.resize(np.random.default_rng(0).integers(0, 255, (15, 15), dtype=np.uint8), (96, 96))
    data = cv2.imencode(".jpg", upscaled)[1].tobytes()
    assert decode_crop(data, 24, face_px=40.0).quality.size_px == 40.0
    assert decode_crop(data, 24, face_px=500.0).quality.size_px == 96.0
    assert decode_crop(data, 24, face_px=0.0).quality.size_px == 96.0
    with pytest.raises(BadCrop, match="the face is 15 px in its frame, the crop 96x96: below the 24 px minimum"):
        decode_crop(data, 24, face_px=15.0)


def test_colour_decodes_to_rgb():
    bgr = np.zeros((40, 40, 3), np.uint8)
    bgr[..., 2] = 255
    crop = decode_crop(cv2.imencode(".png", bgr)[1].tobytes(), 24, channels=3)
    assert crop.pixels.shape == (40, 40, 3)
    assert crop.pixels[0, 0].tolist() == [255, 0, 0]


@pytest.mark.parametrize(("data", "reason", "evidence"), [
    (None, "missing", "no crop"),
    (b"", "undecodable", "0 bytes"),
    (b"\xff\xd8\xff\xe0 definitely not a jpeg", "undecodable", "are not an image"),
    (bytes(range(256)) * 4, "undecodable", "1024 bytes"),
    (cv2.imencode(".jpg", np.full((12, 30), 128, np.uint8))[1].tobytes(), "too_small", "30x12 px: below the 24"),
])
def test_bad_crops_are_rejected_with_a_reason(data, reason, evidence):
    with pytest.raises(BadCrop) as err:
        decode_crop(data, min_face_px=24)
    assert err.value.reason == reason
    assert evidence in str(err.value)


def test_blur_is_lower_for_a_blurred_face(carphone_faces):
    face = carphone_faces[0]
    assert sharpness(cv2.GaussianBlur(face, (0, 0), 2.0)) < sharpness(face) / 2
    assert sharpness(np.full((30, 30), 90, np.uint8)) == 0.0


def test_fit_to_input_resizes_and_converts_channels(carphone_faces):
    gray_spec = InputSpec(64, 64, 1, "minus_one_to_one")
    rgb = np.dstack([carphone_faces[0]] * 3)
    batch = fit_to_input([carphone_faces[0], rgb, np.zeros((200, 150), np.uint8)], gray_spec)
    assert batch.shape == (3, 64, 64, 1) and batch.dtype == np.uint8
    np.testing.assert_allclose(batch[0].astype(int), batch[1].astype(int), atol=1)
    assert fit_to_input([carphone_faces[0]], InputSpec(48, 40, 3, "none")).shape == (1, 48, 40, 3)


def test_scaling():
    pixels = np.array([[0, 255], [51, 102]], np.uint8)
    np.testing.assert_allclose(InputSpec(2, 2, 1, "minus_one_to_one").scale(pixels), [[-1, 1], [-0.6, -0.2]], atol=1e-6)
    np.testing.assert_allclose(InputSpec(2, 2, 1, "zero_to_one").scale(pixels), [[0, 1], [0.2, 0.4]], atol=1e-6)
    np.testing.assert_allclose(InputSpec(2, 2, 1, "none").scale(pixels), pixels)
