"""Smoothing of emotion probability vectors over time, per key (a track or a person).

One frame's emotion is noisy (blinks, speech, motion blur); the aggregator shows and alerts on
a smoothed one. Two kinds, both keeping one small state per key and forgetting a key on demand:

* ``EmaSmoother``: exponential moving average. With ``half_life_s`` the weight of the past decays
  by elapsed time, so a camera that skips frames or a face that vanishes for a while is handled
  the same as a steady stream (an observation no later than the last one is checked but adds
  no weight: no time has passed); with ``alpha`` each update has a fixed weight.
* ``WindowMean``: the plain mean of the last ``size`` vectors.

Every result is a probability vector (non-negative, sums to 1) of the input's length.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Sequence

import numpy as np


def as_distribution(probs: Sequence[float] | np.ndarray) -> np.ndarray:
    """A validated probability vector: 1-D, finite, non-negative, renormalised to sum to 1."""
    vector = np.asarray(probs, dtype=np.float64)
    if vector.ndim != 1 or len(vector) < 2:
        raise ValueError(f"expected a vector of at least 2 probabilities, got shape {vector.shape}")
    if not np.isfinite(vector).all() or (vector < 0).any():
        raise ValueError(f"probabilities must be finite and non-negative, got {vector.tolist()}")
    total = vector.sum()
    if total <= 0:
        raise ValueError("probabilities sum to 0")
    return vector / total


def ema_update(previous: np.ndarray | None, probs: Sequence[float] | np.ndarray, alpha: float) -> np.ndarray:
    """One EMA step: ``alpha * probs + (1 - alpha) * previous``; the first vector is taken as it is."""
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    current = as_distribution(probs)
    if previous is None:
        return current
    _check_same_length(previous, current)
    return as_distribution(alpha * current + (1.0 - alpha) * previous)


def _check_same_length(previous: np.ndarray, current: np.ndarray) -> None:
    if previous.shape != current.shape:
        raise ValueError(f"vector of {len(current)} probabilities after {len(previous)}: labels changed?")


class EmaSmoother:
    """Per-key exponential moving average, by a fixed ``alpha`` or by elapsed time (``half_life_s``)."""

    def __init__(self, alpha: float | None = None, half_life_s: float | None = None) -> None:
        if (alpha is None) == (half_life_s is None):
            raise ValueError("give exactly one of alpha or half_life_s")
        if alpha is not None and not 0.0 < alpha <= 1.0:
            raise ValueError(f"alpha must be in (0, 1], got {alpha}")
        if half_life_s is not None and half_life_s <= 0:
            raise ValueError(f"half_life_s must be positive, got {half_life_s}")
        self.alpha = alpha
        self.half_life_s = half_life_s
        self._state: dict[Hashable, tuple[np.ndarray, float | None]] = {}

    def update(self, key: Hashable, probs: Sequence[float] | np.ndarray, ts: float | None = None) -> np.ndarray:
        """Fold one observation in and return the smoothed vector; ``ts`` (seconds) is needed with half_life_s."""
        if self.half_life_s is not None and ts is None:
            raise ValueError("a time-based EMA needs the observation's timestamp")
        previous, last_ts = self._state.get(key, (None, None))
        if self.alpha is not None or previous is None:
            smoothed = ema_update(previous, probs, self.alpha or 1.0)
        elif ts <= last_ts:
            _check_same_length(previous, as_distribution(probs))
            smoothed = previous
        else:
            smoothed = ema_update(previous, probs, 1.0 - 0.5 ** ((ts - last_ts) / self.half_life_s))
        if ts is not None and (last_ts is None or ts > last_ts):
            last_ts = ts
        self._state[key] = (smoothed, last_ts)
        return smoothed

    def value(self, key: Hashable) -> np.ndarray | None:
        state = self._state.get(key)
        return None if state is None else state[0]

    def forget(self, key: Hashable) -> None:
        self._state.pop(key, None)

    def __len__(self) -> int:
        return len(self._state)


class WindowMean:
    """Per-key mean of the last ``size`` probability vectors."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"window size must be at least 1, got {size}")
        self.size = size
        self._windows: dict[Hashable, deque[np.ndarray]] = {}

    def update(self, key: Hashable, probs: Sequence[float] | np.ndarray) -> np.ndarray:
        current = as_distribution(probs)
        window = self._windows.setdefault(key, deque(maxlen=self.size))
        if window:
            _check_same_length(window[0], current)
        window.append(current)
        return as_distribution(np.mean(window, axis=0))

    def value(self, key: Hashable) -> np.ndarray | None:
        window = self._windows.get(key)
        return as_distribution(np.mean(window, axis=0)) if window else None

    def forget(self, key: Hashable) -> None:
        self._windows.pop(key, None)

    def __len__(self) -> int:
        return len(self._windows)
