"""One camera: open the source, read, sample, shrink, encode, hand to the buffer; reopen
live sources with exponential backoff and jitter, forever; end a file camera on error."""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from producers.buffer import FrameBuffer
from producers.encoder import encode_jpeg, shrink
from producers.metrics import CAMERA_FPS, CAMERA_UP, DOWN_SECONDS, ENCODE_SECONDS, FRAMES, RECONNECTS
from producers.sampler import FpsSampler
from producers.sources import FrameSource, SourceError, open_source
from schemas import FrameMsg
from vidsentry.backoff import Backoff
from vidsentry.config.cameras import CameraConfig, ProducerSettings

log = logging.getLogger(__name__)

SourceFactory = Callable[[CameraConfig, ProducerSettings], FrameSource]


def default_source(camera: CameraConfig, settings: ProducerSettings) -> FrameSource:
    return open_source(camera.id, camera.source, camera.fps, settings.open_timeout_s, settings.read_timeout_s,
                       camera.max_pixels)


class CameraState(str, enum.Enum):
    STARTING = "starting"
    STREAMING = "streaming"
    RECONNECTING = "reconnecting"
    FINISHED = "finished"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass
class CameraStatus:
    state: CameraState = CameraState.STARTING
    error: str | None = None
    captured: int = 0
    published: int = 0
    reconnects: int = 0
    skipped_images: int = 0
    """Images of an image folder that could not be used (unreadable, or too large to shrink)."""
    fps: float = 0.0
    rate_window: list[float] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict:
        return {"state": self.state.value, "error": self.error, "captured": self.captured,
                "published": self.published, "reconnects": self.reconnects, "skipped_images": self.skipped_images,
                "fps": round(self.fps, 2)}


class CameraReader(threading.Thread):
    def __init__(self, camera: CameraConfig, settings: ProducerSettings, buffer: FrameBuffer, stop: threading.Event,
                 source_factory: SourceFactory = default_source) -> None:
        super().__init__(name=f"camera-{camera.id}", daemon=True)
        self.camera = camera
        self.settings = settings
        self.buffer = buffer
        self.stop_event = stop
        self.source = source_factory(camera, settings)
        self.status = CameraStatus()
        self.sampler = FpsSampler(camera.fps, live=self.source.live)
        self._seq_base = int(time.time() * 1000)
        self._file_t0: float | None = None
        """Files are stamped on their own clock (start of reading + media position), so rule
        durations mean the same in batch analysis as in real time; seq is the frame index."""
        self._live_seq = 0
        self._unreadable = 0
        self._backoff = Backoff(settings.reconnect_initial_s, settings.reconnect_max_s, jitter=0.2)

    def run(self) -> None:
        lost_at: float | None = None
        while not self.stop_event.is_set():
            try:
                self.source.open()
                if lost_at is not None:
                    gap = time.monotonic() - lost_at
                    DOWN_SECONDS.labels(self.camera.id).inc(gap)
                    log.info("camera %s: source is back after a %.1f s gap", self.camera.id, gap)
                    lost_at = None
                self._set_state(CameraState.STREAMING)
                if self._stream():
                    self._set_state(CameraState.FINISHED)
                    return
            except SourceError as exc:
                if not self.source.live:
                    self.status.error = str(exc)
                    self._set_state(CameraState.FAILED)
                    log.error("%s; this camera stops, the others go on", exc)
                    return
                self.status.error = str(exc)  # the last one, kept after the source is back
                if lost_at is None:
                    lost_at = time.monotonic()
                    log.warning("%s; reconnecting with backoff", exc)
                delay = self._backoff.next()
                self.status.reconnects += 1
                RECONNECTS.labels(self.camera.id).inc()
                self._set_state(CameraState.RECONNECTING)
                log.info("camera %s: reopening in %.1f s (attempt %d)", self.camera.id, delay, self._backoff.attempts)
                self.stop_event.wait(delay)
            finally:
                self.source.close()
        if self.status.state not in (CameraState.FINISHED, CameraState.FAILED):
            self._set_state(CameraState.STOPPED)

    def _stream(self) -> bool:
        """Read until the source ends (True) or a stop is asked (False); raises SourceError."""
        started_wall: float | None = None
        first_ts: float | None = None
        self.sampler.reset()
        while not self.stop_event.is_set():
            capture = self.source.read()
            unreadable = self.source.skipped() - self._unreadable
            if unreadable > 0:
                self._unreadable += unreadable
                self.status.skipped_images += unreadable
                FRAMES.labels(self.camera.id, "unreadable").inc(unreadable)
            if capture is None:
                return True
            self._backoff.reset()
            self.status.captured += 1
            FRAMES.labels(self.camera.id, "captured").inc()
            if not self.sampler.keep(capture.ts):
                FRAMES.labels(self.camera.id, "sampled_out").inc()
                continue
            if self.camera.realtime and not self.source.live:
                if started_wall is None:
                    started_wall, first_ts = time.monotonic(), capture.ts
                wait = started_wall + (capture.ts - first_ts) - time.monotonic()
                if wait > 0 and self.stop_event.wait(wait):
                    return False
            self.buffer.put(self._frame(capture), self.stop_event)
            self._count_rate()
        return False

    def _frame(self, capture) -> FrameMsg:
        started = time.perf_counter()
        image = shrink(capture.image, self.camera.max_side)
        jpeg = encode_jpeg(image, self.camera.jpeg_quality)
        ENCODE_SECONDS.labels(self.camera.id).observe(time.perf_counter() - started)
        if self.source.live:
            seq, ts = self._seq_base + self._live_seq, time.time()
            self._live_seq += 1
        else:
            if self._file_t0 is None:
                self._file_t0 = time.time() - capture.ts
            seq, ts = capture.index, self._file_t0 + capture.ts
        return FrameMsg(self.camera.id, seq, ts, image.shape[1], image.shape[0], jpeg,
                        live=self.source.live or self.camera.realtime, still=getattr(self.source, "still", False))

    def _count_rate(self) -> None:
        now = time.monotonic()
        window = self.status.rate_window
        window.append(now)
        while window and now - window[0] > 5.0:
            window.pop(0)
        span = now - window[0]
        self.status.fps = (len(window) - 1) / span if span > 0 else 0.0
        CAMERA_FPS.labels(self.camera.id).set(self.status.fps)

    def _set_state(self, state: CameraState) -> None:
        self.status.state = state
        CAMERA_UP.labels(self.camera.id).set(1 if state == CameraState.STREAMING else 0)
