"""What the weak-knee posture rules change on CCTV frames: a check for wrong postures.

``python benchmarks/posture/weak_knees_cctv.py DATA [--frames K] [--out DIR]``: every video under
DATA (e.g. the fight surveillance clips), K frames each evenly spread (default 2: at 1/4 and 3/4
of the clip), MoveNet at 640 px.
Each person is judged by ``judge_posture`` twice: as it is, and with the knees it could not use
before the weak-knee rules (scored below ``min_keypoint_score`` or on the frame's edge) hidden.
Prints both label counts and every person whose label changed; ``--out`` writes those frames,
the person boxed, for checking by eye (outside the repository: the clips are third-party data).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

from vidsentry.config.cache import cache_root
from workers.action.assets import require_movenet
from workers.action.config import ActionConfig
from workers.action.movenet import MoveNetMultiPose
from workers.action.posture import EDGE, judge_posture
from workers.action.skeleton import KNEES

VIDEO_SUFFIXES = {".mp4", ".avi", ".mpg", ".mov", ".mkv"}


def strong_knees_only(keypoints: np.ndarray, frame: tuple[int, int], min_score: float) -> np.ndarray:
    """The keypoints as the rules before weak knees saw them: unusable knees score 0."""
    hidden = keypoints.copy()
    width, height = frame
    margin = EDGE * max(width, height)
    for knee in KNEES:
        x, y, score = hidden[knee]
        if score < min_score or not (margin < x < width - margin and margin < y < height - margin):
            hidden[knee, 2] = 0.0
    return hidden


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a folder of videos (searched recursively)")
    parser.add_argument("--frames", type=int, default=2, help="frames per video, evenly spread")
    parser.add_argument("--out", type=Path, help="write the frames whose labels changed here")
    args = parser.parse_args()
    clips = sorted(p for p in args.data.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    if args.frames < 1:
        parser.error("--frames must be at least 1")
    if not clips:
        parser.error(f"no videos under {args.data}")
    config = ActionConfig()
    estimator = MoveNetMultiPose(require_movenet(cache_root()))
    before, after, changed = Counter(), Counter(), 0
    for clip in clips:
        capture = cv2.VideoCapture(str(clip))
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        for index in sorted({(2 * i + 1) * count // (2 * args.frames) for i in range(args.frames)}):
            capture.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, bgr = capture.read()
            if not ok:
                continue
            frame = (bgr.shape[1], bgr.shape[0])
            for person in estimator.estimate(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), scene=None):
                now = judge_posture(person.keypoints, person.box, config.rules, config.posture, frame).label
                old_keypoints = strong_knees_only(person.keypoints, frame, config.posture.min_keypoint_score)
                then = judge_posture(old_keypoints, person.box, config.rules, config.posture, frame).label
                before[then] += 1
                after[now] += 1
                if now == then:
                    continue
                changed += 1
                print(f"{clip.relative_to(args.data)} frame {index}: {then} -> {now}, box {np.round(person.box).tolist()}")
                if args.out:
                    args.out.mkdir(parents=True, exist_ok=True)
                    x1, y1, x2, y2 = (int(v) for v in person.box)
                    marked = cv2.rectangle(bgr.copy(), (x1, y1), (x2, y2), (0, 255, 0), 2)
                    cv2.imwrite(str(args.out / f"{clip.stem}-{index}-{now}.png"), marked)
        capture.release()
    print(f"{len(clips)} clips, {sum(after.values())} people; strong knees only: {dict(before)}; "
          f"with weak knees: {dict(after)}; changed: {changed}")


if __name__ == "__main__":
    main()
