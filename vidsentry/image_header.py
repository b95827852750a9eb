"""An image's width and height read from its header, without decoding its pixels: how a
frame above a pixel limit is refused or shrunk before it costs gigabytes (a 12000x12000
JPEG decodes to 432 MB of BGR, and OpenCV's own cap is a gigapixel)."""

from __future__ import annotations

import struct

DEFAULT_MAX_PIXELS = 7680 * 4320
"""8K UHD: the default bound on a decoded frame, for producers and frame workers alike."""

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SOF_MARKERS = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_STANDALONE_MARKERS = {0x01, *range(0xD0, 0xD8)}


def is_jpeg(data: bytes) -> bool:
    return data[:2] == b"\xff\xd8"


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a JPEG (its first SOF segment) or a PNG (IHDR); None when the
    bytes are neither or the header is cut short."""
    if is_jpeg(data):
        return _jpeg_size(data)
    if data[:8] == _PNG_SIGNATURE and data[12:16] == b"IHDR" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i, end = 2, len(data)
    while i < end:
        if data[i] != 0xFF:
            return None
        while i < end and data[i] == 0xFF:  # fill bytes before a marker
            i += 1
        if i >= end:
            return None
        marker = data[i]
        i += 1
        if marker in _STANDALONE_MARKERS:
            continue
        if marker in (0xD9, 0xDA) or i + 2 > end:  # end of image, start of scan: no frame header before it
            return None
        length = int.from_bytes(data[i:i + 2], "big")
        if length < 2:
            return None
        if marker in _SOF_MARKERS:
            if i + 7 > end:
                return None
            height, width = struct.unpack(">HH", data[i + 3:i + 7])
            return width, height
        i += length
    return None


def megapixels(width: int, height: int) -> str:
    return f"{width}x{height} ({width * height / 1e6:.1f} MP)"
