"""Frames handed to the bus and not yet acknowledged.

Each is reported once, to ``acked`` or ``lost``, when the bus acknowledges it or gives up
on it (on Kafka from the client's thread). The age of the oldest one tells an outage that
the connection state misses: a broker that takes connections but never answers.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

from vidsentry.bus.base import DeliveryCallback


class Deliveries:
    def __init__(self, clock: Callable[[], float], acked: Callable[[str, bool], None],
                 lost: Callable[[str, Exception], None]) -> None:
        self.clock = clock
        self._acked = acked
        self._lost = lost
        self._lock = threading.Lock()
        self._sent_at: dict[int, float] = {}
        self._tokens = itertools.count()

    def track(self, camera: str, replayed: bool) -> tuple[int, DeliveryCallback]:
        """A token (for ``cancel``) and the callback to give the publisher for one frame."""
        token = next(self._tokens)
        with self._lock:
            self._sent_at[token] = self.clock()

        def done(error: Exception | None) -> None:
            with self._lock:
                if self._sent_at.pop(token, None) is None:
                    return
            if error is None:
                self._acked(camera, replayed)
            else:
                self._lost(camera, error)

        return token, done

    def cancel(self, token: int) -> None:
        """The publish raised: the frame never reached the bus and stays with the caller."""
        with self._lock:
            self._sent_at.pop(token, None)

    def oldest_age(self) -> float | None:
        with self._lock:
            if not self._sent_at:
                return None
            return self.clock() - next(iter(self._sent_at.values()))

    def __len__(self) -> int:
        with self._lock:
            return len(self._sent_at)
