"""Motion gating A/B: the whole `vidsentry run` with the gate off (action.pose.motion_min_area
null) and on (the default), runs alternating A, B, B, A... and medians, on the busy street
(the first 20 s of vtest) and on a still empty street (vtest's median background with camera
noise, 20 s). Files are read as fast as possible, so no frame is dropped or shed and the
CPU seconds per frame compare the work itself, not how starved the process was on a shared
machine; --realtime paces them like cameras instead.

    ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python benchmarks/gate_bench.py [--repeats 2] [--realtime] [--out benchmarks/gate.md]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from pipeline_bench import CACHE, cut, latency_cells, pose_passes, run  # noqa: E402

from vidsentry.machine import cpu_summary  # noqa: E402
from vidsentry.samples import sample_cache  # noqa: E402


def still_street(clip: Path, seconds: float, target: Path) -> Path:
    """The street with nobody on it (median of 25 frames over the clip), each frame with new
    sensor noise (sigma 3 grey levels), as MJPEG at 10 fps."""
    capture = cv2.VideoCapture(str(clip))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    picks = []
    for index in np.linspace(0, total - 1, 25).astype(int):
        capture.set(cv2.CAP_PROP_POS_FRAMES, int(index))
        ok, bgr = capture.read()
        if ok:
            picks.append(bgr)
    background = np.median(np.stack(picks), axis=0)
    rng = np.random.default_rng(0)
    height, width = background.shape[:2]
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (width, height))
    for _ in range(int(seconds * 10)):
        writer.write(np.clip(background + rng.normal(0, 3, background.shape), 0, 255).astype(np.uint8))
    writer.release()
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of each clip")
    parser.add_argument("--realtime", action="store_true", help="pace the clips like cameras")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    clip = sample_cache(CACHE).require("vtest")
    variants = {"gate off": {"VIDSENTRY_ACTION__POSE__MOTION_MIN_AREA": "null"}, "gate on": {}}
    results: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="vidsentry-gate-") as tmp:
        work = Path(tmp)
        scenes = {f"busy street (vtest, first {args.seconds:.0f} s)": cut(clip, args.seconds, work / "busy.avi"),
                  f"still empty street ({args.seconds:.0f} s)": still_street(clip, args.seconds, work / "still.avi")}
        for repeat in range(args.repeats):
            for scene, source in scenes.items():
                order = list(variants) if repeat % 2 == 0 else list(variants)[::-1]
                for variant in order:
                    name = f"{scene[:5]}-{variant.replace(' ', '-')}-{repeat}".replace(" ", "")
                    results.setdefault((scene, variant), []).append(run([source], work, name, realtime=args.realtime,
                                                                       env=variants[variant]))

    def med(summaries: list[dict], key) -> float:
        return statistics.median(key(s) for s in summaries)

    lines = ["# Motion gating: the whole run with the gate off and on", "",
             f"`{' '.join(['.venv/bin/python', 'benchmarks/gate_bench.py', *sys.argv[1:]])}` with "
             f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', '(unset)')}, {datetime.now(UTC):%Y-%m-%d %H:%M} "
             f"UTC. CPU: {cpu_summary()}. {'Paced like cameras' if args.realtime else 'As fast as possible'}; runs "
             f"alternate off/on, {args.repeats} of each; medians (the actions latency cells are the last run's).", "",
             "| scene | gate | frames | dropped | pose passes | answered without a pass: rate / stale / no_motion | "
             "actions p50 / p95 / p99 ms | frames/s | CPU ms per frame | CPU cores used | model load s | peak RSS MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (scene, variant), summaries in results.items():
        without = summaries[-1]["frames_without_pose"]
        lines.append(
            f"| {scene} | {variant} | {med(summaries, lambda s: s['frames']):.0f} | "
            f"{med(summaries, lambda s: s['dropped']):.0f} | {med(summaries, pose_passes):.0f} | "
            f"{without.get('rate', 0)} / {without.get('stale', 0)} / {without.get('no_motion', 0)} | "
            f"{latency_cells(summaries[-1], ('actions',))[0]} | {med(summaries, lambda s: s['fps']):.2f} | "
            f"{med(summaries, lambda s: 1000 * s['cpu_s'] / max(1, s['frames'])):.0f} | "
            f"{med(summaries, lambda s: s['cpu_cores_used']):.2f} | {med(summaries, lambda s: s['model_load_s']):.1f} | "
            f"{med(summaries, lambda s: s['peak_rss_mb']):.0f} |")
    for scene in dict.fromkeys(s for s, _ in results):
        def per_frame(s: dict) -> float:
            return s["cpu_s"] / max(1, s["frames"])

        off, on = med(results[scene, "gate off"], per_frame), med(results[scene, "gate on"], per_frame)
        lines.append(f"\n{scene}: with the gate, {on / off:.2f}x the CPU per frame of no gate "
                     f"({1000 * on:.0f} vs {1000 * off:.0f} ms).")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.write_text(report)


if __name__ == "__main__":
    main()
