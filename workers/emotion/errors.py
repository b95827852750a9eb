"""Typed errors of the emotion worker and its tools; each names the file or input and the reason."""

from __future__ import annotations

from pathlib import Path
from typing import Literal


class EmotionModelError(RuntimeError):
    """A model that cannot be loaded or does not fit its configuration (labels, input shape)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"emotion model {self.path}: {reason}")


BadCropReason = Literal["missing", "undecodable", "too_small"]


class BadCrop(ValueError):
    """A face crop the model cannot use; the stage skips the face and counts the reason."""

    def __init__(self, reason: BadCropReason, detail: str) -> None:
        self.reason: BadCropReason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class DatasetError(ValueError):
    """A training or evaluation data set that cannot be read; names the file and what is wrong."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"data set {self.path}: {reason}")


class TrainingOptionsError(ValueError):
    """Training options that contradict each other or the base model."""
