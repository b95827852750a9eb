"""Read emotion data sets for training and evaluation.

Two layouts:

* a FER2013-style CSV with columns ``emotion`` (class index), ``pixels`` (space-separated gray
  values of a square image) and optionally ``Usage`` (Training → train, PublicTest → val,
  PrivateTest → test). Class indexes follow FER2013: angry, disgust, fear, happy, sad,
  surprise, neutral.
* a folder per class (``DATA/<class>/*.png``), optionally under split folders
  (``DATA/train/<class>``, ``DATA/val`` or ``DATA/validation``, ``DATA/test``). Class folders
  named after the FER2013 emotions keep FER2013's order; other names are sorted.

Images are resized to the model's input with the same code the worker uses on face crops.
A layout without splits has the single split ``all``; ``all`` of a split layout is every split.
"""

from __future__ import annotations

import csv
import logging
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from schemas import EMOTION_LABELS
from workers.emotion.crops import fit_to_input
from workers.emotion.errors import DatasetError
from workers.emotion.model import InputSpec

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
CSV_USAGE = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
SPLIT_FOLDERS = {"train": ("train", "training"), "val": ("val", "validation", "valid"), "test": ("test", "testing")}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".webp", ".tif", ".tiff"}


@dataclass
class Dataset:
    images: np.ndarray
    """N x H x W x C uint8, at the size and channels asked for."""
    targets: np.ndarray
    """N class indexes into ``labels``."""
    labels: tuple[str, ...]
    source: str

    def __len__(self) -> int:
        return len(self.targets)

    def relabel(self, labels: Sequence[str]) -> Dataset:
        """The same data with targets indexing ``labels`` (a model's order); classes the model lacks are an error."""
        missing = sorted(set(self.labels[t] for t in np.unique(self.targets)) - set(labels))
        if missing:
            raise DatasetError(self.source, f"has classes the model does not know: {', '.join(missing)} "
                                            f"(model labels: {', '.join(labels)})")
        index = {label: i for i, label in enumerate(labels)}
        mapping = np.array([index.get(label, -1) for label in self.labels])
        return Dataset(self.images, mapping[self.targets], tuple(labels), self.source)


def available_splits(path: Path) -> list[str]:
    path = Path(path)
    if path.is_file():
        usages = {row.get("Usage") for row in _csv_rows(path)}
        found = [CSV_USAGE[u] for u in CSV_USAGE if u in usages]
        return found if found else ["all"]
    found = [split for split in SPLITS if _split_folder(path, split) is not None]
    return found if found else ["all"]


def load_split(path: Path, split: str, spec: InputSpec, labels: Sequence[str] | None = None,
               progress: bool = True) -> Dataset:
    """One split of a data set, resized to ``spec``; ``labels`` fixes the class order (else it is inferred)."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(path, "no such file or folder")
    splits = available_splits(path)
    if split == "all" and splits != ["all"]:
        parts = [load_split(path, s, spec, labels, progress) for s in splits]
        return Dataset(np.concatenate([p.images for p in parts]), np.concatenate([p.targets for p in parts]),
                       parts[0].labels, f"{path}:all")
    if split not in splits:
        raise DatasetError(path, f"has no {split} split; it has: {', '.join(splits)} (and all)")
    if path.is_file():
        return _load_csv(path, split, spec, tuple(labels) if labels else EMOTION_LABELS, progress)
    return _load_folders(path, split, spec, tuple(labels) if labels else folder_labels(path), progress)


def folder_labels(root: Path) -> tuple[str, ...]:
    """Class names of a folder data set, over all its splits: FER2013 order for FER2013 names, else sorted."""
    folders = [f for split in SPLITS if (f := _split_folder(root, split)) is not None] or [root]
    names = sorted({d.name for folder in folders for d in folder.iterdir() if d.is_dir()})
    if len(names) < 2:
        raise DatasetError(root, f"needs at least 2 class folders, found {names or 'none'}")
    if set(names) <= set(EMOTION_LABELS):
        return tuple(label for label in EMOTION_LABELS if label in names)
    return tuple(names)


def _split_folder(root: Path, split: str) -> Path | None:
    for name in SPLIT_FOLDERS[split]:
        if (root / name).is_dir():
            return root / name
    return None


def _csv_rows(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(sys.maxsize)
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = {"emotion", "pixels"} - set(reader.fieldnames or [])
            if missing:
                raise DatasetError(path, f"missing column(s) {', '.join(sorted(missing))}; "
                                         f"has {', '.join(reader.fieldnames or [])}")
            return list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(path, f"unreadable CSV: {exc}") from None


def _load_csv(path: Path, split: str, spec: InputSpec, labels: tuple[str, ...], progress: bool) -> Dataset:
    rows = [r for r in _csv_rows(path) if split == "all" or CSV_USAGE.get(r.get("Usage", "")) == split]
    images, targets = [], []
    for line, row in enumerate(tqdm(rows, desc=f"reading {path.name} ({split})", unit="img", disable=None if progress else True), 2):
        try:
            target = int(row["emotion"])
            pixels = np.array(row["pixels"].split(), dtype=np.int64)
        except ValueError as exc:
            raise DatasetError(path, f"row {line}: {exc}") from None
        side = math.isqrt(len(pixels))
        if side * side != len(pixels) or side == 0 or pixels.min() < 0 or pixels.max() > 255:
            raise DatasetError(path, f"row {line}: pixels must be a square image of 0..255 values, got {len(pixels)} values")
        if not 0 <= target < len(labels):
            raise DatasetError(path, f"row {line}: emotion {target} is not a class index 0..{len(labels) - 1}")
        images.append(pixels.astype(np.uint8).reshape(side, side))
        targets.append(target)
    if not images:
        raise DatasetError(path, f"no rows in the {split} split")
    return Dataset(fit_to_input(images, spec), np.array(targets, np.int64), labels, f"{path}:{split}")


def _load_folders(root: Path, split: str, spec: InputSpec, labels: tuple[str, ...], progress: bool) -> Dataset:
    folder = root if split == "all" else _split_folder(root, split)
    assert folder is not None
    files = [(f, label) for label in labels if (folder / label).is_dir()
             for f in sorted((folder / label).iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
    unknown = sorted(d.name for d in folder.iterdir() if d.is_dir() and d.name not in labels)
    if unknown:
        raise DatasetError(folder, f"class folder(s) {', '.join(unknown)} are not among the labels {', '.join(labels)}")
    flag = cv2.IMREAD_GRAYSCALE if spec.channels == 1 else cv2.IMREAD_COLOR
    images, targets, unreadable = [], [], []
    for file, label in tqdm(files, desc=f"reading {folder.name}", unit="img", disable=None if progress else True):
        pixels = cv2.imread(str(file), flag)
        if pixels is None:
            unreadable.append(file.name)
            continue
        images.append(pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB))
        targets.append(labels.index(label))
    if unreadable:
        log.warning("%s: skipped %d unreadable image(s), e.g. %s", folder, len(unreadable), ", ".join(unreadable[:3]))
    if not images:
        raise DatasetError(folder, f"no readable images ({', '.join(sorted(IMAGE_SUFFIXES))}) in its class folders")
    return Dataset(fit_to_input(images, spec), np.array(targets, np.int64), labels, f"{root}:{split}")
