"""LazyStage: the stage is built once, on whichever thread asks first; a failed build is
reported with the stage's name and the cause, every time it is asked for again."""

from __future__ import annotations

import threading

import pytest

from vidsentry.lazy_stage import LazyStage, StageLoadError


class Doubler:
    name = "doubler"

    def __init__(self) -> None:
        self.revoked: list[tuple[str, int]] = []

    def process(self, batch: list[int]) -> list[int]:
        return [2 * x for x in batch]

    def revoke(self, partitions: list[tuple[str, int]]) -> None:
        self.revoked.extend(partitions)


def test_built_once_however_many_threads_ask():
    builds: list[Doubler] = []
    entered, release = threading.Event(), threading.Event()

    def build() -> Doubler:
        entered.set()
        release.wait(60)
        builds.append(Doubler())
        return builds[-1]

    lazy = LazyStage("doubler", build)
    first = threading.Thread(target=lazy.load)
    first.start()
    assert entered.wait(60)
    second_result: list[list[int]] = []
    second = threading.Thread(target=lambda: second_result.append(lazy.process([1, 2])))
    second.start()  # waits for the build in hand instead of starting another
    release.set()
    first.join(60)
    second.join(60)
    assert len(builds) == 1 and lazy.loaded and lazy.stage is builds[0]
    assert second_result == [[2, 4]] and lazy.load_s is not None
    lazy.revoke([("frames", 0)])
    assert builds[0].revoked == [("frames", 0)]


def test_nothing_is_built_until_asked_and_revoke_before_that_is_harmless():
    lazy = LazyStage("doubler", Doubler)
    lazy.revoke([("frames", 0)])
    assert not lazy.loaded and lazy.load_s is None


def test_a_failed_build_names_the_stage_and_its_cause_and_is_not_retried():
    calls = []

    def build() -> Doubler:
        calls.append(1)
        raise FileNotFoundError("movenet.bin: no such file")

    lazy = LazyStage("action", build)
    for _ in range(2):
        with pytest.raises(StageLoadError) as raised:
            lazy.load()
        assert str(raised.value) == "stage action: its models failed to load: FileNotFoundError: movenet.bin: no such file"
    assert len(calls) == 1 and not lazy.loaded
    with pytest.raises(StageLoadError):
        lazy.process([1])
