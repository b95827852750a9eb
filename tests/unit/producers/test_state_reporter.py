"""The producer's camera state report, one refresh at a time (no thread, no clock): every camera state
has a state the console knows, the beat grows, and a store that fails is logged once and retried."""

from __future__ import annotations

import logging

import pytest

from producers.camera import CameraState, CameraStatus
from producers.state_reporter import PUBLIC_STATE, StateReporter
from vidsentry.camera_state import ENDED_TTL_S, STATES, TTL_S, CameraStateError, CameraStateRecord


class Store:
    """A CameraStateWriter that keeps what it is given and fails while told to."""

    def __init__(self) -> None:
        self.writes: list[tuple[list[CameraStateRecord], float]] = []
        self.down = False

    def write(self, records: list[CameraStateRecord], ttl_s: float) -> None:
        if self.down:
            raise CameraStateError("Error 111 connecting to redis://:***@cache:6379")
        self.writes.append((records, ttl_s))


def camera(state: CameraState, **fields) -> dict:
    status = CameraStatus(state=state, captured=10, published=8, fps=4.0, **fields).as_dict()
    return {**status, "dropped": 2}


def test_every_camera_state_has_a_public_one():
    assert {s.value for s in CameraState} == set(PUBLIC_STATE) and set(PUBLIC_STATE.values()) <= set(STATES)
    with pytest.raises(ValueError, match="not one of"):
        CameraStateRecord("door", "on fire", 1.0, 0, 0, 0, 0, None, 1)


def test_a_failing_store_is_logged_once_and_the_next_refresh_goes_through(caplog):
    cameras = {"door": camera(CameraState.RECONNECTING, reconnects=3, error="camera door: refused (rtsp://u:***@cam/x)"),
               "clip": camera(CameraState.FINISHED)}
    store = Store()
    reporter = StateReporter(lambda: cameras, store)
    assert reporter.report()
    [(records, ttl)] = store.writes
    assert ttl == TTL_S and [(r.camera, r.state, r.dropped, r.reconnects, r.beat) for r in records] == [
        ("clip", "ended", 2, 0, 1), ("door", "reconnecting", 2, 3, 1)]
    store.down = True
    with caplog.at_level(logging.WARNING):
        assert not reporter.report() and not reporter.report()
    assert caplog.text.count("camera state not published") == 1, "one warning per outage, not one a second"
    store.down = False
    assert reporter.report() and store.writes[-1][0][0].beat == 4 and reporter.failing is None
    reporter.report(final=True)
    assert [(r.camera, ttl) for records, ttl in store.writes[-2:] for r in records] == [("door", TTL_S), ("clip", ENDED_TTL_S)], \
        "the last report keeps an ended camera's record for an hour"
