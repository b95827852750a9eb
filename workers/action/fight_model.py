"""The fight model: logistic regression on standardised window features, kept as JSON
(feature names, means, scales, weights, bias, the decision threshold, and a record of how
it was trained and cross-validated). Small, readable and loaded without pickle.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from workers.action.errors import ActionModelError
from workers.action.fight_features import FEATURE_VERSION, FEATURES

SHIPPED_MODEL = Path(__file__).with_name("models") / "fight.json"
"""The model trained on the dev half of the surveillance fight data set (see its ``training``)."""


@dataclass
class FightModel:
    features: list[str]
    mean: list[float]
    scale: list[float]
    weights: list[float]
    bias: float
    threshold: float
    """Windows whose probability reaches this are fights."""
    feature_version: int = FEATURE_VERSION
    training: dict = field(default_factory=dict)
    """How the model was made: command, data, cross-validated figures."""

    def probability(self, features: np.ndarray) -> np.ndarray:
        """P(fight) of one (F,) or many (N, F) feature vectors."""
        x = (np.asarray(features, np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)
        return 1.0 / (1.0 + np.exp(-(x @ np.asarray(self.weights) + self.bias)))

    def save(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: Path) -> FightModel:
        """The model at ``path``; ActionModelError when it is missing, malformed or made for
        other features than this build computes."""
        path = Path(path).expanduser()
        try:
            model = cls(**json.loads(path.read_text()))
        except FileNotFoundError:
            raise ActionModelError(path, "no such fight model (train one with `vidsentry train action --clips DIR`)") from None
        except (ValueError, TypeError) as exc:
            raise ActionModelError(path, f"is not a fight model file: {exc}") from None
        if model.feature_version != FEATURE_VERSION or list(model.features) != list(FEATURES):
            raise ActionModelError(path, f"was trained on features {model.features} (version {model.feature_version}); "
                                         f"this build computes {list(FEATURES)} (version {FEATURE_VERSION}): retrain it")
        sizes = {len(model.mean), len(model.scale), len(model.weights)}
        if sizes != {len(FEATURES)} or not all(s > 0 for s in model.scale):
            raise ActionModelError(path, "its means, scales and weights must have one positive scale per feature")
        if not 0 < model.threshold < 1:
            raise ActionModelError(path, f"threshold {model.threshold} is not a probability in (0, 1)")
        return model
