"""Enrolment on real photos: every format, a close-up filling the frame, and one quality
policy shared with the live stage (a photo enrolment refuses is pending live for the same
reason; one it accepts is named live)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from schemas import FrameMsg
from tests.unit.workers.face.photo_files import close_up, close_up_file, converted
from tests.unit.workers.face.support import jpeg_of, read_rgb
from workers.face.config import FaceConfig
from workers.face.enrol import Enroller
from workers.face.errors import NoFaceError, PoorFaceError
from workers.face.evaluate import reason_kind
from workers.face.gallery_file import FileGallery
from workers.face.worker import FaceStage

CONFIG = FaceConfig()


@pytest.fixture(scope="module")
def enroller(photo_detector, face_embedder) -> Enroller:
    return Enroller(photo_detector, face_embedder, CONFIG)


@pytest.mark.parametrize("suffix", ["gif", "png", "webp", "bmp"])
def test_every_format_enrols_the_same_face(samples, tmp_path, enroller, suffix):
    reference = enroller.embedding(samples["obama"])
    embedding = enroller.embedding(converted(samples["obama"], suffix, tmp_path))
    assert np.linalg.norm(embedding - reference) < 0.1


def test_a_close_up_filling_the_frame_is_enrolled_and_matches_another_photo(samples, tmp_path, enroller, face_detector,
                                                                            photo_embedding):
    photo = close_up_file(samples["obama"], face_detector, tmp_path, fill=1.35)
    rgb = read_rgb(photo)
    assert rgb.shape[:2] == (542, 800)
    assert len(face_detector.detect(rgb)) == 0, "the full-range model alone (the enrolment detector before) sees no face"
    embedding = enroller.embedding(photo)
    assert np.linalg.norm(embedding - photo_embedding("obama2")) < CONFIG.match_threshold
    assert np.linalg.norm(embedding - photo_embedding("biden")) > 0.7


def test_a_face_filling_a_small_picture_is_found(samples, enroller, face_detector, tmp_path):
    """Like the AT&T faces: a 92x112 picture that is all face, with no room around it."""
    rgb = read_rgb(samples["obama2"])
    (box,) = face_detector.detect(rgb).boxes
    small = cv2.resize(close_up(rgb, box, fill=1.0, size=(460, 560)), (92, 112), interpolation=cv2.INTER_AREA)
    path = tmp_path / "small.pgm"
    assert cv2.imwrite(str(path), cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
    assert enroller.embedding(path).shape == (128,)


def test_no_face_and_several_faces_are_refused(samples, enroller, tmp_path):
    ok, street = cv2.VideoCapture(str(samples["bikes"])).read()
    assert ok
    cv2.imwrite(str(tmp_path / "street.jpg"), street)
    with pytest.raises(NoFaceError):
        enroller.embedding(tmp_path / "street.jpg")
    with pytest.raises(Exception, match="3 faces found"):
        enroller.embedding(samples["group3"])


def spoiled(samples, name: str) -> np.ndarray:
    rgb = read_rgb(samples[name])
    return {"blurred": lambda: cv2.GaussianBlur(rgb, (0, 0), 6),
            "small": lambda: cv2.resize(rgb, None, fx=0.08, fy=0.08, interpolation=cv2.INTER_AREA),
            "cut": lambda: rgb[:, 280:].copy()}


@pytest.mark.parametrize("spoil", ["blurred", "small", "cut"])
def test_a_photo_enrolment_refuses_is_pending_live_for_the_same_reason(samples, tmp_path, enroller, photo_detector,
                                                                      face_embedder, photo_embedding, spoil):
    rgb = spoiled(samples, "obama2")[spoil]()
    path = tmp_path / f"{spoil}.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    with pytest.raises(PoorFaceError) as refused:
        enroller.embedding(path)
    gallery = FileGallery(tmp_path / "gallery.json")
    gallery.add("Barack Obama", photo_embedding("obama"))
    stage = FaceStage(FaceConfig(gallery_refresh_s=0), gallery, photo_detector, face_embedder)
    height, width = rgb.shape[:2]
    (message,) = stage.process([FrameMsg("door", 0, 1.0, width, height, jpeg_of(rgb, 95), still=True)])
    (face,) = message.faces
    assert face.identity.status == "pending"
    enrolment_reason = refused.value.reason.split(";")[0]
    assert reason_kind(face.identity.reason) == reason_kind(enrolment_reason), "the same check (JPEG may move a number)"


def test_a_close_up_enrolment_used_to_refuse_is_named_live(samples, tmp_path, enroller, photo_detector, face_embedder,
                                                          face_detector):
    """Filled 1.1 times, the full-range model scores the face 0.66 (enrolment refused it below 0.7)."""
    rgb = read_rgb(samples["obama"])
    photo = close_up(rgb, face_detector.detect(rgb).boxes[0], fill=1.1)
    far = face_detector.detect(photo)
    assert len(far) == 1 and far.scores[0] < 0.7
    gallery = FileGallery(tmp_path / "gallery.json")
    path = tmp_path / "close-up.png"
    cv2.imwrite(str(path), cv2.cvtColor(photo, cv2.COLOR_RGB2BGR))
    obama = gallery.add("Barack Obama", enroller.embedding(path))
    stage = FaceStage(FaceConfig(gallery_refresh_s=0), gallery, photo_detector, face_embedder)
    probe = read_rgb(samples["obama2"])
    (message,) = stage.process([FrameMsg("door", 0, 1.0, probe.shape[1], probe.shape[0], jpeg_of(probe), still=True)])
    assert [(f.identity.status, f.identity.person_id) for f in message.faces] == [("known", obama.person_id)]

