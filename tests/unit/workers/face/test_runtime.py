"""The face stage inside the real StageRunner on the in-memory bus: an unreadable JPEG is
dead-lettered with its reason, and the frames around it still become faces."""

from __future__ import annotations

import time

import cv2
import pytest

from schemas import DeadLetterMsg, FacesMsg, FrameMsg, decode, encode
from schemas.topics import ALL_TOPICS, DEADLETTER, FACES, FRAMES
from tests.helpers import drain
from tests.unit.workers.face.support import frame_of
from vidsentry.bus.memory import InMemoryBus
from vidsentry.config import RuntimeConfig
from vidsentry.runtime import StageRunner
from workers.face.config import FaceConfig
from workers.face.gallery_file import FileGallery
from workers.face.worker import FaceStage


@pytest.fixture
def bus():
    bus = InMemoryBus(partitions=1, max_backlog=1000)
    bus.create_topics(ALL_TOPICS)
    yield bus
    bus.close()


def test_an_unreadable_jpeg_goes_to_dead_letter(bus, samples, face_detector, face_embedder, tmp_path):
    capture = cv2.VideoCapture(str(samples["carphone"]))
    frames = [frame_of(cv2.cvtColor(capture.read()[1], cv2.COLOR_BGR2RGB), "car", seq) for seq in range(6)]
    broken = FrameMsg("car", 3, frames[3].ts_capture, 176, 144, b"\xff\xd8\xff\xe0 this is not a JPEG")
    sent = frames[:3] + [broken] + [FrameMsg("car", f.seq + 1, f.ts_capture, f.width, f.height, f.jpeg) for f in frames[3:]]
    publisher = bus.publisher()
    for frame in sent:
        publisher.publish(FRAMES, frame.key, encode(frame))
    publisher.flush(10)

    letters = bus.subscriber("operators", [DEADLETTER])
    sink = bus.subscriber("sink", [FACES])
    stage = FaceStage(FaceConfig(), FileGallery(tmp_path / "gallery.json"), face_detector, face_embedder)
    runner = StageRunner(stage, bus, [FRAMES], RuntimeConfig(batch_size=8, poll_timeout_s=0.1), expect=FrameMsg).start()
    handled, deadline = 0, time.monotonic() + 120
    while handled < len(sent) and time.monotonic() < deadline:
        handled += runner.run_once()
    runner.close()
    assert handled == len(sent)

    (dead,) = drain([letters], 1)
    (letter,) = [decode(r.value) for r in dead]
    assert isinstance(letter, DeadLetterMsg)
    assert letter.error_type == "DecodeError" and letter.stage == "face"
    assert "camera car frame 3" in letter.error and "not a decodable JPEG" in letter.error
    assert decode(letter.original) == broken

    (out,) = drain([sink], 6)
    faces = sorted((decode(r.value) for r in out), key=lambda m: m.seq)
    assert all(isinstance(m, FacesMsg) for m in faces)
    assert [m.seq for m in faces] == [0, 1, 2, 4, 5, 6]
    assert [len(m.faces) for m in faces] == [0, 0, 1, 1, 1, 1]
    assert len({m.faces[0].track_id for m in faces[2:]}) == 1
