"""The whole pipeline in embedded mode (`vidsentry run`) on a real street clip: the ceiling
(decode-only fps), the run as fast as possible, the run paced like a live 10 fps camera
(frames/s kept, drops, capture-to-output latency, CPU, peak memory), what the pose rate
buys, scaling with 1, 2, 4, 8 cameras, and model load times and memory.

    .venv/bin/python benchmarks/pipeline_bench.py [--streams 1 2 4 8] [--scaling-seconds 30]
                                                  [--out benchmarks/pipeline.md]

Clip: OpenCV's vtest.avi (768x576, 10 fps, 79.5 s, 3-8 pedestrians in view), from the
opencv-python-headless sdist via the sample cache. Every run is the real CLI in its own
process; its figures come from the run's summary.json (frames analysed, drops, latency per
message kind as the run's recorder saw it on the bus, CPU seconds and peak RSS of the
process). Prints a Markdown report.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vidsentry.config.cache import cache_root  # noqa: E402
from vidsentry.machine import cpu_summary  # noqa: E402
from vidsentry.samples import sample_cache  # noqa: E402

CACHE = cache_root()
CLIP_FPS = 10.0
LATENCY_RULES = """\
# Benchmark rules: alerts often enough for capture-to-alert percentiles.
rules:
  - name: walking
    severity: info
    when: {action: walking}
    cooldown_s: 0
  - name: standing
    severity: info
    when: {action: standing}
    cooldown_s: 0
  - name: stranger
    severity: info
    when: {identity: unknown}
    cooldown_s: 0
"""


def ceiling(clip: Path, repeat: int = 3) -> dict[str, float]:
    """Frames per second of decoding the clip alone, and of the producer's per-frame work
    (decode + JPEG q85 encode at 768 px) and the workers' JPEG decode."""
    def decode_only() -> int:
        capture = cv2.VideoCapture(str(clip))
        n = 0
        while capture.grab():
            capture.retrieve()
            n += 1
        return n

    def produce() -> list[bytes]:
        capture = cv2.VideoCapture(str(clip))
        out = []
        while True:
            ok, bgr = capture.read()
            if not ok:
                return out
            out.append(cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes())

    import numpy as np

    rates = {"decode": [], "decode + JPEG encode": [], "JPEG decode": []}
    for _ in range(repeat):
        started = time.perf_counter()
        frames = decode_only()
        rates["decode"].append(frames / (time.perf_counter() - started))
        started = time.perf_counter()
        jpegs = produce()
        rates["decode + JPEG encode"].append(len(jpegs) / (time.perf_counter() - started))
        started = time.perf_counter()
        for jpeg in jpegs:
            cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
        rates["JPEG decode"].append(len(jpegs) / (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in rates.items()}


def cut(clip: Path, seconds: float, target: Path) -> Path:
    """The first ``seconds`` of the clip as MJPEG (the scaling runs need not all be 80 s)."""
    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS) or CLIP_FPS
    writer = None
    for _ in range(int(seconds * fps)):
        ok, bgr = capture.read()
        if not ok:
            break
        if writer is None:
            writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"MJPG"), fps, (bgr.shape[1], bgr.shape[0]))
        writer.write(bgr)
    writer.release()
    return target


def run(sources: list[Path], work: Path, name: str, realtime: bool, env: dict[str, str] | None = None) -> dict:
    out = work / name
    rules = work / "rules.yaml"
    rules.write_text(LATENCY_RULES)
    argv = [str(REPO / ".venv" / "bin" / "vidsentry"), "--log-level", "warning", "run", *map(str, sources),
            "--out", str(out), "--rules", str(rules), "--fps", str(CLIP_FPS)] + (["--realtime"] if realtime else [])
    print(f"  {name}: {' '.join(argv[3:])}", file=sys.stderr, flush=True)
    started = time.monotonic()
    result = subprocess.run(argv, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}, capture_output=True,
                            text=True)
    if result.returncode != 0:
        raise SystemExit(f"{name} failed:\n{result.stderr[-3000:]}")
    summary = json.loads((out / "summary.json").read_text())
    summary["process_s"] = time.monotonic() - started
    return summary


