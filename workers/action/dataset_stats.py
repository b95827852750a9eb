"""What a labelled clip folder holds, to spot class imbalance before training: clips and
frames per label, clip durations, resolutions and frame rates, as a table and PNG plots."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from schemas import ACTION_LABELS
from vidsentry.plots import figure
from workers.action.dataset import DatasetScan


@dataclass
class LabelStats:
    label: str
    clips: int
    frames: int
    seconds: float
    duration_min: float
    duration_median: float
    duration_max: float


@dataclass
class DatasetStats:
    root: Path
    labels: list[LabelStats]
    resolutions: Counter
    """'WxH' -> clips."""
    frame_rates: Counter
    """fps rounded to 0.01 -> clips."""
    durations: dict[str, list[float]]
    unreadable: list[tuple[Path, str]]

    @property
    def imbalance(self) -> float:
        """Clips of the largest class over clips of the smallest."""
        counts = [s.clips for s in self.labels]
        return max(counts) / min(counts) if counts else 0.0

    @property
    def unknown_labels(self) -> list[str]:
        return [s.label for s in self.labels if s.label not in ACTION_LABELS]


def dataset_stats(scan: DatasetScan) -> DatasetStats:
    rows, durations = [], {}
    for label in scan.labels:
        clips = [c for c in scan.clips if c.label == label]
        seconds = [c.seconds for c in clips if np.isfinite(c.seconds)]
        durations[label] = seconds
        rows.append(LabelStats(label, len(clips), sum(c.frames for c in clips), float(sum(seconds)),
                               float(min(seconds)) if seconds else float("nan"),
                               float(np.median(seconds)) if seconds else float("nan"),
                               float(max(seconds)) if seconds else float("nan")))
    return DatasetStats(scan.root, rows, Counter(f"{c.width}x{c.height}" for c in scan.clips),
                        Counter(round(c.fps, 2) for c in scan.clips), durations, list(scan.unreadable))


def format_stats(stats: DatasetStats, imbalance_warning: float = 3.0) -> str:
    width = max([len(s.label) for s in stats.labels] + [5])
    total_clips = sum(s.clips for s in stats.labels)
    lines = [f"dataset: {stats.root}",
             f"{'label':<{width}}  clips  share  frames   seconds  duration min/median/max (s)"]
    for s in stats.labels:
        lines.append(f"{s.label:<{width}}  {s.clips:>5}  {s.clips / total_clips:>5.0%}  {s.frames:>6}  {s.seconds:>8.1f}  "
                     f"{s.duration_min:.2f} / {s.duration_median:.2f} / {s.duration_max:.2f}")
    lines.append(f"{'total':<{width}}  {total_clips:>5}  {'':>5}  {sum(s.frames for s in stats.labels):>6}  "
                 f"{sum(s.seconds for s in stats.labels):>8.1f}")
    lines.append("resolutions: " + ", ".join(f"{r} ({n})" for r, n in stats.resolutions.most_common()))
    lines.append("frame rates: " + ", ".join(f"{f:g} fps ({n})" for f, n in stats.frame_rates.most_common()))
    lines.append(f"imbalance (largest/smallest class by clips): {stats.imbalance:.1f}x")
    if stats.imbalance > imbalance_warning:
        smallest = min(stats.labels, key=lambda s: s.clips)
        lines.append(f"warning: classes are imbalanced; {smallest.label} has {smallest.clips} clips "
                     "(collect more, or train with --balance-classes)")
    if stats.unknown_labels:
        lines.append(f"note: labels outside the bus vocabulary {list(ACTION_LABELS)}: {', '.join(stats.unknown_labels)}")
    for path, reason in stats.unreadable:
        lines.append(f"unreadable: {path}: {reason}")
    return "\n".join(lines)


def plot_stats(stats: DatasetStats, out_dir: Path) -> list[Path]:
    """Four PNGs in ``out_dir``: clips per label, frames per label, clip durations per label,
    and resolutions / frame rates."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = [s.label for s in stats.labels]
    written = []

    for name, values, ylabel in (("clips_per_label.png", [s.clips for s in stats.labels], "clips"),
                                 ("frames_per_label.png", [s.frames for s in stats.labels], "frames")):
        fig = figure(max(5, 0.9 * len(labels) + 2), 4)
        ax = fig.add_subplot()
        bars = ax.bar(labels, values, color="#4a7ab0")
        ax.bar_label(bars)
        ax.set_ylabel(ylabel)
        ax.set_title(f"{ylabel.capitalize()} per label ({stats.root.name}); imbalance {stats.imbalance:.1f}x")
        ax.tick_params(axis="x", rotation=30)
        fig.tight_layout()
        fig.savefig(out_dir / name, dpi=100)
        written.append(out_dir / name)

    fig = figure(max(5, 0.9 * len(labels) + 2), 4)
    ax = fig.add_subplot()
    ax.boxplot([stats.durations[label] or [np.nan] for label in labels], showmeans=True)
    ax.set_xticks(range(1, len(labels) + 1), labels, rotation=30)
    ax.set_ylabel("clip duration (s)")
    ax.set_title("Clip durations per label")
    fig.tight_layout()
    fig.savefig(out_dir / "durations.png", dpi=100)
    written.append(out_dir / "durations.png")

    fig = figure(10, 4)
    left, right = fig.subplots(1, 2)
    for ax, counter, title in ((left, stats.resolutions, "Resolutions"), (right, stats.frame_rates, "Frame rates (fps)")):
        keys = [str(k) for k, _ in counter.most_common()]
        ax.barh(keys, [n for _, n in counter.most_common()], color="#7a9a4a")
        ax.set_xlabel("clips")
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(out_dir / "resolution_fps.png", dpi=100)
    written.append(out_dir / "resolution_fps.png")
    return written
