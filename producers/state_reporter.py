"""The producer's cameras' state to a store the console reads (vidsentry/camera_state.py), once
a second from a thread of its own: a store that is down costs a warning, never a frame."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from producers.camera import CameraState
from vidsentry.camera_state import ENDED_TTL_S, REFRESH_S, TTL_S, CameraStateError, CameraStateRecord, CameraStateWriter

log = logging.getLogger(__name__)

PUBLIC_STATE = {CameraState.STARTING.value: "reconnecting", CameraState.STREAMING.value: "up",
                CameraState.RECONNECTING.value: "reconnecting", CameraState.FINISHED.value: "ended",
                CameraState.FAILED.value: "down", CameraState.STOPPED.value: "down"}
"""A camera opening for the first time is, to an operator, one that is not up yet and being tried."""


def records(cameras: dict[str, dict], beat: int) -> list[CameraStateRecord]:
    """From ``Producer.status()["cameras"]``."""
    return [CameraStateRecord(camera=cid, state=PUBLIC_STATE[c["state"]], fps=float(c["fps"]), dropped=int(c["dropped"]),
                              reconnects=int(c["reconnects"]), captured=int(c["captured"]), published=int(c["published"]),
                              error=c["error"], beat=beat)
            for cid, c in sorted(cameras.items())]


class StateReporter:
    def __init__(self, cameras: Callable[[], dict[str, dict]], writer: CameraStateWriter, interval_s: float = REFRESH_S) -> None:
        self.cameras = cameras
        self.writer = writer
        self.interval_s = interval_s
        self.beat = 0
        self.failing: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def report(self, final: bool = False) -> bool:
        """One refresh; False (logged once per outage) when the store cannot be written. The last one, at
        stop, keeps an ended camera's record for ``ENDED_TTL_S``."""
        self.beat += 1
        batch = records(self.cameras(), self.beat)
        try:
            self.writer.write([r for r in batch if not (final and r.state == "ended")], TTL_S)
            if final:
                self.writer.write([r for r in batch if r.state == "ended"], ENDED_TTL_S)
        except CameraStateError as exc:
            if self.failing is None:
                log.warning("producer: camera state not published (%s); frames go on, retrying every %.0f s", exc, self.interval_s)
            self.failing = str(exc)
            return False
        if self.failing is not None:
            log.info("producer: camera state published again")
            self.failing = None
        return True

    def start(self) -> StateReporter:
        self._thread = threading.Thread(target=self._run, name="camera-state", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
            self.report(final=True)

    def _run(self) -> None:
        """The first report after one interval: by then the cameras have had their first go at opening."""
        while not self._stop.wait(self.interval_s):
            self.report()
