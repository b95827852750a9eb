"""A pose estimator that remembers: people found per (clip, frame) are kept in an ``.npz``
under the user cache, so replaying labelled clips a second time (another classifier, other
features) does not pay for the pose model again. The real estimator is built only when a
frame is missing from the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from workers.action.pose import PersonPose, PoseEstimator

log = logging.getLogger(__name__)

POSE_CACHE_VERSION = 1


class CachingPoseEstimator:
    """Wraps an estimator factory; call ``open(clip, settings)`` before a clip's frames and
    ``close_clip()`` after, and set ``frame`` to the index of the frame about to be posed."""

    def __init__(self, make_estimator: Callable[[], PoseEstimator], folder: Path) -> None:
        self.make_estimator = make_estimator
        self.folder = Path(folder).expanduser()
        self.name = "cached"
        self.frame = 0
        self.misses = 0
        self._estimator: PoseEstimator | None = None
        self._file: Path | None = None
        self._known: dict[int, list[PersonPose]] = {}
        self._dirty = False

    def open(self, clip: Path, settings: dict) -> None:
        stat = Path(clip).stat()
        text = json.dumps([str(Path(clip).resolve()), stat.st_size, stat.st_mtime_ns, settings, POSE_CACHE_VERSION],
                          sort_keys=True, default=str)
        self._file = self.folder / f"{hashlib.sha1(text.encode()).hexdigest()}.npz"
        self._known, self._dirty = _load(self._file), False

    def estimate(self, rgb: np.ndarray, scene: str | None = None) -> list[PersonPose]:
        people = self._known.get(self.frame)
        if people is None:
            if self._estimator is None:
                self._estimator = self.make_estimator()
                self.name = self._estimator.name
            people = self._estimator.estimate(rgb, scene=scene)
            self._known[self.frame] = people
            self._dirty = True
            self.misses += 1
        return [PersonPose(p.box.copy(), p.score, p.keypoints.copy()) for p in people]

    def close_clip(self) -> None:
        if self._dirty and self._file is not None:
            _save(self._file, self._known)
        self._dirty = False


def _load(file: Path) -> dict[int, list[PersonPose]]:
    if not file.is_file():
        return {}
    try:
        with np.load(file) as data:
            frames, counts = data["frames"], data["counts"]
            boxes, scores, keypoints = data["boxes"], data["scores"], data["keypoints"]
    except (OSError, ValueError, KeyError) as exc:
        log.warning("ignoring the unreadable pose cache file %s: %s", file, exc)
        return {}
    known, start = {}, 0
    for frame, count in zip(frames.tolist(), counts.tolist()):
        known[frame] = [PersonPose(boxes[i], float(scores[i]), keypoints[i]) for i in range(start, start + count)]
        start += count
    return known


def _save(file: Path, known: dict[int, list[PersonPose]]) -> None:
    file.parent.mkdir(parents=True, exist_ok=True)
    frames = sorted(known)
    people = [p for f in frames for p in known[f]]
    tmp = file.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp, frames=np.array(frames, np.int64), counts=np.array([len(known[f]) for f in frames], np.int64),
        boxes=np.stack([p.box for p in people]) if people else np.zeros((0, 4), np.float32),
        scores=np.array([p.score for p in people], np.float32),
        keypoints=np.stack([p.keypoints for p in people]) if people else np.zeros((0, 17, 3), np.float32))
    tmp.replace(file)
