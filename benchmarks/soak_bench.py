"""Soak: several live-paced cameras for minutes with the action stage artificially slowed.
Does memory stay flat, and are the frames the pipeline cannot keep up with counted (dropped
by the producer, answered without a pose pass by the action stage) rather than hidden?

    .venv/bin/python benchmarks/soak_bench.py [--cameras 4] [--minutes 10] [--action-delay-ms 50]
                                              [--out benchmarks/soak.md]

Source: OpenCV's vtest.avi (768x576, 10 fps, 79.5 s) played back to back into one longer
clip in a temporary folder (long enough for the soak), one copy per camera, paced in real
time (`--realtime`), all stages on, embedded in this process. The action stage's
``process`` sleeps ``--action-delay-ms`` per frame on top of its real work. RSS is sampled
every 5 s; the slope is a least-squares fit over the second half of the time the cameras
play (after the models, tracks and buffers have reached their working size; the drain and
the annotated videos after it are not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from schemas.topics import FRAMES  # noqa: E402
from vidsentry.config import load_config  # noqa: E402
from vidsentry.config.cache import cache_root  # noqa: E402
from vidsentry.embedded import EmbeddedRun, RunOptions, default_stages  # noqa: E402
from vidsentry.machine import cpu_summary  # noqa: E402
from vidsentry.samples import sample_cache  # noqa: E402

CACHE = cache_root()


class SlowedStage:
    """Wraps a stage; each message costs ``delay_s`` more."""

    def __init__(self, inner, delay_s: float) -> None:
        self.inner, self.delay_s, self.name = inner, delay_s, inner.name

    def process(self, batch):
        time.sleep(self.delay_s * len(batch))
        return self.inner.process(batch)

    def revoke(self, partitions):
        return getattr(self.inner, "revoke", lambda _: None)(partitions)


def long_clip(clip: Path, seconds: float, target: Path) -> Path:
    """``clip`` played back to back until it lasts ``seconds``."""
    reader = cv2.VideoCapture(str(clip))
    fps = reader.get(cv2.CAP_PROP_FPS) or 10.0
    frames = []
    while True:
        ok, frame = reader.read()
        if not ok:
            break
        frames.append(frame)
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    for i in range(int(seconds * fps) + 1):
        writer.write(frames[i % len(frames)])
    writer.release()
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--action-delay-ms", type=float, default=50.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    vtest = sample_cache(CACHE).require("vtest")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        print(f"writing a {args.minutes:.1f}-minute clip ...", flush=True)
        clip = long_clip(vtest, args.minutes * 60, tmp_path / "long.avi")
        sources = []
        for i in range(args.cameras):
            copy = tmp_path / f"cam{i + 1}.avi"
            os.link(clip, copy)
            sources.append(str(copy))

        def stages(config):
            built = default_stages(config)
            return [(SlowedStage(stage, args.action_delay_ms / 1000) if stage.name == "action" else stage, topics, expect)
                    for stage, topics, expect in built]

        process = psutil.Process()
        samples: list[tuple[float, float]] = []
        done = threading.Event()

        def sample_rss() -> None:
            start = time.monotonic()
            while not done.wait(5.0):
                samples.append((time.monotonic() - start, process.memory_info().rss / 2**20))
                if len(samples) % 12 == 0:
                    print(f"  {samples[-1][0] / 60:5.1f} min  RSS {samples[-1][1]:.0f} MB", flush=True)

        sampler = threading.Thread(target=sample_rss, daemon=True)
        sampler.start()
        options = RunOptions(sources=sources, out=tmp_path / "out", realtime=True, progress=False)
        started = time.monotonic()
        result = EmbeddedRun(options, load_config(), stages).run()
        done.set()
        wall = time.monotonic() - started
        summary = json.loads((result.out / "summary.json").read_text())

    report = render(args, summary, samples, wall)
    print(report)
    if args.out:
        args.out.write_text(report)


def slope_mb_per_min(samples: list[tuple[float, float]], live_s: float) -> float:
    """Least-squares RSS slope over the second half of the live part (the cameras playing);
    after it the run only drains and writes its annotated videos."""
    live = [s for s in samples if s[0] <= live_s]
    half = live[len(live) // 2:]
    if len(half) < 2:
        return float("nan")
    t = np.array([s[0] for s in half]) / 60
    rss = np.array([s[1] for s in half])
    return float(np.polyfit(t, rss, 1)[0])


def render(args, summary: dict, samples: list[tuple[float, float]], wall: float) -> str:
    cameras = summary.get("cameras", {})
    captured = sum(c.get("captured", 0) for c in cameras.values())
    published = sum(c.get("published", 0) for c in cameras.values())
    without_pose = summary.get("frames_without_pose", {})
    latency = summary.get("latency_s", {})
    rss = [s[1] for s in samples]
    lines = [
        "# Soak",
        "",
        f"`.venv/bin/python benchmarks/soak_bench.py --cameras {args.cameras} --minutes {args.minutes:g} "
        f"--action-delay-ms {args.action_delay_ms:g}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        f"CPU: {cpu_summary()}",
        "",
        f"{args.cameras} cameras of vtest played back to back, paced in real time (10 fps each), all stages on, the "
        f"action stage slowed by {args.action_delay_ms:g} ms per frame. Topic `{FRAMES}` on the in-memory bus.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| wall time | {wall:.0f} s |",
        f"| frames captured / published / dropped by the producer | {captured} / {published} / {summary.get('dropped', 0)} |",
        f"| frames analysed | {summary.get('frames', 0)} |",
        f"| frames answered without a pose pass (rate / stale) | {without_pose.get('rate', 0)} / {without_pose.get('stale', 0)} |",
        f"| RSS first / last / max sample | {rss[0]:.0f} / {rss[-1]:.0f} / {max(rss):.0f} MB |" if rss else "| RSS | no samples |",
        f"| RSS slope over the second half of the live part | {slope_mb_per_min(samples, args.minutes * 60):+.2f} MB/min |",
        f"| CPU cores used | {summary.get('cpu_cores_used', 0)} |",
        f"| skipped outputs | {json.dumps(summary.get('skipped', {}).get('reasons', []))} |",
    ]
    for kind, figures in sorted(latency.items()):
        if isinstance(figures, dict) and "p95" in figures:
            lines.append(f"| capture→{kind} p50 / p95 | {figures.get('p50', 0):.2f} / {figures['p95']:.2f} s |")
    lines += ["", "RSS samples (minutes, MB):", "", "```",
              " ".join(f"{t / 60:.1f}:{m:.0f}" for t, m in samples), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
