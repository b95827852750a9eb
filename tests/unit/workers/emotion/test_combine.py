"""Test-time flip and ensembles, on the real faces of the carphone video with the bundled models."""

from __future__ import annotations

import numpy as np
import pytest

from workers.emotion.combine import Ensemble, FlipAveraged
from workers.emotion.crops import fit_to_input
from workers.emotion.loader import open_model
from workers.emotion.model import InputSpec


@pytest.fixture(scope="module")
def graph_model(bundled_paths):
    return open_model(bundled_paths["keras"], "tf-function")


@pytest.fixture(scope="module")
def faces(carphone_faces) -> list[np.ndarray]:
    return carphone_faces[::10]


def test_flip_averages_the_face_and_its_mirror_image(faces, graph_model):
    crops = fit_to_input(faces, graph_model.input_spec)
    flipped = FlipAveraged(graph_model)
    expected = (graph_model.predict(crops) + graph_model.predict(crops[:, :, ::-1])) / 2
    np.testing.assert_allclose(flipped.predict(crops), expected, atol=1e-6)
    np.testing.assert_allclose(flipped.predict(crops[:, :, ::-1]), flipped.predict(crops), atol=1e-5)
    assert not np.allclose(graph_model.predict(crops), graph_model.predict(crops[:, :, ::-1]), atol=1e-3), \
        "the mirror image changes the model's answer, so the average is not a no-op"
    assert flipped.name == f"{graph_model.name}+flip"
    assert (flipped.labels, flipped.input_spec) == (graph_model.labels, graph_model.input_spec)


def test_flip_takes_gray_crops_without_a_channel_axis(faces, tflite_model):
    crops = fit_to_input(faces, tflite_model.input_spec)
    flipped = FlipAveraged(tflite_model)
    np.testing.assert_allclose(flipped.predict(crops[..., 0]), flipped.predict(crops), atol=1e-9)


def test_an_ensemble_resizes_for_its_smaller_members_and_averages(faces, graph_model, tflite_model, tmp_path):
    import keras

    from workers.emotion.architecture import mini_xception

    keras.utils.set_random_seed(3)
    small_path = tmp_path / "small.keras"
    mini_xception(48, 48, 1, 7).save(small_path)
    small = open_model(small_path, "tf-function")
    ensemble = Ensemble([graph_model, small])
    assert ensemble.input_spec == InputSpec(64, 64, 1, "minus_one_to_one")
    crops = fit_to_input(faces, ensemble.input_spec)
    expected = (graph_model.predict(crops) + small.predict(fit_to_input(list(crops), small.input_spec))) / 2
    np.testing.assert_allclose(ensemble.predict(crops), expected, atol=1e-6)
    assert np.allclose(ensemble.predict(crops).sum(axis=1), 1.0)


def test_an_ensemble_refuses_members_that_do_not_fit(graph_model, tmp_path):
    from workers.emotion.architecture import mini_xception
    from workers.emotion.labelmap import LabelMap, write_label_map

    path = tmp_path / "other.keras"
    mini_xception(64, 64, 1, 7).save(path)
    write_label_map(path, LabelMap(("a", "b", "c", "d", "e", "f", "g"), "minus_one_to_one"))
    with pytest.raises(ValueError, match="share labels"):
        Ensemble([graph_model, open_model(path)])
    with pytest.raises(ValueError, match="at least 2"):
        Ensemble([graph_model])
