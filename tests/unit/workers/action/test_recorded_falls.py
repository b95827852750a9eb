"""The fall and person-down rules on fall sequences recorded by hand from a REAL pose (a
pedestrian of OpenCV's vtest street video, as MoveNet finds it; see recorded_falls.py):
the action stage (default config, tracker and rules) labels the fall ``falling`` and then
``lying``, and the aggregator's default rules raise ``fall`` once and ``person-down`` after
10 s on the floor; sitting down and standing raise neither. No real fall footage was
found on the registries, so what the pose model does with a real falling body (blur,
foreshortening, missed keypoints) is NOT covered here (EVALUATION.md)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from aggregator.aggregator import AggregatorStage
from aggregator.config import AggregatorConfig
from aggregator.rules import load_rules
from aggregator.state import MemoryStore
from schemas import FrameMsg
from tests.unit.workers.action import recorded_falls as rf
from workers.action.classifier import make_classifier
from workers.action.config import ActionConfig
from workers.action.skeleton import EDGES
from workers.action.worker import ActionStage

T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def real_pose(street_video, movenet) -> np.ndarray:
    return rf.street_pose(street_video, movenet)


def _drawn(pose: np.ndarray) -> bytes:
    """The pose's stick figure as the frame, so that the stage's motion gate sees the body move."""
    image = np.zeros((rf.FRAME[1], rf.FRAME[0], 3), np.uint8)
    for a, b in EDGES:
        cv2.line(image, tuple(int(v) for v in pose[a, :2]), tuple(int(v) for v in pose[b, :2]), (255, 255, 255), 8)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return jpeg.tobytes()


def play(sequence: rf.Sequence) -> tuple[list, list[dict]]:
    """The sequence through the action stage (the default configuration, but pose on every
    frame: frames come at the pose rate) and its outputs through the aggregator with the
    default rules. The estimator answers the n-th pose pass with the n-th pose, so a frame
    the stage skips (nothing moved) shifts the rest by one: a still body stays still."""
    config = ActionConfig.model_validate({"pose": {"max_fps": None}, "fight": {"enabled": False}})
    stage = ActionStage(config, rf.RecordedPoses(sequence), make_classifier(config))
    frames = [FrameMsg("hall", i, T0 + i / sequence.fps, rf.FRAME[0], rf.FRAME[1], _drawn(pose))
              for i, pose in enumerate(sequence.poses)]
    outputs = stage.process(frames)
    aggregator = AggregatorStage(load_rules(), MemoryStore(), [], AggregatorConfig())
    for output in outputs:
        aggregator.process([output])
    return outputs, [a.to_json() for a in aggregator.alerts_emitted]


def labels_over_time(outputs) -> list[tuple[float, str, str]]:
    return [(round(o.ts_capture - T0, 2), p.action, p.kind) for o in outputs for p in o.persons]


def raised(alerts: list[dict], rule: str) -> list[dict]:
    return [a for a in alerts if a["rule"] == rule and a["status"] == "raised"]


@pytest.mark.parametrize("make", [rf.topple, rf.collapse], ids=["topple", "collapse"])
@pytest.mark.parametrize("fps", [5.0, 10.0])
def test_a_fall_is_labelled_and_raises_fall_then_person_down(real_pose, make, fps):
    sequence = make(real_pose, fps)
    outputs, alerts = play(sequence)
    labels = labels_over_time(outputs)
    before = [label for t, label, _ in labels if t < sequence.fall_starts]
    assert "falling" not in before and "lying" not in before
    falls = [t for t, label, kind in labels if label == "falling"]
    assert falls, labels
    assert sequence.fall_starts <= falls[0] <= sequence.lying_from + 1.0, "the fall is labelled as it happens"
    assert all(kind == "temporal" for _, label, kind in labels if label == "falling")
    assert [label for t, label, _ in labels if t > sequence.lying_from + 3.0][-1] == "lying"

    (fall,) = raised(alerts, "fall")
    assert fall["ts"] - T0 == pytest.approx(falls[0], abs=1e-6)
    (down,) = raised(alerts, "person-down")
    assert 10.0 <= down["ts"] - T0 - sequence.lying_from <= 14.0, "person-down after 10 s on the floor"


@pytest.mark.parametrize("make", [rf.sit_down, rf.stand], ids=["sit-down", "stand"])
def test_sitting_down_and_standing_raise_neither(real_pose, make):
    sequence = make(real_pose, 5.0)
    outputs, alerts = play(sequence)
    labels = {label for _, label, _ in labels_over_time(outputs)}
    assert not labels & {"falling", "lying"}, labels
    assert not raised(alerts, "fall") and not raised(alerts, "person-down")
    if make is rf.sit_down:
        assert "sitting" in labels


def test_the_first_reported_frame_has_a_posture_then_the_window_takes_over(real_pose):
    outputs, _ = play(rf.stand(real_pose, 5.0, seconds=3.0))
    reported = [(p.action, p.kind) for o in outputs for p in o.persons]
    assert reported[0] == ("standing", "posture"), "no 'unknown' while the window fills"
    assert reported[-1] == ("standing", "temporal")
