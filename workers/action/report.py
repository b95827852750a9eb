"""Classification metrics of an action model: accuracy, per-class precision, recall and F1,
macro-F1, the confusion matrix as text and as a PNG."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


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
    a class absent from ``y_true`` recall 0 (and both count in the macro average only when
    the class is present in the truth or the predictions)."""
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    indexes = list(range(len(labels)))
    y_true, y_pred = np.asarray(y_true, int), np.asarray(y_pred, int)
    precision, recall, f1, support = precision_recall_fscore_support(y_true, y_pred, labels=indexes, zero_division=0)
    present = [i for i in indexes if support[i] > 0 or np.any(y_pred == i)]
    classes = [ClassMetrics(labels[i], float(precision[i]), float(recall[i]), float(f1[i]), int(support[i])) for i in indexes]
    return ClassificationReport(labels, confusion_matrix(y_true, y_pred, labels=indexes),
                                float(accuracy_score(y_true, y_pred)) if len(y_true) else 0.0, classes,
                                float(np.mean([f1[i] for i in present])) if present else 0.0)


def format_report(report: ClassificationReport) -> str:
    width = max([len(c.label) for c in report.classes] + [5])
    lines = [f"windows: {report.samples}", f"accuracy: {report.accuracy:.4f}",
             f"{'label':<{width}}  precision  recall  f1      support"]
    for c in report.classes:
        lines.append(f"{c.label:<{width}}  {c.precision:<9.4f}  {c.recall:<6.4f}  {c.f1:<6.4f}  {c.support}")
    lines.append(f"macro-F1: {report.macro_f1:.4f}")
    lines.append("confusion (rows: true, columns: predicted):")
    lines.append(" " * (width + 2) + " ".join(f"{label[:7]:>7}" for label in report.labels))
    for label, row in zip(report.labels, report.confusion):
        lines.append(f"{label:<{width}}  " + " ".join(f"{int(v):>7}" for v in row))
    return "\n".join(lines)


def save_confusion_png(report: ClassificationReport, path: Path, title: str = "Action confusion matrix") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    size = max(4.0, 0.8 * len(report.labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    rows = report.confusion.sum(axis=1, keepdims=True)
    shares = np.divide(report.confusion, rows, out=np.zeros(report.confusion.shape, float), where=rows > 0)
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(report.labels)):
        for j in range(len(report.labels)):
            ax.text(j, i, f"{int(report.confusion[i, j])}", ha="center", va="center",
                    color="white" if shares[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(report.labels)), report.labels, rotation=45, ha="right")
    ax.set_yticks(range(len(report.labels)), report.labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{title}\naccuracy {report.accuracy:.3f}, macro-F1 {report.macro_f1:.3f}, {report.samples} windows")
    fig.colorbar(image, ax=ax, label="share of the true class")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
