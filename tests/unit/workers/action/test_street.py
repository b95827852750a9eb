"""The action stage on a real street video (OpenCV's vtest.avi: pedestrians crossing a
campus road, 768x576, 10 fps). People counts were made by looking at the frames
(benchmarks/action_bench.py holds the full count)."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest

from schemas import ActionsMsg
from tests.conftest import CACHE_ROOT
from tests.unit.workers.action.conftest import frame_messages, read_frames
from workers.action.classifier import make_classifier
from workers.action.config import ActionConfig
from workers.action.movenet import MAX_PEOPLE_PER_PASS
from workers.action.worker import ActionStage

START, COUNT = 60, 60
"""Frames 60-119: a group of four walking slowly together by the sign post, a man standing
on the left, passers-by; 4 to 8 people in view."""


@pytest.fixture(scope="module")
def street_actions(street_video, movenet) -> list[ActionsMsg]:
    stage = ActionStage(ActionConfig(), movenet, make_classifier(ActionConfig()))
    return [stage.process([message])[0] for message in frame_messages(read_frames(street_video, START, COUNT), START)]


def test_several_people_are_found_in_every_frame(street_actions):
    counts = [len(m.persons) for m in street_actions[2:]]
    assert min(counts) >= 3, counts
    assert sum(counts) / len(counts) >= 4.5, counts
    assert max(counts) >= 6, counts


def test_pedestrians_keep_their_track_ids(street_actions):
    seen = defaultdict(int)
    for message in street_actions:
        for person in message.persons:
            seen[person.track_id] += 1
    long_lived = [track for track, frames in seen.items() if frames >= 50]
    assert len(long_lived) >= 4, dict(seen)
    assert len(seen) <= 12, f"{len(seen)} track ids for at most 8 people in view: ids are not stable"
    for message in street_actions:
        ids = [p.track_id for p in message.persons]
        assert len(ids) == len(set(ids)), f"frame {message.seq} gives one id to two people"


def test_pedestrians_are_walking_or_standing_never_lying_or_fighting(street_actions):
    labels = Counter(p.action for m in street_actions for p in m.persons)
    assert set(labels) <= {"walking", "standing", "unknown"}, labels
    assert labels["walking"] > 0 and labels["standing"] > 0, labels
    assert (labels["walking"] + labels["standing"]) / sum(labels.values()) >= 0.85, labels
    per_track = defaultdict(Counter)
    for message in street_actions:
        for person in message.persons:
            per_track[person.track_id][person.action] += 1
    for track, counts in per_track.items():
        if sum(counts.values()) >= 10:
            assert counts.most_common(1)[0][0] in ("walking", "standing"), (track, counts)


def test_people_carry_boxes_keypoints_and_their_window(street_actions):
    message = street_actions[-1]
    assert message.width == 768 and message.height == 576
    for person in message.persons:
        x1, y1, x2, y2 = person.box
        assert 0 <= x1 < x2 <= 768 and 0 <= y1 < y2 <= 576
        assert len(person.keypoints) == 17 and all(len(k) == 3 for k in person.keypoints)
        inside = sum(x1 - 10 <= x <= x2 + 10 and y1 - 10 <= y <= y2 + 10 for x, y, s in person.keypoints if s > 0.3)
        assert inside >= 0.8 * sum(s > 0.3 for _, _, s in person.keypoints)
        t_start, t_end = person.window
        assert t_end == pytest.approx(message.ts_capture)
        assert 0 <= t_end - t_start <= ActionConfig().window.seconds + 1e-6
        assert 0.0 <= person.confidence <= 1.0


def test_crowded_frames_are_looked_at_again_in_tiles(street_video, movenet):
    """Frame 750 holds 8 people by eye; one MoveNet pass returns at most 6."""
    (bgr,) = read_frames(street_video, 750, 1)
    rgb = bgr[:, :, ::-1].copy()
    tiled = movenet.estimate(rgb)
    movenet.tile_when_full = False
    try:
        single_pass = movenet.estimate(rgb)
    finally:
        movenet.tile_when_full = True
    assert len(single_pass) == MAX_PEOPLE_PER_PASS
    assert len(tiled) >= 7


def test_a_crowded_scene_goes_straight_to_the_tiles(street_video, movenet):
    """The camera's last frame was crowded: two tile passes instead of a whole-frame pass
    plus two tiles, and the same people found."""
    first, second = (bgr[:, :, ::-1].copy() for bgr in read_frames(street_video, 750, 2))
    scene = "crowded-street"
    before = movenet.passes
    assert len(movenet.estimate(first, scene=scene)) >= 7
    assert movenet.passes - before == 3
    before = movenet.passes
    again = movenet.estimate(second, scene=scene)
    assert movenet.passes - before == 2
    assert len(again) >= 7
    assert len(movenet.estimate(second)) == len(again), "without a scene: whole frame, then tiles"


def test_the_person_first_route_finds_people_too(street_video):
    """HOG people detector + MediaPipe Pose on each crop: the slower alternative (benchmarks/action.md)."""
    from workers.action.config import PoseConfig
    from workers.action.pose_factory import make_pose_estimator

    (bgr,) = read_frames(street_video, 300, 1)
    estimator = make_pose_estimator(PoseConfig(model="hog-blazepose"), CACHE_ROOT)
    people = estimator.estimate(bgr[:, :, ::-1].copy())
    assert estimator.name == "hog+blazepose"
    assert 4 <= len(people) <= 8, "6 people are in this frame"
    for person in people:
        x1, y1, x2, y2 = person.box
        seen = person.keypoints[person.keypoints[:, 2] > 0.5]
        assert len(seen) >= 5
        assert np.mean((seen[:, 0] > x1 - 20) & (seen[:, 0] < x2 + 20) & (seen[:, 1] > y1 - 20) & (seen[:, 1] < y2 + 20)) > 0.8


def test_a_pose_model_factory_that_cannot_be_used_is_a_typed_error():
    from workers.action.config import PoseConfig
    from workers.action.errors import PoseModelError
    from workers.action.pose_factory import make_pose_estimator

    with pytest.raises(PoseModelError, match="cannot be imported"):
        make_pose_estimator(PoseConfig(model="no_such_module:factory"), CACHE_ROOT)
    with pytest.raises(PoseModelError, match="must take"):
        make_pose_estimator(PoseConfig(model="workers.action.config:PoseConfig"), CACHE_ROOT)
    with pytest.raises(PoseModelError, match="returned slice, which has no estimate"):
        make_pose_estimator(PoseConfig(model="builtins:slice"), CACHE_ROOT)
