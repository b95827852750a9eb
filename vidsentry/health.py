"""Whether the bus is reachable, from cheap local signals, for /healthz and /readyz.

A Kafka client does not fail when its broker goes away: a consumer's poll just returns
nothing and a producer's send just queues. So each role feeds a positive signal into a
``BusWatch`` on every loop (the client's connection state; the producer adds its refused
and unacknowledged frames) and /healthz reports an outage once that signal has been bad
for ``grace_s``. The grace keeps a reconnect of a second from flapping the health check;
the clock is injected so tests decide what time it is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class BusWatch:
    def __init__(self, grace_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.grace_s = grace_s
        self.clock = clock
        self._lock = threading.Lock()
        self._problem: str | None = None
        self._down_since: float | None = None
        self._observed = False

    def observe(self, problem: str | None, since: float | None = None) -> None:
        """Record the bus as reachable now (None) or not (what is wrong, and ``since`` when if
        that is known, e.g. when the oldest unacknowledged record was sent)."""
        with self._lock:
            self._observed = True
            if problem is None:
                self._problem, self._down_since = None, None
                return
            self._problem = problem
            if self._down_since is None:
                self._down_since = self.clock() if since is None else since

    @property
    def reachable(self) -> bool:
        """The last observation, without the grace: a role stops sending the moment it sees a problem."""
        with self._lock:
            return self._observed and self._problem is None

    def outage(self) -> str | None:
        """What is wrong, once it has been wrong for ``grace_s``; None while the bus is (nearly) fine."""
        with self._lock:
            if self._down_since is None:
                return None
            down_s = self.clock() - self._down_since
            if down_s < self.grace_s:
                return None
            return f"{self._problem} (for {down_s:.0f}s)"
