"""An image file's bytes decoded within a pixel bound: a JPEG above it is decoded already
shrunk (libjpeg's DCT scaling: a 12000x12000 photo costs ~50 MB instead of 432 MB), then
fitted; another format above it is refused, since it could only be decoded at full size.
What OpenCV cannot decode (GIF) goes to Pillow, whose own pixel guard refuses bombs."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vidsentry.image_header import image_size, is_jpeg, megapixels

_REDUCED = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}


class ImageTooLarge(ValueError):
    """An image above the pixel limit that cannot be shrunk while it is decoded."""


@dataclass
class DecodedImage:
    image: np.ndarray
    shrunk_from: tuple[int, int] | None = None
    """(width, height) of the original when it was above the limit and shrunk to fit."""


def decode_image(data: bytes, max_pixels: int) -> DecodedImage | None:
    """The image as BGR within ``max_pixels``; None when the bytes cannot be decoded.
    Raises ImageTooLarge for a non-JPEG image whose header says it is above the limit."""
    size = image_size(data)
    buffer = np.frombuffer(data, np.uint8)
    if size is not None and size[0] * size[1] > max_pixels:
        if not is_jpeg(data):
            raise ImageTooLarge(f"the image is {megapixels(*size)}, above max_pixels ({max_pixels}); only a JPEG "
                                f"can be shrunk while it is decoded")
        factor = next((f for f in _REDUCED if math.ceil(size[0] / f) * math.ceil(size[1] / f) <= max_pixels), 8)
        image = cv2.imdecode(buffer, _REDUCED[factor])
        return None if image is None else DecodedImage(fit(image, max_pixels), size)
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if image is None:
        image = _pillow_decode(data, max_pixels)
    if image is None:
        return None
    height, width = image.shape[:2]
    if width * height > max_pixels:  # a format whose header is not read here (BMP, WebP, TIFF)
        return DecodedImage(fit(image, max_pixels), (width, height))
    return DecodedImage(image)


def _pillow_decode(data: bytes, max_pixels: int) -> np.ndarray | None:
    """BGR of the first frame of an image OpenCV cannot read (GIF); None when Pillow cannot either."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > max_pixels:
                raise ImageTooLarge(f"the image is {megapixels(image.width, image.height)}, above max_pixels "
                                    f"({max_pixels}); only a JPEG can be shrunk while it is decoded")
            image.seek(0)
            rgb = np.asarray(image.convert("RGB"), np.uint8)
    except ImageTooLarge:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, EOFError):
        return None
    return np.ascontiguousarray(rgb[:, :, ::-1])


def fit(image: np.ndarray, max_pixels: int) -> np.ndarray:
    """``image`` shrunk (aspect kept) to at most ``max_pixels``; unchanged when it fits."""
    height, width = image.shape[:2]
    if width * height <= max_pixels:
        return image
    scale = math.sqrt(max_pixels / (width * height))
    size = (max(1, math.floor(width * scale)), max(1, math.floor(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
