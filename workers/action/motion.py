"""Dense motion of a camera's recent frames: Farneback optical flow on small grey frames,
summarised per frame into the few numbers the fight model reads.

Every frame is shrunk to ``width`` pixels wide (160: a few milliseconds of flow and summary
per frame, EVALUATION.md) and compared with the last one used, at most ``max_fps`` times a
second, so a 25 fps camera and a 10 fps one give the same flow. The camera's own motion (a
pan, a shaking hand-held recording) is removed by subtracting each frame's median flow.
Speeds are in frame widths per second, so the numbers do not depend on the image size.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

MOVING = 0.1
"""Speed (frame widths/s) above which a pixel or a cell counts as moving."""
CELL = 8
"""Cell size in pixels of the small frame: incoherence and turning are measured per cell."""
_BINS = 8


@dataclass
class FlowFrame:
    """One frame's motion summary (against the frame before it)."""

    t: float
    entropy: float
    """Spread of the moving pixels' directions, 0 (one direction) to 1 (all directions alike)."""
    coherence: float
    """Length of the moving pixels' mean velocity over their mean speed: 1 all move together."""
    moving: float
    """Share of pixels moving."""
    p95: float
    """95th percentile of pixel speed."""
    incoherence: tuple[float, float]
    """Numerator and denominator of the moving cells' speed-weighted incoherence."""
    turning: tuple[float, float]
    """Numerator and denominator of the cells' speed-weighted change of direction since the last frame."""
    change95: float
    """95th percentile over cells of the change of their mean velocity since the last frame
    (NaN on the first frame after a restart)."""
    chaos: np.ndarray
    """(h, w) per cell: mean speed minus the speed of the mean velocity (motion that cancels out)."""
    speed: np.ndarray
    """(h, w) per cell: mean speed."""


class MotionHistory:
    """The last ``seconds`` of one camera's flow summaries."""

    def __init__(self, seconds: float = 2.0, width: int = 160, max_fps: float = 10.0, max_gap_s: float = 0.5) -> None:
        self.seconds = seconds
        self.width = width
        self.min_interval = 0.9 / max_fps
        self.max_gap_s = max_gap_s
        self.frames: deque[FlowFrame] = deque()
        self._gray: np.ndarray | None = None
        self._t = 0.0
        self._cells: np.ndarray | None = None

    def add(self, t: float, rgb: np.ndarray) -> FlowFrame | None:
        """Adds a frame; returns its summary, or None when it was too soon after the last
        one, was the first, came after a gap or went back in time (the flow restarts)."""
        if self._gray is not None and 0 <= t - self._t < self.min_interval:
            return None
        height, width = rgb.shape[:2]
        small = cv2.resize(rgb, (self.width, max(CELL, round(height * self.width / width))), interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
        previous, dt = self._gray, t - self._t
        self._gray, self._t = gray, t
        if previous is None or previous.shape != gray.shape or not 0 < dt <= self.max_gap_s:
            self._cells = None
            return None
        flow = cv2.calcOpticalFlowFarneback(previous, gray, None, 0.5, 3, 9, 3, 5, 1.1, 0)
        frame = self._summary(t, flow, dt)
        self.frames.append(frame)
        while self.frames and self.frames[0].t <= t - self.seconds:
            self.frames.popleft()
        return frame

    def window(self, t_end: float, seconds: float) -> list[FlowFrame]:
        return [f for f in self.frames if t_end - seconds < f.t <= t_end]

    def _summary(self, t: float, flow: np.ndarray, dt: float) -> FlowFrame:
        velocity = (flow - np.median(flow.reshape(-1, 2), axis=0)) / (self.width * dt)
        speed = np.linalg.norm(velocity, axis=-1)
        moving = speed > MOVING
        weights = speed[moving]
        if moving.sum() > 10:
            mean_velocity = velocity[moving].mean(axis=0)
            coherence = float(np.linalg.norm(mean_velocity) / weights.mean())
        else:
            coherence = 1.0
        entropy = _entropy(np.arctan2(velocity[moving][:, 1], velocity[moving][:, 0]), weights)

        h, w = speed.shape[0] // CELL, speed.shape[1] // CELL
        cells = velocity[:h * CELL, :w * CELL].reshape(h, CELL, w, CELL, 2).mean(axis=(1, 3))
        cell_speed = speed[:h * CELL, :w * CELL].reshape(h, CELL, w, CELL).mean(axis=(1, 3))
        cell_velocity = np.linalg.norm(cells, axis=-1)
        weight = cell_speed * (cell_speed > MOVING)
        incoherence = (float(((1 - cell_velocity / np.maximum(cell_speed, 1e-6)) * weight).sum()), float(weight.sum()))
        turning, change95 = (0.0, 0.0), float("nan")
        if self._cells is not None and self._cells.shape == cells.shape:
            before = self._cells
            lengths = cell_velocity * np.linalg.norm(before, axis=-1)
            cosine = (cells * before).sum(-1) / np.maximum(lengths, 1e-12)
            both = np.sqrt(lengths)
            both = both * (both > MOVING)
            turning = (float(((1 - cosine) / 2 * both).sum()), float(both.sum()))
            change95 = float(np.percentile(np.linalg.norm(cells - before, axis=-1), 95))
        self._cells = cells
        return FlowFrame(t, entropy, coherence, float(moving.mean()), float(np.percentile(speed, 95)), incoherence,
                         turning, change95, (cell_speed - cell_velocity).astype(np.float32), cell_speed.astype(np.float32))


def _entropy(angles: np.ndarray, weights: np.ndarray) -> float:
    counts, _ = np.histogram(angles, bins=_BINS, range=(-np.pi, np.pi), weights=weights)
    total = counts.sum()
    if total <= 0:
        return 0.0
    p = counts[counts > 0] / total
    return float(-(p * np.log(p)).sum() / np.log(_BINS))
