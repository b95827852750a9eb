"""Motion gating in the real action stage: an empty still street costs no pose pass after
the first, people who start moving are picked up within three frames, and a fall after a
long still stretch is still labelled. Frames are real (OpenCV's vtest street, its empty
background as the median of the clip, with camera noise) or drawn stick figures."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from schemas import ActionsMsg, FrameMsg
from tests.unit.workers.action.conftest import STREET_FPS, read_frames
from tests.unit.workers.action.stick_figures import StickFigurePose, draw_frames
from tests.unit.workers.action.synthetic import action_sequence
from workers.action.classifier import make_classifier
from workers.action.config import ActionConfig
from workers.action.keypoints import TrackHistory
from workers.action.motion_gate import MotionGate
from workers.action.rules import RuleClassifier
from workers.action.worker import ActionStage

T0 = 1_700_000_000.0


class Counting:
    """The real estimator, counting the frames it is asked about."""

    def __init__(self, estimator) -> None:
        self.estimator = estimator
        self.name = estimator.name
        self.calls = 0

    def estimate(self, rgb, scene=None):
        self.calls += 1
        return self.estimator.estimate(rgb, scene=scene)


def messages(frames_bgr: list[np.ndarray], camera: str = "street", fps: float = STREET_FPS) -> list[FrameMsg]:
    out = []
    for seq, bgr in enumerate(frames_bgr):
        ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        out.append(FrameMsg(camera, seq, T0 + seq / fps, bgr.shape[1], bgr.shape[0], jpeg.tobytes()))
    return out


def stage(estimator, **pose: object) -> ActionStage:
    config = ActionConfig.model_validate({"pose": pose, "fight": {"enabled": False}})
    return ActionStage(config, estimator, make_classifier(config))


def run(action_stage: ActionStage, estimator: Counting, frames: list[FrameMsg]) -> tuple[list[ActionsMsg], list[int]]:
    """Each frame's output and the pose passes run so far after it."""
    outputs, calls = [], []
    for frame in frames:
        outputs.extend(action_stage.process([frame]))
        calls.append(estimator.calls)
    return outputs, calls


@pytest.fixture(scope="module")
def empty_street(street_video) -> np.ndarray:
    """The street with nobody on it: the median of frames spread over the clip."""
    capture = cv2.VideoCapture(str(street_video))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    frames = [read_frames(street_video, int(i), 1)[0] for i in np.linspace(0, total - 1, 25)]
    return np.median(np.stack(frames), axis=0).astype(np.uint8)


def noisy(image: np.ndarray, count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` frames of a still camera: the same view with sensor noise (sigma 3 grey levels)."""
    rng = np.random.default_rng(seed)
    return [np.clip(image + rng.normal(0, 3, image.shape), 0, 255).astype(np.uint8) for _ in range(count)]


def test_an_empty_still_street_gets_no_pose_pass_after_the_first_and_walkers_are_picked_up_within_3_frames(
        empty_street, street_video, movenet):
    still = noisy(empty_street, 40)
    walking = read_frames(street_video, 290, 10)
    estimator = Counting(movenet)
    outputs, calls = run(stage(estimator), estimator, messages(still + walking))

    assert calls[len(still) - 1] == 1, "4 s of a still empty street: only the first frame is posed"
    assert all(not m.persons for m in outputs[:len(still)])
    assert calls[len(still)] == 2, "the first frame with people moving gets a pass"
    first_reported = next(i for i, m in enumerate(outputs[len(still):]) if m.persons)
    assert first_reported <= 2, "a track is confirmed on its second pass: frame 3 at 5 passes/s"
    assert len(outputs[-1].persons) >= 4

    ungated = Counting(movenet)
    _, ungated_calls = run(stage(ungated, motion_min_area=None), ungated, messages(still + walking))
    assert ungated_calls[len(still) - 1] == 20, "without the gate: 5 passes/s of the same empty street"


def test_a_fall_after_a_long_still_stretch_is_posed_as_without_the_gate_and_the_rules_see_it():
    """Drawn stick figures, read back by their own estimator (MoveNet does not see drawings):
    the stage's tracker loses a figure that turns horizontal, so the rules are run on the
    poses of exactly the frames the gated stage posed."""
    (fall,) = action_sequence("falling", seconds=9.0, fall_start=7.0, scale=16.0, origin=(128.0, 60.0), noise=0.0)
    rgb = draw_frames([fall.keypoints], (256, 160))
    frames = messages([cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in rgb], camera="hall")
    posed = {}
    for min_area in (0.002, None):
        estimator = Counting(StickFigurePose())
        _, calls = run(stage(estimator, motion_min_area=min_area), estimator, frames)
        posed[min_area] = [i for i, n in enumerate(calls) if n > (calls[i - 1] if i else 0)]
    gated, ungated = set(posed[0.002]), set(posed[None])
    still = [i for i in gated if 10 <= i < 70]
    assert len(still) <= 6, f"standing still from 1 s to 7 s: a pass a second, not {len(still)}"
    assert len([i for i in ungated if 10 <= i < 70]) == 30
    assert {i for i in ungated if 71 <= i <= 76} <= gated, "the fall (7.0-7.6 s) is posed as often as without the gate"

    end = fall.times[77]
    history = fall.between(end - 2.0, end)
    keep = np.isin(np.round((history.times - fall.times[0]) * 10).astype(int), sorted(gated))
    seen = TrackHistory(history.times[keep], history.keypoints[keep], history.boxes[keep])
    assert len(seen.times) >= 5
    assert RuleClassifier().classify({"p": seen})["p"].label == "falling"


def test_the_gate_opens_on_change_and_while_people_are_tracked_at_the_idle_rate():
    view = np.full((120, 160, 3), 90, np.uint8)
    gate = MotionGate(min_area=0.002, idle_s=1.0)
    assert gate.moved(0.0, view, people_tracked=False), "the first frame"
    assert not gate.moved(0.2, view.copy(), people_tracked=False)
    assert not gate.moved(5.0, view.copy(), people_tracked=False), "nobody tracked: no idle passes"
    assert not gate.moved(0.5, view.copy(), people_tracked=True), "someone tracked, but a pass 0.5 s ago"
    someone = view.copy()
    cv2.rectangle(someone, (70, 40), (80, 80), (200, 200, 200), -1)
    assert gate.moved(5.2, someone, people_tracked=False), "a new shape in view"
    assert not gate.moved(5.4, someone.copy(), people_tracked=True)
    assert gate.moved(6.2, someone.copy(), people_tracked=True), "1 s since the last pass with someone tracked"
    assert gate.moved(6.0, someone.copy(), people_tracked=False), "time went back: a replay starts afresh"
