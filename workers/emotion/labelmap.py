"""The label map json saved next to a model: its class order and input scaling.

``model.keras`` → ``model.labels.json``; a SavedModel folder → ``<folder>/labels.json``.
The worker, ``evaluate`` and ``train`` all read and write it through here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import get_args

from workers.emotion.config import Scaling
from workers.emotion.errors import EmotionModelError


@dataclass(frozen=True)
class LabelMap:
    labels: tuple[str, ...]
    input_scaling: Scaling

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "labels": list(self.labels)}, indent=2) + "\n"


def label_map_path(model_path: Path) -> Path:
    model_path = Path(model_path)
    if model_path.is_dir():
        return model_path / "labels.json"
    return model_path.with_name(model_path.name.rsplit(".", 1)[0] + ".labels.json")


def write_label_map(model_path: Path, label_map: LabelMap) -> Path:
    path = label_map_path(model_path)
    path.write_text(label_map.to_json())
    return path


def read_label_map(model_path: Path) -> LabelMap | None:
    """The label map of a model, or None when it has none; a malformed one is an error, not ignored."""
    path = label_map_path(model_path)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
        labels = tuple(str(label) for label in data["labels"])
        scaling = data.get("input_scaling", "minus_one_to_one")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EmotionModelError(path, f"unreadable label map: {exc}") from None
    if scaling not in get_args(Scaling):
        raise EmotionModelError(path, f"unknown input_scaling {scaling!r}; use one of {', '.join(get_args(Scaling))}")
    if len(labels) < 2 or len(set(labels)) != len(labels):
        raise EmotionModelError(path, f"labels must be at least 2 distinct names, got {list(labels)}")
    return LabelMap(labels, scaling)
