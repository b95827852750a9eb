"""Body tracks on GENERATED boxes: stable ids through crossings, gaps and fast steps."""

from __future__ import annotations

import numpy as np

from workers.action.tracker import BodyTracker


def box(cx: float, cy: float, height: float = 100.0) -> list[float]:
    return [cx - height / 4, cy - height / 2, cx + height / 4, cy + height / 2]


def test_two_people_crossing_keep_their_ids():
    tracker = BodyTracker("cam", min_hits=2)
    ids_left, ids_right = set(), set()
    for step in range(21):
        left = box(100 + 10 * step, 200)
        right = box(300 - 10 * step, 205)
        update = tracker.update(np.array([left, right]))
        if step >= 1:
            ids_left.add(update.tracks[0].track_id)
            ids_right.add(update.tracks[1].track_id)
    assert len(ids_left) == 1 and len(ids_right) == 1 and ids_left != ids_right


def test_a_short_gap_keeps_the_id_and_a_long_one_ends_the_track():
    tracker = BodyTracker("cam", min_hits=2, max_misses=3)
    first = [tracker.update(np.array([box(100 + 5 * i, 200)])).tracks[0].track_id for i in range(3)][-1]
    for _ in range(3):
        tracker.update(np.zeros((0, 4)))
    assert tracker.update(np.array([box(130, 200)])).tracks[0].track_id == first
    ended = []
    for _ in range(4):
        ended += tracker.update(np.zeros((0, 4))).ended
    assert [t.track_id for t in ended] == [first]
    assert tracker.update(np.array([box(130, 200)])).tracks[0].track_id != first


def test_a_fast_step_without_overlap_is_joined_by_centre_shift():
    tracker = BodyTracker("cam", min_hits=1, max_shift=0.6)
    a = tracker.update(np.array([box(100, 200, 60)])).tracks[0].track_id
    b = tracker.update(np.array([box(130, 200, 60)])).tracks[0].track_id
    assert a == b, "a step of half a body height at a low frame rate is the same person"
    c = tracker.update(np.array([box(300, 200, 60)])).tracks[0].track_id
    assert c != a, "a jump of three body heights is someone else"


def test_unconfirmed_tracks_die_at_once_and_ids_differ_between_trackers():
    tracker = BodyTracker("cam", min_hits=3)
    one = tracker.update(np.array([box(100, 200)]))
    assert not one.tracks[0].confirmed
    assert [t.track_id for t in tracker.update(np.zeros((0, 4))).ended] == [one.tracks[0].track_id]
    other = BodyTracker("cam", min_hits=3).update(np.array([box(100, 200)])).tracks[0].track_id
    assert other != one.tracks[0].track_id and other.startswith("cam/")
