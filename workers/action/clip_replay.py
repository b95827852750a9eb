"""Play a video clip through the action stage as ``vidsentry run CLIP`` would: the producer's
sampling to the camera's frame rate, shrinking and JPEG encoding (a default camera's
settings), then ``ActionStage.process`` frame by frame, with the configured pose rate. What
the stage answers is what a live deployment would have reported for that clip.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

from producers.encoder import encode_jpeg, shrink
from producers.sampler import FpsSampler
from producers.sources import SourceError, VideoFileSource
from schemas import ActionsMsg, FrameMsg
from vidsentry.config.cameras import CameraConfig
from workers.action.errors import DatasetError
from workers.action.pose_cache import CachingPoseEstimator
from workers.action.worker import ActionStage

log = logging.getLogger(__name__)

_T0 = 1_700_000_000.0
"""Capture time of a clip's first frame (any fixed value: only differences matter)."""


def camera_for(path: Path) -> CameraConfig:
    """A camera with the default settings reading ``path``, named after the file."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(path).stem)[:64] or "clip"
    return CameraConfig(id=name, source=str(path))


def clip_frames(path: Path, camera: CameraConfig, max_seconds: float | None = None) -> Iterator[FrameMsg]:
    """The FrameMsgs a producer publishes for a video file (its first ``max_seconds`` when
    given). A file that ends early (truncated) ends the clip instead of failing it; one that
    cannot be read at all is a DatasetError."""
    source = VideoFileSource(camera.id, Path(path), camera.max_pixels)
    try:
        source.open()
    except SourceError as exc:
        raise DatasetError(path, exc.reason) from None
    sampler = FpsSampler(camera.fps, live=False)
    try:
        while True:
            try:
                capture = source.read()
            except SourceError as exc:
                if source.index == 0:
                    raise DatasetError(path, exc.reason) from None
                log.info("%s: %s; using the %d frames read", path, exc.reason, source.index)
                return
            if capture is None or (max_seconds is not None and capture.ts > max_seconds):
                return
            if not sampler.keep(capture.ts):
                continue
            image = shrink(capture.image, camera.max_side)
            yield FrameMsg(camera.id, capture.index, _T0 + capture.ts, image.shape[1], image.shape[0],
                           encode_jpeg(image, camera.jpeg_quality))
    finally:
        source.close()


def replay_clip(stage: ActionStage, path: Path, camera: CameraConfig | None = None,
                max_seconds: float | None = None) -> list[ActionsMsg]:
    """The stage's answer to every published frame of the clip. When the stage's estimator is a
    ``CachingPoseEstimator`` the people of each posed frame come from (and go to) its cache."""
    camera = camera or camera_for(path)
    estimator = stage.estimator if isinstance(stage.estimator, CachingPoseEstimator) else None
    if estimator is not None:
        estimator.open(path, {"camera": camera.model_dump(include={"fps", "max_side", "jpeg_quality"}),
                              "pose": stage.config.pose.model_dump()})
    outputs = []
    try:
        for frame in clip_frames(path, camera, max_seconds):
            if estimator is not None:
                estimator.frame = frame.seq
            outputs.extend(stage.process([frame]))
    finally:
        if estimator is not None:
            estimator.close_clip()
    stage.revoke([])
    return outputs
