"""The VGG emotion model shipped in workers/emotion/models and the default (it with the bundled
mini-Xception, flip-averaged): they load, and give the answers recorded on real faces (the carphone video's).

Re-record after retraining: ``VIDSENTRY_RECORD=1 pytest tests/unit/workers/emotion/test_shipped_model.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from schemas import EMOTION_LABELS
from tests.conftest import CACHE_ROOT
from workers.emotion.config import EmotionConfig
from workers.emotion.crops import fit_to_input
from workers.emotion.loader import SHIPPED_DIR, load_emotion_model, open_model
from workers.emotion.model import InputSpec

RECORDED = Path(__file__).with_name("shipped_model_outputs.json")
EVERY = 12
"""One carphone face in 12: 10 faces."""


@pytest.fixture(scope="module")
def default_model():
    return load_emotion_model(EmotionConfig(), CACHE_ROOT)


@pytest.fixture(scope="module")
def faces(carphone_faces) -> list[np.ndarray]:
    return carphone_faces[::EVERY]


def test_the_default_is_the_shipped_model_with_the_bundled_one_and_flip(default_model):
    assert default_model.name == "vgg48-tflite+mini-xception-tflite+flip"
    assert default_model.labels == EMOTION_LABELS
    assert default_model.input_spec == InputSpec(64, 64, 1, "minus_one_to_one")
    shipped = load_emotion_model(EmotionConfig(model="vgg48", flip=False), CACHE_ROOT)
    assert (shipped.name, shipped.input_spec) == ("vgg48-tflite", InputSpec(48, 48, 1, "minus_one_to_one"))


def test_it_gives_the_recorded_answers_on_real_faces(default_model, faces):
    probs = default_model.predict(fit_to_input(faces, default_model.input_spec))
    if os.environ.get("VIDSENTRY_RECORD"):
        RECORDED.write_text(json.dumps({"model": default_model.name, "faces": f"carphone_faces[::{EVERY}]",
                                        "labels": [default_model.labels[i] for i in probs.argmax(axis=1)],
                                        "probs": np.round(probs, 5).tolist()}, indent=1) + "\n")
    recorded = json.loads(RECORDED.read_text())
    assert recorded["model"] == default_model.name and len(recorded["probs"]) == len(faces) == 10
    assert [default_model.labels[i] for i in probs.argmax(axis=1)] == recorded["labels"]
    np.testing.assert_allclose(probs, recorded["probs"], atol=2e-3)


def test_its_keras_and_tflite_files_agree(faces):
    keras_model = open_model(SHIPPED_DIR / "vgg48.keras", "tf-function")
    tflite_model = open_model(SHIPPED_DIR / "vgg48.tflite", "tflite")
    crops = fit_to_input(faces, keras_model.input_spec)
    reference, quantized = keras_model.predict(crops), tflite_model.predict(crops)
    assert (reference.argmax(axis=1) == quantized.argmax(axis=1)).all()
    assert np.abs(reference - quantized).max() < 0.05
