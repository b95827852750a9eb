"""Camera sources behind one small interface, all through OpenCV.

A source yields ``Capture``s (image + timestamp). Live sources (streams, webcams) stamp
frames with the wall clock; files and image folders with their media position, so the
sampler and the real-time pacing work the same however fast they are read.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from producers.images import ImageTooLarge, decode_image
from vidsentry.config.cameras import STREAM_SCHEMES as SCHEMES
from vidsentry.config.cameras import URL_SCHEME
from vidsentry.image_header import DEFAULT_MAX_PIXELS, megapixels
from vidsentry.redact import redact_url

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".pgm", ".ppm", ".tif", ".tiff"}
STREAM_SCHEMES = re.compile(rf"^({'|'.join(SCHEMES)})://", re.IGNORECASE)


class SourceError(RuntimeError):
    """A source that cannot be opened or read; names the camera, the source (credentials
    masked: the message ends up in logs, /healthz and summary.json) and the reason."""

    def __init__(self, camera: str, source: str, reason: str) -> None:
        self.camera, self.source, self.reason = camera, redact_url(source), reason
        super().__init__(f"camera {camera}: {reason} ({self.source})")


@dataclass
class Capture:
    image: np.ndarray
    ts: float
    index: int


class FrameSource(Protocol):
    live: bool
    fps: float | None
    still: bool
    """Each frame is an independent photo (an image folder), not part of a moving scene."""

    def open(self) -> None:
        """Connect; raises SourceError."""

    def read(self) -> Capture | None:
        """The next frame; None at the regular end of a finite source; raises SourceError."""

    def skipped(self) -> int:
        """Frames the source itself could not decode and skipped (an image folder's bad files)."""

    def close(self) -> None: ...


def open_source(camera: str, source: str, fps: float = 1.0, open_timeout_s: float = 10.0,
                read_timeout_s: float = 5.0, max_pixels: int = DEFAULT_MAX_PIXELS) -> FrameSource:
    """Pick the source kind from the configured string; ``fps`` is an image folder's frame rate.
    A single image file is read like a folder of one (so a huge JPEG is shrunk as it is decoded)."""
    if source.isdigit():
        return WebcamSource(camera, int(source), max_pixels)
    if STREAM_SCHEMES.match(source):
        return StreamSource(camera, source, open_timeout_s, read_timeout_s, max_pixels)
    scheme = URL_SCHEME.match(source)
    if scheme:
        raise SourceError(camera, source, f"unsupported source scheme '{scheme[1]}' (supported: {', '.join(SCHEMES)})")
    path = Path(source)
    if path.is_dir() or (path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()):
        return ImageFolderSource(camera, path, fps, max_pixels)
    return VideoFileSource(camera, path, max_pixels)


class _CaptureSource:
    live = True
    still = False

    def __init__(self, camera: str, source: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self.camera = camera
        self.source = source
        self.max_pixels = max_pixels
        self.capture: cv2.VideoCapture | None = None
        self.fps: float | None = None
        self.index = 0

    def _fail(self, reason: str) -> SourceError:
        return SourceError(self.camera, self.source, reason)

    def _open_capture(self, target, *args) -> None:
        self.close()
        capture = cv2.VideoCapture(target, *args)
        if not capture.isOpened():
            capture.release()
            raise self._fail("cannot open the source")
        self.capture = capture
        fps = capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and 0 < fps < 1000 else None
        self.index = 0

    def _refuse_oversized(self, width: float, height: float) -> None:
        """Frames above ``max_pixels`` are refused, not shrunk: the decoder has already paid for
        them at full size, every frame."""
        if width * height > self.max_pixels:
            self.close()
            raise self._fail(f"frames are {megapixels(int(width), int(height))}, above max_pixels ({self.max_pixels}): "
                             f"lower the source's resolution or raise the camera's max_pixels")

    def _opened_size_checked(self) -> None:
        assert self.capture is not None
        self._refuse_oversized(self.capture.get(cv2.CAP_PROP_FRAME_WIDTH), self.capture.get(cv2.CAP_PROP_FRAME_HEIGHT))

    def _read_checked(self) -> np.ndarray | None:
        assert self.capture is not None
        ok, image = self.capture.read()
        if not ok or image is None:
            return None
        self._refuse_oversized(image.shape[1], image.shape[0])
        return image

    def skipped(self) -> int:
        return 0

    def close(self) -> None:
        if self.capture is not None:
            self.capture.release()
            self.capture = None


class StreamSource(_CaptureSource):
    """RTSP, HTTP(S) (including MJPEG) and other FFmpeg-readable network streams."""

    def __init__(self, camera: str, url: str, open_timeout_s: float, read_timeout_s: float,
                 max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        super().__init__(camera, url, max_pixels)
        self.params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout_s * 1000),
                       cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(read_timeout_s * 1000)]

    def open(self) -> None:
        self._open_capture(self.source, cv2.CAP_FFMPEG, self.params)
        self._opened_size_checked()

    def read(self) -> Capture | None:
        image = self._read_checked()
        if image is None:
            raise self._fail("the stream stopped sending frames")
        self.index += 1
        return Capture(image, time.time(), self.index - 1)


class WebcamSource(_CaptureSource):
    def __init__(self, camera: str, device: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        super().__init__(camera, str(device), max_pixels)
        self.device = device

    def open(self) -> None:
        self._open_capture(self.device)
        self._opened_size_checked()

    def read(self) -> Capture | None:
        image = self._read_checked()
        if image is None:
            raise self._fail("the webcam stopped sending frames")
        self.index += 1
        return Capture(image, time.time(), self.index - 1)


class VideoFileSource(_CaptureSource):
    """A recorded video. A file that cannot be decoded, or that ends well before the frame
    count in its header, is an error (corrupt or truncated), not a quiet end."""

    live = False

    def __init__(self, camera: str, path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        super().__init__(camera, str(path), max_pixels)
        self.path = path
        self.expected_frames = 0

    def open(self) -> None:
        if not self.path.is_file():
            raise self._fail("no such video file")
        try:
            self._open_capture(str(self.path))
        except SourceError:
            raise self._fail("cannot open it as a video: the file is corrupt, truncated or not a video") from None
        self._opened_size_checked()
        self.expected_frames = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)

    def read(self) -> Capture | None:
        image = self._read_checked()
        if image is None:
            if self.index == 0:
                raise self._fail("no frame could be decoded: the file is corrupt or not a video")
            if self.expected_frames and self.index < 0.98 * self.expected_frames - 1:
                raise self._fail(f"the file ended after {self.index} of {self.expected_frames} frames: it is truncated or damaged")
            return None
        self.index += 1
        position = (self.index - 1) / self.fps if self.fps else self.capture.get(cv2.CAP_PROP_POS_MSEC) / 1000
        return Capture(image, position, self.index - 1)


def image_files(folder: Path) -> list[Path]:
    """The images an image-folder source reads, in the order it reads them (frame ``seq`` i is
    the i-th, unreadable ones included); a single image file is a folder of one."""
    if folder.is_file():
        return [folder]
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


class ImageFolderSource:
    """Images in a folder, in name order, as a slow camera (one frame per image); or one
    image file. Images above ``max_pixels`` are shrunk as they are decoded (JPEG) or skipped.
    Each image is a still: a scene of its own, never tracked across (``FrameMsg.still``)."""

    live = False
    still = True

    def __init__(self, camera: str, folder: Path, fps: float = 1.0, max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self.camera = camera
        self.folder = folder
        self.fps: float | None = fps
        self.max_pixels = max_pixels
        self.files: list[Path] = []
        self.index = 0
        self._skipped = 0

    def open(self) -> None:
        self.files = image_files(self.folder)
        if not self.files:
            raise SourceError(self.camera, str(self.folder), "the folder holds no images")
        self.index = 0

    def read(self) -> Capture | None:
        while self.index < len(self.files):
            path = self.files[self.index]
            self.index += 1
            image, problem = self._decode(path)
            if image is not None:
                return Capture(image, (self.index - 1) / (self.fps or 1.0), self.index - 1)
            if self.folder.is_file():
                raise SourceError(self.camera, str(path), problem)
            self._skipped += 1
            log.warning("camera %s: skipping %s: %s", self.camera, path.name, problem)
        return None

    def _decode(self, path: Path) -> tuple[np.ndarray | None, str]:
        try:
            decoded = decode_image(path.read_bytes(), self.max_pixels)
        except OSError as exc:
            return None, f"cannot read the image: {exc.strerror or exc}"
        except ImageTooLarge as exc:
            return None, str(exc)
        if decoded is None:
            return None, "the image cannot be decoded: it is corrupt, truncated or not an image"
        if decoded.shrunk_from is not None:
            log.warning("camera %s: %s is %s, above max_pixels (%d); shrunk to %dx%d as it was decoded", self.camera,
                        path.name, megapixels(*decoded.shrunk_from), self.max_pixels, decoded.image.shape[1],
                        decoded.image.shape[0])
        return decoded.image, ""

    def skipped(self) -> int:
        return self._skipped

    def close(self) -> None:
        pass
