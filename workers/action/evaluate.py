"""``vidsentry evaluate action DATA MODEL``: a trained action model on labelled clips.

Windows are cut from every clip exactly as in training (same tracks cache), classified,
and scored against the clip's label: accuracy, per-class precision / recall / F1,
macro-F1, a clip-level accuracy (majority of the clip's windows) and a confusion-matrix PNG.
Labels of the data the model does not know count as errors, never silently dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidsentry.config.cache import DEFAULT_CACHE_DIR
from workers.action.dataset import scan_dataset
from workers.action.extract import ExtractOptions, TrackCache, clip_sequences, extract_clips
from workers.action.pose import PoseEstimator
from workers.action.report import ClassificationReport, classification_report, format_report, save_confusion_png


@dataclass
class EvaluateOptions:
    data: Path
    model: Path
    confusion_png: Path
    extract: ExtractOptions
    cache_dir: Path = DEFAULT_CACHE_DIR / "action-tracks"
    min_frames: int = 5
    progress: bool = True


@dataclass
class Evaluation:
    report: ClassificationReport
    clip_accuracy: float
    clips: int
    confusion_png: Path
    y_true: np.ndarray
    y_pred: np.ndarray


def evaluate(options: EvaluateOptions, make_estimator: Callable[[], PoseEstimator],
             echo: Callable[[str], None] = print) -> Evaluation:
    from workers.action import temporal

    model, model_labels, spec = temporal.load(options.model)
    scan = scan_dataset(options.data)
    for path, reason in scan.unreadable:
        echo(f"skipping {path}: {reason}")
    unknown = sorted(set(scan.labels) - set(model_labels))
    if unknown:
        echo(f"labels the model was not trained on (all their windows count as errors): {', '.join(unknown)}")
    labels = list(model_labels) + unknown

    tracks = extract_clips(scan.clips, make_estimator, options.extract, TrackCache(options.cache_dir), options.progress)
    y_true, y_pred, clip_hits, clips_scored = [], [], 0, 0
    for clip in scan.clips:
        windows = clip_sequences(tracks[clip.path], spec, clip.seconds, options.extract, options.min_frames)
        if not len(windows):
            echo(f"no window from {clip.path} (nobody found, or too short)")
            continue
        predicted = np.argmax(temporal.predict(model, windows), axis=1)
        truth = labels.index(clip.label)
        y_true.extend([truth] * len(predicted))
        y_pred.extend(predicted.tolist())
        clips_scored += 1
        clip_hits += int(Counter(predicted.tolist()).most_common(1)[0][0] == truth)

    report = classification_report(np.array(y_true, int), np.array(y_pred, int), labels)
    png = save_confusion_png(report, options.confusion_png, f"{Path(options.model).name} on {Path(options.data).name}")
    clip_accuracy = clip_hits / clips_scored if clips_scored else 0.0
    echo(format_report(report))
    echo(f"clip accuracy (majority of windows): {clip_accuracy:.4f} over {clips_scored} clips")
    echo(f"confusion matrix: {png}")
    return Evaluation(report, clip_accuracy, clips_scored, png, np.array(y_true, int), np.array(y_pred, int))
