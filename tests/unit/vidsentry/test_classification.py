"""The one classification report (vidsentry.classification) behind every model evaluation."""

import numpy as np
import pytest
from PIL import Image

from vidsentry.classification import classification_report, save_confusion_png

LABELS = ["walk", "run", "fall"]


def test_the_figures_match_a_hand_count():
    y_true = [0, 0, 0, 1, 1, 2]
    y_pred = [0, 0, 1, 1, 0, 2]
    report = classification_report(np.array(y_true), np.array(y_pred), LABELS)
    assert report.samples == 6 and report.accuracy == pytest.approx(4 / 6)
    walk, run, fall = report.classes
    assert (walk.precision, walk.recall, walk.support) == (pytest.approx(2 / 3), pytest.approx(2 / 3), 3)
    assert (run.precision, run.recall) == (0.5, 0.5)
    assert (fall.precision, fall.recall, fall.f1) == (1.0, 1.0, 1.0)
    assert report.macro_f1 == pytest.approx((2 / 3 + 0.5 + 1.0) / 3)
    assert report.confusion.tolist() == [[2, 1, 0], [1, 1, 0], [0, 0, 1]]


def test_macro_f1_averages_the_classes_present_in_the_truth_only():
    """A class the data lacks is left out, even when it is predicted (its F1 would be 0)."""
    report = classification_report(np.array([0, 0, 1, 1]), np.array([0, 2, 1, 1]), LABELS)
    walk, run, fall = report.classes
    assert fall.support == 0 and fall.f1 == 0.0
    assert report.macro_f1 == pytest.approx((walk.f1 + run.f1) / 2)
    assert classification_report(np.array([], int), np.array([], int), LABELS).macro_f1 == 0.0


def test_the_confusion_png_is_drawn_headless(tmp_path):
    report = classification_report(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 2]), LABELS)
    path = save_confusion_png(report.confusion, report.labels, tmp_path / "sub" / "c.png", "test")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.width > 200
