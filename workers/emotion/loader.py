"""Which model a configuration means, opened in the runtime it asks for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workers.emotion.combine import Ensemble, FlipAveraged
from workers.emotion.config import EmotionConfig, Runtime, Scaling, model_format
from workers.emotion.errors import EmotionModelError
from workers.emotion.labelmap import read_label_map
from workers.emotion.model import EmotionModel, GraphEmotionModel, InputSpec, KerasEmotionModel, TFLiteEmotionModel, check_labels

BUNDLED = "mini-xception"
SHIPPED = "vgg48"
SHIPPED_DIR = Path(__file__).with_name("models")
BUNDLED_SCALING: Scaling = "minus_one_to_one"
DEFAULT_BUNDLED_RUNTIME = "tflite"
DEFAULT_SHIPPED_RUNTIME = "tflite"
DEFAULT_KERAS_RUNTIME = "tf-function"
"""Defaults chosen by measurement: benchmarks/emotion.md."""


def load_emotion_model(config: EmotionConfig, cache_root: Path, fetch_on_demand: bool = True) -> EmotionModel:
    """The configured model (``config.model_path``, else the built-in ``config.model``), flip-averaged
    when ``config.flip``."""
    if config.model_path is not None:
        model = open_model(config.model_path, config.runtime, tuple(config.labels) if config.labels else None,
                           config.input_scaling, config.apply_softmax)
    else:
        members = [_builtin(name, config, cache_root, fetch_on_demand) for name in config.model.split("+")]
        model = members[0] if len(members) == 1 else Ensemble(members)
    return FlipAveraged(model) if config.flip else model


def _builtin(name: str, config: EmotionConfig, cache_root: Path, fetch_on_demand: bool) -> EmotionModel:
    labels = tuple(config.labels) if config.labels else None
    if name == SHIPPED:
        runtime = DEFAULT_SHIPPED_RUNTIME if config.runtime == "auto" else config.runtime
        path = SHIPPED_DIR / f"{SHIPPED}.{'tflite' if runtime == 'tflite' else 'keras'}"
        return open_model(path, runtime, labels, config.input_scaling, config.apply_softmax, name=f"{SHIPPED}-{runtime}")
    from vidsentry.models import require_model

    runtime = DEFAULT_BUNDLED_RUNTIME if config.runtime == "auto" else config.runtime
    artefact = "emotion-tflite" if runtime == "tflite" else "emotion-keras"
    path = require_model(cache_root, artefact, fetch_on_demand)
    return open_model(path, runtime, labels, config.input_scaling or BUNDLED_SCALING, config.apply_softmax,
                      name=f"{BUNDLED}-{runtime}")


def open_model(path: Path, runtime: Runtime = "auto", labels: tuple[str, ...] | None = None,
               scaling: Scaling | None = None, apply_softmax: bool = False, name: str | None = None) -> EmotionModel:
    """Open a model file; labels and scaling not given come from its label map json, else the FER2013 defaults."""
    path = Path(path).expanduser()
    if not path.exists():
        raise EmotionModelError(path, "no such file or folder")
    label_map = read_label_map(path)
    labels = labels or (label_map.labels if label_map else None)
    scaling = scaling or (label_map.input_scaling if label_map else BUNDLED_SCALING)
    fmt = model_format(path)
    if runtime == "auto":
        runtime = {"tflite": "tflite", "keras": DEFAULT_KERAS_RUNTIME, "savedmodel": "tf-function"}[fmt]
    name = name or f"{path.name.rsplit('.', 1)[0]}-{runtime}"
    if fmt == "tflite":
        if runtime != "tflite":
            raise EmotionModelError(path, f"a TFLite file runs only with the tflite runtime, not {runtime}")
        return TFLiteEmotionModel(path, name, labels, scaling, apply_softmax)
    if runtime == "tflite":
        raise EmotionModelError(path, "the tflite runtime needs a .tflite file")
    if fmt == "savedmodel":
        if runtime != "tf-function":
            raise EmotionModelError(path, f"a SavedModel runs as tf-function, not {runtime}")
        return _open_saved_model(path, name, labels, scaling, apply_softmax)
    keras_model = _load_keras(path)
    spec = _input_spec(path, keras_model.input_shape, scaling)
    labels = check_labels(path, labels, int(keras_model.output_shape[-1]))
    if runtime == "keras":
        return KerasEmotionModel(keras_model, name, labels, spec, apply_softmax)
    return GraphEmotionModel.from_keras(keras_model, name, labels, spec, apply_softmax)


def _load_keras(path: Path) -> Any:
    import keras

    try:
        return keras.models.load_model(path, compile=False)
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise EmotionModelError(path, f"not a loadable Keras model: {exc}") from None


def _open_saved_model(path: Path, name: str, labels: tuple[str, ...] | None, scaling: Scaling,
                      apply_softmax: bool) -> EmotionModel:
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(path))
    except (OSError, ValueError) as exc:
        raise EmotionModelError(path, f"not a loadable SavedModel: {exc}") from None
    signature = getattr(loaded, "signatures", {}).get("serving_default")
    if signature is None:
        raise EmotionModelError(path, "has no serving_default signature")
    inputs = signature.structured_input_signature[1]
    outputs = signature.structured_outputs
    if len(inputs) != 1 or len(outputs) != 1:
        raise EmotionModelError(path, f"needs one input and one output, has inputs {list(inputs)} and outputs {list(outputs)}")
    (input_name, input_tensor), = inputs.items()
    (output_tensor,) = outputs.values()
    spec = _input_spec(path, tuple(input_tensor.shape), scaling)
    labels = check_labels(path, labels, int(output_tensor.shape[-1]))

    def graph(x: Any) -> Any:
        return signature(**{input_name: tf.constant(x)})

    return GraphEmotionModel(graph, name, labels, spec, apply_softmax, owner=loaded)


def _input_spec(path: Path, shape: tuple, scaling: Scaling) -> InputSpec:
    if len(shape) != 4 or any(dim is None for dim in shape[1:]) or shape[3] not in (1, 3):
        raise EmotionModelError(path, f"needs an N x H x W x 1 (gray) or x 3 (RGB) input, has {shape}")
    return InputSpec(int(shape[1]), int(shape[2]), int(shape[3]), scaling)
