"""Models made of models: test-time flip averaging and an ensemble of networks of different input sizes.

Both keep the ``EmotionModel`` interface, so the worker, the evaluation and the benchmark run them
as they run one network.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from workers.emotion.crops import fit_to_input
from workers.emotion.model import EmotionModel, InputSpec


class FlipAveraged:
    """The mean of a model's probabilities on the faces and on their mirror images (twice the cost).

    Faces are left-right symmetric in meaning, so the two views disagree only by the model's own
    errors; averaging them cancels part of those.
    """

    def __init__(self, model: EmotionModel) -> None:
        self.model = model
        self.name = f"{model.name}+flip"
        self.labels = model.labels
        self.input_spec: InputSpec = model.input_spec

    def predict(self, crops: np.ndarray) -> np.ndarray:
        crops = np.asarray(crops)
        if crops.ndim < 3:
            raise ValueError(f"{self.name}: crops must be N x H x W[ x C], got {crops.shape}")
        return (self.model.predict(crops) + self.model.predict(crops[:, :, ::-1])) / 2.0


class Ensemble:
    """The mean probabilities of several models with the same labels and channels.

    Its input is the largest member's; crops are resized from it for the smaller members (with the
    worker's own resizing), so the worker resizes each face once, to the ensemble's input.
    """

    def __init__(self, models: Sequence[EmotionModel], name: str | None = None) -> None:
        if len(models) < 2:
            raise ValueError("an ensemble needs at least 2 models")
        labels = {tuple(m.labels) for m in models}
        if len(labels) != 1:
            raise ValueError(f"ensemble members must share labels in one order, got {sorted(labels)}")
        channels = {m.input_spec.channels for m in models}
        if len(channels) != 1:
            raise ValueError(f"ensemble members must take the same channels, got {sorted(channels)}")
        self.models = list(models)
        self.name = name or "+".join(m.name for m in models)
        self.labels = models[0].labels
        largest = max(models, key=lambda m: m.input_spec.height * m.input_spec.width).input_spec
        self.input_spec = InputSpec(largest.height, largest.width, largest.channels, largest.scaling)

    def predict(self, crops: np.ndarray) -> np.ndarray:
        crops = np.asarray(crops)
        if crops.ndim == 3:
            crops = crops[..., np.newaxis]
        total = np.zeros((len(crops), len(self.labels)))
        for model in self.models:
            spec = model.input_spec
            own = crops if crops.shape[1:3] == (spec.height, spec.width) else fit_to_input(list(crops), spec)
            total += model.predict(own)
        return total / len(self.models)
