"""Exponential backoff, for everything that retries: a role's poll and publish, a camera's reconnect,
the producer's probe of a refusing bus, the webhook, the console's Redis reader."""

from __future__ import annotations

import random


class Backoff:
    """Waits of ``initial``, doubled after each failure up to ``maximum`` (None: no cap), each
    scaled by a random factor in ``1 ± jitter`` so that many clients do not retry in step.
    ``reset()`` after a success starts over."""

    def __init__(self, initial: float, maximum: float | None = None, jitter: float = 0.0,
                 rng: random.Random | None = None) -> None:
        if initial <= 0 or (maximum is not None and maximum < initial) or not 0 <= jitter < 1:
            raise ValueError(f"bad backoff: initial {initial}, maximum {maximum}, jitter {jitter}")
        self.initial, self.maximum, self.jitter = initial, maximum, jitter
        self.attempts = 0
        """Failures since the last reset."""
        self._rng = rng or random.Random()

    def peek(self) -> float:
        """The wait before the next attempt, without jitter, without counting a failure."""
        delay = self.initial * 2.0 ** min(self.attempts, 64)
        return delay if self.maximum is None else min(self.maximum, delay)

    def next(self) -> float:
        """Count a failure and return the wait before the next attempt."""
        delay = self.peek()
        self.attempts += 1
        return delay * self._rng.uniform(1 - self.jitter, 1 + self.jitter) if self.jitter else delay

    def reset(self) -> None:
        self.attempts = 0
