"""The action stage inside the real StageRunner on the in-memory bus, on real street frames:
schema-valid ActionsMsgs out, an unreadable JPEG dead-lettered with its reason while the
frames around it go through; per-camera state, retries and revoke; metric labels."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from prometheus_client import REGISTRY

from schemas import ActionsMsg, DeadLetterMsg, FrameMsg, decode, encode
from schemas.topics import ACTIONS, ALL_TOPICS, DEADLETTER, FRAMES
from tests.conftest import CACHE_ROOT
from tests.helpers import drain
from tests.unit.workers.action.conftest import frame_messages, read_frames
from vidsentry.bus.memory import InMemoryBus
from vidsentry.config import Config, RuntimeConfig
from vidsentry.runtime import StageRunner
from workers.action.classifier import make_classifier
from workers.action.config import ActionConfig
from workers.action.errors import DecodeError
from workers.action.worker import ActionStage, build_stage

START = 290


@pytest.fixture(scope="module")
def frames(street_video) -> list[FrameMsg]:
    return frame_messages(read_frames(street_video, START, 8), START)


@pytest.fixture
def bus():
    bus = InMemoryBus(partitions=1, max_backlog=1000)
    bus.create_topics(ALL_TOPICS)
    yield bus
    bus.close()


def stage_with(movenet, max_fps: float | None = None) -> ActionStage:
    """Pose on every frame unless a rate is given (the default rate has its own test)."""
    config = ActionConfig.model_validate({"pose": {"max_fps": max_fps}})
    return ActionStage(config, movenet, make_classifier(config))


def test_frames_become_schema_valid_actions_and_a_broken_jpeg_is_dead_lettered(bus, frames, movenet):
    broken = FrameMsg("street", 999, frames[3].ts_capture + 0.05, 768, 576, b"\xff\xd8\xff\xe0 this is not a JPEG")
    sent = frames[:4] + [broken] + frames[4:]
    publisher = bus.publisher()
    for frame in sent:
        publisher.publish(FRAMES, frame.key, encode(frame))
    publisher.flush(10)

    letters = bus.subscriber("operators", [DEADLETTER])
    sink = bus.subscriber("sink", [ACTIONS])
    runner = StageRunner(stage_with(movenet), bus, [FRAMES], RuntimeConfig(batch_size=4, poll_timeout_s=0.1),
                         expect=FrameMsg).start()
    handled, deadline = 0, time.monotonic() + 120
    while handled < len(sent) and time.monotonic() < deadline:
        handled += runner.run_once()
    runner.close()
    assert handled == len(sent)

    (dead,) = drain([letters], 1)
    (letter,) = [decode(r.value) for r in dead]
    assert isinstance(letter, DeadLetterMsg)
    assert letter.error_type == "DecodeError" and letter.stage == "action"
    assert "camera street frame 999" in letter.error and "not a decodable JPEG" in letter.error
    assert decode(letter.original) == broken

    (out,) = drain([sink], len(frames))
    actions = sorted((decode(r.value) for r in out), key=lambda m: m.seq)
    assert [m.seq for m in actions] == [f.seq for f in frames]
    assert all(isinstance(m, ActionsMsg) and r.key == "street" for m, r in zip(actions, out))
    assert all(decode(encode(m)) == m for m in actions)
    assert sum(len(m.persons) for m in actions[2:]) >= 4 * len(actions[2:]), "about six people are in view"
    assert actions[-1].id == f"street:{frames[-1].seq}:actions"


def test_a_retried_frame_gets_the_same_answer_and_is_not_tracked_twice(frames, movenet):
    stage = stage_with(movenet)
    first = stage.process(frames[:3])
    again = stage.process([frames[2]])
    assert again[0] is first[2]
    track_lengths = {t: len(w) for t, w in stage.cameras["street"].windows.items()}
    assert max(track_lengths.values()) == 3


def test_pose_runs_at_most_max_fps_and_the_frames_between_get_the_last_people(frames, movenet):
    assert ActionConfig().pose.max_fps == 5.0
    def between_passes() -> float:
        return REGISTRY.get_sample_value("vidsentry_action_frames_without_pose_total",
                                         {"camera": "street", "reason": "rate"}) or 0.0

    stage = stage_with(movenet, max_fps=5.0)
    skipped = between_passes()
    out = stage.process(frames)
    assert between_passes() - skipped == len(frames) // 2, "the frames are 0.1 s apart: every other one"
    assert [m.seq for m in out] == [f.seq for f in frames]
    assert out[-2].persons
    for ran, between in zip(out[0::2], out[1::2]):
        assert between.id != ran.id and between.ts_capture > ran.ts_capture
        assert between.persons == ran.persons
    windows = stage.cameras["street"].windows.values()
    assert max(len(w) for w in windows) == len(frames) // 2, "only real passes enter the windows"

    with pytest.raises(DecodeError):
        stage.process([FrameMsg("street", 10_000, frames[-1].ts_capture + 0.1, 768, 576, b"not a JPEG")])


def test_live_frames_that_arrive_too_late_are_answered_without_a_pass(frames, movenet):
    """A worker that fell behind a live camera catches up: frames captured more than
    max_lag_s ago get the last pass's people; fresh ones and files' frames get passes."""
    def without_pose(camera: str, reason: str) -> float:
        return REGISTRY.get_sample_value("vidsentry_action_frames_without_pose_total",
                                         {"camera": camera, "reason": reason}) or 0.0

    now = 1_800_000_000.0
    stale = [replace(f, camera="late", id="", live=True, ts_capture=now - 30 + 0.1 * i) for i, f in enumerate(frames)]
    stage = stage_with(movenet)
    stage.clock = lambda: now
    assert stage.config.pose.max_lag_s == 2.0
    out = stage.process(stale)
    assert without_pose("late", "stale") == len(frames) - 1, "only the first frame (no pass yet) gets one"
    assert all(m.persons == out[0].persons for m in out)

    fresh = [replace(f, camera="on-time", id="", live=True, ts_capture=now + 0.1 * i) for i, f in enumerate(frames)]
    stage.process(fresh)
    assert without_pose("on-time", "stale") == 0

    old_file = [replace(f, camera="file", id="", live=False, ts_capture=now - 30 + 0.1 * i) for i, f in enumerate(frames)]
    stage.process(old_file)
    assert without_pose("file", "stale") == 0, "a file read as fast as possible is never skipped"


def test_revoke_drops_every_cameras_tracks(frames, movenet):
    stage = stage_with(movenet)
    before = stage.process(frames[:3])[-1]
    stage.revoke([("frames", 0)])
    assert stage.cameras == {}
    after = stage.process(frames[3:6])[-1]
    old = {p.track_id.rsplit("/", 1)[0] for p in before.persons}
    new = {p.track_id.rsplit("/", 1)[0] for p in after.persons}
    assert old and new and not old & new, "a new owner's track ids never collide with the old ones"


def test_an_undecodable_frame_raises_a_typed_error(movenet):
    with pytest.raises(DecodeError, match="camera c frame 7: the frame carries no image bytes"):
        stage_with(movenet).process([FrameMsg("c", 7, 1.0, 10, 10, b"")])


def test_metrics_are_labelled_by_camera_and_model_never_by_track(frames, movenet):
    stage_with(movenet).process(frames[:6])
    names = {"vidsentry_action_persons_tracked", "vidsentry_action_pose_seconds", "vidsentry_actions",
             "vidsentry_action_people_found"}
    seen = set()
    for metric in REGISTRY.collect():
        if metric.name in names:
            seen.add(metric.name)
            for sample in metric.samples:
                assert set(sample.labels) <= {"camera", "model", "action", "le"}, sample
    assert seen == names
    assert REGISTRY.get_sample_value("vidsentry_action_persons_tracked", {"camera": "street"}) >= 3
    assert REGISTRY.get_sample_value("vidsentry_action_pose_seconds_count", {"model": "movenet-multipose"}) >= 6


def test_build_stage_loads_the_configured_models(tmp_path):
    stage = build_stage(Config(models={"cache_dir": CACHE_ROOT}), ActionConfig.model_validate({"pose": {"input_long_side": 512}}))
    assert stage.estimator.name == "movenet-multipose" and stage.estimator.input_long_side == 512
    assert stage.classifier.name == "rules"
    from workers.action.errors import ActionModelError

    with pytest.raises(ActionModelError, match="label map"):
        build_stage(Config(models={"cache_dir": CACHE_ROOT}), ActionConfig(model_path=tmp_path / "nothing.keras"))
