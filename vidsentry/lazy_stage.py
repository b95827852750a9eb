"""A stage that builds itself (loads its models) when asked, so that `vidsentry run` loads
every stage's models at once, each on its stage's own thread, and each stage starts
consuming as soon as its own models are ready: the face stage analyses the first frames
while TensorFlow is still importing for the action stage (benchmarks/startup.md).

Its runner subscribes before anything is published, so what arrives while it loads waits
on the bus for it (docs/ARCHITECTURE.md, "The embedded run").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from schemas import Message

if TYPE_CHECKING:
    from vidsentry.runtime import Stage


class StageLoadError(RuntimeError):
    """A stage's models could not be loaded; the message says which stage and why."""


class LazyStage:
    """``name`` is known before the models are: the runner joins its consumer group with it."""

    def __init__(self, name: str, build: Callable[[], Stage]) -> None:
        self.name = name
        self._build = build
        self._lock = threading.Lock()
        self.stage: Stage | None = None
        self.error: StageLoadError | None = None
        self.load_s: float | None = None
        """Seconds the build took, once it has finished (loaded or failed)."""

    def load(self) -> Stage:
        """Build the stage once (later calls return it, or raise the first failure again)."""
        with self._lock:
            if self.stage is not None:
                return self.stage
            if self.error is not None:
                raise self.error
            started = time.monotonic()
            try:
                self.stage = self._build()
            except Exception as exc:
                self.error = StageLoadError(f"stage {self.name}: its models failed to load: {type(exc).__name__}: {exc}")
                raise self.error from exc
            finally:
                self.load_s = time.monotonic() - started
            return self.stage

    @property
    def loaded(self) -> bool:
        return self.stage is not None

    def process(self, batch: list[Message]) -> list[Message]:
        return (self.stage or self.load()).process(batch)

    def revoke(self, partitions: list[tuple[str, int]]) -> None:
        revoke = getattr(self.stage, "revoke", None)
        if revoke is not None:
            revoke(partitions)
