"""The face stage end to end on real media: the carphone video, and the portraits and group
photos repeated as the frames of a still camera."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from prometheus_client import REGISTRY

from schemas import FacesMsg, FrameMsg, decode, encode
from tests.unit.workers.face.support import CountingEmbedder, frame_of, read_rgb
from workers.face.config import FaceConfig
from workers.face.errors import DecodeError, GalleryError
from workers.face.gallery_file import FileGallery
from workers.face.worker import FaceStage
from workers.frames import decode_frame


@pytest.fixture
def gallery(tmp_path) -> FileGallery:
    return FileGallery(tmp_path / "gallery.json")


@pytest.fixture
def make_stage(face_detector, face_embedder, gallery):
    def make(**settings) -> FaceStage:
        config = FaceConfig(**{"gallery_refresh_s": 0, **settings})
        return FaceStage(config, gallery, face_detector, CountingEmbedder(face_embedder))

    return make


@pytest.fixture(scope="module")
def carphone_frames(samples) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(samples["carphone"]))
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            return frames
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))


def still(rgb: np.ndarray, camera: str, count: int, start: int = 0) -> list[FrameMsg]:
    frame = frame_of(rgb, camera, 0)
    return [FrameMsg(camera, seq, frame.ts_capture + seq, frame.width, frame.height, frame.jpeg)
            for seq in range(start, start + count)]


def run(stage: FaceStage, frames: list[FrameMsg], batch_size: int = 4) -> list[FacesMsg]:
    out = []
    for i in range(0, len(frames), batch_size):
        out.extend(stage.process(frames[i:i + batch_size]))
    return out


def test_an_enrolled_person_is_named_and_a_stranger_is_unknown(samples, make_stage, gallery, photo_embedding):
    obama = gallery.add("Barack Obama", photo_embedding("obama"))
    stage = make_stage()
    door = still(read_rgb(samples["obama2"]), "door", 8)
    hall = still(read_rgb(samples["biden"]), "hall", 8)
    outputs = run(stage, [f for pair in zip(door, hall) for f in pair])

    assert len(outputs) == 16
    for message in outputs:
        again = decode(encode(message))
        assert isinstance(again, FacesMsg) and again.faces == message.faces
    by_camera = {cam: [m for m in outputs if m.camera == cam] for cam in ("door", "hall")}
    for cam, messages in by_camera.items():
        assert [len(m.faces) for m in messages] == [0, 0] + [1] * 6, cam
        assert len({m.faces[0].track_id for m in messages[2:]}) == 1
        assert messages[2].faces[0].identity.status == "pending", "never decided on one sample"

    named = by_camera["door"][-1].faces[0]
    assert (named.identity.status, named.identity.person_id, named.identity.name) == ("known", obama.person_id,
                                                                                       "Barack Obama")
    assert 0.2 < named.identity.distance < 0.45
    stranger = by_camera["hall"][-1].faces[0]
    assert stranger.identity.status == "unknown" and stranger.identity.name is None
    assert stranger.identity.person_id.startswith("anon-") and stranger.identity.distance > 0.6
    assert {m.faces[0].identity.person_id for m in by_camera["hall"][-3:]} == {stranger.identity.person_id}

    crop = cv2.imdecode(np.frombuffer(named.crop, np.uint8), cv2.IMREAD_COLOR)
    assert crop.shape == (96, 96, 3)
    assert named.quality.size_px > 300 and named.quality.blur > 100
    assert len(named.landmarks) == 6 and 0 < named.score <= 1
    assert all(0 <= v <= lim for v, lim in zip(named.box, (626, 1200, 626, 1200)))


def test_embeddings_per_track_are_bounded_on_the_real_video(carphone_frames, make_stage):
    frames = [frame_of(rgb, "car", seq) for seq, rgb in enumerate(carphone_frames)]
    stage = make_stage(refresh_interval_frames=10, max_embeddings_per_track=3, refresh_quality_gain=1.2)
    outputs = run(stage, frames, batch_size=8)
    track_ids = {face.track_id for m in outputs for face in m.faces}
    assert len(track_ids) == 1
    assert stage.embedder.faces == 3, "the per-track cap holds however many chances there are"

    relaxed = make_stage()
    outputs = run(relaxed, frames, batch_size=8)
    assert 2 <= relaxed.embedder.faces <= 6 and relaxed.embedder.calls == relaxed.embedder.faces
    assert outputs[-1].faces[0].identity.status == "unknown", "empty gallery: decided unknown, never per frame"
    assert REGISTRY.get_sample_value("vidsentry_face_tracks_active", {"camera": "car"}) == 1


@pytest.mark.parametrize("spoil", [
    pytest.param(lambda rgb: cv2.GaussianBlur(rgb, (0, 0), 6), id="blurred"),
    pytest.param(lambda rgb: cv2.resize(rgb, None, fx=0.08, fy=0.08, interpolation=cv2.INTER_AREA), id="tiny"),
])
def test_a_poor_sample_keeps_the_track_pending(samples, make_stage, gallery, photo_embedding, spoil):
    gallery.add("Barack Obama", photo_embedding("obama"))
    stage = make_stage()
    outputs = run(stage, still(spoil(read_rgb(samples["obama2"])), "door", 10))
    faces = [f for m in outputs for f in m.faces]
    assert len(faces) == 8 and {f.identity.status for f in faces} == {"pending"}
    assert stage.embedder.faces == 0


def test_reject_stops_a_live_match_without_embedding_again(samples, make_stage, gallery, photo_embedding):
    gallery.add("Barack Obama", photo_embedding("obama"))
    stage = make_stage()
    frames = still(read_rgb(samples["obama2"]), "door", 10)
    assert run(stage, frames[:7])[-1].faces[0].identity.status == "known"
    embedded = stage.embedder.faces

    gallery.reject("Barack Obama", photo_embedding("obama2"))
    after = run(stage, frames[7:])
    assert {f.identity.status for m in after for f in m.faces} == {"unknown"}
    assert stage.embedder.faces == embedded


def test_a_crowded_frame_spends_the_embedding_budget_on_the_largest_faces_first(samples, make_stage):
    stage = make_stage(track_min_hits=1, max_embeddings_per_batch=1)
    rgb = read_rgb(samples["group3"])
    frames = still(rgb, "party", 8)
    first = stage.process(frames[:1])[0]
    assert len(first.faces) == 3 and stage.embedder.faces == 1
    state = stage.cameras["party"]
    sampled = [f for f in first.faces if state.identities[f.track_id].samples]
    assert len(sampled) == 1 and sampled[0].quality.size_px == max(f.quality.size_px for f in first.faces)
    assert REGISTRY.get_sample_value("vidsentry_face_embeddings_deferred_total", {"camera": "party"}) >= 2

    for frame in frames[1:]:
        before = stage.embedder.faces
        last = stage.process([frame])[0]
        assert stage.embedder.faces - before <= 1
    assert {f.identity.status for f in last.faces} == {"unknown"}


def test_a_crowded_frame_keeps_only_its_largest_faces(samples, make_stage):
    stage = make_stage(track_min_hits=1, max_faces_per_frame=2)
    frames = still(read_rgb(samples["group3"]), "party", 1)
    every = stage.detector.detect(decode_frame(frames[0]))
    (message,) = stage.process(frames)
    kept = sorted(f.quality.size_px for f in message.faces)
    assert len(kept) == 2 and kept == pytest.approx(sorted(every.sizes())[1:], abs=0.1)


def test_an_unreadable_jpeg_is_a_decode_error_and_changes_no_state(carphone_frames, make_stage):
    stage = make_stage()
    good = frame_of(carphone_frames[0], "car", 7)
    bad = FrameMsg("car", 8, good.ts_capture, 176, 144, good.jpeg[:2] + b"\x00" * 64)
    with pytest.raises(DecodeError, match="camera car frame 8") as caught:
        stage.process([good, bad])
    assert (caught.value.camera, caught.value.seq) == ("car", 8)
    assert stage.cameras == {}
    with pytest.raises(DecodeError, match="no image bytes"):
        stage.process([FrameMsg("car", 9, 1.0, 176, 144, b"")])


def test_revoke_drops_the_tracks_and_a_retried_frame_gets_the_same_answer(carphone_frames, make_stage):
    stage = make_stage()
    frames = [frame_of(rgb, "car", seq) for seq, rgb in enumerate(carphone_frames[:8])]
    outputs = stage.process(frames[:6])
    hits = stage.cameras["car"].tracker.tracks[0].hits
    assert stage.process([frames[4]]) == [outputs[4]]
    assert stage.cameras["car"].tracker.tracks[0].hits == hits

    old_id = outputs[-1].faces[0].track_id
    stage.revoke([("frames", 0)])
    assert stage.cameras == {}
    fresh = stage.process(frames[:6])
    assert fresh[-1].faces[0].track_id != old_id


class FlakyGallery(FileGallery):
    """A file gallery that fails like an unreachable Redis while ``down`` is set."""

    down = True

    def version(self) -> str:
        if self.down:
            raise GalleryError("gallery unreachable (simulated outage)")
        return super().version()


def test_an_unreachable_gallery_keeps_tracks_pending_until_it_answers(samples, face_detector, face_embedder, tmp_path,
                                                                      photo_embedding):
    gallery = FlakyGallery(tmp_path / "gallery.json")
    gallery.add("Barack Obama", photo_embedding("obama"))
    stage = FaceStage(FaceConfig(gallery_refresh_s=0), gallery, face_detector, CountingEmbedder(face_embedder))
    frames = still(read_rgb(samples["obama2"]), "door", 10)
    outputs = run(stage, frames[:8])
    assert {f.identity.status for m in outputs for f in m.faces} == {"pending"}, "no 'unknown' for lack of a gallery"
    embedded = stage.embedder.faces
    assert embedded >= 2

    gallery.down = False
    later = run(stage, frames[8:])
    assert later[0].faces[0].identity.name == "Barack Obama"
    assert stage.embedder.faces == embedded, "the kept samples were enough"
