"""Training the fight model on GENERATED feature windows: the threshold keeps the asked-for
recall with as few false alarms as possible, cross-validation never lets a clip's own windows
(or its threshold) see it, and clips are weighted equally however many windows they have."""

from __future__ import annotations

import numpy as np
import pytest

from workers.action.fight_features import FEATURES
from workers.action.train_fight import (
    ClipSet,
    FightTrainOptions,
    choose_threshold,
    clip_scores,
    cross_validate,
    fit,
    operating_points,
    summarise,
)


def generated(clips: int = 40, separation: float = 3.0, seed: int = 0) -> ClipSet:
    """Half fights whose windows sit ``separation`` standard deviations away on every feature."""
    rng = np.random.default_rng(seed)
    labels = np.array([i % 2 for i in range(clips)])
    windows = [rng.normal(separation * label, 1.0, (int(rng.integers(1, 8)), len(FEATURES))) for label in labels]
    return ClipSet(windows, labels)


def test_the_threshold_keeps_the_recall_with_the_fewest_false_alarms_and_a_margin():
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.4, 0.75, 0.5, 0.3, 0.2])
    assert choose_threshold(scores, labels, 0.5) == pytest.approx(0.775), "between 0.75 (no fight) and 0.8"
    assert choose_threshold(scores, labels, 0.75) == pytest.approx(0.6), "0.75 is flagged anyway: down to the gap"
    assert choose_threshold(scores, labels, 1.0) == pytest.approx(0.35)
    separable = np.array([0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1])
    assert choose_threshold(separable, labels, 0.5) == pytest.approx(0.5), "the middle of the gap"


def test_separable_windows_give_a_perfect_cross_validated_model():
    data = generated()
    predictions = cross_validate(data, FightTrainOptions(None, None, folds=4, repeats=2))
    assert len(predictions) == 2
    figures = summarise(predictions, data.labels)
    assert figures["accuracy"]["mean"] == 1.0 and figures["no_fight_flagged"]["mean"] == 0.0
    assert figures["confusion_first_repeat"]["rows_true_columns_predicted"] == [[20, 0], [0, 20]]


def test_noise_gives_chance_not_a_fit_to_the_clips():
    data = generated(clips=60, separation=0.0, seed=1)
    figures = summarise(cross_validate(data, FightTrainOptions(None, None, folds=5, repeats=3)), data.labels)
    assert 0.3 < figures["accuracy"]["mean"] < 0.7


def test_a_clip_counts_once_however_many_windows_it_has():
    rng = np.random.default_rng(2)
    many = [rng.normal(1.0, 0.1, (200, len(FEATURES)))]
    few = [rng.normal(-1.0, 0.1, (1, len(FEATURES))) for _ in range(3)]
    data = ClipSet(many + few + [rng.normal(1.0, 0.1, (1, len(FEATURES))) for _ in range(2)], np.array([1, 0, 0, 0, 1, 1]))
    model = fit(data, np.arange(6), 1.0)
    assert model.probability(np.zeros(len(FEATURES))) == pytest.approx(0.5, abs=0.15), \
        "200 windows of one clip do not outweigh three clips"
    scores = clip_scores(model, ClipSet([np.zeros((0, len(FEATURES)))], np.array([1])), np.array([0]))
    assert scores.tolist() == [0.0], "a clip without windows is never flagged"


def test_operating_points_trade_recall_for_false_alarms():
    scores = [np.array([0.9, 0.7, 0.45, 0.6, 0.3, 0.1])]
    labels = np.array([1, 1, 1, 0, 0, 0])
    points = {p["threshold"]: p for p in operating_points(scores, labels)}
    assert points[0.4]["recall"] == pytest.approx(1.0) and points[0.4]["no_fight_flagged"] == pytest.approx(1 / 3, abs=1e-4)
    assert points[0.65]["recall"] == pytest.approx(2 / 3, abs=1e-4) and points[0.65]["no_fight_flagged"] == 0.0
    assert points[0.95]["accuracy"] == pytest.approx(0.5)
