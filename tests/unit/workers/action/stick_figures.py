"""GENERATED videos of drawn stick figures for the CLI tests, and the pose estimator that
reads them back.

Real pose models do not see people in drawings (MoveNet scores a drawn figure below 0.2),
so each joint is drawn as a dot in its own colour and ``StickFigurePose`` finds the dots
again: one figure per connected blob, one keypoint per colour. It is plugged in through
the public ``pose.model = "module:callable"`` hook, so the commands run their real path:
video decoding, tracking, caching, windows, training, evaluation.
"""

from __future__ import annotations

import colorsys
from pathlib import Path

import cv2
import numpy as np

from tests.unit.workers.action.synthetic import action_sequence
from workers.action.pose import PersonPose
from workers.action.skeleton import EDGES, NUM_KEYPOINTS

BACKGROUND = (30, 30, 30)
LIMB = (140, 140, 140)
PALETTE = np.array([[int(255 * c) for c in colorsys.hsv_to_rgb(k / NUM_KEYPOINTS, 1.0, 1.0)]
                    for k in range(NUM_KEYPOINTS)], np.int32)
_TOLERANCE = 40


def draw_frames(people_keypoints: list[np.ndarray], size: tuple[int, int]) -> list[np.ndarray]:
    """RGB frames of (T, 17, 3) keypoint sequences (one per person), drawn as stick figures."""
    width, height = size
    frames = []
    for t in range(len(people_keypoints[0])):
        image = np.full((height, width, 3), BACKGROUND, np.uint8)
        for keypoints in people_keypoints:
            points = np.round(keypoints[t, :, :2]).astype(int)
            neck = tuple(np.round(keypoints[t, [5, 6], :2].mean(axis=0)).astype(int))
            cv2.line(image, tuple(points[0]), neck, LIMB, 1)
            for a, b in EDGES:
                cv2.line(image, tuple(points[a]), tuple(points[b]), LIMB, 1)
            for k in range(NUM_KEYPOINTS):
                cv2.circle(image, tuple(points[k]), 2, tuple(int(v) for v in PALETTE[k]), -1)
        frames.append(image)
    return frames


def write_video(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    """A lossless (FFV1) AVI, so the joint colours survive."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), fps, (width, height))
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def write_action_clip(path: Path, action: str, seed: int, fps: float = 10.0, seconds: float = 2.0,
                      size: tuple[int, int] = (256, 160)) -> Path:
    """A GENERATED clip of ``action`` drawn as stick figures, placed to stay in frame."""
    rng = np.random.default_rng(seed)
    scale = float(rng.uniform(14, 18))
    facing = 1 if seed % 2 == 0 else -1
    start_x = {"walking": 70.0 if facing > 0 else 186.0}.get(action, 128.0)
    origin = (start_x + float(rng.uniform(-8, 8)), 70.0 + float(rng.uniform(-6, 6)))
    if action == "lying":
        origin = (origin[0], 60.0)
    histories = action_sequence(action, fps=fps, seconds=seconds, scale=scale, origin=origin, seed=seed,
                                facing=facing, noise=0.01, fight_gap=1.45)
    return write_video(path, draw_frames([h.keypoints for h in histories], size), fps)


def write_dataset(root: Path, clips_per_label: dict[str, int], fps: dict[str, float] | None = None,
                  seconds: dict[str, float] | None = None) -> dict[str, list[Path]]:
    written: dict[str, list[Path]] = {}
    for label, count in clips_per_label.items():
        written[label] = [write_action_clip(root / label / f"{label}_{i}.avi", label, seed=100 * len(label) + i,
                                            fps=(fps or {}).get(label, 10.0), seconds=(seconds or {}).get(label, 2.0))
                          for i in range(count)]
    return written


class StickFigurePose:
    name = "stick-figures"

    def estimate(self, rgb: np.ndarray, scene: str | None = None) -> list[PersonPose]:
        drawn = (np.abs(rgb.astype(np.int32) - np.array(BACKGROUND)).sum(axis=2) > 30).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(drawn, connectivity=8)
        people = []
        for blob in range(1, count):
            x, y, w, h, area = stats[blob]
            if area < 30:
                continue
            inside = labels == blob
            keypoints = np.zeros((NUM_KEYPOINTS, 3), np.float32)
            for k in range(NUM_KEYPOINTS):
                match = inside & (np.abs(rgb.astype(np.int32) - PALETTE[k]).sum(axis=2) < _TOLERANCE)
                ys, xs = np.nonzero(match)
                if len(xs):
                    keypoints[k] = (xs.mean(), ys.mean(), 0.9)
            people.append(PersonPose([x, y, x + w, y + h], 0.9, keypoints))
        return people


def stick_figure_pose(config: object, cache_root: Path) -> StickFigurePose:
    """The ``pose.model`` factory: ``tests.unit.workers.action.stick_figures:stick_figure_pose``."""
    return StickFigurePose()
