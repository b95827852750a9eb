"""Both detector ranges merged: one detection per face, the box of the model made for its
size, short-range false alarms kept out; on real photos."""

from __future__ import annotations

import numpy as np

from tests.unit.workers.face.support import read_rgb
from workers.face.detector import FaceBoxes
from workers.face.ranges import merge_ranges


def boxes(*rows: tuple[float, float, float, float, float]) -> FaceBoxes:
    """(x1, y1, x2, y2, score) rows; landmarks mark which row they came from."""
    array = np.asarray(rows, np.float32).reshape(-1, 5)
    marks = np.repeat(array[:, :1, None], 6, axis=1).repeat(2, axis=2)
    return FaceBoxes(array[:, :4], array[:, 4], marks)


def test_the_same_face_once_with_the_box_of_the_model_made_for_its_size():
    far = boxes((100, 100, 400, 400, 0.7), (10, 10, 40, 40, 0.9))
    near = boxes((110, 105, 395, 390, 0.95), (12, 12, 38, 38, 0.6))
    merged = merge_ranges(far, near, short_side=600)
    assert len(merged) == 2
    assert merged.boxes[0].tolist() == [110, 105, 395, 390], "a near face (half the frame): the short-range box"
    assert merged.scores[0] == np.float32(0.95), "the best score either model gave"
    assert merged.boxes[1].tolist() == [10, 10, 40, 40], "a far face: the full-range box"


def test_a_short_range_face_alone_must_be_large_and_confident():
    near = boxes((0, 0, 300, 300, 0.9), (400, 0, 700, 300, 0.7), (0, 500, 40, 540, 0.95))
    merged = merge_ranges(boxes(), near, short_side=600)
    assert merged.boxes.tolist() == [[0, 0, 300, 300]]


def test_duplicate_short_range_boxes_collapse():
    near = boxes((100, 100, 400, 400, 0.9), (90, 90, 420, 430, 0.85))
    assert len(merge_ranges(boxes(), near, short_side=600)) == 1


def test_nothing_found_is_an_empty_result_with_landmark_shape():
    merged = merge_ranges(boxes(), boxes(), short_side=100)
    assert len(merged) == 0 and merged.landmarks.shape == (0, 6, 2)


def test_group_photos_keep_one_detection_per_face(samples, photo_detector, face_detector):
    for name in ("group1", "group3"):
        rgb = read_rgb(samples[name])
        assert len(photo_detector.detect(rgb)) == len(face_detector.detect(rgb)) == 3, name


def test_a_portrait_is_one_face_with_either_range(samples, photo_detector):
    for name in ("obama", "obama2", "biden"):
        assert len(photo_detector.detect(read_rgb(samples[name]))) == 1, name
