"""Face worker costs on the real sample media: detection per frame (MediaPipe short and full
range vs the Haar baseline), embedding per face (dlib), and the whole stage per frame.

    .venv/bin/python benchmarks/face_bench.py [--repeat 5]

Prints a Markdown report (copy it into benchmarks/face.md). Media come from the sample
cache (``vidsentry samples fetch``); models from the model cache.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas import FrameMsg  # noqa: E402
from vidsentry.config.cache import cache_root  # noqa: E402
from vidsentry.samples import sample_cache  # noqa: E402
from workers.face.config import FaceConfig  # noqa: E402
from workers.face.detector import HaarFaceDetector, MediaPipeFaceDetector  # noqa: E402
from workers.face.embedder import load_embedder  # noqa: E402
from workers.face.gallery_file import FileGallery  # noqa: E402
from workers.face.worker import FaceStage  # noqa: E402

CACHE = cache_root()


def video_frames(path: Path, limit: int | None = None) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while limit is None or len(frames) < limit:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return frames


def photo(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def timed(fn, items, repeat: int) -> tuple[list[float], list]:
    fn(items[0])
    times, results = [], []
    for _ in range(repeat):
        for item in items:
            started = time.perf_counter()
            result = fn(item)
            times.append((time.perf_counter() - started) * 1000)
            results.append(result)
    return times, results


def summary(times: list[float]) -> str:
    return f"{statistics.median(times):7.1f} | {np.percentile(times, 90):7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="passes over each media set")
    args = parser.parse_args()

    cache = sample_cache(CACHE)
    bikes = video_frames(cache.require("bikes"), 41)
    media = {
        "carphone 176x144 (120 frames, 1 face)": (video_frames(cache.require("carphone")), 1),
        "bikes 640x272, frames 0-29 (pavement, no face)": (bikes[:30], 0),
        "bikes 640x272, frames 30-40 (a cyclist, 1 face)": (bikes[30:41], 1),
        "group photos ~1920x1350 (3, 3 faces each)": ([photo(cache.require(f"group{i}")) for i in (1, 2, 3)], 3),
        "portraits 626x1200..970x2204 (3, 1 face each)": ([photo(cache.require(n)) for n in ("obama", "obama2", "biden")],
                                                          1),
    }
    detectors = {"mediapipe-short": MediaPipeFaceDetector(False, 0.5), "mediapipe-full": MediaPipeFaceDetector(True, 0.5),
                 "haar (baseline)": HaarFaceDetector()}

    print(f"# Face worker benchmark\n\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, OpenCV {cv2.__version__}; {args.repeat} passes; times in ms\n")
    print("## Detection per frame\n")
    print("| media | detector | median ms | p90 ms | frames with the expected face count |")
    print("|---|---|---:|---:|---:|")
    for label, (frames, expected) in media.items():
        for name, detector in detectors.items():
            times, results = timed(detector.detect, frames, args.repeat)
            right = sum(len(r) == expected for r in results[:len(frames)])
            print(f"| {label} | {name} | {summary(times)} | {right}/{len(frames)} |")

    print("\n## Embedding per face (dlib 5-point alignment + ResNet 128-d)\n")
    embedder = load_embedder(CACHE)
    full = detectors["mediapipe-full"]
    faces = []
    for frames, _ in media.values():
        for rgb in frames[:3]:
            found = full.detect(rgb)
            faces.extend((rgb, found.boxes[i:i + 1]) for i in range(len(found)))
    times, _ = timed(lambda face: embedder.embed(*face), faces, args.repeat)
    print("| faces | median ms | p90 ms |\n|---:|---:|---:|")
    print(f"| {len(faces)} | {summary(times)} |")

    print("\n## Whole stage per frame (decode, detect, track, crop, identity; empty gallery)\n")
    print("| media | detector | median ms | p90 ms | embeddings computed |")
    print("|---|---|---:|---:|---:|")
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for detector_name in ("mediapipe-short", "mediapipe-full"):
            stage = FaceStage(FaceConfig(), FileGallery(Path(tmp) / "g.json"), detectors[detector_name], _Counting(embedder))
            frames = [FrameMsg("car", i, float(i), 176, 144, cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1]
                               .tobytes()) for i, rgb in enumerate(media["carphone 176x144 (120 frames, 1 face)"][0])]
            times = []
            for frame in frames:
                started = time.perf_counter()
                stage.process([frame])
                times.append((time.perf_counter() - started) * 1000)
            print(f"| carphone, 120 frames, 1 track | {detector_name} | {summary(times)} | {stage.embedder.faces} |")


class _Counting:
    def __init__(self, inner) -> None:
        self.inner, self.model, self.faces = inner, inner.model, 0

    def embed(self, rgb, boxes):
        self.faces += len(boxes)
        return self.inner.embed(rgb, boxes)


if __name__ == "__main__":
    main()
