"""MoveNet MultiPose on each CPU runtime, side by side: TensorFlow (the TFJS graph loaded by
workers/action/tfjs_graph.py), OpenVINO (the same graph converted once), ONNX Runtime (converted
once by tf2onnx) and TFLite/XNNPACK (converted by TensorFlow's converter), on real vtest frames.
OpenVINO, ONNX Runtime and tf2onnx are not project dependencies (they lost, see
BENCHMARKS.md): install them beside the venv to rerun, e.g.
`uv pip install --python .venv/bin/python --target /tmp/rt --no-deps openvino openvino-telemetry
onnxruntime tf2onnx==1.17.0 onnx==1.22.0` and run with PYTHONPATH=/tmp/rt.

    ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python benchmarks/pose_runtime_bench.py [--frames 24] [--rounds 3]
        [--runtimes tf openvino tflite] [--threads 2]

Every round passes every frame through every runtime, rotating which goes first, so a machine
shared with other work slows all runtimes alike; the figures are medians per pass and ratios
to TensorFlow. Inputs are what MoveNetMultiPose feeds the model: the frame shrunk to 640 px
long side and padded to the stride (640x480), and the crowded-frame tile (416x480).
Agreement: the largest difference of any output number of the people scored above 0.2
(keypoint coordinates and box edges in input pixels, scores in [0, 1]).
ONEDNN_MAX_CPU_ISA limits TensorFlow's oneDNN kernels (and OpenVINO's, see the printed ISA
line); XNNPACK chooses its own kernels from the CPU's flags.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vidsentry.config.cache import cache_root  # noqa: E402
from vidsentry.machine import cpu_summary  # noqa: E402
from vidsentry.samples import sample_cache  # noqa: E402
from workers.action.assets import require_movenet  # noqa: E402
from workers.action.errors import PoseModelError  # noqa: E402

CACHE = cache_root()
STRIDE = 32
log = logging.getLogger(__name__)


def frames(count: int) -> list[np.ndarray]:
    clip = sample_cache(CACHE).require("vtest")
    capture = cv2.VideoCapture(str(clip))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    wanted = set(np.linspace(0, total - 1, count).astype(int).tolist())
    out, index = [], 0
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        if index in wanted:
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            out.append(cv2.resize(rgb, (640, 480), interpolation=cv2.INTER_AREA))
        index += 1
    return out


def batch(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    padded = np.zeros((1, -(-h // STRIDE) * STRIDE, -(-w // STRIDE) * STRIDE, 3), np.int32)
    padded[0, :h, :w] = image
    return padded


def tensorflow_runtime(model_json: Path, threads: int):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    from workers.action.tfjs_graph import load_graph_model

    run = load_graph_model(model_json)
    return lambda x: run(tf.constant(x))[0].numpy()


def openvino_runtime(model_json: Path, threads: int):
    return openvino_runner(model_json, CACHE, threads)


def onnxruntime_runtime(model_json: Path, threads: int):
    """The graph converted once by tf2onnx (opset 17) and cached; ONNX Runtime's CPU provider."""
    import onnxruntime as ort

    path = CACHE / "converted" / "movenet-multipose.onnx"
    if not path.is_file():
        import tf2onnx

        from workers.action.tfjs_graph import graph_def_of

        path.parent.mkdir(parents=True, exist_ok=True)
        tf2onnx.convert.from_graph_def(graph_def_of(model_json), input_names=["input:0"], output_names=["Identity:0"],
                                       opset=17, output_path=str(path))
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def tflite_runtime(model_json: Path, threads: int):
    """One TFLite model per input shape (the converter cannot keep this graph's shapes dynamic)."""
    import tensorflow as tf

    from workers.action.tfjs_graph import load_graph_model

    interpreters: dict[tuple, tf.lite.Interpreter] = {}

    def interpreter_for(shape: tuple) -> tf.lite.Interpreter:
        if shape not in interpreters:
            path = CACHE / "converted" / f"movenet-multipose-{shape[1]}x{shape[2]}.tflite"
            if not path.is_file():
                function = load_graph_model(model_json)
                concrete = tf.function(lambda x: function(x)).get_concrete_function(tf.TensorSpec(shape, tf.int32))
                converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete])
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(converter.convert())
            interpreter = tf.lite.Interpreter(model_path=str(path), num_threads=threads)
            interpreter.allocate_tensors()
            interpreters[shape] = interpreter
        return interpreters[shape]

    def run(x: np.ndarray) -> np.ndarray:
        interpreter = interpreter_for(x.shape)
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        return interpreter.get_tensor(interpreter.get_output_details()[0]["index"]).copy()

    return run


def converted_path(model_json: Path, cache_root: Path) -> Path:
    import openvino as ov

    model_json = Path(model_json)
    digest = hashlib.sha256(model_json.read_bytes())
    for group in json.loads(model_json.read_text()).get("weightsManifest", []):
        for shard in group["paths"]:
            digest.update((model_json.parent / shard).read_bytes())
    digest.update(ov.get_version().encode())
    return Path(cache_root).expanduser() / "converted" / f"{model_json.stem}-openvino-{digest.hexdigest()[:16]}.xml"


def _convert(model_json: Path, path: Path) -> None:
    import openvino as ov

    from workers.action.tfjs_graph import graph_def_of  # noqa: I001

    graph_def = graph_def_of(model_json)
    try:
        model = ov.convert_model(graph_def)
    except Exception as exc:  # the front end raises its own exception types
        raise PoseModelError(f"OpenVINO cannot convert {model_json}: {exc}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.xml")
    ov.save_model(model, tmp, compress_to_fp16=False)
    tmp.with_suffix(".bin").replace(path.with_suffix(".bin"))
    tmp.replace(path)


