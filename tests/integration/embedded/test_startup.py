"""Start-up (#17 goal 5): each stage of `vidsentry run` loads its models on its own thread and
consumes as soon as its own models are ready, while a slower stage is still loading; what comes
meanwhile waits on the bus, so the slow stage still gets every frame of a file; a stage whose
models fail to load fails the run with its message. Toy stages on the real producer, bus,
aggregator and recorder; the slow stage's "model" is an Event the test releases (no timing)."""

from __future__ import annotations

import json
import threading

import cv2
import pytest

from schemas import FacesMsg, FrameMsg
from schemas.topics import FRAMES
from tests.helpers import wait_until
from vidsentry.config import Config
from vidsentry.embedded import EmbeddedRun, RunError, RunOptions
from vidsentry.pipeline import AGGREGATOR
from vidsentry.stages import StageDecl

pytestmark = pytest.mark.integration

FRAMES_IN_FOLDER = 90
"""More than the in-memory bus holds for a group that has not consumed yet (bus.memory.max_backlog, 64)."""


class Recording:
    """Each frame's seq; answers with an empty faces message (``answers``) or nothing."""

    def __init__(self, name: str, answers: bool) -> None:
        self.name, self.answers = name, answers
        self.seqs: list[int] = []

    def process(self, batch: list[FrameMsg]) -> list[FacesMsg]:
        self.seqs.extend(frame.seq for frame in batch)
        return [FacesMsg(f.camera, f.seq, f.ts_capture, f.width, f.height, []) for f in batch] if self.answers else []


def declare(name: str, outputs: tuple[str, ...], build) -> StageDecl:
    return StageDecl(name, inputs=(FRAMES,), outputs=outputs, section="runtime", build=build,
                     command=("worker", name), expect=FrameMsg, summary=f"toy {name}")


@pytest.fixture
def stills(samples, tmp_path):
    folder = tmp_path / "stills"
    folder.mkdir()
    capture = cv2.VideoCapture(str(samples["carphone"]))
    for i in range(FRAMES_IN_FOLDER):
        cv2.imwrite(str(folder / f"img_{i:03d}.jpg"), capture.read()[1])
    return folder


def start(pipeline: tuple[StageDecl, ...], folder, out) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = EmbeddedRun(RunOptions(sources=[str(folder)], out=out, progress=False), Config(),
                                             pipeline=pipeline).run()
        except Exception as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_a_stage_answers_while_another_still_loads_and_that_one_then_gets_every_frame(stills, tmp_path):
    quick, slow = Recording("quick", answers=True), Recording("slow", answers=False)
    release, slow_loading = threading.Event(), threading.Event()

    def load_slowly(config):
        slow_loading.set()
        assert release.wait(600), "the test never released the slow stage's model"
        return slow

    pipeline = (declare("quick", ("faces",), lambda config: quick), declare("slow", ("actions",), load_slowly), AGGREGATOR)
    out = tmp_path / "out"
    thread, outcome = start(pipeline, stills, out)

    assert wait_until(lambda: len(quick.seqs) > 0 or not thread.is_alive(), timeout_s=300), outcome
    assert slow_loading.is_set() and not release.is_set() and slow.seqs == []
    assert wait_until(lambda: len(quick.seqs) >= 10 or not thread.is_alive(), timeout_s=300), outcome
    assert slow.seqs == [], "the slow stage consumes nothing before its model is ready"
    release.set()
    thread.join(timeout=600)
    assert not thread.is_alive() and "error" not in outcome, outcome

    assert outcome["result"].frames == FRAMES_IN_FOLDER
    assert sorted(slow.seqs) == sorted(quick.seqs) == list(range(FRAMES_IN_FOLDER)), "every frame, once, in both"
    summary = json.loads((out / "summary.json").read_text())
    (camera,) = summary["cameras"].values()
    assert camera["published"] == FRAMES_IN_FOLDER and camera["dropped"] == 0
    assert set(summary["stage_load_s"]) == {"quick", "slow"}
    assert summary["first_output_s"]["faces"] > 0
    assert summary["timings"]["slow"]["messages"] == FRAMES_IN_FOLDER


def test_a_model_that_fails_to_load_fails_the_run_with_its_message(stills, tmp_path):
    quick = Recording("quick", answers=True)

    def broken(config):
        raise OSError("pose.bin is truncated (4096 of 9480011 bytes)")

    pipeline = (declare("quick", ("faces",), lambda config: quick), declare("pose", ("actions",), broken), AGGREGATOR)
    out = tmp_path / "out"
    thread, outcome = start(pipeline, stills, out)
    thread.join(timeout=600)
    assert not thread.is_alive(), "the run must end, not hang on the stage that never loaded"
    error = outcome.get("error")
    assert isinstance(error, RunError), outcome
    assert str(error) == "stage pose: its models failed to load: OSError: pose.bin is truncated (4096 of 9480011 bytes)"
    assert not out.exists() and not (tmp_path / "out.partial").exists()
