"""The producer role: many cameras in one process, publishing to the `frames` topic.

Lifecycle: ``start`` opens every camera on its own reader thread; ``run`` publishes
buffered frames round-robin until every camera has ended or a stop is asked; ``stop``
ends the readers, publishes what is still buffered and flushes.
"""

from __future__ import annotations

import logging
import threading
import time

from producers.buffer import FrameBuffer
from producers.camera import CameraReader, CameraState, SourceFactory, default_source
from producers.metrics import FRAMES
from producers.sources import STREAM_SCHEMES
from schemas import encode
from schemas.topics import FRAMES as FRAMES_TOPIC
from vidsentry.bus import Bus, BusError, PublishTimeout
from vidsentry.config.cameras import CameraConfig, ProducerSettings

log = logging.getLogger(__name__)


class Producer:
    def __init__(self, cameras: list[CameraConfig], settings: ProducerSettings, bus: Bus,
                 source_factory: SourceFactory = default_source) -> None:
        self.cameras = cameras
        self.settings = settings
        self.bus = bus
        self.source_factory = source_factory
        self.stop_event = threading.Event()
        self.readers: dict[str, CameraReader] = {}
        self.buffers: dict[str, FrameBuffer] = {}
        self._publisher = None
        self._outage: str | None = None

    def start(self) -> Producer:
        self._publisher = self.bus.publisher()
        for camera in self.cameras:
            lossless = not paced_like_a_camera(camera)
            buffer = FrameBuffer(camera.id, self.settings.buffer_frames, lossless)
            reader = CameraReader(camera, self.settings, buffer, self.stop_event, self.source_factory)
            self.buffers[camera.id] = buffer
            self.readers[camera.id] = reader
        for reader in self.readers.values():
            reader.start()
        return self

    def run(self) -> None:
        """Publish until every camera has ended (files) or a stop is asked."""
        if self._publisher is None:
            self.start()
        last_flush = time.monotonic()
        try:
            while True:
                moved = self._publish_round()
                if time.monotonic() - last_flush > 0.1:
                    self._flush()
                    last_flush = time.monotonic()
                if not moved:
                    if self.stop_event.is_set() or self._all_ended():
                        break
                    time.sleep(0.005)
        finally:
            self.stop()

    def stop(self) -> None:
        self.stop_event.set()
        for reader in self.readers.values():
            reader.join(timeout=10)
        if self._publisher is not None:
            while self._publish_round(final=True):
                pass
            self._flush()
            self._publisher.close()
            self._publisher = None

    def failures(self) -> dict[str, str]:
        return {cid: r.status.error or "" for cid, r in self.readers.items() if r.status.state == CameraState.FAILED}

    def status(self) -> dict:
        cameras = {cid: reader.status.as_dict() for cid, reader in self.readers.items()}
        for cid, buffer in self.buffers.items():
            cameras[cid]["dropped"] = buffer.dropped
            cameras[cid]["buffered"] = len(buffer)
        ok = self._outage is None and all(c["state"] != CameraState.RECONNECTING.value for c in cameras.values())
        return {"ok": ok, "role": "producer", "bus_outage": self._outage, "cameras": cameras}

    def _publish_round(self, final: bool = False) -> int:
        moved = 0
        for camera_id, buffer in self.buffers.items():
            frame = buffer.take()
            if frame is None:
                continue
            try:
                self._publisher.publish(FRAMES_TOPIC, camera_id, encode(frame))
            except PublishTimeout:
                self._requeue(buffer, frame, final)
                continue
            except BusError as exc:
                self._note_outage(exc)
                self._requeue(buffer, frame, final)
                if not final:
                    time.sleep(0.5)
                continue
            self.readers[camera_id].status.published += 1
            FRAMES.labels(camera_id, "published").inc()
            moved += 1
        return moved

    def _requeue(self, buffer: FrameBuffer, frame, final: bool) -> None:
        """Keep a refused frame for the next round; while stopping there is none, so it is dropped."""
        if final:
            buffer.dropped += 1
            FRAMES.labels(buffer.camera, "dropped").inc()
        else:
            buffer.push_back(frame)

    def _flush(self) -> None:
        try:
            self._publisher.flush(10)
            self._outage = None
        except BusError as exc:
            self._note_outage(exc)

    def _note_outage(self, exc: Exception) -> None:
        if self._outage is None:
            log.warning("producer: the bus is refusing frames (%s); buffering and dropping the oldest per camera", exc)
        self._outage = str(exc)

    def _all_ended(self) -> bool:
        return all(not r.is_alive() for r in self.readers.values()) and not any(len(b) for b in self.buffers.values())


def paced_like_a_camera(camera: CameraConfig) -> bool:
    """A live source, or a file played in real time: its frames are stamped with the wall
    clock, and when the pipeline falls behind the oldest are dropped rather than waited for."""
    return camera.realtime or camera.source.isdigit() or bool(STREAM_SCHEMES.match(camera.source))
