"""People found per frame and time per frame for the action worker's pose routes, on the
real street video (OpenCV's vtest.avi, 768x576, from the opencv-python-headless sdist).

    .venv/bin/python benchmarks/action_bench.py [--repeat 3] [--only NAME...]

Ground truth: the people in 11 frames, counted and located by eye (one point on each
person's body, ``PEOPLE`` below; every person with any part in view counts, including one
half cut by the frame edge or half hidden). A found person is a hit when its box (grown
by 10%) holds a not-yet-matched point; a box holding none is a false positive.

Prints a Markdown report (copy it into benchmarks/action.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from vidsentry.config import Config  # noqa: E402
from vidsentry.config.cache import cache_root  # noqa: E402
from vidsentry.samples import sample_cache
from workers.action.assets import STREET_SAMPLE, require_movenet  # noqa: E402
from workers.action.pose import PersonPose, PoseEstimator  # noqa: E402

CACHE = cache_root()

PEOPLE: dict[int, list[tuple[int, int]]] = {
    0: [(267, 265), (515, 195), (662, 285)],
    75: [(277, 205), (385, 220), (420, 230), (455, 222), (492, 222), (592, 245), (288, 70)],
    150: [(78, 110), (403, 235), (450, 235), (605, 270), (645, 135), (668, 140), (718, 140)],
    225: [(80, 215), (340, 200), (662, 140), (685, 140), (718, 265), (560, 340), (762, 375)],
    300: [(200, 195), (253, 190), (310, 190), (328, 255), (595, 195), (630, 195)],
    375: [(320, 212), (522, 202), (642, 255), (550, 310), (765, 330)],
    450: [(322, 250), (500, 220), (575, 285)],
    525: [(220, 210), (488, 245), (652, 245), (645, 320), (458, 440), (455, 495)],
    600: [(200, 180), (580, 242), (688, 250), (655, 358), (478, 360), (305, 500)],
    675: [(215, 190), (255, 195), (365, 185), (488, 215), (563, 195), (525, 300), (218, 400), (758, 55)],
    750: [(200, 240), (253, 258), (385, 220), (412, 255), (520, 212), (655, 265), (673, 145), (752, 75)],
}
"""Frame index -> (x, y) of each person, by eye. Hard ones: 75 has one far away by the
building and one behind the sign; 225 and 375 one cut by the right edge; 525 one behind
another; 675 and 750 one small by the cars at the top right."""


def read_frames(path: Path, indexes: list[int]) -> dict[int, np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = {}
    for index in indexes:
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, bgr = capture.read()
        if not ok:
            raise SystemExit(f"cannot read frame {index} of {path}")
        frames[index] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return frames


def score_frame(people: list[PersonPose], truth: list[tuple[int, int]]) -> tuple[int, int]:
    """(hits, false positives): each box claims at most one unclaimed point inside it."""
    claimed: set[int] = set()
    false_positives = 0
    for person in sorted(people, key=lambda p: -p.score):
        x1, y1, x2, y2 = person.box
        pad_x, pad_y = (x2 - x1) * 0.1, (y2 - y1) * 0.1
        inside = [i for i, (x, y) in enumerate(truth)
                  if i not in claimed and x1 - pad_x <= x <= x2 + pad_x and y1 - pad_y <= y <= y2 + pad_y]
        if not inside:
            false_positives += 1
            continue
        centre = ((x1 + x2) / 2, (y1 + y2) / 2)
        claimed.add(min(inside, key=lambda i: (truth[i][0] - centre[0]) ** 2 + (truth[i][1] - centre[1]) ** 2))
    return len(claimed), false_positives


def estimators() -> dict[str, Callable[[], PoseEstimator]]:
    from workers.action.crop_pose import CropPoseEstimator
    from workers.action.movenet import MoveNetMultiPose
    from workers.action.person_detector import HogPersonDetector

    movenet = require_movenet(CACHE)

    class WholeFrameBlazePose:
        """MediaPipe Pose on the whole frame: the single-person baseline."""

        name = "blazepose-whole-frame"

        def __init__(self) -> None:
            import mediapipe as mp

            from workers.action.skeleton import MEDIAPIPE_TO_COCO

            self._map = MEDIAPIPE_TO_COCO
            self._pose = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)

        def estimate(self, rgb: np.ndarray, scene: str | None = None) -> list[PersonPose]:
            result = self._pose.process(rgb)
            if result.pose_landmarks is None:
                return []
            h, w = rgb.shape[:2]
            marks = result.pose_landmarks.landmark
            points = np.array([[marks[i].x * w, marks[i].y * h, marks[i].visibility] for i in self._map], np.float32)
            box = [points[:, 0].min(), points[:, 1].min(), points[:, 0].max(), points[:, 1].max()]
            return [PersonPose(box, 1.0, points)]

    class CrowdedCamera:
        """MoveNet on a camera whose last frame was crowded: straight to the two tiles."""

        name = "movenet-640-crowded-camera"

        def __init__(self) -> None:
            self._model = MoveNetMultiPose(movenet, 640, tile_when_full=True)

        def estimate(self, rgb: np.ndarray, scene: str | None = None) -> list[PersonPose]:
            self._model._crowded["bench"] = True
            return self._model.estimate(rgb, scene="bench")

    return {
        "movenet-768-tiles": lambda: MoveNetMultiPose(movenet, 768, tile_when_full=True),
        "movenet-640-crowded-camera": CrowdedCamera,
        "movenet-768": lambda: MoveNetMultiPose(movenet, 768, tile_when_full=False),
        "movenet-640-tiles": lambda: MoveNetMultiPose(movenet, 640, tile_when_full=True),
        "movenet-512-tiles": lambda: MoveNetMultiPose(movenet, 512, tile_when_full=True),
        "movenet-512": lambda: MoveNetMultiPose(movenet, 512, tile_when_full=False),
        "hog1.5+blazepose": lambda: CropPoseEstimator(HogPersonDetector(upscale=1.5)),
        "hog2.0+blazepose": lambda: CropPoseEstimator(HogPersonDetector(upscale=2.0)),
        "blazepose-whole-frame": WholeFrameBlazePose,
    }


def stage_costs(video: Path, start: int = 60, count: int = 60) -> tuple[float, float, float, float]:
    """The whole action stage with its defaults on ``count`` consecutive frames: median and
    mean ms per frame (JPEG decode, pose, tracking, rules), and the mean of pose and of rules."""
    from prometheus_client import REGISTRY

    from schemas import FrameMsg
    from workers.action.config import ActionConfig
    from workers.action.worker import build_stage

    stage = build_stage(Config(models={"cache_dir": CACHE}), ActionConfig())
    capture = cv2.VideoCapture(str(video))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    frames = []
    for seq in range(start, start + count):
        ok, bgr = capture.read()
        jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
        frames.append(FrameMsg("bench", seq, seq / 10.0, bgr.shape[1], bgr.shape[0], jpeg))
    totals = []
    pose_before = REGISTRY.get_sample_value("vidsentry_action_pose_seconds_sum", {"model": stage.estimator.name}) or 0.0
    rules_before = REGISTRY.get_sample_value("vidsentry_action_classify_seconds_sum", {"model": "rules"}) or 0.0
    for frame in frames:
        started = time.perf_counter()
        stage.process([frame])
        totals.append(time.perf_counter() - started)
    pose = REGISTRY.get_sample_value("vidsentry_action_pose_seconds_sum", {"model": stage.estimator.name}) - pose_before
    rules = REGISTRY.get_sample_value("vidsentry_action_classify_seconds_sum", {"model": "rules"}) - rules_before
    return statistics.median(totals) * 1000, statistics.mean(totals) * 1000, pose / count * 1000, rules / count * 1000


def whole_video_labels(video: Path) -> tuple[int, int, Counter, int]:
    """The stage with its defaults over every frame: (frames, tracks, labels of person-frames,
    most frames of fast wrist motion any close pair had in one window)."""
    from itertools import combinations

    from schemas import FrameMsg
    from workers.action.config import ActionConfig
    from workers.action.interaction import pair_motion
    from workers.action.worker import build_stage

    config = ActionConfig()
    rules = config.rules
    stage = build_stage(Config(models={"cache_dir": CACHE}), config)
    capture = cv2.VideoCapture(str(video))
    labels: Counter[str] = Counter()
    tracks: set[str] = set()
    most_fast = 0
    seq = 0
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()
        (message,) = stage.process([FrameMsg("bench", seq, seq / 10.0, bgr.shape[1], bgr.shape[0], jpeg)])
        labels.update(p.action for p in message.persons)
        tracks.update(p.track_id for p in message.persons)
        windows = {t: w.history() for t, w in stage.cameras["bench"].windows.items() if len(w) >= config.window.min_frames}
        for a, b in combinations(windows, 2):
            pair = pair_motion(windows[a], windows[b], config.window.min_keypoint_score, rules.fight_max_distance,
                               rules.fight_min_wrist_score, rules.fight_limb_speed)
            if pair is not None and pair.close_fraction >= rules.fight_min_fraction:
                most_fast = max(most_fast, pair.fast_frames)
        seq += 1
    return seq, len(tracks), labels, most_fast


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per frame (the median is reported)")
    parser.add_argument("--only", nargs="*", help="estimator names to run (default: all)")
    parser.add_argument("--whole-video", action="store_true",
                        help="only run the stage over every frame and count the labels it gives")
    args = parser.parse_args()
    if args.whole_video:
        from workers.action.config import RulesConfig

        video = sample_cache(CACHE).require(STREET_SAMPLE)
        frames, tracks, labels, most_fast = whole_video_labels(video)
        print(f"Whole video with the defaults: {frames} frames, {tracks} tracks, labels of person-frames: "
              + ", ".join(f"{label} {n}" for label, n in labels.most_common())
              + f"; most frames of fast wrist motion of a close pair in one window: {most_fast} "
              f"(fighting needs {RulesConfig().fight_min_fast_frames})")
        return

    video = sample_cache(CACHE).require(STREET_SAMPLE)
    frames = read_frames(video, sorted(PEOPLE))
    truth_total = sum(len(v) for v in PEOPLE.values())
    rows = []
    per_frame_found: dict[str, list[int]] = {}
    for name, make in estimators().items():
        if args.only and name not in args.only:
            continue
        estimator = make()
        estimator.estimate(frames[0])
        hits = false_positives = 0
        found_counts = []
        times = []
        for index, rgb in frames.items():
            timings = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                people = estimator.estimate(rgb)
                timings.append(time.perf_counter() - started)
            times.append(statistics.median(timings))
            h, fp = score_frame(people, PEOPLE[index])
            hits += h
            false_positives += fp
            found_counts.append(len(people))
        per_frame_found[name] = found_counts
        rows.append((name, hits, false_positives, statistics.median(times) * 1000, max(times) * 1000))
        print(f"{name}: {hits}/{truth_total} people, {false_positives} false, {statistics.median(times) * 1000:.0f} ms",
              file=sys.stderr)

    print("# Action worker: pose routes on a real street video\n")
    print(f"`{' '.join(['.venv/bin/python', 'benchmarks/action_bench.py', *sys.argv[1:]])}` on {platform.node()} "
          f"({os.cpu_count()} cores, {platform.processor() or platform.machine()}), {time.strftime('%Y-%m-%d')}.\n")
    print(f"Video: vtest.avi (768x576), {len(frames)} frames, {truth_total} people counted by eye.\n")
    print("| route | people found (hits) | recall | false positives | ms/frame median | ms/frame worst |")
    print("|---|---|---|---|---|---|")
    for name, hits, fps, median_ms, worst_ms in rows:
        print(f"| {name} | {hits}/{truth_total} | {hits / truth_total:.0%} | {fps} | {median_ms:.0f} | {worst_ms:.0f} |")
    median_ms, mean_ms, pose_ms, rules_ms = stage_costs(video)
    print(f"\nWhole stage with its defaults (MoveNet 640, tiles on crowded cameras, pose at most 5 times a second of "
          f"this 10 fps clip, tracking, rules), 60 frames (60-119, 4-8 people): "
          f"{median_ms:.0f} ms per frame median, {mean_ms:.0f} ms mean, of which pose {pose_ms:.0f} ms and rules "
          f"{rules_ms:.1f} ms (means).")
    print("\nPeople per frame (found by each route vs counted by eye):\n")
    print("| frame | by eye | " + " | ".join(per_frame_found) + " |")
    print("|---|---|" + "---|" * len(per_frame_found))
    for i, index in enumerate(frames):
        print(f"| {index} | {len(PEOPLE[index])} | " + " | ".join(str(v[i]) for v in per_frame_found.values()) + " |")


if __name__ == "__main__":
    main()
