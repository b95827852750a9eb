"""The trainable temporal model end to end on GENERATED keypoint sequences (synthetic.py):
windows -> GRU training -> saved model -> metrics, the printed metrics checked against a
hand computation, and the saved model running live in place of the rules."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from tests.unit.workers.action.synthetic import ACTIONS, action_sequence
from workers.action import temporal
from workers.action.classifier import make_classifier
from workers.action.config import ActionConfig
from workers.action.errors import ActionModelError
from workers.action.features import FEATURES_PER_STEP, SequenceSpec, mirror, track_sequence
from workers.action.report import classification_report, format_report
from workers.action.train import TrainOptions, evaluate_sequences, fit

SPEC = SequenceSpec(steps=20, seconds=2.0)


def generated_windows(per_action: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label, action in enumerate(ACTIONS):
        for _ in range(per_action):
            people = action_sequence(action, scale=float(rng.uniform(10, 120)),
                                     origin=(float(rng.uniform(0, 1000)), float(rng.uniform(0, 700))),
                                     seed=int(rng.integers(1 << 30)), facing=int(rng.choice([-1, 1])),
                                     noise=float(rng.uniform(0.01, 0.04)), fall_start=float(rng.uniform(0.2, 1.0)))
            for person in people:
                others = [p for p in people if p is not person]
                xs.append(track_sequence(person, others, SPEC))
                ys.append(label)
    return np.stack(xs), np.array(ys)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    x_train, y_train = generated_windows(14, seed=1)
    x_test, y_test = generated_windows(6, seed=2)
    options = TrainOptions(data=tmp_path_factory.mktemp("unused"), out=tmp_path_factory.mktemp("model"), epochs=40,
                           batch_size=32, patience=8, progress=False)
    x_fit, y_fit = np.concatenate([x_train, mirror(x_train)]), np.concatenate([y_train, y_train])
    model, history = fit(x_fit, y_fit, (x_test, y_test), list(ACTIONS), options)
    path = temporal.save(model, options.out / "action_model.keras", list(ACTIONS), SPEC)
    return model, path, x_test, y_test, history


def test_windows_are_fixed_size_and_scale_free():
    (walk,) = action_sequence("walking", scale=30.0, seed=3)
    (same,) = action_sequence("walking", scale=90.0, origin=(10.0, 600.0), seed=3)
    a, b = track_sequence(walk, [], SPEC), track_sequence(same, [], SPEC)
    assert a.shape == (SPEC.steps, FEATURES_PER_STEP)
    np.testing.assert_allclose(a, b, atol=1e-4)
    np.testing.assert_allclose(mirror(mirror(a)), a)
    assert not np.allclose(mirror(a), a)


def test_the_model_learns_the_generated_actions(trained):
    model, _, x_test, y_test, history = trained
    report = evaluate_sequences(model, x_test, y_test, list(ACTIONS))
    assert report.accuracy >= 0.85, format_report(report)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_printed_metrics_match_a_hand_computation(trained):
    """Every 4th truth label is shifted to the next class, so that the numbers checked are
    not all 1.0 however well the model learned."""
    model, _, x_test, y_test, _ = trained
    predicted = np.argmax(temporal.predict(model, x_test), axis=1)
    y_test = y_test.copy()
    y_test[::4] = (y_test[::4] + 1) % len(ACTIONS)
    printed = format_report(classification_report(y_test, predicted, list(ACTIONS)))
    assert 0.5 < np.mean(predicted == y_test) < 1.0

    assert float(re.search(r"accuracy: ([\d.]+)", printed).group(1)) == pytest.approx(np.mean(predicted == y_test), abs=5e-5)
    f1s = []
    for index, label in enumerate(ACTIONS):
        tp = np.sum((predicted == index) & (y_test == index))
        precision = tp / np.sum(predicted == index) if np.any(predicted == index) else 0.0
        recall = tp / np.sum(y_test == index)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f1s.append(f1)
        row = re.search(rf"^{label}\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)$", printed, re.M)
        assert row, printed
        assert [float(v) for v in row.groups()[:3]] == pytest.approx([precision, recall, f1], abs=5e-5), label
        assert int(row.group(4)) == np.sum(y_test == index)
    assert float(re.search(r"macro-F1: ([\d.]+)", printed).group(1)) == pytest.approx(np.mean(f1s), abs=5e-5)


def test_the_saved_model_replaces_the_rules_when_configured(trained):
    model, path, x_test, _, _ = trained
    loaded, labels, spec = temporal.load(path)
    assert labels == list(ACTIONS) and spec == SPEC
    np.testing.assert_allclose(temporal.predict(loaded, x_test[:5]), temporal.predict(model, x_test[:5]), atol=1e-5)

    classifier = make_classifier(ActionConfig(model_path=path))
    assert classifier.name == "temporal" and classifier.window_seconds == SPEC.seconds
    histories = {"lying": action_sequence("lying", scale=50.0, seed=11)[0],
                 "walking": action_sequence("walking", scale=20.0, origin=(100.0, 100.0), seed=12)[0]}
    guesses = classifier.classify(histories)
    assert guesses["lying"].label == "lying" and guesses["walking"].label == "walking", guesses
    assert classifier.classify({"short": histories["walking"].between(0, histories["walking"].times[2])})["short"].label == "unknown"


def test_a_model_without_its_label_map_or_of_another_version_is_refused(trained, tmp_path):
    _, path, _, _, _ = trained
    meta = json.loads(temporal.labels_path(path).read_text())
    copy = tmp_path / "copy.keras"
    copy.write_bytes(path.read_bytes())
    with pytest.raises(ActionModelError, match="label map copy.labels.json is missing"):
        temporal.load(copy)
    meta["spec"]["feature_version"] = 99
    temporal.labels_path(copy).write_text(json.dumps(meta))
    with pytest.raises(ActionModelError, match="feature version 99"):
        temporal.load(copy)
