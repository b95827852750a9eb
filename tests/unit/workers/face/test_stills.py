"""Still frames (photos of an image folder) through the face stage: each photo is its own
scene, its faces are tracks at once and a name comes from one good sample; a face left
pending says why, in photos and in video."""

from __future__ import annotations

import cv2
import pytest

from tests.unit.workers.face.photo_files import close_up
from tests.unit.workers.face.support import CountingEmbedder, frame_of, read_rgb
from workers.face.config import FaceConfig
from workers.face.errors import GalleryError
from workers.face.gallery_file import FileGallery
from workers.face.worker import FaceStage


@pytest.fixture
def gallery(tmp_path, photo_embedding) -> FileGallery:
    gallery = FileGallery(tmp_path / "gallery.json")
    gallery.add("Barack Obama", photo_embedding("obama"))
    return gallery


@pytest.fixture
def stage(gallery, face_detector, photo_detector, face_embedder) -> FaceStage:
    return FaceStage(FaceConfig(gallery_refresh_s=0), gallery, face_detector, CountingEmbedder(face_embedder),
                     photo_detector)


def test_one_photo_names_an_enrolled_person_and_calls_a_stranger_unknown(samples, stage, gallery):
    obama = gallery.people()[0]
    named, stranger = stage.process([frame_of(read_rgb(samples["obama2"]), "photos", 0, still=True),
                                     frame_of(read_rgb(samples["biden"]), "photos", 1, still=True)])
    (face,) = named.faces
    assert (face.identity.status, face.identity.person_id, face.identity.name) == ("known", obama.person_id, "Barack Obama")
    assert face.identity.distance < 0.45 and face.identity.reason is None
    (other,) = stranger.faces
    assert other.identity.status == "unknown" and other.identity.person_id.startswith("anon-")
    assert face.track_id != other.track_id
    assert stage.embedder.faces == 2, "one embedding per photo"


def test_the_same_photo_twice_is_two_scenes(samples, stage):
    rgb = read_rgb(samples["biden"])
    first, second = stage.process([frame_of(rgb, "photos", 0, still=True), frame_of(rgb, "photos", 1, still=True)])
    assert first.faces[0].track_id != second.faces[0].track_id
    assert first.faces[0].identity.person_id != second.faces[0].identity.person_id, "no identity carried over"


def test_every_face_of_a_group_photo_is_decided_despite_the_batch_budget(samples, stage):
    stage.config.max_embeddings_per_batch = 1
    (message,) = stage.process([frame_of(read_rgb(samples["group3"]), "party", 0, still=True)])
    assert len(message.faces) == 3
    assert {f.identity.status for f in message.faces} == {"unknown"}, "no later frame to wait for"


def test_a_close_up_filling_the_frame_is_named(samples, stage, face_detector):
    rgb = read_rgb(samples["obama2"])
    photo = close_up(rgb, face_detector.detect(rgb).boxes[0], fill=1.5)
    assert photo.shape[:2] == (542, 800) and len(face_detector.detect(photo)) == 0, "full range alone: no face"
    (message,) = stage.process([frame_of(photo, "photos", 0, still=True)])
    assert [f.identity.name for f in message.faces] == ["Barack Obama"]


def test_photos_leave_the_cameras_video_tracks_alone(samples, stage):
    video = read_rgb(samples["obama2"])
    frames = [frame_of(video, "door", seq) for seq in range(3)]
    stage.process(frames[:2])
    stage.process([frame_of(read_rgb(samples["biden"]), "door", 100, still=True)])
    (third,) = stage.process(frames[2:])
    assert len(third.faces) == 1, "the video track kept its two hits and was confirmed on the third"
    assert len(stage.cameras["door"].tracker.tracks) == 1


@pytest.mark.parametrize("spoil, reason", [
    (lambda rgb: cv2.GaussianBlur(rgb, (0, 0), 6), "face is blurred (sharpness"),
    (lambda rgb: cv2.resize(rgb, None, fx=0.08, fy=0.08, interpolation=cv2.INTER_AREA), "px, identity needs 40"),
])
def test_a_poor_photo_is_pending_with_the_reason(samples, stage, spoil, reason):
    (message,) = stage.process([frame_of(spoil(read_rgb(samples["obama2"])), "photos", 0, still=True)])
    (face,) = message.faces
    assert face.identity.status == "pending" and reason in face.identity.reason
    assert stage.embedder.faces == 0


def test_a_video_track_says_what_it_waits_for(samples, stage):
    frames = [frame_of(read_rgb(samples["obama2"]), "door", seq) for seq in range(8)]
    outputs = [stage.process([f])[0] for f in frames]
    reasons = [m.faces[0].identity.reason for m in outputs if m.faces]
    assert reasons[0] == "1 of 2 agreeing samples so far"
    assert outputs[-1].faces[0].identity.status == "known" and outputs[-1].faces[0].identity.reason is None


def test_two_enrolled_lookalikes_leave_the_face_pending_as_ambiguous(samples, stage, gallery, photo_embedding):
    gallery.add("Obama Lookalike", photo_embedding("obama"))
    (message,) = stage.process([frame_of(read_rgb(samples["obama2"]), "photos", 0, still=True)])
    identity = message.faces[0].identity
    assert identity.status == "pending" and identity.reason.startswith("ambiguous: the two closest people are 0.00 apart")


class DownGallery(FileGallery):
    def version(self) -> str:
        raise GalleryError("gallery unreachable (simulated outage)")


def test_without_a_gallery_a_photo_is_pending_not_unknown(samples, tmp_path, face_detector, photo_detector, face_embedder):
    stage = FaceStage(FaceConfig(gallery_refresh_s=0), DownGallery(tmp_path / "g.json"), face_detector, face_embedder,
                      photo_detector)
    (message,) = stage.process([frame_of(read_rgb(samples["biden"]), "photos", 0, still=True)])
    assert (message.faces[0].identity.status, message.faces[0].identity.reason) == ("pending", "no gallery loaded yet")
