"""An action model's classification report (``vidsentry.classification``) as text and as a PNG."""

from __future__ import annotations

from pathlib import Path

from vidsentry import classification
from vidsentry.classification import ClassificationReport, ClassMetrics, classification_report

__all__ = ["ClassMetrics", "ClassificationReport", "classification_report", "format_report", "save_confusion_png"]


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
    return classification.save_confusion_png(
        report.confusion, report.labels, path,
        f"{title}\naccuracy {report.accuracy:.3f}, macro-F1 {report.macro_f1:.3f}, {report.samples} windows")
