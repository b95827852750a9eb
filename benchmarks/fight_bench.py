"""What the fight model costs per frame, on the real street video (vtest.avi, published as a
default camera would: 10 fps, 768 px, JPEG 85):

- the optical flow and its summary (``MotionHistory.add``), every frame;
- the window features and the model (``FightDetector.assess``), every pose pass;
- the whole action stage per frame with the fight model and without it.

    .venv/bin/python benchmarks/fight_bench.py [--frames 200]

Prints a markdown table (EVALUATION.md, "Actions: fights on CCTV").
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from vidsentry.config.cache import cache_root
from vidsentry.samples import sample_cache
from workers.action.classifier import make_classifier
from workers.action.clip_replay import camera_for, clip_frames
from workers.action.config import ActionConfig
from workers.action.fight import FightDetector
from workers.action.motion import MotionHistory
from workers.action.pose_factory import make_pose_estimator
from workers.action.worker import ActionStage
from workers.frames import decode_frame

CACHE = cache_root()


def _ms(values: list[float]) -> str:
    return f"{1000 * float(np.median(values)):.2f} / {1000 * float(np.mean(values)):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200, help="Frames of vtest.avi to use (10 fps).")
    args = parser.parse_args()
    clip = sample_cache(CACHE).require("vtest")
    frames = list(clip_frames(clip, camera_for(clip), max_seconds=args.frames / 10.0))
    images = [decode_frame(f) for f in frames]

    config = ActionConfig()
    flow, motion = [], MotionHistory(config.fight.window_s, config.fight.flow_width, config.fight.flow_max_fps)
    for frame, rgb in zip(frames, images):
        started = time.perf_counter()
        motion.add(frame.ts_capture, rgb)
        flow.append(time.perf_counter() - started)

    estimator = make_pose_estimator(config.pose, CACHE)
    per_frame = {}
    for name, detector in (("stage without the fight model", None),
                           ("stage with the fight model", FightDetector.from_config(config.fight))):
        stage = ActionStage(config, estimator, make_classifier(config), fight=detector)
        stage.process(frames[:3])
        stage.revoke([])
        times = []
        for frame in frames:
            started = time.perf_counter()
            stage.process([frame])
            times.append(time.perf_counter() - started)
        per_frame[name] = times

    detector = FightDetector.from_config(config.fight)
    state = detector.camera()
    assess = []
    for frame, rgb in zip(frames, images):
        state.motion.add(frame.ts_capture, rgb)
        started = time.perf_counter()
        detector.assess("bench", state, frame.ts_capture, {}, rgb.shape[1], rgb.shape[0])
        assess.append(time.perf_counter() - started)

    print(f"vtest.avi, {len(frames)} frames of {images[0].shape[1]}x{images[0].shape[0]} at 10 fps; "
          f"{platform.machine()}, {os.cpu_count()} cores, ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', 'unset')}\n")
    print("| step | ms median / mean |\n|---|---|")
    print(f"| optical flow + summary ({config.fight.flow_width} px wide), per frame | {_ms(flow)} |")
    print(f"| window features + model, per pose pass | {_ms(assess)} |")
    for name, times in per_frame.items():
        print(f"| {name}, per frame | {_ms(times)} |")


if __name__ == "__main__":
    main()