def load_times() -> dict[str, tuple[float, float]]:
    """Seconds to build each stage with its models, and the process's RSS growth (MB), in a
    fresh process, in the order a worker would (imports included)."""
    code = r"""
import json, time, psutil
from pathlib import Path
proc = psutil.Process()
rss = lambda: proc.memory_info().rss / 2**20
out, base, t = {}, rss(), time.perf_counter()
from vidsentry.config import load_config
config = load_config()  # VIDSENTRY_... overrides apply, as in the runs
out["python + vidsentry config"] = (time.perf_counter() - t, rss() - base)
def step(name, build):
    global base
    before, t = rss(), time.perf_counter()
    build()
    out[name] = (time.perf_counter() - t, rss() - before)
def face():
    from workers.face.gallery import open_gallery
    from workers.face.worker import build_stage
    build_stage(config, gallery=open_gallery(config.face, None))
def emotion():
    from workers.emotion.worker import build_stage
    build_stage(config)
def action():
    from workers.action.worker import build_stage
    build_stage(config)
step("face (MediaPipe + dlib)", face)
step("emotion (TFLite mini-Xception)", emotion)
step("action (TensorFlow + MoveNet)", action)
print(json.dumps(out))
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(REPO)})
    if result.returncode != 0:
        raise SystemExit(f"load times failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def latency_cells(summary: dict, kinds: tuple[str, ...] = ("faces", "actions", "event", "alert")) -> list[str]:
    latency = summary.get("latency_s") or {}
    cells = []
    for kind in kinds:
        entry = latency.get(kind)
        cells.append(f"{entry['p50'] * 1000:.0f} / {entry['p95'] * 1000:.0f} / {entry['p99'] * 1000:.0f} (n={entry['n']})"
                     if entry else "-")
    return cells


def pose_passes(summary: dict) -> int:
    return summary["frames"] - sum(summary["frames_without_pose"].values())


def kept_fps(summary: dict, video_seconds: float) -> float:
    """Frames analysed per camera per second of video: 10 means nothing was lost."""
    return summary["frames"] / len(summary["sources"]) / video_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 2, 4, 8], help="camera counts for the scaling runs")
    parser.add_argument("--scaling-seconds", type=float, default=30.0, help="seconds of the clip each scaling run plays")
    parser.add_argument("--skip-fast", action="store_true", help="skip the as-fast-as-possible and pose-rate runs")
    parser.add_argument("--scaling-only", action="store_true", help="only the ceiling, load times and scaling runs")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args()

    clip = sample_cache(CACHE).require("vtest")
    capture = cv2.VideoCapture(str(clip))
    clip_frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    clip_seconds = clip_frames / (capture.get(cv2.CAP_PROP_FPS) or CLIP_FPS)
    lines = ["# Embedded pipeline: end to end on a real street clip", "",
             f"`.venv/bin/python benchmarks/pipeline_bench.py {' '.join(sys.argv[1:])}` on {platform.node()} "
             f"({os.cpu_count()} cores, {platform.machine()}), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. "
             f"CPU: {cpu_summary()}; ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', '(unset)')}.", "",
             f"Clip: vtest.avi, 768x576, {clip_frames} frames at 10 fps ({clip_seconds:.1f} s), 3-8 people in view. "
             "All stages on (face detection + tracking + embeddings, emotion, pose + action rules, fusion + alert "
             "rules, the run's recorder). Alert rules for these runs: walking, standing and unknown face, cooldown 0 "
             "(so there are enough alerts for percentiles).", ""]

    print("ceiling...", file=sys.stderr, flush=True)
    ceilings = ceiling(clip)
    load = load_times()
    with tempfile.TemporaryDirectory(prefix="vidsentry-bench-") as tmp:
        work = Path(tmp)
        runs: dict[str, dict] = {}
        if not (args.skip_fast or args.scaling_only):
            runs["fast"] = run([clip], work, "fast", realtime=False)
        if not args.scaling_only:
            runs["realtime"] = run([clip], work, "realtime", realtime=True)
        if not (args.skip_fast or args.scaling_only):
            runs["realtime, pose every frame"] = run([clip], work, "realtime-pose10", realtime=True,
                                                     env={"VIDSENTRY_ACTION__POSE__MAX_FPS": "10"})
        short = cut(clip, args.scaling_seconds, work / "vtest-cut.avi")
        scaling = {n: run([short] * n, work, f"streams-{n}", realtime=True) for n in args.streams}

    lines += ["## Ceiling: decoding alone", "", "| work per frame (768x576) | frames/s |", "|---|---|"]
    lines += [f"| {name} | {fps:.0f} |" for name, fps in ceilings.items()]
    if runs:
        lines += ["", "## One camera", "",
                  "| run | frames analysed | wall s | frames/s analysed | kept of 10 fps | dropped | pose passes | "
                  "frames past max_lag_s | CPU cores used | peak RSS MB |", "|---|---|---|---|---|---|---|---|---|---|"]
        for name, summary in runs.items():
            kept = kept_fps(summary, clip_seconds) if name != "fast" else float("nan")
            lines.append(f"| {name} | {summary['frames']} | {summary['wall_s']:.1f} | {summary['fps']:.2f} | "
                         f"{'-' if name == 'fast' else f'{kept:.2f}'} | {summary['dropped']} | {pose_passes(summary)} | "
                         f"{summary['frames_without_pose']['stale']} | {summary['cpu_cores_used']:.2f} "
                         f"| {summary['peak_rss_mb']:.0f} |")
        if "fast" in runs:
            lines += ["", f"As fast as possible the pipeline analyses {runs['fast']['fps']:.1f} frames/s: "
                      f"{runs['fast']['fps'] / ceilings['decode']:.1%} of the decode-only ceiling "
                      f"({ceilings['decode']:.0f} frames/s) on this machine."]
        lines += ["", "Pose passes: frames the action stage ran the pose model on (the others got the last pass's people: "
                  "the pose rate, action.pose.max_fps, or frames that reached it later than action.pose.max_lag_s after "
                  "capture because it had fallen behind).", "",
                  "Capture-to-output latency of the runs paced like a camera, ms p50 / p95 / p99 (n): each stage's "
                  "output and the fused events as seen on the bus, and alerts when the aggregator emitted them.", "",
                  "| run | faces | actions | events | alerts |", "|---|---|---|---|---|"]
        for name, summary in runs.items():
            if summary.get("latency_s"):
                lines.append(f"| {name} | " + " | ".join(latency_cells(summary)) + " |")
        lines += ["", "Stage time per message in these runs (ms, from the stages' own histograms):", "",
                  "| run | " + " | ".join(runs["realtime"]["timings"]) + " |", "|---|" + "---|" * len(runs["realtime"]["timings"])]
        for name, summary in runs.items():
            lines.append(f"| {name} | " + " | ".join(f"{t['ms_per_message']:.1f}" for t in summary["timings"].values()) + " |")
    lines += ["", f"## Scaling: N cameras of the same clip ({args.scaling_seconds:.0f} s each), paced like cameras", "",
              "| cameras | kept fps per camera (of 10) | dropped | frames past max_lag_s | events p50 / p95 / p99 ms | "
              "CPU cores used | peak RSS MB | real time |", "|---|---|---|---|---|---|---|---|"]
    for n, summary in scaling.items():
        kept = kept_fps(summary, args.scaling_seconds)
        total = summary["frames"] + summary["dropped"]
        stale = summary["frames_without_pose"]["stale"]
        real_time = summary["dropped"] == 0 and stale == 0
        lines.append(f"| {n} | {kept:.2f} | {summary['dropped']} of {total} | {stale} | "
                     f"{latency_cells(summary, ('event',))[0]} | "
                     f"{summary['cpu_cores_used']:.2f} | {summary['peak_rss_mb']:.0f} | {'yes' if real_time else 'no'} |")
    lines += ["", "Real time: no frame dropped by the producer and none reaching the action stage later than "
              "action.pose.max_lag_s (2 s) after capture."]
    if len(scaling) > 1:
        (first_n, first), (last_n, last) = list(scaling.items())[0], list(scaling.items())[-1]
        per_camera = (last["peak_rss_mb"] - first["peak_rss_mb"]) / (last_n - first_n)
        lines += ["", f"Memory per extra camera: {per_camera:.0f} MB of peak RSS ({first_n} -> {last_n} cameras)."]

    lines += ["", "## Model load time and memory (fresh process, imports included)", "",
              "| step | seconds | RSS growth MB |", "|---|---|---|"]
    lines += [f"| {name} | {seconds:.2f} | {mb:.0f} |" for name, (seconds, mb) in load.items()]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report)


if __name__ == "__main__":
    main()
