"""Typed errors of the action worker and its tools; each carries the evidence."""

from __future__ import annotations

from pathlib import Path

from workers.frames import DecodeError  # noqa: F401  (raised by the stage; re-exported for callers)


class PoseModelError(RuntimeError):
    """A pose or person-detection model cannot be loaded or run."""


class DatasetError(ValueError):
    """A labelled clip folder is unusable; the message names the folder or file and why."""

    def __init__(self, where: Path | str, reason: str) -> None:
        self.where = Path(where)
        self.reason = reason
        super().__init__(f"{where}: {reason}")


class ActionModelError(RuntimeError):
    """A trained action model cannot be loaded or does not fit this configuration."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"action model {path}: {reason}")
