"""Train or fine-tune an emotion model; saves the model, its label map json and the training history.

``base="bundled"`` fine-tunes the bundled mini-Xception (64x64 gray): with the 7 FER2013 labels
its classifier is kept, with other labels it gets a new one. ``base="scratch"`` trains a fresh
mini-Xception at ``input_size``, ``base="vgg"`` a fresh small VGG-style network (wider, ~7x the
compute). ``schedule="cosine"`` decays the learning rate over all ``epochs`` and keeps the last
weights; ``"plateau"`` halves it when the val loss stalls and stops early, keeping the best. Augmentation (flip, small rotation/zoom/shift, contrast) runs
in the input pipeline, so the saved model is the bare network the worker loads.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from schemas import EMOTION_LABELS
from vidsentry.config.cache import DEFAULT_CACHE_DIR
from workers.emotion.architecture import from_bundled, mini_xception, vgg
from workers.emotion.dataset import Dataset, available_splits, folder_labels, load_split
from workers.emotion.errors import DatasetError, TrainingOptionsError
from workers.emotion.labelmap import LabelMap, write_label_map
from workers.emotion.model import InputSpec

log = logging.getLogger(__name__)

MODEL_FILE = "emotion_model.keras"
TFLITE_FILE = "emotion_model.tflite"
HISTORY_FILE = "history.json"
SCALING = "minus_one_to_one"
COSINE_FLOOR = 0.01


@dataclass
class TrainOptions:
    out_dir: Path = Path("emotion-model")
    base: Literal["bundled", "scratch", "vgg"] = "bundled"
    input_size: int = 64
    channels: int = 1
    epochs: int = 30
    batch_size: int = 64
    learning_rate: float | None = None
    """None: 1e-3 from scratch, 1e-4 when fine-tuning."""
    patience: int = 5
    val_fraction: float = 0.1
    augment: bool = True
    balance_classes: bool = False
    label_smoothing: float = 0.0
    schedule: Literal["plateau", "cosine"] = "plateau"
    bfloat16: bool = False
    """Train in mixed bfloat16 (about 1.5-2x faster on CPUs with AVX512-BF16); the saved model is float32."""
    stop_after_minutes: float | None = None
    """Stop at the first batch past this wall-clock time and save what was reached (a time box);
    with the cosine schedule the rate then decays over this time rather than over ``epochs``."""
    init_from: Path | None = None
    """Warm start: begin from the weights of this saved Keras model (same network and input), for
    example a shipped model trained further with a fresh schedule."""
    export_tflite: bool = False
    seed: int = 0
    cache_root: Path = DEFAULT_CACHE_DIR
    verbose: int = 1
    """Keras progress: 1 a progress bar per epoch, 2 one line per epoch, 0 silent."""


@dataclass
class TrainResult:
    model_path: Path
    label_map_path: Path
    labels: tuple[str, ...]
    epochs_run: int
    best_val_loss: float
    best_val_accuracy: float
    history: dict[str, list[float]] = field(repr=False)
    tflite_path: Path | None = None


def train(data: Path, options: TrainOptions) -> TrainResult:
    import keras

    keras.utils.set_random_seed(options.seed)
    spec = _input_spec(options)
    labels = _dataset_labels(Path(data))
    training, validation = _train_and_val(Path(data), spec, labels, options)
    log.info("training on %d images, validating on %d; classes: %s", len(training), len(validation), ", ".join(labels))

    if options.bfloat16:
        keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = _network(options, spec, labels)
        fit = model.fit(_pipeline(training, spec, labels, options, shuffle=True),
                        validation_data=_pipeline(validation, spec, labels, options),
                        epochs=options.epochs, callbacks=_compile(model, options, len(training)),
                        verbose=options.verbose, shuffle=False,
                        class_weight=_class_weights(training) if options.balance_classes else None)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    if options.bfloat16:
        model = _float32_copy(model, options, spec, labels)
    history = {k: [float(v) for v in values] for k, values in fit.history.items()}
    return _save(model, labels, history, options)


def _compile(model: Any, options: TrainOptions, train_size: int) -> list[Any]:
    """Compile ``model`` with its loss and learning-rate schedule; the callbacks that go with them."""
    import keras

    rate = options.learning_rate or (1e-4 if options.base == "bundled" else 1e-3)
    callbacks: list[Any] = []
    if options.schedule == "cosine" and options.stop_after_minutes is not None:
        callbacks.append(_cosine_over_time(rate, 60.0 * options.stop_after_minutes))
    elif options.schedule == "cosine":
        steps = options.epochs * -(-train_size // options.batch_size)
        rate = keras.optimizers.schedules.CosineDecay(rate, decay_steps=steps, alpha=COSINE_FLOOR)
    else:
        callbacks += [
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=options.patience, restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=max(1, options.patience // 2)),
        ]
    if options.stop_after_minutes is not None:
        callbacks.append(_stop_after(time.monotonic() + 60.0 * options.stop_after_minutes))
    model.compile(optimizer=keras.optimizers.Adam(rate), metrics=["accuracy"],
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=options.label_smoothing))
    return callbacks


def _cosine_over_time(rate: float, seconds: float) -> Any:
    """Cosine decay over the time box instead of over the steps: on a shared machine the steps that
    fit in it are not known in advance, and a step schedule cut short ends at a high rate."""
    import keras

    start = time.monotonic()

    class CosineOverTime(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            done = (time.monotonic() - start) / seconds
            self.model.optimizer.learning_rate.assign(rate * cosine_factor(done))

    return CosineOverTime()


def cosine_factor(done: float) -> float:
    """The share of the starting learning rate at ``done`` (0..1) of a cosine schedule, floored at COSINE_FLOOR."""
    import math

    return COSINE_FLOOR + (1 - COSINE_FLOOR) * 0.5 * (1 + math.cos(math.pi * min(max(done, 0.0), 1.0)))


def _stop_after(deadline: float) -> Any:
    """A callback that ends training at the first batch past ``deadline`` (``time.monotonic``)."""
    import keras

    class StopAfter(keras.callbacks.Callback):
        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            if time.monotonic() >= deadline:
                log.warning("time box reached at batch %d: stopping and saving the model as it is", batch)
                self.model.stop_training = True

    return StopAfter()


def _float32_copy(model: Any, options: TrainOptions, spec: InputSpec, labels: tuple[str, ...]) -> Any:
    """The same network built in float32 with the trained weights, so the worker runs it in float32."""
    fresh = _architecture(options.base, spec, len(labels))
    fresh.set_weights(model.get_weights())
    return fresh


def _input_spec(options: TrainOptions) -> InputSpec:
    if options.base == "bundled" and (options.input_size, options.channels) != (64, 1):
        raise TrainingOptionsError("the bundled model takes 64x64 gray faces; train from scratch for another "
                                   f"input size or RGB (asked for {options.input_size} px, {options.channels} channel(s))")
    if not 16 <= options.input_size <= 512:
        raise TrainingOptionsError(f"input size must be 16..512 px, got {options.input_size}")
    if not 0 <= options.label_smoothing < 1:
        raise TrainingOptionsError(f"label smoothing must be in [0, 1), got {options.label_smoothing}")
    if not 0 < options.val_fraction < 1:
        raise TrainingOptionsError(f"the validation fraction must be between 0 and 1, got {options.val_fraction}")
    return InputSpec(options.input_size, options.input_size, options.channels, SCALING)


def _dataset_labels(data: Path) -> tuple[str, ...]:
    return EMOTION_LABELS if data.is_file() else folder_labels(data)


def _train_and_val(data: Path, spec: InputSpec, labels: tuple[str, ...], options: TrainOptions) -> tuple[Dataset, Dataset]:
    """The train and val splits; without a val split, a stratified ``val_fraction`` of train is held out."""
    splits = available_splits(data)
    source = "train" if "train" in splits else "all"
    training = load_split(data, source, spec, labels)
    if "val" in splits:
        return training, load_split(data, "val", spec, labels)
    from sklearn.model_selection import train_test_split

    try:
        train_idx, val_idx = train_test_split(np.arange(len(training)), test_size=options.val_fraction,
                                              stratify=training.targets, random_state=options.seed)
    except ValueError as exc:
        raise DatasetError(data, f"cannot hold out {options.val_fraction:.0%} for validation: {exc}") from None

    def subset(idx: np.ndarray, name: str) -> Dataset:
        return Dataset(training.images[idx], training.targets[idx], labels, f"{training.source}[{name}]")

    return subset(train_idx, "train"), subset(val_idx, "val")


def _architecture(base: str, spec: InputSpec, classes: int) -> Any:
    build = vgg if base == "vgg" else mini_xception
    return build(spec.height, spec.width, spec.channels, classes)


def _network(options: TrainOptions, spec: InputSpec, labels: tuple[str, ...]) -> Any:
    import keras

    if options.init_from is not None:
        return _warm_start(options, spec, labels)
    if options.base != "bundled":
        return _architecture(options.base, spec, len(labels))

    from vidsentry.models import require_model

    bundled = keras.models.load_model(require_model(options.cache_root, "emotion-keras"), compile=False)
    return from_bundled(bundled, len(labels), keep_classifier=labels == EMOTION_LABELS)


def _warm_start(options: TrainOptions, spec: InputSpec, labels: tuple[str, ...]) -> Any:
    import keras

    source = Path(options.init_from)
    if not source.exists():
        raise TrainingOptionsError(f"--init model not found: {source}")
    saved = keras.models.load_model(source, compile=False)
    model = _architecture(options.base, spec, len(labels)) if options.base != "bundled" else saved
    if model is not saved:
        try:
            model.set_weights(saved.get_weights())
        except ValueError as exc:
            raise TrainingOptionsError(f"--init model {source} does not match the {options.base} network at "
                                       f"{spec.width}x{spec.height}x{spec.channels} with {len(labels)} labels: {exc}") from None
    return model


def _pipeline(dataset: Dataset, spec: InputSpec, labels: tuple[str, ...], options: TrainOptions,
              shuffle: bool = False) -> Any:
    import keras
    import tensorflow as tf
    from keras import layers

    ds = tf.data.Dataset.from_tensor_slices((dataset.images, dataset.targets))
    if shuffle:
        ds = ds.shuffle(len(dataset), seed=options.seed, reshuffle_each_iteration=True)
    ds = ds.batch(options.batch_size)
    augment = None
    if shuffle and options.augment:
        augment = keras.Sequential([
            layers.RandomFlip("horizontal", seed=options.seed),
            layers.RandomRotation(0.05, fill_mode="nearest", seed=options.seed),
            layers.RandomZoom(0.1, fill_mode="nearest", seed=options.seed),
            layers.RandomTranslation(0.08, 0.08, fill_mode="nearest", seed=options.seed),
            layers.RandomContrast(0.2, seed=options.seed),
        ])

    def prepare(images: Any, targets: Any) -> tuple[Any, Any]:
        pixels = tf.cast(images, tf.float32)
        if augment is not None:
            pixels = tf.clip_by_value(augment(pixels, training=True), 0.0, 255.0)
        return (pixels / 255.0 - 0.5) * 2.0, tf.one_hot(targets, len(labels))

    return ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _class_weights(dataset: Dataset) -> dict[int, float]:
    """Inverse-frequency weights (FER2013 has ~16x fewer 'disgust' faces than 'happy' ones)."""
    from sklearn.utils.class_weight import compute_class_weight

    present = np.unique(dataset.targets)
    weights = compute_class_weight("balanced", classes=present, y=dataset.targets)
    return {int(c): float(w) for c, w in zip(present, weights)}


def _save(model: Any, labels: tuple[str, ...], history: dict[str, list[float]], options: TrainOptions) -> TrainResult:
    out = Path(options.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model_path = out / MODEL_FILE
    model.save(model_path)
    label_map = LabelMap(labels, SCALING)
    label_map_path = write_label_map(model_path, label_map)
    tflite_path = None
    if options.export_tflite:
        import tensorflow as tf

        tflite_path = out / TFLITE_FILE
        tflite_path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
        write_label_map(tflite_path, label_map)
    val_loss = history.get("val_loss", [float("nan")])
    best = int(np.nanargmin(val_loss)) if np.isfinite(val_loss).any() else len(val_loss) - 1
    result = TrainResult(model_path, label_map_path, labels, len(val_loss), float(val_loss[best]),
                         float(history.get("val_accuracy", [float("nan")] * len(val_loss))[best]), history, tflite_path)
    (out / HISTORY_FILE).write_text(json.dumps({**asdict(result), "model_path": str(model_path),
                                                "label_map_path": str(label_map_path),
                                                "tflite_path": str(tflite_path) if tflite_path else None,
                                                "options": {k: str(v) if isinstance(v, Path) else v
                                                            for k, v in asdict(options).items()}}, indent=2) + "\n")
    return result
