"""Sample a source down to a target frame rate by timestamp: drop, never queue."""

from __future__ import annotations


class FpsSampler:
    """Keeps a frame when its timestamp reaches the next due time.

    Timestamps are the media position for files (so sampling is exact however fast the
    file is read) and the wall clock for live sources. For live sources a frame up to half
    a period early still counts, so network jitter does not drop frames of a source
    already at the target rate; the schedule advances one period per kept frame, so the
    long-run rate never exceeds the target. After a gap the schedule restarts from the new
    frame instead of bursting to catch up.
    """

    def __init__(self, target_fps: float, live: bool = False) -> None:
        self.period = 1.0 / target_fps
        self.slack = self.period / 2 if live else 1e-6
        self._due: float | None = None

    def keep(self, ts: float) -> bool:
        if self._due is None or ts >= self._due - self.slack:
            due = (self._due if self._due is not None else ts) + self.period
            self._due = due if due > ts else ts + self.period
            return True
        return False

    def reset(self) -> None:
        self._due = None
