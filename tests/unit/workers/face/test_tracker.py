"""Face tracks: hysteresis and association on generated boxes, stable ids on the real video."""

from __future__ import annotations

import cv2
import numpy as np

from workers.face.tracker import FaceTracker


def box(x: float, y: float, size: float = 50.0) -> list[float]:
    return [x, y, x + size, y + size]


def test_a_face_becomes_a_track_after_min_hits_and_ends_after_max_misses():
    tracker = FaceTracker("cam", min_hits=3, max_misses=2)
    seen = [(t.track_id, t.confirmed) for t in (tracker.update(np.array([box(100 + i, 100)])).tracks[0] for i in range(3))]
    assert [confirmed for _, confirmed in seen] == [False, False, True]
    assert len({track_id for track_id, _ in seen}) == 1
    for _ in range(2):
        update = tracker.update(np.zeros((0, 4)))
        assert update.ended == [] and tracker.confirmed
    update = tracker.update(np.zeros((0, 4)))
    assert [t.track_id for t in update.ended] == [seen[0][0]] and tracker.tracks == []


def test_a_one_frame_flicker_never_becomes_a_track():
    tracker = FaceTracker("cam", min_hits=3, max_misses=5)
    tracker.update(np.array([box(10, 10)]))
    tracker.update(np.array([box(11, 10)]))
    update = tracker.update(np.zeros((0, 4)))
    assert len(update.ended) == 1 and tracker.tracks == []


def test_a_confirmed_track_survives_a_gap_and_keeps_its_id():
    tracker = FaceTracker("cam", min_hits=2, max_misses=3)
    first = [tracker.update(np.array([box(100 + 5 * i, 100)])).tracks[0] for i in range(4)]
    tracker.update(np.zeros((0, 4)))
    tracker.update(np.zeros((0, 4)))
    again = tracker.update(np.array([box(100 + 5 * 6, 100)])).tracks[0]
    assert again.track_id == first[0].track_id and again.confirmed


def test_two_faces_passing_each_other_keep_their_ids():
    tracker = FaceTracker("cam", min_hits=1, max_misses=2)
    ids = None
    for step in range(12):
        left, right = box(100 + 12 * step, 100), box(300 - 12 * step, 104)
        tracks = tracker.update(np.array([left, right])).tracks
        if ids is None:
            ids = [t.track_id for t in tracks]
        assert [t.track_id for t in tracks] == ids, f"swapped at step {step}"


def test_a_fast_face_that_barely_overlaps_joins_by_motion():
    """At a low frame rate a face can move most of its width between frames."""

    def run(max_shift: float) -> list[str]:
        tracker = FaceTracker("cam", min_hits=1, max_misses=2, min_iou=0.2, max_shift=max_shift)
        return [tracker.update(np.array([b])).tracks[0].track_id for b in (box(0, 0), box(25, 0), box(85, 0))]

    joined = run(1.0)
    assert joined[0] == joined[1] == joined[2]
    split = run(0.1)
    assert split[0] == split[1] != split[2], "the last step overlaps too little to join on overlap alone"


def test_a_face_far_away_is_a_new_track():
    tracker = FaceTracker("cam", min_hits=1)
    first = tracker.update(np.array([box(0, 0)])).tracks[0]
    update = tracker.update(np.array([box(0, 0), box(400, 0)]))
    assert update.tracks[0].track_id == first.track_id != update.tracks[1].track_id


def test_track_ids_name_the_camera_and_never_repeat_across_trackers():
    a = FaceTracker("gate", min_hits=1).update(np.array([box(0, 0)])).tracks[0].track_id
    b = FaceTracker("gate", min_hits=1).update(np.array([box(0, 0)])).tracks[0].track_id
    assert a.startswith("gate/") and b.startswith("gate/") and a != b


def test_the_man_in_the_car_keeps_one_track_on_the_real_video(samples, face_detector):
    tracker = FaceTracker("car", min_hits=3, max_misses=10)
    capture = cv2.VideoCapture(str(samples["carphone"]))
    ids = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        found = face_detector.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        tracks = tracker.update(found.boxes).tracks
        ids.append([t.track_id for t in tracks if t.confirmed])
    assert len(ids) == 120
    assert ids[0] == ids[1] == [], "not confirmed before its third detection"
    assert all(len(frame_ids) == 1 for frame_ids in ids[2:]), "one face, in view the whole clip"
    assert len({frame_ids[0] for frame_ids in ids[2:]}) == 1
