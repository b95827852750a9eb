"""Detectors on real photos. Face counts were made by looking at the photos: each of the
three face-api demo photos shows three people with their faces in view (group2: one in
profile, two looking down)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.workers.face.support import read_rgb
from workers.face.detector import HaarFaceDetector, MediaPipeFaceDetector, make_detector
from workers.face.tracker import iou_matrix


@pytest.fixture(scope="module")
def short_range() -> MediaPipeFaceDetector:
    return MediaPipeFaceDetector(full_range=False, min_score=0.5)


@pytest.mark.parametrize("photo", ["group1", "group2", "group3"])
def test_full_range_finds_every_face_of_a_group_photo(samples, face_detector, photo):
    rgb = read_rgb(samples[photo])
    found = face_detector.detect(rgb)
    assert len(found) == 3
    overlaps = iou_matrix(found.boxes, found.boxes)[~np.eye(3, dtype=bool)]
    assert overlaps.max() < 0.05, "two boxes on one face"
    assert found.landmarks.shape == (3, 6, 2)
    assert (found.scores > 0.5).all() and (found.scores <= 1).all()
    centres = np.sort((found.boxes[:, 0] + found.boxes[:, 2]) / 2)
    assert np.diff(centres).min() > rgb.shape[1] / 6, "three people stand side by side"


def test_short_range_misses_faces_full_range_finds(samples, face_detector, short_range):
    """Why full range is the default: short range shrinks the frame to 128 px."""
    rgb = read_rgb(samples["group2"])
    assert len(short_range.detect(rgb)) < len(face_detector.detect(rgb)) == 3


@pytest.mark.parametrize("photo", ["obama", "obama2", "biden"])
def test_a_portrait_has_one_face_with_landmarks_in_place(samples, face_detector, photo):
    found = face_detector.detect(read_rgb(samples[photo]))
    assert len(found) == 1
    (x1, y1, x2, y2), points = found.boxes[0], found.landmarks[0]
    right_eye, left_eye, nose, mouth = points[:4]
    assert x1 < right_eye[0] < left_eye[0] < x2, "the subject's right eye is on the image's left"
    assert y1 < max(right_eye[1], left_eye[1]) < nose[1] < mouth[1] < y2
    assert found.sizes()[0] > 250


def test_haar_baseline_finds_the_same_face(samples, face_detector):
    rgb = read_rgb(samples["obama"])
    haar = HaarFaceDetector().detect(rgb)
    assert len(haar) >= 1 and haar.landmarks.shape == (len(haar), 0, 2)
    assert ((haar.scores > 0) & (haar.scores < 1)).all()
    assert iou_matrix(face_detector.detect(rgb).boxes, haar.boxes).max() > 0.4


def test_a_street_frame_without_people_has_no_faces(samples, face_detector):
    """The bikes clip opens on empty pavement (a cyclist rides in from frame 30)."""
    import cv2

    capture = cv2.VideoCapture(str(samples["bikes"]))
    ok, bgr = capture.read()
    assert ok
    assert len(face_detector.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))) == 0


def test_unknown_detector_kind_is_refused():
    with pytest.raises(ValueError, match="mediapipe-full, mediapipe-short or haar"):
        make_detector("yolo", 0.5)
