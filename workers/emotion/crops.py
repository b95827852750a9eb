"""Face crop bytes → pixels the model can take, and the crop's quality (size, sharpness)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from schemas import FaceQuality
from workers.emotion.errors import BadCrop
from workers.emotion.model import InputSpec


@dataclass(frozen=True)
class FaceCrop:
    pixels: np.ndarray
    """H x W (gray) or H x W x 3 (RGB) uint8, as decoded."""
    quality: FaceQuality


def decode_crop(data: bytes | None, min_face_px: int, channels: int = 1, face_px: float | None = None) -> FaceCrop:
    """Decode a JPEG (or PNG) face crop; raises BadCrop when it is missing, unreadable or smaller than ``min_face_px``.

    ``face_px`` is the face's size in the frame (its box's shorter side). The face worker resamples
    every face to one crop size, so a 15 px face arrives as a 96 px crop holding 15 px of detail:
    the size that counts is the smaller of the two.
    """
    if data is None:
        raise BadCrop("missing", "the face has no crop")
    if len(data) == 0:
        raise BadCrop("undecodable", "the crop is 0 bytes")
    flag = cv2.IMREAD_GRAYSCALE if channels == 1 else cv2.IMREAD_COLOR
    try:
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    except cv2.error as exc:
        raise BadCrop("undecodable", f"{len(data)} bytes: {str(exc).strip().splitlines()[-1]}") from None
    if pixels is None or pixels.size == 0:
        raise BadCrop("undecodable", f"{len(data)} bytes starting {bytes(data[:8])!r} are not an image")
    height, width = pixels.shape[:2]
    size = float(min(height, width) if not face_px or face_px <= 0 else min(height, width, face_px))
    if size < min_face_px:
        seen = f"the face is {face_px:.0f} px in its frame, the crop {width}x{height}" if face_px else f"{width}x{height} px"
        raise BadCrop("too_small", f"{seen}: below the {min_face_px} px minimum")
    gray = pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    return FaceCrop(pixels, FaceQuality(size_px=size, blur=sharpness(gray)))


def sharpness(gray: np.ndarray) -> float:
    """Variance of the Laplacian (lower: blurrier), on the crop as it came, as the face worker measures it;
    comparable between crops of one size (the face worker sends one size)."""
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def fit_to_input(crops: Sequence[np.ndarray], spec: InputSpec) -> np.ndarray:
    """Resize decoded crops to the model's input: N x H x W x C uint8 (gray turned RGB and back as needed)."""
    batch = np.empty((len(crops), spec.height, spec.width, spec.channels), np.uint8)
    for i, pixels in enumerate(crops):
        pixels = _to_channels(pixels, spec.channels)
        shrinking = pixels.shape[0] > spec.height or pixels.shape[1] > spec.width
        resized = cv2.resize(pixels, (spec.width, spec.height),
                             interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
        batch[i] = resized.reshape(spec.height, spec.width, spec.channels)
    return batch


def _to_channels(pixels: np.ndarray, channels: int) -> np.ndarray:
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    if channels == 1 and pixels.ndim == 3:
        return cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    if channels == 3 and pixels.ndim == 2:
        return cv2.cvtColor(pixels, cv2.COLOR_GRAY2RGB)
    return pixels
