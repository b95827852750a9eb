"""``vidsentry train action --clips DIR``: the fight model from a folder of labelled clips.

Every window the stage scores in a clip (``fight_windows``) is a training sample labelled
with the clip's class, weighted so each clip counts once. A clip is flagged when any of its
windows reaches the threshold, as in live operation. The threshold flags at least
``min_recall`` of the fights among clips the model was not trained on, with as few false
alarms as that recall allows.

The figures reported are cross-validated by clip (stratified k-fold, repeated with other
shuffles), and honest: within each fold the threshold is chosen by an inner
cross-validation on that fold's training clips only.
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vidsentry.config.cache import DEFAULT_CACHE_DIR
from workers.action.config import ActionConfig
from workers.action.errors import DatasetError
from workers.action.fight_clips import FIGHT, LABELS, scan_fight_clips
from workers.action.fight_features import FEATURES
from workers.action.fight_model import FightModel
from workers.action.fight_windows import clip_windows
from workers.action.pose import PoseEstimator
from workers.action.report import classification_report, format_report


@dataclass
class FightTrainOptions:
    clips: Path
    out: Path
    config: ActionConfig = field(default_factory=ActionConfig)
    cache_root: Path = DEFAULT_CACHE_DIR
    folds: int = 5
    repeats: int = 5
    min_recall: float = 0.75
    regularisation: float = 1.0
    """Inverse L2 strength of the logistic regression (scikit-learn's C)."""
    seed: int = 0
    progress: bool = True
    command: str = ""


@dataclass
class ClipSet:
    windows: list[np.ndarray]
    """Per clip, (windows, features)."""
    labels: np.ndarray
    """Per clip, 1 for a fight."""


def fit(data: ClipSet, index: np.ndarray, regularisation: float) -> FightModel:
    """Logistic regression on the windows of the clips at ``index`` (threshold 0.5 until chosen)."""
    from sklearn.linear_model import LogisticRegression

    used = [i for i in index if len(data.windows[i])]
    x = np.concatenate([data.windows[i] for i in used])
    y = np.concatenate([np.full(len(data.windows[i]), data.labels[i]) for i in used])
    weight = np.concatenate([np.full(len(data.windows[i]), 1.0 / len(data.windows[i])) for i in used])
    if len(set(y.tolist())) < 2:
        raise DatasetError("clips", "the training clips hold windows of one class only")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = LogisticRegression(C=regularisation, max_iter=5000).fit((x - mean) / scale, y, sample_weight=weight)
    return FightModel(list(FEATURES), mean.tolist(), scale.tolist(), model.coef_[0].tolist(),
                      float(model.intercept_[0]), 0.5)


def clip_scores(model: FightModel, data: ClipSet, index: np.ndarray) -> np.ndarray:
    """The highest window probability of each clip at ``index`` (0 for a clip without windows)."""
    return np.array([float(model.probability(data.windows[i]).max()) if len(data.windows[i]) else 0.0 for i in index])


def choose_threshold(scores: np.ndarray, labels: np.ndarray, min_recall: float) -> float:
    """The threshold with the fewest false alarms that flags at least ``min_recall`` of the
    fights; among those, the one in the middle of the gap below it (as much recall and margin
    as those false alarms allow)."""
    fights = np.sort(scores[labels == 1])[::-1]
    if not len(fights):
        return 0.5
    needed = min(len(fights), max(1, int(np.ceil(min_recall * len(fights)))))
    highest = fights[needed - 1]
    below = scores[(labels == 0) & (scores < highest)]
    floor = float(below.max()) if len(below) else 0.0
    above = scores[scores > floor].min()
    return float(np.clip((floor + above) / 2, 1e-6, 1 - 1e-6))


def out_of_fold(data: ClipSet, index: np.ndarray, folds: int, seed: int, regularisation: float) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    scores = np.zeros(len(index))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(index, data.labels[index]):
        scores[test] = clip_scores(fit(data, index[train], regularisation), data, index[test])
    return scores


def cross_validate(data: ClipSet, options: FightTrainOptions) -> list[np.ndarray]:
    """Per repeat, each clip's predicted class (1 fight) from a model and a threshold that
    never saw it."""
    from sklearn.model_selection import StratifiedKFold

    everything = np.arange(len(data.labels))
    predictions = []
    for repeat in range(options.repeats):
        predicted = np.zeros(len(everything), int)
        splits = StratifiedKFold(options.folds, shuffle=True, random_state=options.seed + repeat)
        for train, test in splits.split(everything, data.labels):
            inner = out_of_fold(data, train, options.folds, options.seed + 100 + repeat, options.regularisation)
            threshold = choose_threshold(inner, data.labels[train], options.min_recall)
            model = fit(data, train, options.regularisation)
            predicted[test] = clip_scores(model, data, test) >= threshold
        predictions.append(predicted)
    return predictions


def summarise(predictions: list[np.ndarray], labels: np.ndarray) -> dict:
    rows = []
    for predicted in predictions:
        report = classification_report(1 - labels, 1 - predicted, LABELS)
        negatives = labels == 0
        rows.append({"accuracy": report.accuracy, "precision": report.classes[0].precision,
                     "recall": report.classes[0].recall, "macro_f1": report.macro_f1,
                     "no_fight_flagged": float(predicted[negatives].mean()) if negatives.any() else float("nan")})
    first = classification_report(1 - labels, 1 - predictions[0], LABELS)
    return {name: {"mean": round(float(np.mean([r[name] for r in rows])), 4),
                   "sd": round(float(np.std([r[name] for r in rows])), 4)} for name in rows[0]} | {
        "confusion_first_repeat": {"labels": LABELS, "rows_true_columns_predicted": first.confusion.tolist()},
        "report_first_repeat": format_report(first).replace("windows:", "clips:", 1)}


def operating_points(scores: list[np.ndarray], labels: np.ndarray) -> list[dict]:
    """Recall, share of no-fight clips flagged and accuracy at fixed thresholds, from
    out-of-fold clip scores (mean over the repeats): what another threshold would give."""
    points = []
    for threshold in np.round(np.arange(0.4, 0.951, 0.05), 2):
        recall = float(np.mean([(s[labels == 1] >= threshold).mean() for s in scores]))
        flagged = float(np.mean([(s[labels == 0] >= threshold).mean() for s in scores]))
        accuracy = float(np.mean([((s >= threshold) == (labels == 1)).mean() for s in scores]))
        points.append({"threshold": float(threshold), "recall": round(recall, 4), "no_fight_flagged": round(flagged, 4),
                       "accuracy": round(accuracy, 4)})
    return points


def train_fight(options: FightTrainOptions, make_estimator: Callable[[], PoseEstimator],
                echo: Callable[[str], None] = print) -> FightModel:
    labelled, unreadable = scan_fight_clips(options.clips)
    for path, reason in unreadable:
        echo(f"skipping {path}: {reason}")
    labels = np.array([int(label == FIGHT) for _, label in labelled])
    if min(labels.sum(), (1 - labels).sum()) < options.folds:
        raise DatasetError(options.clips, f"needs at least {options.folds} clips of each class for {options.folds}-fold "
                                          "cross-validation")
    windows = clip_windows([clip for clip, _ in labelled], options.config, options.cache_root, make_estimator,
                           options.progress)
    data = ClipSet([windows[clip.path] for clip, _ in labelled], labels)
    echo(f"{len(labels)} clips ({labels.sum()} fight, {len(labels) - labels.sum()} no-fight), "
         f"{sum(len(w) for w in data.windows)} windows; {sum(not len(w) for w in data.windows)} clips too short to score")

    figures = summarise(cross_validate(data, options), labels)
    everything = np.arange(len(labels))
    model = fit(data, everything, options.regularisation)
    scores = [out_of_fold(data, everything, options.folds, options.seed + repeat, options.regularisation)
              for repeat in range(options.repeats)]
    model.threshold = choose_threshold(scores[0], labels, options.min_recall)
    points = operating_points(scores, labels)
    model.training = {
        "command": options.command, "data": Path(options.clips).name,
        "clips": {"fight": int(labels.sum()), "no-fight": int(len(labels) - labels.sum())},
        "windows": int(sum(len(w) for w in data.windows)), "regularisation_C": options.regularisation,
        "threshold_rule": f"fewest out-of-fold false alarms with clip recall >= {options.min_recall}, "
                          "in the middle of the gap below",
        "cross_validation": {"folds": options.folds, "repeats": options.repeats, "by": "clip, stratified",
                             **figures},
        "operating_points": points,
        "settings": options.config.model_dump(mode="json", include={"pose", "fight"}) | {"camera": "defaults"},
        "python": platform.python_version(),
    }
    echo("cross-validated (clips the model and its threshold never saw), first repeat:\n"
         + figures["report_first_repeat"])
    echo(f"over {options.repeats} repeats: " + ", ".join(
        f"{name} {figures[name]['mean']:.3f} ± {figures[name]['sd']:.3f}"
        for name in ("accuracy", "precision", "recall", "macro_f1", "no_fight_flagged")))
    echo("other thresholds (out-of-fold, mean over repeats): " + "; ".join(
        f"{p['threshold']:.2f}: recall {p['recall']:.2f}, no-fight flagged {p['no_fight_flagged']:.2f}" for p in points))
    path = model.save(options.out)
    echo(f"saved {path} (threshold {model.threshold:.3f})")
    return model
