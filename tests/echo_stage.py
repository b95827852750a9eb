"""A tiny stage for runtime tests: each frame becomes an empty faces message.

Run as a process (``python -m tests.echo_stage``) to test a role's lifecycle, signals and
crashes; configured like any role through VIDSENTRY_* variables. ``ECHO_DELAY_S`` makes
each batch slow so a test can stop or kill it mid-batch; ``ECHO_STARTED_FILE`` names a file
created when a batch starts, so the test knows the batch is in hand instead of guessing
with a sleep. A frame whose camera is ``poison`` makes it raise, as a buggy model would on
one bad input.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from schemas import FacesMsg, FrameMsg
from schemas.topics import FRAMES
from vidsentry.stages import StageDecl


class EchoStage:
    name = "echo"

    def __init__(self, delay_s: float = 0.0, started_file: Path | None = None) -> None:
        self.delay_s = delay_s
        self.started_file = started_file
        self.revoked: list[tuple[str, int]] = []

    def process(self, batch: list[FrameMsg]) -> list[FacesMsg]:
        if self.started_file is not None:
            self.started_file.touch()
        if self.delay_s:
            time.sleep(self.delay_s)
        out = []
        for frame in batch:
            if frame.camera == "poison":
                raise ValueError(f"cannot handle frame {frame.id}")
            out.append(FacesMsg(frame.camera, frame.seq, frame.ts_capture, frame.width, frame.height, []))
        return out

    def revoke(self, partitions: list[tuple[str, int]]) -> None:
        self.revoked.extend(partitions)


STAGE = StageDecl("echo", inputs=(FRAMES,), outputs=("faces",), section="runtime",
                  build=lambda config, **injected: EchoStage(**injected), command=("worker", "echo"),
                  expect=FrameMsg, summary="Consume `frames`; publish an empty `faces` message for each.")
"""The toy stage declared as a stage package declares itself (tests/unit/vidsentry/test_pipeline.py)."""


def main() -> None:
    import logging

    from vidsentry.config import load_config
    from vidsentry.role import serve_stage

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    topics = os.environ.get("ECHO_TOPICS", FRAMES).split(",")
    started = os.environ.get("ECHO_STARTED_FILE")
    stage = EchoStage(float(os.environ.get("ECHO_DELAY_S", "0")), Path(started) if started else None)
    serve_stage(stage, load_config(), topics, expect=FrameMsg)


if __name__ == "__main__":
    main()
