"""Generated oversized images (not real media): a 12000x12000 JPEG like the one that once
took 2.7 GB to analyse. Grayscale with a disc, so it is quick to make and small on disk
(~1.7 MB), while its header and decoded size are those of a 144-megapixel photo."""

from __future__ import annotations

import cv2
import numpy as np

SIDE = 12000


def huge_image(side: int = SIDE) -> np.ndarray:
    image = np.zeros((side, side), np.uint8)
    cv2.circle(image, (side // 2, side // 2), side // 4, 200, -1)
    return image


def huge_jpeg(side: int = SIDE) -> bytes:
    ok, buffer = cv2.imencode(".jpg", huge_image(side), [cv2.IMWRITE_JPEG_QUALITY, 50])
    assert ok
    return buffer.tobytes()


def huge_png(side: int = SIDE) -> bytes:
    ok, buffer = cv2.imencode(".png", huge_image(side), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    assert ok
    return buffer.tobytes()
