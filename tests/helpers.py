"""Small helpers shared by tests (polling loops with deadlines, not timed asserts)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from vidsentry.bus import Record, Subscriber


def drain(subscribers: Sequence[Subscriber], count: int, timeout_s: float = 60.0,
          commit: bool = True) -> list[list[Record]]:
    """Poll every subscriber in turn until ``count`` records arrived in total (or time runs out)."""
    got: list[list[Record]] = [[] for _ in subscribers]
    deadline = time.monotonic() + timeout_s
    while sum(map(len, got)) < count and time.monotonic() < deadline:
        for i, sub in enumerate(subscribers):
            records = sub.poll(100, 0.2)
            got[i].extend(records)
            if commit and records:
                sub.commit(records)
    return got


def wait_until(condition: Callable[[], bool], timeout_s: float = 60.0, poll: Callable[[], object] | None = None) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if poll:
            poll()
        if condition():
            return True
        time.sleep(0.05)
    return False
