"""Labelled action clips: a folder per label holding videos (the BOSS-style layout).

    DATA/walking/clip01.mp4
    DATA/fighting/a.avi ...

Any folder name is a label (those outside ``schemas.ACTION_LABELS`` are allowed and
reported). The train/validation split is by clip, never by window: windows of one clip
are near copies of each other, and splitting them would grade the model on its training
data.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from workers.action.errors import DatasetError

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".m4v", ".wmv"})


@dataclass(frozen=True)
class Clip:
    path: Path
    label: str
    frames: int
    fps: float
    width: int
    height: int

    @property
    def seconds(self) -> float:
        return self.frames / self.fps if self.fps > 0 else float("nan")


@dataclass
class DatasetScan:
    root: Path
    clips: list[Clip] = field(default_factory=list)
    unreadable: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return sorted({c.label for c in self.clips})


def probe(path: Path, label: str) -> Clip:
    """Frame count, fps and size of one video; DatasetError when OpenCV cannot read it."""
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise DatasetError(path, "OpenCV cannot open this video")
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        if frames <= 0:
            while capture.grab():
                frames += 1
        if frames <= 0 or width <= 0 or height <= 0:
            raise DatasetError(path, "no decodable frames")
        if not (0 < fps < 1000) or math.isnan(fps):
            fps = 0.0
        return Clip(path, label, frames, fps, width, height)
    finally:
        capture.release()


def scan_dataset(root: Path) -> DatasetScan:
    """Every video under ``root/<label>/``; unreadable files are listed, not fatal."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(root, "is not a folder (expected a folder per label of videos)")
    scan = DatasetScan(root)
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES):
            try:
                scan.clips.append(probe(path, folder.name))
            except DatasetError as exc:
                scan.unreadable.append((path, exc.reason))
    if not scan.clips:
        raise DatasetError(root, f"holds no readable video ({', '.join(sorted(VIDEO_SUFFIXES))}) in a folder per label")
    return scan


def split_by_clip(clips: list[Clip], val_fraction: float, seed: int = 0) -> tuple[list[Clip], list[Clip]]:
    """Hold out about ``val_fraction`` of each label's clips (at least one when the label has
    two or more, none when it has one), so every class is validated on unseen clips."""
    rng = random.Random(seed)
    train, val = [], []
    for label in sorted({c.label for c in clips}):
        own = sorted((c for c in clips if c.label == label), key=lambda c: str(c.path))
        rng.shuffle(own)
        held = 0 if len(own) < 2 else max(1, min(len(own) - 1, round(len(own) * val_fraction)))
        val.extend(own[:held])
        train.extend(own[held:])
    return train, val
