"""What every frame-consuming pool shares: a frame's JPEG -> RGB pixels, or a
``DecodeError`` naming the camera and frame (the runtime dead-letters the message)."""

from __future__ import annotations

import cv2
import numpy as np

from schemas import FrameMsg


class DecodeError(ValueError):
    """A frame's JPEG cannot be decoded; the runtime dead-letters the message."""

    def __init__(self, camera: str, seq: int, reason: str) -> None:
        self.camera = camera
        self.seq = seq
        self.reason = reason
        super().__init__(f"camera {camera} frame {seq}: {reason}")


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
