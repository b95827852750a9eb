"""GENERATED frames with known motion for the optical-flow and fight-model tests: a textured
'walker' crossing a still textured scene (coherent motion), a 'brawl' of patches jumping
back and forth in one spot (incoherent motion), and a camera pan (the whole view moves).

``python -m tests.unit.workers.action.motion_clips`` rewrites ``fight_fixture.json``: the
feature vectors of these clips and the shipped model's probabilities for them (run it
after retraining the model or changing the features, and review the diff).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

SIZE = (320, 180)
FPS = 10.0
FIXTURE = Path(__file__).with_name("fight_fixture.json")
BRAWL_BOX = (120, 50, 200, 130)
"""Where the brawl's patches move (x1, y1, x2, y2 in pixels)."""


def texture(width: int, height: int, seed: int) -> np.ndarray:
    """Smooth random colour blobs (RGB): something optical flow can follow."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (max(2, height // 8), max(2, width // 8), 3), dtype=np.uint8)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)


def walker(frames: int = 21, seed: int = 1) -> list[np.ndarray]:
    """A 30x60 textured body moving right 4 px a frame."""
    scene, body = texture(*SIZE, seed), texture(30, 60, seed + 1)
    out = []
    for t in range(frames):
        image = scene.copy()
        x = 40 + 4 * t
        image[100:160, x:x + 30] = body
        out.append(image)
    return out


def brawl(frames: int = 21, seed: int = 2, patches: int = 6) -> list[np.ndarray]:
    """``patches`` 16x16 textured patches inside ``BRAWL_BOX``, each jumping up to 6 px in a
    new random direction every frame."""
    rng = np.random.default_rng(seed)
    scene = texture(*SIZE, seed)
    tiles = [texture(16, 16, seed + 10 + k) for k in range(patches)]
    x1, y1, x2, y2 = BRAWL_BOX
    positions = rng.uniform([x1, y1], [x2 - 16, y2 - 16], (patches, 2))
    out = []
    for _ in range(frames):
        image = scene.copy()
        for tile, (x, y) in zip(tiles, positions.astype(int)):
            image[y:y + 16, x:x + 16] = tile
        out.append(image)
        angles = rng.uniform(-np.pi, np.pi, patches)
        positions += np.stack([np.cos(angles), np.sin(angles)], axis=1) * rng.uniform(3, 6, (patches, 1))
        positions = np.clip(positions, [x1, y1], [x2 - 16, y2 - 16])
    return out


def pan(frames: int = 21, seed: int = 3) -> list[np.ndarray]:
    """The camera turning: a wide scene seen through a window sliding 3 px a frame."""
    scene = texture(SIZE[0] + 3 * frames, SIZE[1], seed)
    return [np.ascontiguousarray(scene[:, 3 * t:3 * t + SIZE[0]]) for t in range(frames)]


CLIPS = {"walker": walker, "brawl": brawl, "pan": pan}


def clip_features(name: str, group: int = 2) -> np.ndarray:
    """The fight features of the window ending at a generated clip's last frame, with a
    group of ``group`` people in view."""
    from workers.action.fight_features import window_features
    from workers.action.motion import MotionHistory

    motion = MotionHistory(seconds=2.0)
    frames = CLIPS[name]()
    for i, rgb in enumerate(frames):
        motion.add(i / FPS, rgb)
    return window_features(motion.window((len(frames) - 1) / FPS, 2.0), group)


def write_fixture() -> dict:
    from workers.action.fight_model import SHIPPED_MODEL, FightModel

    model = FightModel.load(SHIPPED_MODEL)
    cases = []
    for name in CLIPS:
        for group in (0, 2):
            features = clip_features(name, group)
            cases.append({"clip": name, "group": group, "features": features.tolist(),
                          "probability": float(model.probability(features))})
    fixture = {"model": "workers/action/models/fight.json", "threshold": model.threshold, "cases": cases}
    FIXTURE.write_text(json.dumps(fixture, indent=2) + "\n")
    return fixture


if __name__ == "__main__":
    for case in write_fixture()["cases"]:
        print(case["clip"], case["group"], round(case["probability"], 4))
