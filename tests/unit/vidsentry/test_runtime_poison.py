"""Poison records: whatever a record holds, the runner processes it or dead-letters it with
a reason, and never raises (issue #14: a null value once stopped a whole pool for good)."""

from __future__ import annotations

import pytest

from schemas import DeadLetterMsg, FacesMsg, FrameMsg, decode, encode
from schemas.topics import DEADLETTER, FACES, FRAMES
from tests.echo_stage import EchoStage
from vidsentry.bus import Record
from vidsentry.bus.memory import InMemoryBus
from vidsentry.config import RuntimeConfig
from vidsentry.runtime import StageRunner

GOOD = encode(FrameMsg("cam", 1, 1.0, 2, 2, b"jpeg"))

POISON_VALUES = {
    "null value (tombstone)": None,
    "empty": b"",
    "text": b"hello",
    "magic only": b"VS",
    "huge garbage": b"\x00" * 3_000_000,
    "wrong type": 12345,
    "truncated message": GOOD[:-3],
}


def runner(stage=None, **config) -> StageRunner:
    return StageRunner(stage or EchoStage(), InMemoryBus(), [FRAMES], RuntimeConfig(**config), expect=FrameMsg)


def record(value, key="cam", offset=7) -> Record:
    return Record(FRAMES, 0, offset, key, value, 0)


@pytest.mark.parametrize("name", POISON_VALUES)
@pytest.mark.reliability(fault='one poison record (null, empty, text, huge, wrong type, truncated) inside a batch of good ones',
                         happened='the poison record is dead-lettered with a reason and its size; the good ones are processed',
                         lost='nothing')
def test_a_poison_record_among_good_ones_is_dead_lettered_and_its_neighbours_go_through(name):
    batch = [record(GOOD, offset=1), record(POISON_VALUES[name], offset=2), record(GOOD, offset=3)]
    outgoing = runner().handle(batch)
    topics = [topic for topic, _, _ in outgoing]
    assert topics.count(FACES) == 2 and topics.count(DEADLETTER) == 1, topics
    (letter,) = [decode(value) for topic, _, value in outgoing if topic == DEADLETTER]
    assert isinstance(letter, DeadLetterMsg)
    assert (letter.topic, letter.partition, letter.offset, letter.stage) == (FRAMES, 0, 2, "echo")
    assert letter.error_type == "SchemaError" and letter.error
    value = POISON_VALUES[name]
    if isinstance(value, bytes):
        assert letter.original_size == len(value)
        assert letter.original == value[:RuntimeConfig().deadletter_original_max_bytes]
    else:
        assert letter.original_size is None and letter.original == b""


def test_a_batch_of_only_null_values_gives_one_letter_each():
    outgoing = runner().handle([record(None, key=None, offset=i) for i in range(4)])
    letters = [decode(value) for topic, _, value in outgoing]
    assert [topic for topic, _, _ in outgoing] == [DEADLETTER] * 4
    assert [letter.offset for letter in letters] == [0, 1, 2, 3]
    assert all(letter.original_key is None for letter in letters)


@pytest.mark.reliability(fault='a record too big to fit the dead-letter topic',
                         happened='its dead letter keeps the first runtime.deadletter_original_max_bytes bytes and the original size',
                         lost="the original's bytes past the limit (the letter says how many there were)")
def test_a_huge_original_is_cut_to_fit_the_deadletter_topic():
    outgoing = runner(deadletter_original_max_bytes=1000).handle([record(b"x" * 2_000_000)])
    ((topic, _, value),) = outgoing
    letter = decode(value)
    assert topic == DEADLETTER and len(value) < 10_000
    assert letter.original == b"x" * 1000 and letter.original_size == 2_000_000


class HugeOutputStage(EchoStage):
    """A stage whose output for camera ``huge`` is bigger than the bus takes."""

    def process(self, batch):
        return [FacesMsg(f.camera, f.seq, f.ts_capture, 2, 2, [], ) if f.camera != "huge" else
                FacesMsg(f.camera, f.seq, f.ts_capture, 2, 2, [], id="x" * 200_000) for f in batch]


@pytest.mark.reliability(fault='a stage output larger than the broker accepts',
                         happened="its input is dead-lettered (MessageTooLarge) instead of the batch being retried forever; the batch's other outputs are published",
                         lost='that one output')
def test_an_output_too_big_for_the_bus_dead_letters_its_input_instead_of_stalling():
    big = encode(FrameMsg("huge", 2, 1.0, 2, 2, b"jpeg"))
    outgoing = runner(HugeOutputStage(), max_message_bytes=65536).handle([record(GOOD, offset=1), record(big, offset=2)])
    assert [topic for topic, _, _ in outgoing] == [FACES, DEADLETTER]
    letter = decode(outgoing[1][2])
    assert letter.error_type == "MessageTooLarge" and letter.offset == 2


@pytest.mark.reliability(fault='a dead letter that cannot itself be built',
                         happened='counted in vidsentry_deadletter_failures_total and logged; the loop goes on',
                         lost='that one record (counted and logged)')
def test_a_letter_that_cannot_be_built_is_counted_and_the_batch_goes_on(monkeypatch):
    from prometheus_client import REGISTRY

    def failures() -> float:
        return REGISTRY.get_sample_value("vidsentry_deadletter_failures_total", {"stage": "echo"}) or 0.0

    before = failures()
    stage_runner = runner()
    monkeypatch.setattr("vidsentry.runtime.encode", lambda message: (_ for _ in ()).throw(ValueError("broken codec")))
    outgoing = stage_runner.handle([record(None)])
    assert outgoing == [] and failures() == before + 1


def test_the_loop_survives_poison_on_the_memory_bus_and_commits_past_it():
    bus = InMemoryBus(max_backlog=100)
    sink = bus.subscriber("sink", [FACES, DEADLETTER])
    stage_runner = StageRunner(EchoStage(), bus, [FRAMES], RuntimeConfig(poll_timeout_s=0.05), expect=FrameMsg).start()
    publisher = bus.publisher()
    for value in [GOOD, None, b"", GOOD]:
        publisher.publish(FRAMES, "cam", value)
    assert stage_runner.run_once() == 4
    out = sink.poll(10, 0.1)
    assert sorted(r.topic for r in out) == [DEADLETTER, DEADLETTER, FACES, FACES]
    assert bus.subscriber("echo", [FRAMES]).poll(10, 0.05) == [], "the batch was committed"
