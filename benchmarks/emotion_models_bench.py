"""Emotion models side by side: ms per face through the emotion stage's model call, old vs new.

Faces: every face MediaPipe finds in the real carphone sample video (as in emotion_bench.py).
Each configuration is loaded as the worker loads it (``load_emotion_model``) and classifies
batches of 1 and 32 decoded crops with ``EmotionStage.classify`` (resize + model). The
configurations are timed in interleaved rounds, so a change of machine load hits them alike;
each figure is the median over the rounds.

    .venv/bin/python benchmarks/emotion_models_bench.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


from benchmarks.emotion_bench import carphone_faces  # noqa: E402
from schemas import FaceQuality  # noqa: E402
from vidsentry.config.cache import DEFAULT_CACHE_DIR  # noqa: E402
from vidsentry.machine import cpu_summary  # noqa: E402
from workers.emotion.config import EmotionConfig  # noqa: E402
from workers.emotion.crops import FaceCrop  # noqa: E402
from workers.emotion.loader import load_emotion_model  # noqa: E402
from workers.emotion.worker import EmotionStage  # noqa: E402

CONFIGS = {
    "mini-xception, TFLite (the old default)": EmotionConfig(model="mini-xception", flip=False),
    "mini-xception, TFLite, flip": EmotionConfig(model="mini-xception", flip=True),
    "vgg48, TFLite": EmotionConfig(model="vgg48", flip=False),
    "vgg48, TFLite, flip": EmotionConfig(model="vgg48", flip=True),
    "vgg48, tf-function": EmotionConfig(model="vgg48", flip=False, runtime="tf-function"),
    "vgg48, tf-function, flip": EmotionConfig(model="vgg48", flip=True, runtime="tf-function"),
    "vgg48+mini-xception, TFLite, flip (the new default)": EmotionConfig(model="vgg48+mini-xception", flip=True),
}
BATCHES = (1, 32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE_DIR.expanduser())
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    from vidsentry.samples import sample_cache

    faces = carphone_faces(sample_cache(args.cache).require("carphone"))
    crops = [FaceCrop(face, FaceQuality(size_px=float(min(face.shape)), blur=0.0)) for face in faces]
    stages = {name: EmotionStage(load_emotion_model(config, args.cache), max_batch=64) for name, config in CONFIGS.items()}
    batches = {n: [crops[i % len(crops)] for i in range(n)] for n in BATCHES}
    times: dict[tuple[str, int], list[float]] = {(name, n): [] for name in stages for n in BATCHES}
    for stage in stages.values():
        for n in BATCHES:
            stage.classify(batches[n])
    for _ in range(args.rounds):
        for name, stage in stages.items():
            for n in BATCHES:
                started = time.perf_counter()
                stage.classify(batches[n])
                times[(name, n)].append((time.perf_counter() - started) / n)
    reference = stages[next(iter(stages))].classify(crops).argmax(axis=1)
    print(f"CPU: {cpu_summary()}; ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', 'default')}; "
          f"{len(faces)} carphone faces, {args.rounds} interleaved rounds")
    print("| model | ms / face, batch 1 | ms / face, batch 32 | top-1 agreement with the old default |")
    print("|---|---:|---:|---:|")
    for name, stage in stages.items():
        agree = float((stage.classify(crops).argmax(axis=1) == reference).mean())
        print(f"| {name} | {statistics.median(times[(name, 1)]) * 1e3:.2f} | "
              f"{statistics.median(times[(name, 32)]) * 1e3:.2f} | {agree:.1%} |")


if __name__ == "__main__":
    main()