def openvino_runner(model_json: Path, cache_root: Path, threads: int | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """``run(batch int32 (1, H, W, 3)) -> (1, 6, 56)``. The model is compiled once per input
    shape (a camera gives one or two: the frame and its tiles): static shapes run faster
    than OpenVINO's dynamic ones."""
    import openvino as ov

    path = converted_path(model_json, cache_root)
    if not path.is_file():
        log.info("converting %s to OpenVINO IR (once; cached at %s)", model_json, path)
        _convert(Path(model_json), path)
    core = ov.Core()
    config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}  # not bf16: same outputs as TF
    if threads:
        config["INFERENCE_NUM_THREADS"] = threads
    requests: dict[tuple, object] = {}

    def run(batch: np.ndarray) -> np.ndarray:
        request = requests.get(batch.shape)
        if request is None:
            model = core.read_model(path)
            model.reshape({0: list(batch.shape)})
            try:
                request = core.compile_model(model, "CPU", config).create_infer_request()
            except RuntimeError as exc:
                raise PoseModelError(f"OpenVINO cannot compile {path} for {batch.shape}: {exc}") from None
            requests[batch.shape] = request
        return request.infer({0: batch})[0].copy()

    return run


RUNTIMES = {"tf": tensorflow_runtime, "openvino": openvino_runtime, "tflite": tflite_runtime,
            "onnxruntime": onnxruntime_runtime}


def agreement(reference: np.ndarray, other: np.ndarray, height: int, width: int) -> float:
    keep = reference[0, :, 55] >= 0.2
    if not keep.any():
        return 0.0
    scale = np.ones(56, np.float32)
    scale[0:51:3], scale[1:51:3] = height, width
    scale[51:55] = [height, width, height, width]
    return float(np.abs((reference[0, keep] - other[0, keep]) * scale).max())


def serve(spec: str, threads: int, connection) -> None:
    """A child process: one runtime, its ISA limit set before anything is imported."""
    name, _, isa = spec.partition(":")
    if isa:
        os.environ["ONEDNN_MAX_CPU_ISA"] = isa
    else:
        os.environ.pop("ONEDNN_MAX_CPU_ISA", None)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    started = time.perf_counter()
    run = RUNTIMES[name](require_movenet(CACHE), threads)
    run(np.zeros((1, 480, 640, 3), np.int32))
    connection.send(time.perf_counter() - started)
    while (x := connection.recv()) is not None:
        started = time.perf_counter()
        out = run(x)
        connection.send((time.perf_counter() - started, out))


def main() -> None:
    import multiprocessing

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runtimes", nargs="+", default=["tf:AVX2", "tf", "tflite", "openvino"],
                        help="runtime[:ISA] each in its own process, ISA the ONEDNN_MAX_CPU_ISA it starts with "
                             "(none: the CPU's best); the first is the reference")
    args = parser.parse_args()

    images = frames(args.frames)
    inputs = {"full 640x480": [batch(i) for i in images], "tile 416x480": [batch(i[:, :416]) for i in images]}
    context = multiprocessing.get_context("spawn")
    children, loads = {}, {}
    for spec in args.runtimes:
        parent, child = context.Pipe()
        context.Process(target=serve, args=(spec, args.threads, child), daemon=True).start()
        children[spec] = parent
    for spec, connection in children.items():
        loads[spec] = connection.recv()
    names = list(children)
    times = {(kind, name): [] for kind in inputs for name in names}
    worst = {(kind, name): 0.0 for kind in inputs for name in names}
    people = {kind: 0 for kind in inputs}
    for round_ in range(args.rounds):
        for kind, xs in inputs.items():
            for i, x in enumerate(xs):
                outputs = {}
                order = names[(i + round_) % len(names):] + names[:(i + round_) % len(names)]
                for name in order:
                    children[name].send(x)
                    elapsed, outputs[name] = children[name].recv()
                    times[kind, name].append(elapsed)
                if round_ == 0:
                    people[kind] += int((outputs[names[0]][0, :, 55] >= 0.2).sum())
                for name in names[1:]:
                    worst[kind, name] = max(worst[kind, name], agreement(outputs[names[0]], outputs[name], *x.shape[1:3]))
    for connection in children.values():
        connection.send(None)

    print(f"CPU: {cpu_summary()}")
    print(f"threads per runtime {args.threads}, {args.frames} vtest frames x {args.rounds} rounds, one process per "
          "runtime, passes interleaved (rotating order), time of the pass inside its process\n")
    print(f"| input | runtime[:ONEDNN_MAX_CPU_ISA] | ms per pass (median) | p90 | speed vs {names[0]} | largest "
          f"difference vs {names[0]} (px / score) | people (score >= 0.2) |")
    print("|---|---|---|---|---|---|---|")
    for kind in inputs:
        base = statistics.median(times[kind, names[0]])
        for name in names:
            median = statistics.median(times[kind, name])
            p90 = statistics.quantiles(times[kind, name], n=10)[-1]
            diff = "-" if name == names[0] else f"{worst[kind, name]:.2f}"
            print(f"| {kind} | {name} | {median * 1000:.1f} | {p90 * 1000:.1f} | {base / median:.2f}x | {diff} | "
                  f"{people[kind]} |")
    print("\nLoad, s (import, model, first pass; converted models cached): "
          + json.dumps({k: round(v, 2) for k, v in loads.items()}))


if __name__ == "__main__":
    main()
