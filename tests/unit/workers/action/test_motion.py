"""Optical-flow summaries on GENERATED clips of known motion: a camera pan is removed, a
walker moves coherently, a brawl moves every way and keeps turning; the flow runs at most
``max_fps`` times a second and restarts after a gap; features are scale-free."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.unit.workers.action.motion_clips import BRAWL_BOX, FPS, SIZE, brawl, clip_features, pan, walker
from workers.action.fight_features import FEATURES, active_region, box_activity, largest_group, mean_speed, window_features
from workers.action.motion import MotionHistory


def history(frames: list[np.ndarray], fps: float = FPS, **kwargs) -> MotionHistory:
    motion = MotionHistory(seconds=2.0, **kwargs)
    for i, rgb in enumerate(frames):
        motion.add(i / fps, rgb)
    return motion


def named(vector: np.ndarray) -> dict[str, float]:
    return dict(zip(FEATURES, vector.tolist()))


def test_a_camera_pan_is_not_motion():
    frames = history(pan()).frames
    assert len(frames) == 20
    assert max(f.moving for f in frames) < 0.01
    assert named(clip_features("pan"))["moving"] < 0.01


def test_a_walker_moves_coherently_and_a_brawl_does_not():
    walking, fighting = named(clip_features("walker")), named(clip_features("brawl"))
    assert walking["coherence"] > 0.9
    assert fighting["coherence"] < walking["coherence"] - 0.15
    assert fighting["turning"] > 0.3 > 0.05 > walking["turning"]
    assert fighting["incoherence"] > 5 * walking["incoherence"]
    assert fighting["entropy"] > walking["entropy"]
    assert fighting["group"] == walking["group"] == 2


def test_the_same_clip_at_twice_the_size_gives_the_same_features():
    small = history(brawl()).window(2.0, 2.0)
    large = history([cv2.resize(f, (2 * SIZE[0], 2 * SIZE[1]), interpolation=cv2.INTER_LINEAR) for f in brawl()]).window(2.0, 2.0)
    assert window_features(large, 1) == pytest.approx(window_features(small, 1), rel=0.15, abs=0.02)


def test_flow_runs_at_most_max_fps_and_restarts_after_a_gap():
    frames = walker(frames=41)
    motion = history(frames, fps=20.0, max_fps=10.0)
    assert len(motion.frames) == 20, "every second frame of a 20 fps clip"
    assert np.diff([f.t for f in motion.frames]) == pytest.approx(np.full(19, 0.1))

    motion = MotionHistory(seconds=2.0, max_gap_s=0.5)
    assert motion.add(0.0, frames[0]) is None
    assert motion.add(0.1, frames[1]) is not None
    assert motion.add(1.1, frames[2]) is None, "a gap: no flow across it"
    assert motion.add(1.2, frames[3]) is not None
    assert motion.add(0.5, frames[4]) is None, "back in time: restart"


def test_the_window_keeps_the_last_seconds_and_needs_three_frames():
    motion = history(walker(frames=41))
    assert motion.frames[0].t > 4.0 - 2.0 - 1e-9 and len(motion.frames) == 20
    assert window_features(motion.window(4.0, 0.2), 0) is None
    assert len(motion.window(4.0, 1.0)) == 10


def test_the_brawl_is_where_its_motion_is():
    frames = history(brawl()).window(2.0, 2.0)
    speed = mean_speed(frames)
    inside = box_activity(speed, np.array(BRAWL_BOX, float), *SIZE)
    outside = box_activity(speed, np.array([0, 0, 80, 40], float), *SIZE)
    assert inside > 10 * max(outside, 1e-6)
    x1, y1, x2, y2 = active_region(frames, *SIZE)
    bx1, by1, bx2, by2 = BRAWL_BOX
    assert bx1 - 24 <= x1 < x2 <= bx2 + 24 and by1 - 24 <= y1 < y2 <= by2 + 24


def test_the_largest_group_counts_people_whose_boxes_touch_and_stops_at_three():
    apart = [np.array([0, 0, 10, 30]), np.array([20, 0, 30, 30]), np.array([40, 0, 50, 30])]
    assert largest_group(apart) == 1
    chain = [np.array([0, 0, 10, 30]), np.array([10, 0, 20, 30]), np.array([19, 5, 29, 35]), np.array([80, 0, 90, 30])]
    assert largest_group(chain) == 3, "touching through each other"
    assert largest_group([]) == 0
    crowd = [np.array([5 * i, 0, 5 * i + 10, 30]) for i in range(8)]
    assert largest_group(crowd) == 8
    frames = history(walker()).window(2.0, 2.0)
    assert named(window_features(frames, largest_group(crowd)))["group"] == 3, "a crowd is not a bigger fight"
