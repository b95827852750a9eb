"""Reading data sets: FER2013-style CSV and folder-per-class layouts (all data here is SYNTHETIC)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from schemas import EMOTION_LABELS
from tests.unit.workers.emotion.conftest import write_pattern_csv, write_pattern_folders
from workers.emotion.dataset import available_splits, folder_labels, load_split
from workers.emotion.errors import DatasetError
from workers.emotion.model import InputSpec

SPEC = InputSpec(32, 32, 1, "minus_one_to_one")


def test_csv_splits_by_usage(tmp_path):
    path = write_pattern_csv(tmp_path / "fer.csv", {"Training": 4, "PublicTest": 2, "PrivateTest": 3})
    assert available_splits(path) == ["train", "val", "test"]
    test = load_split(path, "test", SPEC, progress=False)
    assert test.images.shape == (9, 32, 32, 1) and test.images.dtype == np.uint8
    assert test.labels == EMOTION_LABELS
    assert sorted(np.bincount(test.targets, minlength=7).tolist()) == [0, 0, 0, 0, 3, 3, 3]
    assert set(test.targets.tolist()) == {0, 3, 6}
    assert len(load_split(path, "all", SPEC, progress=False)) == 27


def test_csv_without_usage_has_one_split(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("emotion,pixels\n3," + " ".join(["7"] * 16) + "\n5," + " ".join(["200"] * 16) + "\n")
    assert available_splits(path) == ["all"]
    data = load_split(path, "all", InputSpec(8, 8, 1, "none"), progress=False)
    assert data.targets.tolist() == [3, 5] and data.images[0].max() == 7 and data.images[1].min() == 200
    with pytest.raises(DatasetError, match="has no test split; it has: all "):
        load_split(path, "test", SPEC, progress=False)


@pytest.mark.parametrize(("text", "message"), [
    ("label,pixels\n1,0 0 0 0\n", "missing column\\(s\\) emotion"),
    ("emotion,pixels\n1,0 0 0\n", "row 2: pixels must be a square image"),
    ("emotion,pixels\n1,0 0 0 300\n", "row 2: pixels must be a square image of 0..255"),
    ("emotion,pixels\n9,0 0 0 0\n", "row 2: emotion 9 is not a class index 0..6"),
    ("emotion,pixels\nx,0 0 0 0\n", "row 2: invalid literal"),
])
def test_broken_csv_names_the_row(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(DatasetError, match=message):
        load_split(path, "all", SPEC, progress=False)


def test_folders_with_splits_and_label_order(tmp_path):
    root = write_pattern_folders(tmp_path / "data", {"train": 3, "test": 2})
    assert available_splits(root) == ["train", "test"]
    assert folder_labels(root) == ("checker", "horizontal", "vertical")
    test = load_split(root, "test", SPEC, progress=False)
    assert len(test) == 6 and test.targets.tolist() == [0, 0, 1, 1, 2, 2]

    fer = tmp_path / "fer"
    for name in ("neutral", "angry", "happy"):
        (fer / name).mkdir(parents=True)
        cv2.imwrite(str(fer / name / "a.png"), np.full((48, 48), 100, np.uint8))
    (fer / "happy" / "notes.txt").write_text("ignored")
    (fer / "happy" / "broken.png").write_bytes(b"not a png")
    assert folder_labels(fer) == ("angry", "happy", "neutral")
    data = load_split(fer, "all", SPEC, progress=False)
    assert data.targets.tolist() == [0, 1, 2]


def test_relabel_to_a_models_order_and_unknown_classes(tmp_path):
    root = write_pattern_folders(tmp_path / "data", {"test": 1})
    data = load_split(root, "test", SPEC, progress=False)
    moved = data.relabel(["vertical", "horizontal", "checker", "extra"])
    assert moved.targets.tolist() == [2, 1, 0]
    with pytest.raises(DatasetError, match="classes the model does not know: checker"):
        data.relabel(["vertical", "horizontal"])
    with pytest.raises(DatasetError, match="class folder\\(s\\) checker are not among the labels"):
        load_split(root, "test", SPEC, labels=["horizontal", "vertical"], progress=False)


def test_missing_and_empty_data(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        load_split(tmp_path / "nope", "all", SPEC, progress=False)
    (tmp_path / "one" / "only").mkdir(parents=True)
    with pytest.raises(DatasetError, match="needs at least 2 class folders"):
        load_split(tmp_path / "one", "all", SPEC, progress=False)
