"""Emotion models on the faces our own pipeline crops from the real sample media (no labels).

Every sample video and photo of ``vidsentry samples`` goes through the real face stage (default
configuration, a default camera at 10 fps, long side 768 px) and the emotion stage, as
`vidsentry run` would. The samples carry no emotion labels, so the figures are label-free:

* top labels: how often each class wins;
* confidence: the mean top probability;
* mirror agreement: the share of faces whose label stays the same on the left-right mirrored
  crop (a model that reads the expression, not noise, should not care);
* track switches: label changes between consecutive faces of one face track, per 100 faces;
* agreement with the first model: the share of faces given the same label.

    .venv/bin/python benchmarks/emotion_samples.py mini-xception:noflip vgg48+mini-xception vgg48
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import get_args

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from schemas import FacesMsg  # noqa: E402
from vidsentry.config import Config  # noqa: E402
from vidsentry.config.cache import DEFAULT_CACHE_DIR  # noqa: E402
from vidsentry.config.cameras import CameraConfig  # noqa: E402
from vidsentry.config.models import ModelsConfig  # noqa: E402
from vidsentry.machine import cpu_summary  # noqa: E402
from vidsentry.samples import SAMPLES, sample_cache  # noqa: E402
from workers.emotion.config import BuiltinModel, EmotionConfig  # noqa: E402
from workers.face.config import FaceConfig  # noqa: E402

VIDEOS = ("carphone", "bikes", "vtest")


def pipeline_faces(cache_root: Path, gallery: Path) -> list[tuple[str, FacesMsg]]:
    """(sample name, FacesMsg) for every frame of every sample in which the face stage found a face."""
    from workers.action.clip_replay import clip_frames
    from workers.face.gallery_file import FileGallery
    from workers.face.worker import build_stage

    stage = build_stage(Config(models=ModelsConfig(cache_dir=cache_root)), FaceConfig(), FileGallery(gallery))
    cache = sample_cache(cache_root)
    found = []
    for name in SAMPLES:
        path = cache.require(name)
        camera = CameraConfig(id=name, source=str(path), fps=10.0, max_side=768)
        for frame in clip_frames(path, camera):
            (faces,) = stage.process([frame])
            if faces.faces:
                found.append((name, faces))
    return found


def measure(model_arg: str, found: list[tuple[str, FacesMsg]], cache_root: Path) -> dict:
    from workers.emotion.loader import load_emotion_model
    from workers.emotion.worker import EmotionStage

    name, _, option = model_arg.partition(":")
    chosen = {"model": name} if name in get_args(BuiltinModel) else {"model_path": Path(name)}
    config = EmotionConfig(**chosen, flip=option != "noflip")
    model = load_emotion_model(config, cache_root)
    stage = EmotionStage(model, config.min_face_px, config.max_batch)
    usable = [(name, u) for name, message in found for u in stage._usable_faces(0, message)]
    crops = [u.crop for _, u in usable]
    probs = stage.classify(crops)
    mirrored = stage.classify([type(c)(np.ascontiguousarray(c.pixels[:, ::-1]), c.quality) for c in crops])
    labels = probs.argmax(axis=1)
    switches, pairs = 0, 0
    last: dict[str, int] = {}
    for (name, u), label in zip(usable, labels):
        key = f"{name}/{u.face.track_id}"
        if key in last:
            pairs += 1
            switches += int(last[key] != label)
        last[key] = int(label)
    per_sample = Counter(name for name, _ in usable)
    return {"model": model.name, "faces": len(usable), "faces_per_sample": dict(per_sample),
            "top_labels": {model.labels[k]: int(v) for k, v in sorted(Counter(labels.tolist()).items())},
            "confidence": float(probs.max(axis=1).mean()),
            "mirror_agreement": float((labels == mirrored.argmax(axis=1)).mean()) if len(labels) else float("nan"),
            "track_switches_per_100": 100.0 * switches / pairs if pairs else float("nan"),
            "track_pairs": pairs, "labels": [model.labels[k] for k in labels],
            "per_sample_top": {name: dict(Counter(model.labels[k] for (n, _), k in zip(usable, labels) if n == name))
                               for name in per_sample}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+", help="a built-in model name (emotion.model) or a model file, "
                                                  "with ':noflip' to turn test-time flip off")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        found = pipeline_faces(args.cache_dir.expanduser(), Path(tmp) / "gallery.json")
    results = [measure(m, found, args.cache_dir.expanduser()) for m in args.models]
    reference = results[0]["labels"]
    print(f"CPU: {cpu_summary()}")
    print("| model | faces | top labels | mean confidence | mirror agreement | track switches / 100 | "
          "agreement with the first |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        agree = np.mean([a == b for a, b in zip(reference, r["labels"])]) if r["labels"] else float("nan")
        r["agreement_with_first"] = float(agree)
        tops = ", ".join(f"{k} {v}" for k, v in sorted(r["top_labels"].items(), key=lambda kv: -kv[1]))
        print(f"| {r['model']} | {r['faces']} | {tops} | {r['confidence']:.2f} | {r['mirror_agreement']:.1%} | "
              f"{r['track_switches_per_100']:.1f} ({r['track_pairs']} pairs) | {agree:.1%} |")
    for r in results:
        print(f"{r['model']}: " + "; ".join(f"{name}: {dict(sorted(c.items()))}" for name, c in r["per_sample_top"].items()))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
