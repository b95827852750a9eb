"""Fights from motion: per camera, the optical flow of the last ``window_s`` seconds and the
people in view become a feature vector (``fight_features``), which the fight model scores
at every pose pass. Above its threshold, the people whose boxes hold the motion are labelled
'fighting'; when the motion is where nobody was found, the region itself is reported (see
``FightConfig.report_region``).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from workers.action.config import FightConfig
from workers.action.fight_features import active_region, box_activity, largest_group, mean_speed, window_features
from workers.action.fight_model import SHIPPED_MODEL, FightModel
from workers.action.motion import MotionHistory

_INVOLVED_SHARE = 0.5
"""A person is in the fight when the motion in their box is at least this share of the most
moving person's."""
_PEOPLE_SHARE = 0.2
"""...and that person's motion is at least this share of the strongest motion anywhere: else
the fight is somewhere nobody was found."""


@dataclass
class CameraFight:
    """One camera's motion and group sizes (kept with its tracks, dropped with them)."""

    motion: MotionHistory
    groups: deque[tuple[float, int]] = field(default_factory=deque)
    """(time, largest group of people) of each pose pass in the window."""

    def add_group(self, t: float, size: int, seconds: float) -> None:
        self.groups.append((t, size))
        while self.groups and self.groups[0][0] <= t - seconds:
            self.groups.popleft()


@dataclass
class FightVerdict:
    probability: float
    fighting: dict[str, float]
    """Track id -> confidence of the people labelled fighting."""
    region: np.ndarray | None = None
    """The motion's box when the fight is where nobody was found (and regions are reported)."""


class FightDetector:
    name = "fight-model"

    def __init__(self, config: FightConfig, model: FightModel | None) -> None:
        """Without a model it only computes features (what training records)."""
        self.config = config
        self.model = model
        self.threshold = config.threshold or (model.threshold if model else 0.5)
        self.recorded: list[tuple[str, float, np.ndarray]] | None = None
        """Set to a list to collect (camera, time, features) of every scored window."""

    @classmethod
    def from_config(cls, config: FightConfig) -> FightDetector | None:
        if not config.enabled:
            return None
        return cls(config, FightModel.load(config.model_path or SHIPPED_MODEL))

    def camera(self) -> CameraFight:
        c = self.config
        return CameraFight(MotionHistory(c.window_s, c.flow_width, c.flow_max_fps))

    def assess(self, camera: str, state: CameraFight, t: float, people: dict[str, np.ndarray], width: int,
               height: int) -> FightVerdict | None:
        """The verdict on the window ending at ``t``, given the boxes of the people reported
        now (track id -> box); None before the camera has ``min_window_s`` of motion."""
        c = self.config
        state.add_group(t, largest_group(list(people.values())), c.window_s)
        frames = state.motion.window(t, c.window_s)
        if not frames or frames[-1].t - frames[0].t < c.min_window_s - 0.15:
            return None
        features = window_features(frames, max(n for _, n in state.groups))
        if features is None:
            return None
        if self.recorded is not None:
            self.recorded.append((camera, t, features))
        if self.model is None:
            return None
        probability = float(self.model.probability(features))
        if probability < self.threshold:
            return FightVerdict(probability, {})
        speed = mean_speed(frames)
        activity = {track_id: box_activity(speed, box, width, height) for track_id, box in people.items()}
        best = max(activity.values(), default=0.0)
        if best > 0 and best >= _PEOPLE_SHARE * float(speed.max()):
            return FightVerdict(probability, {track_id: probability for track_id, a in activity.items()
                                              if a >= _INVOLVED_SHARE * best})
        region = active_region(frames, width, height) if c.report_region else None
        return FightVerdict(probability, {}, region)
