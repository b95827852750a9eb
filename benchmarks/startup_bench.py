"""Start-up (#17 goal 5): seconds from starting `vidsentry run vtest.avi` to the first output of
each stage, the whole run's wall time, and each stage's model load, in a fresh process per run.

Each run is the real CLI in a new interpreter; a probe around it notes when the recorder first
sees each kind of message (``frame``: the producer's first frame on the bus; ``faces``,
``emotions``, ``actions``: each stage's first analysed frame; ``event``: the aggregator's first),
timed from just before the process is started. ``--before DIR`` runs a second source tree (e.g.
``git archive HEAD | tar -x -C DIR``) the same way, alternating with this one, so that the two
are compared side by side in one run; every variant runs with and without ONEDNN_MAX_CPU_ISA=AVX2.

    .venv/bin/python benchmarks/startup_bench.py [--before DIR] [--seconds 20] [--out benchmarks/startup.md]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vidsentry.config.cache import cache_root  # noqa: E402
from vidsentry.machine import cpu_summary  # noqa: E402
from vidsentry.samples import sample_cache  # noqa: E402

KINDS = ("frame", "faces", "emotions", "actions", "event")

PROBE = """
import atexit, json, os, sys, time
first = {}
from vidsentry.report import recorder
process = recorder.Recorder.process
def noted(self, batch):
    now = time.time()
    for message in batch:
        first.setdefault(message.KIND, now)
    return process(self, batch)
recorder.Recorder.process = noted
atexit.register(lambda: open(os.environ["STARTUP_PROBE_OUT"], "w").write(json.dumps(first)))
from vidsentry.cli import main
sys.argv = ["vidsentry", *sys.argv[1:]]
main()
"""


COMPONENTS = {
    "the CLI's imports (`import vidsentry.embedded`)": "import vidsentry.embedded",
    "`import tensorflow`": "import tensorflow",
    "MediaPipe face detection, imported without TensorFlow":
        "from workers.face.detector import _import_face_detection; _import_face_detection()",
    "face stage built (MediaPipe BlazeFace, dlib landmarks + ResNet)":
        "from vidsentry.config import Config; from workers.face.worker import build_stage; build_stage(Config())",
    "emotion stage built (TFLite through tf.lite: TensorFlow's import)":
        "from vidsentry.config import Config; from workers.emotion.worker import build_stage; build_stage(Config())",
    "action stage built (TensorFlow, MoveNet, fight model)":
        "from vidsentry.config import Config; from workers.action.worker import build_stage; build_stage(Config())",
}
"""Each timed alone in a fresh process (its own imports included, the interpreter's start not)."""


def time_component(code: str) -> float:
    timed = f"import time\nstarted = time.perf_counter()\n{code}\nprint(time.perf_counter() - started)"
    result = subprocess.run([sys.executable, "-c", timed], cwd=REPO, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{code} failed:\n{result.stderr[-3000:]}")
    return float(result.stdout.strip().splitlines()[-1])


def cut(clip: Path, seconds: float, target: Path) -> Path:
    import cv2

    capture = cv2.VideoCapture(str(clip))
    fps = capture.get(cv2.CAP_PROP_FPS) or 10.0
    ok, frame = capture.read()
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"MJPG"), fps, (frame.shape[1], frame.shape[0]))
    for _ in range(int(seconds * fps)):
        if not ok:
            break
        writer.write(frame)
        ok, frame = capture.read()
    writer.release()
    return target


