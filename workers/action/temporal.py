"""The trainable action model: a GRU over keypoint sequences (``features.py``), and the
classifier that runs it on live track windows in place of the rules.

A model is two files: ``<name>.keras`` and ``<name>.labels.json`` (its classes in output
order and the ``SequenceSpec`` it was trained with), written by ``save`` and read by
``load``; a model whose feature version differs from this build's is refused.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from workers.action.classifier import UNKNOWN, ActionGuess
from workers.action.config import WindowConfig
from workers.action.errors import ActionModelError
from workers.action.features import FEATURE_VERSION, FEATURES_PER_STEP, SequenceSpec, track_sequence
from workers.action.keypoints import TrackHistory


def labels_path(model_path: Path) -> Path:
    return Path(model_path).with_suffix(".labels.json")


def build_model(steps: int, classes: int, units: int = 64, dropout: float = 0.2, seed: int = 0):
    """A small GRU classifier: (steps, 55) -> class probabilities."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input((steps, FEATURES_PER_STEP), name="keypoint_sequence")
    x = tf.keras.layers.GRU(units, name="gru")(inputs)
    x = tf.keras.layers.Dropout(dropout)(x)
    outputs = tf.keras.layers.Dense(classes, activation="softmax", name="action")(x)
    model = tf.keras.Model(inputs, outputs, name="action_gru")
    model.compile(optimizer=tf.keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def save(model, path: Path, labels: list[str], spec: SequenceSpec, extra: dict | None = None) -> Path:
    path = Path(path)
    if path.suffix != ".keras":
        raise ActionModelError(path, "the model file name must end in .keras")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    labels_path(path).write_text(json.dumps({"labels": list(labels), "spec": spec.to_dict(), **(extra or {})}, indent=2) + "\n")
    return path


def load(path: Path):
    """(keras model, labels, spec) of a saved action model; ActionModelError says what is wrong."""
    import tensorflow as tf

    path = Path(path).expanduser()
    meta_path = labels_path(path)
    try:
        meta = json.loads(meta_path.read_text())
        labels = [str(label) for label in meta["labels"]]
        spec = SequenceSpec(**meta["spec"])
    except FileNotFoundError:
        raise ActionModelError(path, f"its label map {meta_path.name} is missing (written by `vidsentry train action`)") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ActionModelError(path, f"its label map {meta_path.name} is malformed: {exc}") from None
    if spec.feature_version != FEATURE_VERSION:
        raise ActionModelError(path, f"trained on feature version {spec.feature_version}; this build makes version "
                                     f"{FEATURE_VERSION}: retrain it")
    try:
        model = tf.keras.models.load_model(path, compile=False)
    except (OSError, ValueError) as exc:
        raise ActionModelError(path, f"cannot be loaded: {exc}") from None
    shape = tuple(model.input_shape[1:])
    if shape != (spec.steps, FEATURES_PER_STEP) or model.output_shape[-1] != len(labels):
        raise ActionModelError(path, f"input {shape} / {model.output_shape[-1]} outputs do not match its label map "
                                     f"({spec.steps} steps, {len(labels)} labels)")
    return model, labels, spec


def predict(model, sequences: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class probabilities of (N, steps, 55) sequences, without Keras' per-call overhead for small N."""
    if len(sequences) == 0:
        return np.zeros((0, model.output_shape[-1]), np.float32)
    if len(sequences) <= batch_size:
        return np.asarray(model(sequences, training=False))
    return model.predict(sequences, batch_size=batch_size, verbose=0)


class TemporalClassifier:
    name = "temporal"

    def __init__(self, model, labels: list[str], spec: SequenceSpec, window: WindowConfig,
                 min_confidence: float = 0.0) -> None:
        self.model = model
        self.labels = labels
        self.spec = spec
        self.window = window
        self.min_confidence = min_confidence
        self.window_seconds = spec.seconds

    @classmethod
    def load(cls, path: Path, window: WindowConfig | None = None, min_confidence: float = 0.0) -> TemporalClassifier:
        model, labels, spec = load(path)
        return cls(model, labels, spec, window or WindowConfig(), min_confidence)

    def classify(self, histories: dict[str, TrackHistory]) -> dict[str, ActionGuess]:
        guesses = {track_id: ActionGuess(UNKNOWN, 0.0) for track_id in histories}
        ready, batch = [], []
        for track_id, history in histories.items():
            if len(history) < self.window.min_frames:
                continue
            others = [h for other, h in histories.items() if other != track_id]
            seq = track_sequence(history, others, self.spec)
            if seq is not None:
                ready.append(track_id)
                batch.append(seq)
        if not batch:
            return guesses
        probabilities = predict(self.model, np.stack(batch))
        for track_id, probs in zip(ready, probabilities):
            best = int(np.argmax(probs))
            confidence = float(probs[best])
            label = self.labels[best] if confidence >= self.min_confidence else UNKNOWN
            guesses[track_id] = ActionGuess(label, confidence)
        return guesses
