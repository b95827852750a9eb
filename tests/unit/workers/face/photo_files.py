"""Real sample photos turned, at test time, into what a user may hand over: other file
formats, and a close-up whose face fills an 800x542 frame. Nothing here is committed."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from tests.unit.workers.face.support import read_rgb

FORMATS = {"gif": "GIF", "png": "PNG", "webp": "WEBP", "bmp": "BMP", "jpeg": "JPEG"}
CLOSE_UP_SIZE = (800, 542)


def converted(source: Path, suffix: str, folder: Path) -> Path:
    """``source`` re-encoded with Pillow as ``suffix`` (gif, png, webp, bmp, jpeg)."""
    target = folder / f"{source.stem}.{suffix}"
    with Image.open(source) as image:
        image.convert("RGB").save(target, FORMATS[suffix])
    return target


def close_up(rgb: np.ndarray, face_box: np.ndarray, fill: float = 1.35, size: tuple[int, int] = CLOSE_UP_SIZE) -> np.ndarray:
    """A crop around the face, upscaled to ``size``, in which the face box is ``fill`` times the
    frame height: forehead and chin reach past the frame, eyes, nose and mouth stay inside (a
    clear, frontal close-up, as a phone held at arm's length takes)."""
    x1, y1, x2, y2 = (float(v) for v in face_box)
    crop_height = (y2 - y1) / fill
    crop_width = crop_height * size[0] / size[1]
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left, top = int(round(cx - crop_width / 2)), int(round(cy - crop_height / 2))
    crop = rgb[max(top, 0):top + int(round(crop_height)), max(left, 0):left + int(round(crop_width))]
    return cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC)


def write_rgb(rgb: np.ndarray, path: Path) -> Path:
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


def close_up_file(sample: Path, detector, folder: Path, fill: float = 1.35) -> Path:
    rgb = read_rgb(sample)
    found = detector.detect(rgb)
    assert len(found) == 1, f"{sample.name}: one face expected"
    return write_rgb(close_up(rgb, found.boxes[0], fill), folder / f"{sample.stem}-close-up.jpg")
