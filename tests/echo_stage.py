"""A tiny stage for runtime tests: each frame becomes an empty faces message.

Run as a process (``python -m tests.echo_stage``) to test a role's lifecycle, signals and
crashes; configured like any role through VIDSENTRY_* variables. ``ECHO_DELAY_S`` makes
each batch slow so a test can stop or kill it mid-batch. A frame whose camera is
``poison`` makes it raise, as a buggy model would on one bad input.
"""

from __future__ import annotations

import os
import time

from schemas import FacesMsg, FrameMsg
from schemas.topics import FRAMES


class EchoStage:
    name = "echo"

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.revoked: list[tuple[str, int]] = []

    def process(self, batch: list[FrameMsg]) -> list[FacesMsg]:
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


def main() -> None:
    import logging

    from vidsentry.config import load_config
    from vidsentry.role import serve_stage

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    topics = os.environ.get("ECHO_TOPICS", FRAMES).split(",")
    serve_stage(EchoStage(float(os.environ.get("ECHO_DELAY_S", "0"))), load_config(), topics, expect=FrameMsg)


if __name__ == "__main__":
    main()
