"""Which faces are blurred, and how: ``all`` of them, or only people not identified as
known (``unknown``: strangers and tracks still ``pending``, so nobody is shown before being
recognised). Used by the annotated video and by alert snapshots."""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np

BlurMode = Literal["none", "all", "unknown"]
BLUR_MODES: tuple[str, ...] = ("none", "all", "unknown")


def blurs(mode: str, identity: str | None) -> bool:
    """Whether a face with this identity status ("known", "unknown", "pending"...) is blurred."""
    if mode not in BLUR_MODES:
        raise ValueError(f"unknown blur mode {mode!r} (one of {', '.join(BLUR_MODES)})")
    return mode == "all" or (mode == "unknown" and identity != "known")


def blur_region(image: np.ndarray, box: tuple[int, int, int, int]) -> None:
    """Blur ``image[y1:y2, x1:x2]`` in place (the box clipped to the image)."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = max(0, box[0]), max(0, box[1]), min(width, box[2]), min(height, box[3])
    if x2 > x1 and y2 > y1:
        image[y1:y2, x1:x2] = cv2.GaussianBlur(image[y1:y2, x1:x2], (0, 0), max(3, (x2 - x1) / 6))


def blur_jpeg(data: bytes, quality: int = 90) -> bytes | None:
    """The JPEG blurred all over (a face crop); None when it cannot be decoded."""
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        return None
    blur_region(image, (0, 0, image.shape[1], image.shape[0]))
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return encoded.tobytes() if ok else None
