"""The stage runtime on both buses: decode → process → publish → commit, dead letters."""

from __future__ import annotations

import time

import pytest

from schemas import DeadLetterMsg, FacesMsg, FrameMsg, decode, encode
from schemas.topics import ALL_TOPICS, DEADLETTER, FACES, FRAMES
from tests.echo_stage import EchoStage
from tests.helpers import drain, wait_until
from vidsentry.config import RuntimeConfig
from vidsentry.runtime import StageRunner

pytestmark = pytest.mark.integration

CONFIG = RuntimeConfig(batch_size=8, poll_timeout_s=0.2, publish_timeout_s=10)


def frame(seq: int, camera: str = "cam-1") -> FrameMsg:
    return FrameMsg(camera, seq, 1700000000.0 + seq / 10, 4, 4, b"\xff\xd8 synthetic jpeg bytes")


def publish(bus, messages) -> None:
    pub = bus.publisher()
    for m in messages:
        pub.publish(FRAMES, m.key if hasattr(m, "key") else "cam-1", m if isinstance(m, bytes) else encode(m))
    pub.flush(30)
    pub.close()


def run_until(runner: StageRunner, handled: int, timeout_s: float = 60) -> None:
    done, deadline = 0, time.monotonic() + timeout_s
    while done < handled and time.monotonic() < deadline:
        done += runner.run_once()
    assert done >= handled, f"handled {done} of {handled}"


@pytest.fixture
def bus(make_bus):
    bus = make_bus()
    bus.create_topics(ALL_TOPICS)
    return bus


def test_frames_become_faces_and_are_committed(bus):
    sink = bus.subscriber("sink", [FACES])
    runner = StageRunner(EchoStage(), bus, [FRAMES], CONFIG, expect=FrameMsg).start()
    publish(bus, [frame(i, f"cam-{i % 3}") for i in range(30)])
    run_until(runner, 30)
    runner.close()
    (out,) = drain([sink], 30)
    faces = [decode(r.value) for r in out]
    assert all(isinstance(f, FacesMsg) for f in faces)
    assert sorted(f.seq for f in faces) == list(range(30))
    assert all(r.key == f.camera for r, f in zip(out, faces))

    again = StageRunner(EchoStage(), bus, [FRAMES], CONFIG, expect=FrameMsg).start()
    handled = []
    assert wait_until(lambda: again._subscriber.assignment(), poll=lambda: handled.append(again.run_once())), \
        "the second runner never got the partitions"
    handled += [again.run_once() for _ in range(10)]
    assert sum(handled) == 0, "committed input was delivered again"
    again.close()


@pytest.mark.reliability(fault='garbage and wrong-version messages on both buses',
                         happened='dead-lettered with the reason; the rest goes through',
                         lost='nothing')
def test_bad_messages_are_dead_lettered_with_the_reason_and_the_rest_goes_through(bus):
    letters = bus.subscriber("operators", [DEADLETTER])
    sink = bus.subscriber("sink", [FACES])
    runner = StageRunner(EchoStage(), bus, [FRAMES], CONFIG, expect=FrameMsg).start()
    wrong_kind = encode(FacesMsg("cam-1", 99, 1.0, 4, 4, []))
    publish(bus, [frame(0), b"\x00\x01 not a message", frame(1), wrong_kind, frame(2, "poison"), frame(3)])
    run_until(runner, 6)
    runner.close()

    (out,) = drain([sink], 3)
    assert sorted(decode(r.value).seq for r in out) == [0, 1, 3]
    (dead,) = drain([letters], 3)
    letters_by_error = {decode(r.value).error_type: decode(r.value) for r in dead}
    assert set(letters_by_error) == {"SchemaError", "ValueError"}
    assert len(dead) == 3
    garbage = next(d for d in map(lambda r: decode(r.value), dead) if d.original == b"\x00\x01 not a message")
    assert isinstance(garbage, DeadLetterMsg)
    assert garbage.stage == "echo" and garbage.topic == FRAMES and garbage.offset >= 0
    assert "not a vidsentry message" in garbage.error
    assert "expected a frame message, got faces" in " ".join(d.error for d in map(lambda r: decode(r.value), dead))
    assert letters_by_error["ValueError"].error == "cannot handle frame poison:2:frame"
    assert decode(letters_by_error["ValueError"].original) == frame(2, "poison")


class CrashingStage(EchoStage):
    """Dies (as a killed process would) on the first batch, before anything is published."""

    def process(self, batch):
        raise SystemExit("process died")


@pytest.mark.reliability(fault='a worker crash before commit',
                         happened='the batch is redelivered to the next member',
                         lost='nothing')
def test_a_crash_before_commit_redelivers_the_batch(bus):
    sink = bus.subscriber("sink", [FACES])
    publish(bus, [frame(i) for i in range(5)])
    crashing = StageRunner(CrashingStage(), bus, [FRAMES], CONFIG, group="echo", expect=FrameMsg)
    with pytest.raises(SystemExit):
        crashing.run()
    healthy = StageRunner(EchoStage(), bus, [FRAMES], CONFIG, group="echo", expect=FrameMsg).start()
    run_until(healthy, 5)
    healthy.close()
    (out,) = drain([sink], 5)
    assert sorted(decode(r.value).seq for r in out) == list(range(5))


def test_stop_event_ends_run_after_the_batch_in_hand(bus):
    publish(bus, [frame(i) for i in range(3)])
    runner = StageRunner(EchoStage(), bus, [FRAMES], CONFIG, expect=FrameMsg)
    original = runner.run_once

    def once_then_stop() -> int:
        handled = original()
        if handled:
            runner.stop_event.set()
        return handled

    runner.run_once = once_then_stop
    runner.run()
    assert runner.batches_done == 1
    assert runner.healthy()["ok"] is False
