"""The producer role: many cameras in one process, publishing to the `frames` topic.

Lifecycle: ``start`` opens every camera on its own reader thread; ``run`` publishes
buffered frames round-robin until every camera has ended or a stop is asked; ``stop``
ends the readers, publishes what is still buffered and flushes.

While the bus is unreachable (no connection, a refused frame, or a frame left
unacknowledged for ``unreachable_after_s``), a live camera's frames go to its on-disk
spool instead of the bus; once it is reachable again the spool is handed over first, in
order, then newer frames. Only past the spool's bounds are frames dropped (oldest first,
counted). A file read as fast as possible has no spool: its reader waits instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

from producers.buffer import FrameBuffer
from producers.camera import CameraReader, CameraState, SourceFactory, default_source
from producers.deliveries import Deliveries
from producers.metrics import FRAMES, SPOOL_BYTES, SPOOLED
from producers.sources import STREAM_SCHEMES
from producers.spool import Spool, SpoolError, has_records, spool_folder
from producers.state_reporter import StateReporter
from schemas import encode
from schemas.topics import FRAMES as FRAMES_TOPIC
from vidsentry.backoff import Backoff
from vidsentry.bus import Bus, BusError, PublishTimeout
from vidsentry.camera_state import CameraStateWriter
from vidsentry.config.cameras import CameraConfig, ProducerSettings
from vidsentry.health import BusWatch

log = logging.getLogger(__name__)

REPLAY_BATCH = 32
"""Spooled frames handed over per camera per round while catching up."""
MAX_IN_FLIGHT = 256
"""Replay waits while this many frames are unacknowledged, so a long spool does not pile up in the client."""


class Producer:
    def __init__(self, cameras: list[CameraConfig], settings: ProducerSettings, bus: Bus,
                 source_factory: SourceFactory = default_source, clock: Callable[[], float] = time.monotonic,
                 state_writer: CameraStateWriter | None = None) -> None:
        """``state_writer``: where each camera's state goes once a second for the console (producers/state_reporter.py)."""
        self.cameras = cameras
        self.settings = settings
        self.bus = bus
        self.source_factory = source_factory
        self.clock = clock
        self.stop_event = threading.Event()
        self.readers: dict[str, CameraReader] = {}
        self.buffers: dict[str, FrameBuffer] = {}
        self.spools: dict[str, Spool] = {}
        self._no_spool: set[str] = set()
        self._publisher = None
        self._watch = BusWatch(settings.unreachable_after_s, clock)
        self._deliveries = Deliveries(clock, self._acked, self._lost)
        self._refused: str | None = None
        self._retry_at = 0.0
        self._retry = Backoff(0.5, 5.0)
        self._sending = True
        self._lost_frames: Counter[str] = Counter()
        self._replayed: Counter[str] = Counter()
        self.reporter = StateReporter(lambda: self.status()["cameras"], state_writer) if state_writer is not None else None

    def start(self) -> Producer:
        self._publisher = self.bus.publisher()
        for camera in self.cameras:
            lossless = not paced_like_a_camera(camera)
            buffer = FrameBuffer(camera.id, self.settings.buffer_frames, lossless)
            reader = CameraReader(camera, self.settings, buffer, self.stop_event, self.source_factory)
            self.buffers[camera.id] = buffer
            self.readers[camera.id] = reader
            if lossless or self.settings.spool_max_bytes == 0:
                self._no_spool.add(camera.id)
            elif has_records(spool_folder(self.settings.spool_dir, camera.id)):
                self._spool(camera.id, create=True)
        for reader in self.readers.values():
            reader.start()
        if self.reporter is not None:
            self.reporter.start()
        return self

    def run(self) -> None:
        """Publish until every camera has ended (files) or a stop is asked."""
        if self._publisher is None:
            self.start()
        try:
            while True:
                moved = self._publish_round()
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
            self._last_round()
            try:
                self._publisher.flush(10)
            except BusError as exc:
                log.warning("producer: %s; frames not yet acknowledged are lost (counted as dropped)", exc)
            self._publisher.close()
            self._publisher = None
        for camera_id, spool in self.spools.items():
            if len(spool):
                log.warning("camera %s: %d frame(s) stay in the spool %s and are replayed at the next start",
                            camera_id, len(spool), spool.folder)
            spool.close()
        if self.reporter is not None:
            self.reporter.stop()

    def failures(self) -> dict[str, str]:
        return {cid: r.status.error or "" for cid, r in self.readers.items() if r.status.state == CameraState.FAILED}

    def status(self) -> dict:
        """For /healthz: not ok while the bus has been unreachable for ``unreachable_after_s`` or a camera reconnects."""
        self._observe_bus()
        outage = self._watch.outage()
        cameras = {cid: reader.status.as_dict() for cid, reader in self.readers.items()}
        for cid, buffer in self.buffers.items():
            spool = self.spools.get(cid)
            cameras[cid]["dropped"] = buffer.dropped + self._lost_frames[cid] + (spool.dropped if spool is not None else 0)
            cameras[cid]["buffered"] = len(buffer)
            cameras[cid]["spooled"] = len(spool) if spool is not None else 0
            cameras[cid]["spool_bytes"] = spool.bytes if spool is not None else 0
            cameras[cid]["replayed"] = self._replayed[cid]
        ok = outage is None and all(c["state"] != CameraState.RECONNECTING.value for c in cameras.values())
        return {"ok": ok, "role": "producer", "bus_outage": outage, "cameras": cameras}

    def ready(self) -> dict:
        """For /readyz: started and connected to the bus now."""
        self._observe_bus()
        return {"ok": self._watch.reachable, "role": "producer"}

    def _publish_round(self) -> int:
        moved = 0
        sending = self._check_bus()
        for camera_id, buffer in self.buffers.items():
            spool = self._spool(camera_id, create=not sending)
            if spool is not None and (not sending or len(spool)):
                moved += self._spill(camera_id, buffer, spool)
            if not sending:
                continue
            if spool is not None and len(spool):
                moved += self._replay(camera_id, spool)
            else:
                moved += self._publish_next(camera_id, buffer)
            sending = self._may_send()
        return moved

    def _last_round(self) -> None:
        """Stopping: what is buffered goes to the bus, or behind a spool that is not empty
        (kept for the next run); a refused frame of a camera without a spool is dropped."""
        sending = self._check_bus()
        for camera_id, buffer in self.buffers.items():
            spool = self._spool(camera_id, create=not sending)
            if spool is not None and (not sending or len(spool)):
                self._spill(camera_id, buffer, spool)
                continue
            while (frame := buffer.take()) is not None:
                if not (sending and self._send(camera_id, encode(frame), replayed=False)):
                    buffer.count_drop()

    def _observe_bus(self) -> bool:
        """Tell the watch how the bus is (from any thread); True if it looks reachable, a refusal aside."""
        publisher = self._publisher
        if publisher is None:
            return False
        age = self._deliveries.oldest_age()
        if not publisher.connected():
            self._watch.observe("no connection to the bus")
            return False
        if age is not None and age >= self.settings.unreachable_after_s:
            # unreachable since that frame was sent: reported after unreachable_after_s, not twice that
            self._watch.observe(f"the bus has not acknowledged a frame sent {age:.0f}s ago", since=self.clock() - age)
            return False
        self._watch.observe(self._refused)
        return True

    def _check_bus(self) -> bool:
        """The publishing thread's look at the bus: True if frames may be sent now. After a
        refusal the next frame, once its backoff is over, is the probe."""
        sending = self._observe_bus() and self.clock() >= self._retry_at
        if sending != self._sending:
            self._sending = sending
            if sending:
                log.info("producer: the bus takes frames again; %d spooled frame(s) go first",
                         sum(len(s) for s in self.spools.values()))
            elif self._refused is None:
                log.warning("producer: the bus is unreachable; live cameras spool to %s", self.settings.spool_dir)
        return sending

    def _may_send(self) -> bool:
        return self._sending and self.clock() >= self._retry_at

    def _spool(self, camera_id: str, create: bool) -> Spool | None:
        spool = self.spools.get(camera_id)
        if spool is not None or not create or camera_id in self._no_spool:
            return spool
        try:
            spool = Spool(spool_folder(self.settings.spool_dir, camera_id), self.settings.spool_max_bytes,
                          self.settings.spool_max_age_s, on_drop=lambda n: FRAMES.labels(camera_id, "dropped").inc(n))
        except SpoolError as exc:
            log.error("camera %s: %s; its frames are dropped, oldest first, while the bus is unreachable", camera_id, exc)
            self._no_spool.add(camera_id)
            return None
        self.spools[camera_id] = spool
        return spool

    def _spill(self, camera_id: str, buffer: FrameBuffer, spool: Spool) -> int:
        """Move the buffered frames behind the spooled ones."""
        moved = 0
        while (frame := buffer.take()) is not None:
            moved += 1
            try:
                if spool.append(encode(frame)):
                    FRAMES.labels(camera_id, "spooled").inc()
            except SpoolError as exc:
                log.error("camera %s: %s; the frame is dropped", camera_id, exc)
                buffer.count_drop()
        self._gauge(camera_id, spool)
        return moved

    def _replay(self, camera_id: str, spool: Spool) -> int:
        moved = 0
        while moved < REPLAY_BATCH and len(self._deliveries) < MAX_IN_FLIGHT:
            payload = spool.peek()
            if payload is None or not self._send(camera_id, payload, replayed=True):
                break
            spool.pop()
            moved += 1
        if moved and not len(spool):
            log.info("camera %s: spool replayed and removed", camera_id)
        self._gauge(camera_id, spool)
        return moved

    def _gauge(self, camera_id: str, spool: Spool) -> None:
        SPOOLED.labels(camera_id).set(len(spool))
        SPOOL_BYTES.labels(camera_id).set(spool.bytes)

    def _publish_next(self, camera_id: str, buffer: FrameBuffer) -> int:
        frame = buffer.take()
        if frame is None:
            return 0
        if self._send(camera_id, encode(frame), replayed=False):
            return 1
        buffer.push_back(frame)
        return 0

    def _send(self, camera_id: str, payload: bytes, replayed: bool) -> bool:
        token, done = self._deliveries.track(camera_id, replayed)
        try:
            self._publisher.publish(FRAMES_TOPIC, camera_id, payload, on_delivery=done)
            return True
        except PublishTimeout:
            self._deliveries.cancel(token)  # the bus pushes back (a slow consumer): the buffer's drop policy applies
        except BusError as exc:
            self._deliveries.cancel(token)
            self._refuse(f"the bus refused a frame: {exc}")
        return False

    def _refuse(self, reason: str) -> None:
        if self._refused is None:
            log.warning("producer: %s; live cameras spool until it takes frames again", reason)
        self._refused = reason
        self._retry_at = self.clock() + self._retry.next()
        self._sending = False

    def _acked(self, camera_id: str, replayed: bool) -> None:
        self.readers[camera_id].status.published += 1
        FRAMES.labels(camera_id, "published").inc()
        if replayed:
            self._replayed[camera_id] += 1
            FRAMES.labels(camera_id, "replayed").inc()
        self._refused = None
        self._retry.reset()

    def _lost(self, camera_id: str, error: Exception) -> None:
        self._lost_frames[camera_id] += 1
        FRAMES.labels(camera_id, "dropped").inc()
        if self._refused is None:
            log.warning("camera %s: the bus gave up on a frame (%s); counted as dropped", camera_id, error)
        self._refused = f"the bus gave up on a frame: {error}"

    def _all_ended(self) -> bool:
        return (all(not r.is_alive() for r in self.readers.values()) and not any(len(b) for b in self.buffers.values())
                and not any(len(s) for s in self.spools.values()))


def paced_like_a_camera(camera: CameraConfig) -> bool:
    """A live source, or a file played in real time: its frames are stamped with the wall
    clock, and when the pipeline falls behind the oldest are dropped rather than waited for."""
    return camera.realtime or camera.source.isdigit() or bool(STREAM_SCHEMES.match(camera.source))