def run_once(tree: Path, clip: Path, work: Path, env_extra: dict[str, str]) -> dict:
    probe_out, out = work / "probe.json", work / "out"
    env = {**os.environ, **env_extra, "STARTUP_PROBE_OUT": str(probe_out), "PYTHONPATH": str(tree)}
    log = work / "run.log"
    started = time.time()
    with open(log, "w") as stderr:
        rc = subprocess.run([sys.executable, "-c", PROBE, "run", str(clip), "--out", str(out)], cwd=tree, env=env,
                            stdout=stderr, stderr=stderr).returncode
    whole_s = time.time() - started
    if rc != 0:
        raise SystemExit(f"run in {tree} failed ({rc}):\n" + log.read_text()[-3000:])
    first = json.loads(probe_out.read_text())
    summary = json.loads((out / "summary.json").read_text())
    return {"first": {kind: first[kind] - started for kind in first}, "whole_s": whole_s, "frames": summary["frames"],
            "dropped": summary["dropped"], "model_load_s": summary["model_load_s"],
            "stage_load_s": summary.get("stage_load_s", {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="a source tree to compare with this one")
    parser.add_argument("--seconds", type=float, help="only the first seconds of vtest (default: the whole clip)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    clip = sample_cache(cache_root()).require("vtest")
    trees = ([("before", args.before.resolve())] if args.before else []) + [("after", REPO)]
    isas = {"default ISA": {}, "ONEDNN_MAX_CPU_ISA=AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2"}}
    components = {name: time_component(code) for name, code in COMPONENTS.items()}
    for name, seconds in components.items():
        print(f"{seconds:6.1f} s  {name}", flush=True)
    results: dict[tuple[str, str], list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="vidsentry-startup-") as tmp:
        work = Path(tmp)
        if args.seconds:
            clip = cut(clip, args.seconds, work / "vtest-cut.avi")
        for repeat in range(args.repeats):
            for isa, env_extra in isas.items():
                order = trees if repeat % 2 == 0 else trees[::-1]
                for name, tree in order:
                    result = run_once(tree, clip, work, env_extra)
                    results.setdefault((name, isa), []).append(result)
                    print(f"{name:6} {isa:24} " + "  ".join(f"{k} {v:.1f}s" for k, v in sorted(result["first"].items(), key=lambda kv: kv[1]))
                          + f"  whole {result['whole_s']:.1f}s  frames {result['frames']}  dropped {result['dropped']}"
                          + f"  stage load {result['stage_load_s']}", flush=True)
    report = render(results, components, clip if not args.seconds else f"the first {args.seconds:.0f} s of vtest", args)
    print(report)
    if args.out:
        args.out.write_text(report)


def render(results: dict[tuple[str, str], list[dict]], components: dict[str, float], clip: object,
           args: argparse.Namespace) -> str:
    med = statistics.median
    lines = [
        "# Start-up: seconds from starting `vidsentry run` to each stage's first output",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on **{cpu_summary()}**; load average "
        f"{os.getloadavg()[0]:.1f} at the end. Clip: {clip if args.seconds else 'vtest (795 frames, 768x576, 10 fps)'}, "
        "as fast as possible. One fresh process per run (the real CLI under a probe that notes when the recorder "
        "first sees each kind of message), timed from just before the process starts; variants alternate, "
        f"{args.repeats} run(s) each (medians). Command: `.venv/bin/python benchmarks/startup_bench.py"
        + (" --before DIR" if args.before else "") + (f" --seconds {args.seconds:g}" if args.seconds else "")
        + (f" --repeats {args.repeats}" if args.repeats != 1 else "") + "`.",
        "",
        "| variant | ISA | first frame on the bus | first faces | first emotions | first actions | first event "
        "| whole run | frames | dropped | model load (summary) | per stage load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (name, isa), runs in results.items():
        cells = []
        for kind in KINDS:
            values = [r["first"][kind] for r in runs if kind in r["first"]]
            cells.append(f"{med(values):.1f} s" if values else "none")
        stage_load = {stage: med([r["stage_load_s"][stage] for r in runs if stage in r["stage_load_s"]])
                      for stage in runs[0]["stage_load_s"]}
        lines.append(f"| {name} | {isa} | " + " | ".join(cells) + f" | {med(r['whole_s'] for r in runs):.1f} s | "
                     f"{runs[0]['frames']} | {max(r['dropped'] for r in runs)} | {med(r['model_load_s'] for r in runs):.1f} s | "
                     + (", ".join(f"{s} {v:.1f} s" for s, v in stage_load.items()) or "-") + " |")
    lines += ["", "Where start-up goes: each part alone in a fresh process of this tree (its imports included), "
              "measured once before the runs above:", "", "| part | seconds |", "|---|---|"]
    lines += [f"| {name} | {seconds:.1f} |" for name, seconds in components.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
