"""The fight model's inputs: a few numbers per camera window (``MotionHistory`` frames and
the people in view), and where in the frame the motion is.

A fight is motion that does not add up: limbs and bodies in one place moving in many
directions, turning back and forth from frame to frame; walking, driving and a panning
camera move coherently. Every feature is a ratio or a speed in frame widths per second, so
none depends on the image size.
"""

from __future__ import annotations

import numpy as np

from workers.action.motion import FlowFrame

FEATURE_VERSION = 2
FEATURES = ("entropy", "coherence", "moving", "p95", "incoherence", "turning", "change95", "chaos_top", "group")
MAX_GROUP = 3
"""Groups are counted up to this many people: a crowd is not a bigger fight."""
_TOP_CELLS = 0.05
_EPS = 1e-3


def window_features(frames: list[FlowFrame], group: int) -> np.ndarray | None:
    """The ``FEATURES`` vector of a window's flow frames and its largest group of people
    (``largest_group``, most of the window's pose passes); None when the window holds fewer
    than 3 flow frames."""
    if len(frames) < 3:
        return None
    incoherence = np.array([f.incoherence for f in frames]).sum(axis=0)
    turning = np.array([f.turning for f in frames]).sum(axis=0)
    changes = np.array([f.change95 for f in frames])
    chaos = np.mean([f.chaos for f in frames], axis=0).ravel()
    top = max(1, int(_TOP_CELLS * chaos.size))
    return np.array([
        np.mean([f.entropy for f in frames]),
        np.mean([f.coherence for f in frames]),
        np.mean([f.moving for f in frames]),
        np.log(np.mean([f.p95 for f in frames]) + _EPS),
        incoherence[0] / max(incoherence[1], 1e-6),
        turning[0] / max(turning[1], 1e-6),
        np.log((np.nanmean(changes) if np.isfinite(changes).any() else 0.0) + _EPS),
        np.log(np.sort(chaos)[::-1][:top].mean() + _EPS),
        float(min(group, MAX_GROUP)),
    ], np.float64)


def largest_group(boxes: list[np.ndarray]) -> int:
    """The most people whose boxes touch or overlap, directly or through each other (pixel
    boxes of one frame). People in a fight are in one such group; a street of walkers is many
    groups of one or two."""
    parent = list(range(len(boxes)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            if max(a[0], b[0]) <= min(a[2], b[2]) and max(a[1], b[1]) <= min(a[3], b[3]):
                parent[root(i)] = root(j)
    return int(np.bincount([root(i) for i in range(len(boxes))]).max()) if boxes else 0


def mean_speed(frames: list[FlowFrame]) -> np.ndarray:
    """(h, w) mean cell speed over the window (frame widths/s)."""
    return np.mean([f.speed for f in frames], axis=0)


def box_activity(speed: np.ndarray, box: np.ndarray, width: int, height: int) -> float:
    """Mean cell speed under a person's box (pixel coordinates of a ``width`` x ``height`` frame)."""
    rows, cols = speed.shape
    scale_x, scale_y = cols / width, rows / height
    x1, x2 = int(np.floor(box[0] * scale_x)), int(np.ceil(box[2] * scale_x))
    y1, y2 = int(np.floor(box[1] * scale_y)), int(np.ceil(box[3] * scale_y))
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(cols, max(x2, x1 + 1)), min(rows, max(y2, y1 + 1))
    if x1 >= cols or y1 >= rows:
        return 0.0
    return float(speed[y1:y2, x1:x2].mean())


def active_region(frames: list[FlowFrame], width: int, height: int, share: float = 0.5) -> np.ndarray:
    """[x1, y1, x2, y2] in pixels around the cells whose incoherent motion is at least ``share``
    of the strongest cell's: where a fight is when nobody was found in it."""
    chaos = np.mean([f.chaos for f in frames], axis=0)
    rows, cols = np.nonzero(chaos >= share * chaos.max())
    grid_h, grid_w = chaos.shape
    cell_w, cell_h = width / grid_w, height / grid_h
    return np.array([cols.min() * cell_w, rows.min() * cell_h, (cols.max() + 1) * cell_w, (rows.max() + 1) * cell_h],
                    np.float32)

