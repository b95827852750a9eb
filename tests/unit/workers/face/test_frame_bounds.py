"""The face stage inside the real StageRunner: a frame above ``face.max_frame_pixels``
(a generated 12000x12000 JPEG) is dead-lettered with the reason, and its neighbours still
become faces."""

from __future__ import annotations

import time

import cv2
import pytest

from schemas import DeadLetterMsg, FacesMsg, FrameMsg, decode, encode
from schemas.topics import ALL_TOPICS, DEADLETTER, FACES, FRAMES
from tests.big_images import huge_jpeg
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


@pytest.mark.reliability(fault='a 12000x12000 frame on `frames` from another producer (generated)',
                         happened='its size is read from the JPEG header and it is dead-lettered before decoding; its neighbours are processed',
                         lost='that frame (dead-lettered)')
def test_a_huge_frame_is_dead_lettered_before_decoding_and_the_rest_go_on(bus, samples, face_detector, face_embedder,
                                                                           tmp_path):
    capture = cv2.VideoCapture(str(samples["carphone"]))
    good = [frame_of(cv2.cvtColor(capture.read()[1], cv2.COLOR_BGR2RGB), "car", seq) for seq in range(4)]
    huge = FrameMsg("car", 2, good[2].ts_capture, 176, 144, huge_jpeg())
    sent = good[:2] + [huge] + [FrameMsg("car", f.seq + 1, f.ts_capture, f.width, f.height, f.jpeg) for f in good[2:]]
    publisher = bus.publisher()
    for frame in sent:
        publisher.publish(FRAMES, frame.key, encode(frame))
    publisher.flush(10)

    letters = bus.subscriber("operators", [DEADLETTER])
    sink = bus.subscriber("sink", [FACES])
    stage = FaceStage(FaceConfig(), FileGallery(tmp_path / "gallery.json"), face_detector, face_embedder)
    runner = StageRunner(stage, bus, [FRAMES], RuntimeConfig(batch_size=8, poll_timeout_s=0.1), expect=FrameMsg).start()
    handled, deadline = 0, time.monotonic() + 60
    while handled < len(sent) and time.monotonic() < deadline:
        handled += runner.run_once()
    runner.close()
    assert handled == len(sent)

    (dead,) = drain([letters], 1)
    (letter,) = [decode(r.value) for r in dead]
    assert isinstance(letter, DeadLetterMsg) and letter.error_type == "DecodeError"
    assert "camera car frame 2: the frame is 12000x12000 (144.0 MP), above the limit" in letter.error
    (out,) = drain([sink], 4)
    faces = sorted((decode(r.value) for r in out), key=lambda m: m.seq)
    assert all(isinstance(m, FacesMsg) for m in faces) and [m.seq for m in faces] == [0, 1, 3, 4]
