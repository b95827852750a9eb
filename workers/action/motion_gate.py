"""Motion gating, as NVRs do: skip the pose pass when nothing in view changed.

Each frame that would get a pose pass is shrunk to ``WIDTH`` pixels wide, turned grey and
blurred, then compared with the frame of the camera's last pose pass: when
fewer than ``min_area`` of its pixels changed by more than ``PIXEL_THRESHOLD`` grey levels,
the frame is answered with the last pass's people. Comparing with the last *pass* (not the
previous frame) lets slow motion add up until it counts. While people are tracked, a pass
still runs at least every ``idle_s`` so their windows keep a recent pose: a person who stood
still and then falls has the standing pose in the window the fall rule compares with.
An empty static scene gets no pass at all after the first.
"""

from __future__ import annotations

import cv2
import numpy as np

WIDTH = 160
PIXEL_THRESHOLD = 20
"""Grey levels (of 255, after a 5x5 blur) a pixel must change by to count: well above the
blurred sensor noise and JPEG artefacts of a still camera (the still-street test adds noise of
sigma 3 grey levels and gets no pass)."""


class MotionGate:
    """One camera's gate."""

    def __init__(self, min_area: float, idle_s: float | None) -> None:
        self.min_area = min_area
        self.idle_s = idle_s
        self._reference: np.ndarray | None = None
        self._t = 0.0

    def moved(self, t: float, rgb: np.ndarray, people_tracked: bool) -> bool:
        """Whether the frame at capture time ``t`` needs a pose pass. When it does, it becomes
        the reference the next frames are compared with (the caller runs the pass)."""
        small = _small(rgb)
        reference = self._reference
        needed = (reference is None or reference.shape != small.shape or t < self._t
                  or (people_tracked and self.idle_s is not None and t - self._t >= self.idle_s)
                  or changed_share(reference, small) >= self.min_area)
        if needed:
            self._reference, self._t = small, t
        return needed


def changed_share(before: np.ndarray, after: np.ndarray) -> float:
    return float(np.count_nonzero(cv2.absdiff(before, after) > PIXEL_THRESHOLD)) / before.size


def _small(rgb: np.ndarray) -> np.ndarray:
    height, width = rgb.shape[:2]
    small = cv2.resize(rgb, (WIDTH, max(1, round(height * WIDTH / width))), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (5, 5), 0)
