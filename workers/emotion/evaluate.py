"""Evaluate an emotion model on a labelled data set: accuracy, per-class precision/recall/F1,
macro-F1 and the confusion matrix, as text, json, a per-image predictions CSV and a PNG plot.

The model runs through the same ``EmotionModel.predict`` the worker uses, so the figures
describe the worker's behaviour, runtime and quantization included.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from vidsentry.classification import classification_report, save_confusion_png
from workers.emotion.dataset import Dataset
from workers.emotion.model import EmotionModel

REPORT_FILE = "report.json"
PREDICTIONS_FILE = "predictions.csv"
CONFUSION_PLOT = "confusion.png"


@dataclass
class ClassScores:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class EvaluationReport:
    model: str
    data: str
    labels: list[str]
    samples: int
    accuracy: float
    macro_f1: float
    """Mean F1 over the classes present in the data set (``vidsentry.classification``)."""
    per_class: dict[str, ClassScores]
    confusion: list[list[int]]
    """Rows: true class, columns: predicted class, in ``labels`` order."""


def predict_dataset(model: EmotionModel, dataset: Dataset, batch_size: int = 256, progress: bool = True) -> np.ndarray:
    """Probabilities for every image, in batches, with a progress bar."""
    chunks = []
    with tqdm(total=len(dataset), desc=f"evaluating {model.name}", unit="img", disable=None if progress else True) as bar:
        for start in range(0, len(dataset), batch_size):
            chunk = dataset.images[start:start + batch_size]
            chunks.append(model.predict(chunk))
            bar.update(len(chunk))
    return np.concatenate(chunks) if chunks else np.zeros((0, len(model.labels)))


def score(targets: np.ndarray, predictions: np.ndarray, labels: list[str], model: str, data: str) -> EvaluationReport:
    report = classification_report(targets, predictions, list(labels))
    return EvaluationReport(
        model=model, data=data, labels=list(labels), samples=int(len(targets)), accuracy=report.accuracy,
        macro_f1=report.macro_f1,
        per_class={c.label: ClassScores(c.precision, c.recall, c.f1, c.support) for c in report.classes},
        confusion=report.confusion.tolist())


def evaluate(model: EmotionModel, dataset: Dataset, batch_size: int = 256,
             progress: bool = True) -> tuple[EvaluationReport, np.ndarray]:
    """The report and the per-image probabilities; the data set is relabelled to the model's class order."""
    dataset = dataset.relabel(model.labels)
    probabilities = predict_dataset(model, dataset, batch_size, progress)
    report = score(dataset.targets, probabilities.argmax(axis=1), list(model.labels), model.name, dataset.source)
    return report, probabilities


def write_outputs(report: EvaluationReport, targets: np.ndarray, probabilities: np.ndarray, out_dir: Path) -> dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"report": out_dir / REPORT_FILE, "predictions": out_dir / PREDICTIONS_FILE, "plot": out_dir / CONFUSION_PLOT}
    paths["report"].write_text(json.dumps(asdict(report), indent=2) + "\n")
    with paths["predictions"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "true", "predicted", *[f"p_{label}" for label in report.labels]])
        for i, (target, probs) in enumerate(zip(targets, probabilities)):
            writer.writerow([i, report.labels[target], report.labels[int(np.argmax(probs))], *[f"{p:.6f}" for p in probs]])
    plot_confusion(report, paths["plot"])
    return paths


def plot_confusion(report: EvaluationReport, path: Path) -> None:
    """Row-normalised colours (recall per true class) with the counts written in each cell."""
    save_confusion_png(np.array(report.confusion), report.labels, path,
                       f"{report.model}: accuracy {report.accuracy:.1%}, macro-F1 {report.macro_f1:.3f}", dpi=120)


def format_report(report: EvaluationReport) -> str:
    width = max(8, *(len(label) for label in report.labels))
    lines = [f"model {report.model} on {report.data}: {report.samples} images",
             f"accuracy  {report.accuracy:.4f}",
             f"macro-F1  {report.macro_f1:.4f}",
             "",
             f"{'class':<{width}}  precision  recall     f1  support"]
    for label, scores in report.per_class.items():
        lines.append(f"{label:<{width}}  {scores.precision:9.4f}  {scores.recall:6.4f}  {scores.f1:.4f}  {scores.support:7d}")
    lines += ["", "confusion matrix (rows: true, columns: predicted)",
              " " * width + "  " + " ".join(f"{label[:7]:>7}" for label in report.labels)]
    for label, row in zip(report.labels, report.confusion):
        lines.append(f"{label:<{width}}  " + " ".join(f"{count:7d}" for count in row))
    return "\n".join(lines)
