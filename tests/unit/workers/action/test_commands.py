"""``dataset stats``, ``train action`` and ``evaluate action`` through typer's CliRunner on a
tiny GENERATED folder-per-label data set of stick-figure videos (stick_figures.py); the
stick figures are read back by a pose estimator for drawn joints, plugged in through the
public ``--pose module:callable`` hook."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from tests.unit.workers.action.stick_figures import write_dataset
from vidsentry.cli import app
from workers.action.dataset import DatasetScan, scan_dataset, split_by_clip
from workers.action.dataset_stats import dataset_stats, format_stats

POSE = "tests.unit.workers.action.stick_figures:stick_figure_pose"
runner = CliRunner()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clips")
    write_dataset(root, {"walking": 3, "lying": 3, "fighting": 3}, fps={"lying": 15.0}, seconds={"fighting": 2.4})
    return root


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    cache = tmp_path_factory.mktemp("cache")
    result = runner.invoke(app, ["train", "action", str(dataset), "--out", str(out), "--pose", POSE, "--cache-dir", str(cache),
                                       "--epochs", "25", "--window-seconds", "1.0", "--steps", "10",
                                       "--stride-seconds", "0.3", "--val-fraction", "0.34"])
    return result, out, cache


def test_dataset_stats_prints_the_table_and_saves_plots(dataset, tmp_path):
    result = runner.invoke(app, ["dataset", "stats", str(dataset), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    rows = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in
            re.finditer(r"^(walking|lying|fighting)\s+(\d+)\s+\d+%\s+(\d+)", result.output, re.M)}
    assert rows == {"walking": (3, 60), "lying": (3, 90), "fighting": (3, 72)}, result.output
    assert "256x160 (9)" in result.output
    assert "10 fps (6)" in result.output and "15 fps (3)" in result.output
    assert "imbalance (largest/smallest class by clips): 1.0x" in result.output
    for name in ("clips_per_label.png", "frames_per_label.png", "durations.png", "resolution_fps.png"):
        image = cv2.imread(str(tmp_path / name))
        assert image is not None and image.shape[0] > 100, name

    as_json = runner.invoke(app, ["dataset", "stats", str(dataset), "--out", str(tmp_path), "--json"])
    table = json.loads(as_json.stdout)
    assert {row["label"]: row["duration_median"] for row in table["labels"]} == pytest.approx(
        {"walking": 2.0, "lying": 2.0, "fighting": 2.4})


def test_imbalance_and_unknown_labels_are_pointed_out(dataset):
    scan = scan_dataset(dataset)
    balanced = format_stats(dataset_stats(scan))
    assert "warning" not in balanced and "note:" not in balanced
    lopsided = DatasetScan(scan.root, [c for c in scan.clips if c.label == "walking"] * 3
                           + [c for c in scan.clips if c.label == "lying"][:1])
    assert "warning: classes are imbalanced; lying has 1 clips" in format_stats(dataset_stats(lopsided))
    renamed = DatasetScan(scan.root, [replace(c, label="jumping") for c in scan.clips[:2]] + scan.clips[2:])
    assert "jumping" in format_stats(dataset_stats(renamed)).split("note:")[1]


def test_the_split_is_by_clip_and_keeps_every_label_in_both_halves(dataset):
    clips = scan_dataset(dataset).clips
    train, val = split_by_clip(clips, 0.34, seed=0)
    assert not {c.path for c in train} & {c.path for c in val}
    assert Counter(c.label for c in val) == {"walking": 1, "lying": 1, "fighting": 1}
    assert split_by_clip(clips, 0.34, seed=0) == (train, val)


def test_train_writes_a_model_trained_on_clips_it_does_not_validate_on(trained, dataset):
    result, out, cache = trained
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "action_model.labels.json").read_text())
    assert meta["labels"] == ["fighting", "lying", "walking"]
    assert meta["pose"] == POSE and meta["spec"]["steps"] == 10 and meta["spec"]["seconds"] == 1.0
    split = json.loads((out / "split.json").read_text())
    assert len(split["train"]) == 6 and len(split["validation"]) == 3
    assert not set(split["train"]) & set(split["validation"])
    assert json.loads((out / "history.json").read_text())["loss"]
    assert "validation (held-out clips):" in result.output and "macro-F1:" in result.output
    assert len(list((cache / "action-tracks").glob("*.npz"))) == 9, "one cached track file per clip"


def test_evaluate_prints_metrics_that_agree_with_its_confusion_matrix(trained, dataset, tmp_path):
    _, out, cache = trained
    cached = {p: p.stat().st_mtime_ns for p in (cache / "action-tracks").glob("*.npz")}
    png = tmp_path / "confusion.png"
    result = runner.invoke(app, ["evaluate", "action", str(dataset), str(out / "action_model.keras"),
                                          "--cache-dir", str(cache), "--confusion-png", str(png)])
    assert result.exit_code == 0, result.output
    assert {p: p.stat().st_mtime_ns for p in (cache / "action-tracks").glob("*.npz")} == cached, \
        "evaluation re-extracted clips instead of reading the cache"

    labels = ["fighting", "lying", "walking"]
    matrix = np.array([[int(v) for v in re.search(rf"^{label}\s+((?:\d+\s*)+)$", result.output, re.M).group(1).split()]
                       for label in labels])
    accuracy = float(re.search(r"accuracy: ([\d.]+)", result.output).group(1))
    assert accuracy == pytest.approx(np.trace(matrix) / matrix.sum(), abs=5e-5)
    assert int(re.search(r"windows: (\d+)", result.output).group(1)) == matrix.sum()
    f1s = []
    for i, label in enumerate(labels):
        precision = matrix[i, i] / matrix[:, i].sum() if matrix[:, i].sum() else 0.0
        recall = matrix[i, i] / matrix[i].sum()
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
        row = re.search(rf"^{label}\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)$", result.output, re.M)
        assert [float(v) for v in row.groups()[:3]] == pytest.approx([precision, recall, f1s[-1]], abs=5e-5)
    assert float(re.search(r"macro-F1: ([\d.]+)", result.output).group(1)) == pytest.approx(np.mean(f1s), abs=5e-5)
    assert re.search(r"clip accuracy \(majority of windows\): [\d.]+ over 9 clips", result.output)
    assert cv2.imread(str(png)) is not None


def test_unusable_data_and_options_fail_with_one_line_that_says_why(tmp_path, dataset):
    (tmp_path / "walking").mkdir()
    (tmp_path / "walking" / "broken.mp4").write_bytes(b"not a video")
    stats = runner.invoke(app, ["dataset", "stats", str(tmp_path)])
    assert stats.exit_code == 1 and "holds no readable video" in stats.output

    one_label = tmp_path / "one"
    write_dataset(one_label, {"walking": 2})
    result = runner.invoke(app, ["train", "action", str(one_label), "--pose", POSE, "--cache-dir", str(tmp_path / "c"),
                                       "--out", str(tmp_path / "m")])
    assert result.exit_code == 1 and "needs at least two label folders" in result.output

    bad_pose = runner.invoke(app, ["train", "action", str(dataset), "--pose", "openpose"])
    assert bad_pose.exit_code == 2 and "--pose" in bad_pose.output

    no_model = runner.invoke(app, ["evaluate", "action", str(dataset), str(tmp_path / "missing.keras"), "--pose", POSE])
    assert no_model.exit_code == 1 and "label map missing.labels.json is missing" in no_model.output
