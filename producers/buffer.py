"""The per-camera hand-off between a camera's reader and the publisher, bounded.

Policy when the bus pushes back: a live camera (or a file played in real time) keeps
only the newest ``capacity`` frames and drops the oldest — a late frame of a live scene
is worth less than a current one. A file read as fast as possible is lossless: the
reader waits for room instead, since a file can wait.
"""

from __future__ import annotations

import threading
from collections import deque

from producers.metrics import BUFFERED, FRAMES
from schemas import FrameMsg


class FrameBuffer:
    def __init__(self, camera: str, capacity: int, lossless: bool) -> None:
        self.camera = camera
        self.capacity = capacity
        self.lossless = lossless
        self._frames: deque[FrameMsg] = deque()
        self._cond = threading.Condition()
        self.dropped = 0

    def put(self, frame: FrameMsg, stop: threading.Event) -> bool:
        """Add a frame; returns False if it made room by dropping the oldest one."""
        with self._cond:
            if self.lossless:
                while len(self._frames) >= self.capacity and not stop.is_set():
                    self._cond.wait(0.1)
            dropped_one = len(self._frames) >= self.capacity
            if dropped_one:
                self._frames.popleft()
                self.count_drop()
            self._frames.append(frame)
            BUFFERED.labels(self.camera).set(len(self._frames))
            return not dropped_one

    def take(self) -> FrameMsg | None:
        with self._cond:
            frame = self._frames.popleft() if self._frames else None
            BUFFERED.labels(self.camera).set(len(self._frames))
            self._cond.notify_all()
            return frame

    def push_back(self, frame: FrameMsg) -> bool:
        """Return a frame the bus refused to the front, so order is kept. If a live
        buffer filled up meanwhile, that frame is the oldest and is the one dropped."""
        with self._cond:
            if not self.lossless and len(self._frames) >= self.capacity:
                self.count_drop()
                return False
            self._frames.appendleft(frame)
            return True

    def count_drop(self) -> None:
        self.dropped += 1
        FRAMES.labels(self.camera, "dropped").inc()

    def __len__(self) -> int:
        with self._cond:
            return len(self._frames)
