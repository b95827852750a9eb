"""Alert snapshots (face crops) as JPEG files, kept within a count and an age: after each
write, and when the sink closes, the oldest files go first. A write that fails is counted
and logged, and the alert goes on without its snapshot."""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


class SnapshotFolder:
    def __init__(self, folder: Path, max_files: int, max_age_s: float, clock: Callable[[], float] = time.time) -> None:
        self.folder = Path(folder)
        self.max_files = max_files
        self.max_age_s = max_age_s
        self.clock = clock
        self.failed = 0
        self.pruned = 0
        self.failures: list[str] = []
        self._kept: deque[tuple[float, Path]] = deque(sorted(
            ((p.stat().st_mtime, p) for p in self.folder.glob("*.jpg")), key=lambda kept: kept[0]))
        """Oldest first: files found at start by modification time, then ours in write order."""

    def write(self, name: str, data: bytes) -> Path | None:
        """Store one snapshot; None (counted, logged) when it cannot be written."""
        target = self.folder / name
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        except OSError as exc:
            self.failed += 1
            reason = f"snapshot {name} not written: {exc.strerror or exc}"
            if len(self.failures) < 20:
                self.failures.append(reason)
            log.warning("%s; the alert goes on without it", reason)
            return None
        self._kept = deque(kept for kept in self._kept if kept[1] != target)
        self._kept.append((self.clock(), target))
        self.prune()
        return target

    def prune(self) -> None:
        cutoff = self.clock() - self.max_age_s
        while self._kept and (len(self._kept) > self.max_files or self._kept[0][0] < cutoff):
            _, path = self._kept.popleft()
            try:
                path.unlink(missing_ok=True)
                self.pruned += 1
            except OSError as exc:
                log.warning("snapshot %s could not be deleted: %s", path.name, exc.strerror or exc)
