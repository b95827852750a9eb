"""Sample quality and the aligned crop, on real photos (made small, blurred, cut or
rotated with OpenCV where a test needs a poor sample)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.unit.workers.face.support import read_rgb
from workers.face.align import EYE_DISTANCE, EYE_Y, aligned_crop, alignment_matrix, encode_crop
from workers.face.config import FaceConfig
from workers.face.quality import assess

CONFIG = FaceConfig()


def judge(detector, rgb):
    found = detector.detect(rgb)
    assert len(found) >= 1
    i = int(np.argmax(found.sizes()))
    crop = aligned_crop(rgb, found.boxes[i], found.landmarks[i], CONFIG.crop_size)
    return assess(found.boxes[i], float(found.scores[i]), found.landmarks[i], crop, rgb.shape[1], rgb.shape[0], CONFIG)


def test_a_sharp_frontal_portrait_is_a_good_sample(samples, face_detector):
    quality = judge(face_detector, read_rgb(samples["obama2"]))
    assert quality.good, quality.problem
    assert quality.size_px > 300 and quality.blur > 10 * CONFIG.min_sharpness


@pytest.mark.parametrize("spoil, problem", [
    (lambda rgb: cv2.resize(rgb, None, fx=0.08, fy=0.08, interpolation=cv2.INTER_AREA), "px, identity needs"),
    (lambda rgb: cv2.GaussianBlur(rgb, (0, 0), 6), "blurred"),
    (lambda rgb: rgb[:, 280:].copy(), "clipped"),  # an eye outside the frame
])
def test_poor_samples_are_named_as_such(samples, face_detector, spoil, problem):
    quality = judge(face_detector, spoil(read_rgb(samples["obama2"])))
    assert not quality.good and problem in quality.problem


def test_a_face_in_profile_is_not_a_sample(samples, face_detector):
    rgb = read_rgb(samples["group2"])
    found = face_detector.detect(rgb)
    problems = []
    for i in range(len(found)):
        crop = aligned_crop(rgb, found.boxes[i], found.landmarks[i], 96)
        problems.append(assess(found.boxes[i], float(found.scores[i]), found.landmarks[i], crop, rgb.shape[1],
                               rgb.shape[0], CONFIG).problem)
    assert sum(1 for p in problems if p and "turned away" in p) == 1, problems


def test_a_low_detection_confidence_is_not_a_sample(samples, face_detector):
    rgb = read_rgb(samples["obama2"])
    found = face_detector.detect(rgb)
    crop = aligned_crop(rgb, found.boxes[0], found.landmarks[0], 96)
    strict = FaceConfig(min_identity_score=0.99)
    quality = assess(found.boxes[0], float(found.scores[0]), found.landmarks[0], crop, rgb.shape[1], rgb.shape[0], strict)
    assert "confidence" in quality.problem


def test_the_crop_puts_the_eyes_level_at_a_fixed_place():
    landmarks = np.array([[100.0, 120.0], [160.0, 90.0]])
    matrix = alignment_matrix(np.array([80, 60, 200, 200]), landmarks, 96)
    mapped = np.hstack([landmarks, np.ones((2, 1))]) @ matrix.T
    assert mapped[0, 1] == pytest.approx(mapped[1, 1]) == pytest.approx(EYE_Y * 96)
    assert mapped[1, 0] - mapped[0, 0] == pytest.approx(EYE_DISTANCE * 96)


def test_a_tilted_head_comes_out_upright(samples, face_detector):
    rgb = read_rgb(samples["obama2"])
    height, width = rgb.shape[:2]
    tilted = cv2.warpAffine(rgb, cv2.getRotationMatrix2D((width / 2, height / 2), 25, 1.0), (width, height),
                            borderMode=cv2.BORDER_REPLICATE)
    found = face_detector.detect(tilted)
    before = found.landmarks[0][:2]
    assert abs(before[0, 1] - before[1, 1]) > 30, "the eyes are far from level before alignment"
    crop = aligned_crop(tilted, found.boxes[0], found.landmarks[0], 192)
    again = face_detector.detect(crop)
    assert len(again) == 1
    right_eye, left_eye = again.landmarks[0][:2]
    assert abs(right_eye[1] - left_eye[1]) < 4
    decoded = cv2.imdecode(np.frombuffer(encode_crop(crop[::2, ::2].copy(), 90), np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (96, 96, 3)
