"""Frame JPEG -> RGB pixels, or a ``DecodeError`` naming the camera and frame."""

from __future__ import annotations

import cv2
import numpy as np

from schemas import FrameMsg
from workers.action.errors import DecodeError


def decode_frame(frame: FrameMsg) -> np.ndarray:
    if not frame.jpeg:
        raise DecodeError(frame.camera, frame.seq, "the frame carries no image bytes")
    buffer = np.frombuffer(frame.jpeg, np.uint8)
    try:
        bgr = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise DecodeError(frame.camera, frame.seq, f"OpenCV cannot decode the image: {exc}") from None
    if bgr is None or bgr.size == 0:
        raise DecodeError(frame.camera, frame.seq,
                          f"{len(frame.jpeg)} bytes are not a decodable JPEG (starts {frame.jpeg[:4].hex()})")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
