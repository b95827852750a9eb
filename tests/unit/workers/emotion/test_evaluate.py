"""Evaluation figures on a case constructed by hand, so the expected numbers are known exactly."""

from __future__ import annotations

import numpy as np

from workers.emotion.evaluate import format_report, plot_confusion, score


def test_scores_of_a_hand_made_case(tmp_path):
    # true:  a a a a b b c c      predicted: a a a b b a c a
    # a: TP 3, FP 2 (one b, one c), FN 1 → P 3/5, R 3/4;  b: TP 1, FP 1, FN 1 → P 1/2, R 1/2;
    # c: TP 1, FP 0, FN 1 → P 1, R 1/2;  d: never true, never predicted (support 0).
    targets = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    predictions = np.array([0, 0, 0, 1, 1, 0, 2, 0])
    report = score(targets, predictions, ["a", "b", "c", "d"], "m", "hand")

    assert report.accuracy == 5 / 8
    f1 = {"a": 2 * (3 / 5) * (3 / 4) / (3 / 5 + 3 / 4), "b": 0.5, "c": 2 * 1 * 0.5 / 1.5}
    for label, (p, r, s) in {"a": (3 / 5, 3 / 4, 4), "b": (1 / 2, 1 / 2, 2), "c": (1.0, 1 / 2, 2)}.items():
        scores = report.per_class[label]
        assert (scores.precision, scores.recall, scores.support) == (p, r, s)
        assert abs(scores.f1 - f1[label]) < 1e-12
    assert report.per_class["d"].support == 0
    assert abs(report.macro_f1 - sum(f1.values()) / 3) < 1e-12, "macro-F1 averages the classes present"
    assert report.confusion == [[3, 1, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]

    text = format_report(report)
    assert "accuracy  0.6250" in text
    assert f"macro-F1  {sum(f1.values()) / 3:.4f}" in text
    class_row, confusion_row = [line.split() for line in text.splitlines() if line.startswith("a ")]
    assert class_row == ["a", "0.6000", "0.7500", "0.6667", "4"]
    assert confusion_row == ["a", "3", "1", "0", "0"]

    plot_confusion(report, tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
