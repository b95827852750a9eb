"""Every stage's cost per frame, face or message, at the batch sizes the runtime hands it,
on real clips: JPEG encode/decode, face detection, embedding, the face stage, emotion,
pose, the action stage and fusion (the aggregator).

    .venv/bin/python benchmarks/stages_bench.py [--frames 48] [--batches 1 4 16] [--out benchmarks/stages.md]

Clips: vtest.avi (768x576 street, 3-8 people, small faces) and carphone (176x144, one face
close up), from the sample cache. Each stage is the real stage object fed real messages
(the face and action stages' outputs feed emotion and fusion), with fresh per-camera state
for every batch size. Throughput = messages per second of one stage on its own; the whole
pipeline shares 2 cores between stages (benchmarks/pipeline.md). Prints a Markdown report.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from schemas import FrameMsg  # noqa: E402
from vidsentry.config import Config  # noqa: E402
from vidsentry.config.cache import cache_root  # noqa: E402
from vidsentry.samples import sample_cache  # noqa: E402
from workers.frames import decode_frame  # noqa: E402

CACHE = cache_root()


def clip_frames(path: Path, count: int, start: int = 0) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    frames = []
    while len(frames) < count:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(bgr)
    return frames


def frame_messages(frames: list[np.ndarray], camera: str, fps: float) -> list[FrameMsg]:
    return [FrameMsg(camera, i, 1_700_000_000.0 + i / fps, bgr.shape[1], bgr.shape[0],
                     cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())
            for i, bgr in enumerate(frames)]


def recamera(messages: Sequence, camera: str) -> list:
    """The same messages under a fresh camera name, so stage state starts empty."""
    return [replace(m, camera=camera, id="") for m in messages]


def per_item_ms(process: Callable[[list], object], items: list, batch: int, count: Callable[[list], int] = len,
                repeat: int = 1) -> tuple[float, float]:
    """(ms per item, items per second) feeding ``items`` in batches of ``batch``; the best of ``repeat``."""
    best = float("inf")
    for _ in range(repeat):
        total, n = 0.0, 0
        for start in range(0, len(items), batch):
            chunk = items[start:start + batch]
            started = time.perf_counter()
            process(chunk)
            total += time.perf_counter() - started
            n += count(chunk)
        best = min(best, total / max(n, 1))
    return best * 1000, 1 / best if best > 0 else float("inf")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=48, help="frames of each clip")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 16], help="batch sizes")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args()

    from aggregator.role import build_aggregator
    from workers.action.worker import build_stage as action_stage
    from workers.emotion.worker import build_stage as emotion_stage
    from workers.face.embedder import load_embedder
    from workers.face.gallery_file import FileGallery
    from workers.face.worker import build_stage as face_stage

    config = Config(models={"cache_dir": CACHE})
    samples = sample_cache(CACHE)
    street_bgr = clip_frames(samples.require("vtest"), args.frames, start=60)
    close_bgr = clip_frames(samples.require("carphone"), args.frames)
    street = frame_messages(street_bgr, "street", 10.0)
    close = frame_messages(close_bgr, "close", 30.0)
    rows: list[tuple[str, str, int, float, float]] = []

    def add(stage: str, unit: str, batch: int, measured: tuple[float, float]) -> None:
        rows.append((stage, unit, batch, *measured))
        print(f"  {stage} batch {batch}: {measured[0]:.2f} ms/{unit}", file=sys.stderr, flush=True)

    quality = [cv2.IMWRITE_JPEG_QUALITY, 85]
    add("JPEG encode 768x576 q85", "frame", 1,
        per_item_ms(lambda c: [cv2.imencode(".jpg", f, quality) for f in c], street_bgr, 1, repeat=3))
    add("JPEG decode 768x576", "frame", 1, per_item_ms(lambda c: [decode_frame(m) for m in c], street, 1, repeat=3))

    with tempfile.TemporaryDirectory() as tmp:
        face = face_stage(config, gallery=FileGallery(Path(tmp) / "gallery.json"))
        rgb_street = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in street_bgr]
        rgb_close = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in close_bgr]
        face.detector.detect(rgb_street[0])
        add(f"face detection ({config.face.detector}), street", "frame", 1,
            per_item_ms(lambda c: [face.detector.detect(f) for f in c], rgb_street, 1, repeat=3))
        add(f"face detection ({config.face.detector}), close-up", "frame", 1,
            per_item_ms(lambda c: [face.detector.detect(f) for f in c], rgb_close, 1, repeat=3))
        embedder = load_embedder(CACHE)
        boxes = [(f, face.detector.detect(f).boxes[:1]) for f in rgb_close[:16]]
        boxes = [(f, b) for f, b in boxes if len(b)]
        add("face embedding (dlib)", "face", 1, per_item_ms(lambda c: [embedder.embed(f, b) for f, b in c], boxes, 1))
        outputs: dict[str, list] = {}
        for name, messages in (("street", street), ("close-up", close)):
            for batch in args.batches:
                fresh = recamera(messages, f"{name}-{batch}")
                results: list = []
                add(f"face stage, {name}", "frame", batch,
                    per_item_ms(lambda c, out=results: out.extend(face.process(c)), fresh, batch))
                outputs[name] = results

    emotion = emotion_stage(config)
    close_faces = [m for m in outputs["close-up"] if m.faces]
    for batch in args.batches + [32]:
        add("emotion stage (close-up faces)", "face", batch,
            per_item_ms(emotion.process, close_faces, batch, count=lambda c: sum(len(m.faces) for m in c), repeat=3))
    emotions = emotion.process(close_faces)

    for max_fps in (None, 5.0):
        action_config = config.action.model_copy(update={"pose": config.action.pose.model_copy(update={"max_fps": max_fps})})
        action = action_stage(config, action_config)
        action.process(recamera(street[:2], "warm-up"))
        rate = "every frame" if max_fps is None else f"at most {max_fps:g}/s of a 10 fps camera"
        if max_fps is None:
            add("pose (MoveNet 640, tiles when crowded), street", "frame", 1,
                per_item_ms(lambda c, a=action: [a.estimator.estimate(cv2.cvtColor(f, cv2.COLOR_BGR2RGB), scene="s")
                                                  for f in c], street_bgr, 1))
        for batch in args.batches:
            results = []
            add(f"action stage, street, pose {rate}", "frame", batch,
                per_item_ms(lambda c, out=results, a=action: out.extend(a.process(c)),
                            recamera(street, f"street-{max_fps}-{batch}"), batch))
        actions = results

    messages = sorted([*outputs["street"], *actions, *emotions, *outputs["close-up"]], key=lambda m: m.ts_capture)
    for batch in args.batches:
        aggregator = build_aggregator(config, alerts_file=Path(tempfile.mkdtemp()) / "alerts.jsonl")
        add("aggregator (fusion + rules)", "message", batch, per_item_ms(aggregator.process, messages, batch))
        aggregator.close()

    lines = ["# Stage costs at batch sizes", "",
             f"`.venv/bin/python benchmarks/stages_bench.py {' '.join(sys.argv[1:])}` on {platform.node()} "
             f"({os.cpu_count()} cores, {platform.machine()}), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.", "",
             f"{args.frames} frames of vtest.avi (from frame 60: 4-8 people, small faces) and of carphone (one face). "
             "ms per unit is the best of the passes for the cheap steps, one pass for stateful stages (fresh state per "
             "batch size); one stage alone on the machine.", "",
             "| stage | unit | batch | ms per unit | units/s |", "|---|---|---|---|---|"]
    lines += [f"| {stage} | {unit} | {batch} | {ms:.2f} | {rate:.0f} |" for stage, unit, batch, ms, rate in rows]
    street_faces = sum(len(m.faces) for m in outputs["street"]) / max(len(outputs["street"]), 1)
    people = statistics.mean(len(m.persons) for m in actions) if actions else 0.0
    lines += ["", f"Street frames averaged {street_faces:.1f} faces and {people:.1f} tracked people; "
              f"close-up frames {sum(len(m.faces) for m in outputs['close-up']) / len(outputs['close-up']):.1f} faces."]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report)


if __name__ == "__main__":
    main()
