"""The camera grid's source: one more consumer group on frames, faces, emotions and actions.

It keeps only the last few frames and marks of each camera (taking a record costs a dict
insert, so the console never holds the pipeline back), and draws a tile on demand: the
newest frame whose faces are known, with the same boxes and labels as the annotated video.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from schemas import ActionsMsg, EmotionsMsg, FacesMsg, FrameMsg, Message
from vidsentry.report.annotate import draw
from vidsentry.report.recorder import FrameMarks, _apply

KEEP_FRAMES = 40
FPS_WINDOW_S = 5.0


@dataclass
class CameraFeed:
    camera: str
    frames: OrderedDict[int, FrameMsg] = field(default_factory=OrderedDict)
    marks: OrderedDict[int, FrameMarks] = field(default_factory=OrderedDict)
    arrivals: deque = field(default_factory=lambda: deque(maxlen=600))
    last_seq: int | None = None
    frames_seen: int = 0
    last_arrival: float = 0.0
    faced: set[int] = field(default_factory=set)
    """Frames whose faces message arrived (a frame with no face has an empty one)."""
    tile: tuple[int, bytes] | None = None


class LiveView:
    name = "console-live"

    def __init__(self, stale_after_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.stale_after_s = stale_after_s
        self.clock = clock
        self.cameras: dict[str, CameraFeed] = {}
        self._lock = threading.Lock()

    def process(self, batch: list[Message]) -> list:
        now = self.clock()
        with self._lock:
            for message in batch:
                if isinstance(message, FrameMsg):
                    self._frame(message, now)
                elif isinstance(message, FacesMsg):
                    self._mark(message.camera, message.seq, message.ts_capture, "faces",
                               [{"track": f.track_id, "box": f.box, "status": f.identity.status, "name": f.identity.name,
                                 "person": f.identity.person_id, "reason": f.identity.reason, "emotion": None}
                                for f in message.faces])
                elif isinstance(message, EmotionsMsg):
                    self._mark(message.camera, message.seq, message.ts_capture, "emotions",
                               {e.track_id: e.label for e in message.faces})
                elif isinstance(message, ActionsMsg):
                    self._mark(message.camera, message.seq, message.ts_capture, "bodies",
                               [{"track": p.track_id, "box": p.box, "action": p.action} for p in message.persons])
        return []

    def _frame(self, message: FrameMsg, now: float) -> None:
        feed = self.cameras.setdefault(message.camera, CameraFeed(message.camera))
        feed.last_seq = message.seq if feed.last_seq is None else max(feed.last_seq, message.seq)
        feed.frames[message.seq] = message
        feed.frames_seen += 1
        feed.arrivals.append(message.ts_capture)
        feed.last_arrival = now
        while len(feed.frames) > KEEP_FRAMES:
            feed.frames.popitem(last=False)

    def _mark(self, camera: str, seq: int, ts: float, kind: str, value: list | dict) -> None:
        feed = self.cameras.setdefault(camera, CameraFeed(camera))
        marks = feed.marks.get(seq)
        if marks is None:
            marks = feed.marks[seq] = FrameMarks(ts)
        _apply(marks, kind, value)
        if kind == "faces":
            feed.faced.add(seq)
        while len(feed.marks) > KEEP_FRAMES:
            feed.faced.discard(feed.marks.popitem(last=False)[0])

    def state(self) -> list[dict]:
        """Per camera: up or stalled (no frame for ``stale_after_s``), frames per second (capture clock), frames seen, newest tile's seq."""
        now = self.clock()
        rows = []
        with self._lock:
            for feed in self.cameras.values():
                stamps = [t for t in feed.arrivals if t >= (feed.arrivals[-1] - FPS_WINDOW_S)] if feed.arrivals else []
                span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
                rows.append({"camera": feed.camera, "state": "up" if now - feed.last_arrival <= self.stale_after_s else "stalled",
                             "fps": round((len(stamps) - 1) / span, 1) if span > 0 else 0.0, "frames": feed.frames_seen,
                             "seq": self._tile_seq(feed)})
        return sorted(rows, key=lambda r: r["camera"])

    @staticmethod
    def _tile_seq(feed: CameraFeed) -> int | None:
        faced = [s for s in feed.frames if s in feed.faced]
        if faced:
            return max(faced)
        return max(feed.frames) if feed.frames else None

    def tile(self, camera: str) -> tuple[int, bytes] | None:
        """(seq, JPEG) of the camera's newest marked frame with its overlays; None for an unknown camera."""
        with self._lock:
            feed = self.cameras.get(camera)
            if feed is None:
                return None
            seq = self._tile_seq(feed)
            if seq is None:
                return None
            if feed.tile is not None and feed.tile[0] == seq:
                return feed.tile
            frame, marks = feed.frames[seq], feed.marks.get(seq)
        image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            return None
        ok, jpeg = cv2.imencode(".jpg", draw(image, marks, 1.0, []), [cv2.IMWRITE_JPEG_QUALITY, 80])
        if not ok:
            return None
        with self._lock:
            feed.tile = (seq, jpeg.tobytes())
            return feed.tile
