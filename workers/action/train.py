"""``vidsentry train action DATA``: keypoint sequences of labelled clips -> a GRU action model.

Steps: scan the folder per label, split the clips (not the windows) into train and
validation, extract every clip's tracks once (cached, progress bar), cut windows, train
with early stopping on the validation clips, save ``<out>/action_model.keras`` with its
label map, ``history.json`` and ``split.json``, and print the validation metrics.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidsentry.config.cache import DEFAULT_CACHE_DIR
from workers.action.dataset import Clip, scan_dataset, split_by_clip
from workers.action.errors import DatasetError
from workers.action.extract import ExtractOptions, TrackCache, clip_sequences, extract_clips
from workers.action.features import FEATURES_PER_STEP, SequenceSpec, mirror
from workers.action.pose import PoseEstimator
from workers.action.report import ClassificationReport, classification_report, format_report

log = logging.getLogger(__name__)

MODEL_FILE = "action_model.keras"


@dataclass
class TrainOptions:
    data: Path
    out: Path
    extract: ExtractOptions = field(default_factory=ExtractOptions)
    spec: SequenceSpec = field(default_factory=SequenceSpec)
    cache_dir: Path = DEFAULT_CACHE_DIR / "action-tracks"
    val_fraction: float = 0.25
    epochs: int = 60
    batch_size: int = 32
    patience: int = 10
    units: int = 64
    min_frames: int = 5
    augment_mirror: bool = True
    balance_classes: bool = False
    seed: int = 0
    progress: bool = True


@dataclass
class TrainResult:
    model_path: Path
    labels: list[str]
    train_windows: int
    val_windows: int
    epochs_run: int
    validation: ClassificationReport | None


def clip_windows(clips: list[Clip], tracks: dict[Path, dict], options: TrainOptions,
                 labels: list[str]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(windows, label indexes, windows per clip) of ``clips``."""
    xs, ys, counts = [], [], []
    for clip in clips:
        windows = clip_sequences(tracks[clip.path], options.spec, clip.seconds, options.extract, options.min_frames)
        xs.append(windows)
        ys.append(np.full(len(windows), labels.index(clip.label), np.int64))
        counts.append(len(windows))
    if not xs:
        return np.zeros((0, options.spec.steps, FEATURES_PER_STEP), np.float32), np.zeros(0, np.int64), []
    return np.concatenate(xs), np.concatenate(ys), counts


def train(options: TrainOptions, make_estimator: Callable[[], PoseEstimator],
          echo: Callable[[str], None] = print) -> TrainResult:
    from workers.action import temporal

    scan = scan_dataset(options.data)
    for path, reason in scan.unreadable:
        echo(f"skipping {path}: {reason}")
    labels = scan.labels
    if len(labels) < 2:
        raise DatasetError(options.data, f"needs at least two label folders with clips; found {labels}")
    train_clips, val_clips = split_by_clip(scan.clips, options.val_fraction, options.seed)
    echo(f"{len(scan.clips)} clips, {len(labels)} labels: {len(train_clips)} clips to train, "
         f"{len(val_clips)} held out for validation (split by clip)")

    tracks = extract_clips(scan.clips, make_estimator, options.extract, TrackCache(options.cache_dir), options.progress)
    x_train, y_train, train_counts = clip_windows(train_clips, tracks, options, labels)
    x_val, y_val, val_counts = clip_windows(val_clips, tracks, options, labels)
    empty = [str(c.path) for c, n in zip(train_clips + val_clips, train_counts + val_counts) if n == 0]
    if empty:
        echo(f"{len(empty)} clips gave no window (nobody found, or shorter than {options.min_frames} frames): "
             + ", ".join(empty[:5]) + (" ..." if len(empty) > 5 else ""))
    missing = [label for i, label in enumerate(labels) if not np.any(y_train == i)]
    if missing:
        raise DatasetError(options.data, f"no training window for {', '.join(missing)}: the pose model found nobody "
                                         "in those clips, or they are too short")
    if options.augment_mirror:
        x_train, y_train = np.concatenate([x_train, mirror(x_train)]), np.concatenate([y_train, y_train])
    echo(f"windows: {len(x_train)} to train{' (with mirrored copies)' if options.augment_mirror else ''}, "
         f"{len(x_val)} to validate")

    model, history = fit(x_train, y_train, (x_val, y_val) if len(x_val) else None, labels, options)
    out = Path(options.out)
    model_path = temporal.save(model, out / MODEL_FILE, labels, options.spec,
                               {"pose": options.extract.pose.model, "fps": options.extract.fps})
    (out / "history.json").write_text(json.dumps({k: [float(v) for v in vs] for k, vs in history.history.items()},
                                                 indent=2) + "\n")
    (out / "split.json").write_text(json.dumps({"train": [str(c.path) for c in train_clips],
                                                "validation": [str(c.path) for c in val_clips]}, indent=2) + "\n")
    report = None
    if len(x_val):
        report = evaluate_sequences(model, x_val, y_val, labels)
        echo("validation (held-out clips):\n" + format_report(report))
    echo(f"saved {model_path} (labels: {', '.join(labels)})")
    return TrainResult(model_path, labels, len(x_train), len(x_val), len(history.history.get("loss", [])), report)


def fit(x_train: np.ndarray, y_train: np.ndarray, validation: tuple[np.ndarray, np.ndarray] | None, labels: list[str],
        options: TrainOptions):
    """Train a fresh GRU on windows; early stopping on the validation windows when given.
    Returns (model, keras History)."""
    import tensorflow as tf

    from workers.action import temporal

    model = temporal.build_model(x_train.shape[1], len(labels), options.units, seed=options.seed)
    callbacks = []
    if validation is not None:
        callbacks.append(tf.keras.callbacks.EarlyStopping("val_loss", patience=options.patience,
                                                          restore_best_weights=True))
    class_weight = None
    if options.balance_classes:
        counts = np.bincount(y_train, minlength=len(labels))
        class_weight = {i: float(len(y_train) / (len(labels) * n)) for i, n in enumerate(counts) if n}
    history = model.fit(x_train, y_train, validation_data=validation, epochs=options.epochs,
                        batch_size=options.batch_size, shuffle=True, callbacks=callbacks, class_weight=class_weight,
                        verbose=2 if options.progress else 0)
    return model, history


def evaluate_sequences(model, x: np.ndarray, y: np.ndarray, labels: list[str]) -> ClassificationReport:
    from workers.action import temporal

    return classification_report(y, np.argmax(temporal.predict(model, x), axis=1), labels)
