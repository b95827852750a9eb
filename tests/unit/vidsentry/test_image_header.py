"""Image sizes read from headers without decoding, on JPEGs and PNGs encoded here."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.big_images import huge_jpeg
from vidsentry.image_header import image_size


def encoded(ext: str, width: int, height: int, *params: int) -> bytes:
    image = np.random.default_rng(3).integers(0, 256, (height, width, 3), dtype=np.uint8)
    ok, buffer = cv2.imencode(ext, image, list(params))
    assert ok
    return buffer.tobytes()


@pytest.mark.parametrize("width,height", [(1, 1), (176, 144), (768, 576), (641, 17)])
def test_jpeg_and_png_sizes_are_read_from_the_header(width, height):
    assert image_size(encoded(".jpg", width, height)) == (width, height)
    assert image_size(encoded(".jpg", width, height, cv2.IMWRITE_JPEG_PROGRESSIVE, 1)) == (width, height)
    assert image_size(encoded(".png", width, height)) == (width, height)


def test_a_generated_12000x12000_jpeg_is_sized_without_decoding():
    assert image_size(huge_jpeg()) == (12000, 12000)


def test_the_frame_header_is_found_after_large_metadata_segments():
    jpeg = encoded(".jpg", 320, 240)
    comment = b"\xff\xfe" + (65535).to_bytes(2, "big") + b"x" * 65533
    assert image_size(jpeg[:2] + comment * 3 + jpeg[2:]) == (320, 240)


@pytest.mark.parametrize("data", [b"", b"\xff\xd8", b"\xff\xd8\xff\xe0 this is not a JPEG", b"\xff\xd8\xff\xda\x00\x08",
                                  b"GIF89a....", bytes(range(256)), encoded(".jpg", 64, 48)[:20]])
def test_anything_else_has_no_size(data):
    assert image_size(data) is None
