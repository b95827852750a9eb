"""What every frame-consuming pool shares: a frame's JPEG -> RGB pixels, or a
``DecodeError`` naming the camera and frame (the runtime dead-letters the message)."""

from __future__ import annotations

import cv2
import numpy as np

from schemas import FrameMsg
from vidsentry.image_header import DEFAULT_MAX_PIXELS, image_size, is_jpeg, megapixels


class DecodeError(ValueError):
    """A frame's JPEG cannot be decoded; the runtime dead-letters the message."""

    def __init__(self, camera: str, seq: int, reason: str) -> None:
        self.camera = camera
        self.seq = seq
        self.reason = reason
        super().__init__(f"camera {camera} frame {seq}: {reason}")


def decode_frame(frame: FrameMsg, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The frame's pixels as RGB. A frame above ``max_pixels`` (read from the JPEG's header,
    whatever the message claims) or not a JPEG at all is refused before it is decoded:
    a frame from a foreign producer could otherwise cost gigabytes."""
    if not frame.jpeg:
        raise DecodeError(frame.camera, frame.seq, "the frame carries no image bytes")
    if not is_jpeg(frame.jpeg):
        raise DecodeError(frame.camera, frame.seq,
                          f"{len(frame.jpeg)} bytes are not a decodable JPEG (starts {frame.jpeg[:4].hex()})")
    size = image_size(frame.jpeg)
    if size is not None and size[0] * size[1] > max_pixels:
        raise DecodeError(frame.camera, frame.seq,
                          f"the frame is {megapixels(*size)}, above the limit of {max_pixels} pixels "
                          f"(max_frame_pixels); publish smaller frames (the producer's max_side) or raise the limit")
    buffer = np.frombuffer(frame.jpeg, np.uint8)
    try:
        bgr = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise DecodeError(frame.camera, frame.seq, f"OpenCV cannot decode the image: {exc}") from None
    if bgr is None or bgr.size == 0:
        raise DecodeError(frame.camera, frame.seq,
                          f"{len(frame.jpeg)} bytes are not a decodable JPEG (starts {frame.jpeg[:4].hex()})")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
