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
    """Mean F1 over the classes present in the data set (a class the data lacks cannot be recalled)."""
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
    from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

    classes = list(range(len(labels)))
    precision, recall, f1, support = precision_recall_fscore_support(targets, predictions, labels=classes,
                                                                     zero_division=0)
    present = support > 0
    return EvaluationReport(
        model=model, data=data, labels=list(labels), samples=int(len(targets)),
        accuracy=float(accuracy_score(targets, predictions)),
        macro_f1=float(f1[present].mean()) if present.any() else 0.0,
        per_class={label: ClassScores(float(p), float(r), float(f), int(s))
                   for label, p, r, f, s in zip(labels, precision, recall, f1, support)},
        confusion=confusion_matrix(targets, predictions, labels=classes).tolist())


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
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    counts = np.array(report.confusion, dtype=np.float64)
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    size = 1.0 + 0.75 * len(report.labels)
    figure = Figure(figsize=(size + 1.5, size))
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    image = axes.imshow(share, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, label="share of the true class")
    ticks = range(len(report.labels))
    axes.set_xticks(ticks, report.labels, rotation=45, ha="right")
    axes.set_yticks(ticks, report.labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(f"{report.model}: accuracy {report.accuracy:.1%}, macro-F1 {report.macro_f1:.3f}", fontsize=9)
    for (row, col), count in np.ndenumerate(counts):
        axes.text(col, row, f"{int(count)}", ha="center", va="center", fontsize=8,
                  color="white" if share[row, col] > 0.5 else "black")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


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
