"""Read a photo of any common format as RGB: OpenCV for JPEG, PNG, BMP, WebP, PGM and TIFF,
Pillow for what OpenCV cannot decode (GIF, whose first frame is used)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".pgm", ".ppm", ".tif", ".tiff"})


class UnreadablePhotoError(ValueError):
    """A file that is missing or not a decodable image."""


def read_photo(path: Path | str) -> np.ndarray:
    """The image as an RGB uint8 array; UnreadablePhotoError when it cannot be decoded."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadablePhotoError(f"cannot be read ({exc.strerror or exc})") from None
    return decode_photo(data)


def decode_photo(data: bytes) -> np.ndarray:
    """Encoded image bytes as RGB uint8; UnreadablePhotoError when no decoder understands them."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if bgr is not None:
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    rgb = _pillow_decode(data)
    if rgb is None:
        raise UnreadablePhotoError("is not an image this program can decode (JPEG, PNG, BMP, WebP, GIF, PGM or TIFF)")
    return rgb


def _pillow_decode(data: bytes) -> np.ndarray | None:
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.seek(0)
            return np.asarray(image.convert("RGB"), np.uint8).copy()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, EOFError):
        return None
