"""Action classifiers behind one interface: all of a camera's track histories in, a label
and confidence per track out. Per camera rather than per track, because fighting is a
relation between people, not something one track shows alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from workers.action.config import ActionConfig
from workers.action.keypoints import TrackHistory

UNKNOWN = "unknown"
TEMPORAL = "temporal"
"""A label judged from a track's window of frames."""
POSTURE = "posture"
"""A label judged from one pose (workers/action/posture.py)."""


@dataclass(frozen=True)
class ActionGuess:
    label: str
    confidence: float
    kind: str = TEMPORAL


class ActionClassifier(Protocol):
    name: str

    def classify(self, histories: dict[str, TrackHistory]) -> dict[str, ActionGuess]:
        """A guess for every track in ``histories`` (``unknown`` when the window is too short)."""


def make_classifier(config: ActionConfig) -> ActionClassifier:
    """The trained temporal model when ``config.model_path`` is set, else the rules."""
    if config.model_path is not None:
        from workers.action.temporal import TemporalClassifier

        return TemporalClassifier.load(config.model_path, config.window, config.min_model_confidence)
    from workers.action.rules import RuleClassifier

    return RuleClassifier(config.rules, config.window)
