"""One classification report for every model evaluation (emotion, action, posture, fight):
accuracy, per-class precision, recall and F1, macro-F1 and the confusion matrix, from scikit-learn's
metrics, and the confusion-matrix plot from its ``ConfusionMatrixDisplay``.

macro-F1 is the unweighted mean of the per-class F1 over the classes present in the truth. A class
the data lacks cannot be recalled, so it is left out; predicting it still costs, through the recall
of the classes those samples belong to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidsentry.plots import figure


@dataclass
class ClassMetrics:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class ClassificationReport:
    labels: list[str]
    confusion: np.ndarray
    """(C, C): rows are the true labels, columns the predicted ones, in ``labels`` order."""
    accuracy: float
    classes: list[ClassMetrics]
    macro_f1: float

    @property
    def samples(self) -> int:
        return int(self.confusion.sum())


def classification_report(y_true: np.ndarray, y_pred: np.ndarray, labels: list[str]) -> ClassificationReport:
    """Metrics of integer class indexes into ``labels``; a class never predicted has precision 0,
    a class absent from ``y_true`` recall 0 (and no part in macro-F1)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

    indexes = list(range(len(labels)))
    y_true, y_pred = np.asarray(y_true, int).reshape(-1), np.asarray(y_pred, int).reshape(-1)
    if len(y_true) == 0:
        return ClassificationReport(list(labels), np.zeros((len(labels), len(labels)), int), 0.0,
                                    [ClassMetrics(label, 0.0, 0.0, 0.0, 0) for label in labels], 0.0)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=indexes, zero_division=0)
    present = [i for i in indexes if support[i] > 0]
    macro_f1 = float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0)) if present else 0.0
    classes = [ClassMetrics(labels[i], float(precision[i]), float(recall[i]), float(f1[i]), int(support[i])) for i in indexes]
    return ClassificationReport(list(labels), confusion_matrix(y_true, y_pred, labels=indexes),
                                float(accuracy_score(y_true, y_pred)), classes, macro_f1)


def save_confusion_png(confusion: np.ndarray, labels: list[str], path: Path, title: str, dpi: int = 110) -> Path:
    """The confusion matrix as a PNG: colours are the share of each true class (its recall on the
    diagonal), the numbers the counts."""
    from sklearn.metrics import ConfusionMatrixDisplay

    counts = np.asarray(confusion, dtype=np.float64)
    rows = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    size = max(4.0, 0.8 * len(labels) + 2)
    fig = figure(size, size * 0.85)
    axes = fig.add_subplot()
    display = ConfusionMatrixDisplay(shares, display_labels=list(labels))
    display.plot(ax=axes, cmap="Blues", colorbar=False, xticks_rotation=45, values_format=".2f", im_kw={"vmin": 0, "vmax": 1})
    for (row, col), count in np.ndenumerate(counts):
        display.text_[row, col].set_text(f"{int(count)}")
        display.text_[row, col].set_color("white" if shares[row, col] > 0.5 else "black")
    fig.colorbar(display.im_, ax=axes, label="share of the true class")
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title, fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
