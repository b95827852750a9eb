"""The shipped fight model loads and gives the probabilities recorded for it on feature
vectors of GENERATED clips (fight_fixture.json, written by motion_clips.py); those features
are computed again here, so a change of features or model shows up as a failure; a model
file that does not fit this build is refused with what to do."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.unit.workers.action.motion_clips import FIXTURE, clip_features
from workers.action.errors import ActionModelError
from workers.action.fight_features import FEATURES
from workers.action.fight_model import SHIPPED_MODEL, FightModel

fixture = json.loads(FIXTURE.read_text())


def test_the_shipped_model_loads_with_its_training_record():
    model = FightModel.load(SHIPPED_MODEL)
    assert model.features == list(FEATURES)
    assert 0 < model.threshold < 1
    assert model.threshold == pytest.approx(fixture["threshold"])
    record = model.training
    assert record["command"].startswith("vidsentry train action --clips")
    cv = record["cross_validation"]
    assert cv["by"] == "clip, stratified" and cv["folds"] >= 2
    for name in ("accuracy", "precision", "recall", "macro_f1", "no_fight_flagged"):
        assert 0 <= cv[name]["mean"] <= 1


def test_the_shipped_model_agrees_with_its_recorded_outputs():
    model = FightModel.load(SHIPPED_MODEL)
    features = np.array([case["features"] for case in fixture["cases"]])
    expected = np.array([case["probability"] for case in fixture["cases"]])
    assert model.probability(features) == pytest.approx(expected, rel=1e-9, abs=1e-12)
    for row, probability in zip(features, expected):
        assert float(model.probability(row)) == pytest.approx(probability, rel=1e-9)


@pytest.mark.parametrize("case", fixture["cases"], ids=lambda c: f"{c['clip']}-{c['group']}")
def test_features_of_the_generated_clips_are_what_was_recorded(case):
    assert clip_features(case["clip"], case["group"]) == pytest.approx(np.array(case["features"]), rel=1e-3, abs=1e-4)


def test_the_generated_brawl_is_a_fight_and_the_walker_and_the_pan_are_not():
    scored = {(c["clip"], c["group"]): c["probability"] for c in fixture["cases"]}
    threshold = fixture["threshold"]
    assert scored[("brawl", 2)] >= threshold
    assert scored[("walker", 2)] < threshold and scored[("pan", 2)] < threshold
    assert scored[("walker", 0)] < scored[("walker", 2)], "people in a group: more likely a fight"


def test_a_model_for_other_features_or_a_broken_file_is_refused(tmp_path):
    model = FightModel.load(SHIPPED_MODEL)
    other = FightModel(model.features[:-1] + ["elbows"], model.mean, model.scale, model.weights, model.bias, 0.5)
    with pytest.raises(ActionModelError, match="retrain it"):
        FightModel.load(other.save(tmp_path / "other.json"))
    old = FightModel(model.features, model.mean, model.scale, model.weights, model.bias, 0.5, feature_version=0)
    with pytest.raises(ActionModelError, match="version 0"):
        FightModel.load(old.save(tmp_path / "old.json"))
    (tmp_path / "broken.json").write_text("{\"features\": [}")
    with pytest.raises(ActionModelError, match="not a fight model"):
        FightModel.load(tmp_path / "broken.json")
    with pytest.raises(ActionModelError, match="vidsentry train action --clips"):
        FightModel.load(tmp_path / "missing.json")
    zero = FightModel(model.features, model.mean, [0.0] * len(FEATURES), model.weights, model.bias, 0.5)
    with pytest.raises(ActionModelError, match="positive scale"):
        FightModel.load(zero.save(tmp_path / "zero.json"))
