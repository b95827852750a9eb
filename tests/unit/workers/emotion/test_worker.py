"""The emotion stage: real face crops in, schema-valid emotions out; bad crops skipped and counted."""

from __future__ import annotations

import logging
import time

import cv2
import numpy as np
import pytest
from prometheus_client import REGISTRY

from schemas import EmotionsMsg, FacesMsg, decode, encode
from schemas.topics import ALL_TOPICS, DEADLETTER, EMOTIONS, FACES
from tests.unit.workers.emotion.conftest import faces_msg
from vidsentry.bus.memory import InMemoryBus
from vidsentry.config import Config, RuntimeConfig
from vidsentry.runtime import StageRunner
from workers.emotion.config import EmotionConfig
from workers.emotion.worker import EmotionStage, build_stage

GARBAGE = b"\x00\x01\x02 not an image"
TINY = cv2.imencode(".jpg", np.full((10, 10), 128, np.uint8))[1].tobytes()


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


class CountingModel:
    """Wraps a real model and records the size of every call."""

    def __init__(self, model) -> None:
        self.model = model
        self.name, self.labels, self.input_spec = model.name, model.labels, model.input_spec
        self.calls: list[int] = []

    def predict(self, crops: np.ndarray) -> np.ndarray:
        self.calls.append(len(crops))
        return self.model.predict(crops)


def test_faces_become_emotions_and_bad_crops_are_skipped_and_counted(tflite_model, carphone_jpegs, carphone_faces,
                                                                   carphone_boxes, caplog):
    stage = EmotionStage(tflite_model, min_face_px=24)
    default_box = [10.0, 10.0, 70.0, 70.0]
    far_away = [100.0, 40.0, 112.0, 52.0]
    message = faces_msg([carphone_jpegs[0], None, GARBAGE, TINY, carphone_jpegs[60], carphone_jpegs[1]],
                        camera="cam-bad", person=lambda i: "p-7" if i == 4 else None,
                        boxes=[carphone_boxes[0], default_box, default_box, default_box, carphone_boxes[60], far_away])
    before = {reason: metric("vidsentry_emotion_bad_crops_total", camera="cam-bad", reason=reason)
              for reason in ("missing", "undecodable", "too_small")}
    classified = metric("vidsentry_emotion_faces_classified_total", camera="cam-bad", model=tflite_model.name)

    with caplog.at_level(logging.DEBUG, logger="workers.emotion.worker"):
        (out,) = stage.process([message])

    assert isinstance(out, EmotionsMsg)
    assert (out.camera, out.seq, out.ts_capture, out.id) == ("cam-bad", 0, message.ts_capture, "cam-bad:0:emotions")
    assert out.labels == list(tflite_model.labels)
    assert [f.track_id for f in out.faces] == ["cam-bad-t0", "cam-bad-t4"]
    assert [f.person_id for f in out.faces] == [None, "p-7"]
    for face, index in zip(out.faces, (0, 60)):
        assert abs(sum(face.probs) - 1.0) < 1e-9 and all(0.0 <= p <= 1.0 for p in face.probs)
        assert face.label == out.labels[int(np.argmax(face.probs))]
        x1, y1, x2, y2 = carphone_boxes[index]
        assert face.quality.size_px == pytest.approx(min(x2 - x1, y2 - y1, *carphone_faces[index].shape))
        assert face.quality.blur > 0
    for reason, gained in {"missing": 1, "undecodable": 1, "too_small": 2}.items():
        assert metric("vidsentry_emotion_bad_crops_total", camera="cam-bad", reason=reason) == before[reason] + gained
    assert metric("vidsentry_emotion_faces_classified_total", camera="cam-bad", model=tflite_model.name) == classified + 2
    skipped = [r.getMessage() for r in caplog.records if "skipping face" in r.getMessage()]
    assert len(skipped) == 4
    assert any("cam-bad-t5" in s and "the face is 12 px in its frame" in s for s in skipped)

    decoded = decode(encode(out), EmotionsMsg)
    assert decoded == out


def test_a_message_whose_crops_are_all_bad_still_gets_an_empty_emotions_message(tflite_model):
    model = CountingModel(tflite_model)
    (out,) = EmotionStage(model).process([faces_msg([None, GARBAGE, TINY], seq=5)])
    assert out.faces == [] and out.seq == 5
    assert model.calls == []
    decode(encode(out), EmotionsMsg)


def test_a_message_without_faces(tflite_model):
    (out,) = EmotionStage(tflite_model).process([faces_msg([], seq=9)])
    assert out.faces == [] and out.id == "cam-1:9:emotions"


def test_faces_of_the_whole_batch_share_model_calls_and_match_one_by_one(tflite_model, carphone_jpegs):
    messages = [faces_msg(carphone_jpegs[m * 10:m * 10 + 5], camera=f"cam-{m}", seq=m) for m in range(3)]
    model = CountingModel(tflite_model)
    together = EmotionStage(model, max_batch=4).process(messages)
    assert model.calls == [4, 4, 4, 3]
    alone = [out for m in messages for out in EmotionStage(tflite_model).process([m])]
    assert [m.id for m in together] == [m.id for m in alone]
    for a, b in zip(together, alone):
        assert [f.track_id for f in a.faces] == [f.track_id for f in b.faces]
        np.testing.assert_allclose([f.probs for f in a.faces], [f.probs for f in b.faces], atol=1e-6)


def test_model_metrics_are_observed(tflite_model, carphone_jpegs):
    name = tflite_model.name
    calls = metric("vidsentry_emotion_model_batch_faces_count", model=name)
    faces = metric("vidsentry_emotion_model_batch_faces_sum", model=name)
    timed = metric("vidsentry_emotion_inference_seconds_count", model=name)
    labels_before = sum(metric("vidsentry_emotion_labels_total", model=name, label=label) for label in tflite_model.labels)
    EmotionStage(tflite_model, max_batch=8).process([faces_msg(carphone_jpegs[:10])])
    assert metric("vidsentry_emotion_model_batch_faces_count", model=name) == calls + 2
    assert metric("vidsentry_emotion_model_batch_faces_sum", model=name) == faces + 10
    assert metric("vidsentry_emotion_inference_seconds_count", model=name) == timed + 2
    assert sum(metric("vidsentry_emotion_labels_total", model=name, label=label)
               for label in tflite_model.labels) == labels_before + 10


def test_other_messages_are_refused(tflite_model):
    with pytest.raises(TypeError, match="takes faces messages"):
        EmotionStage(tflite_model).process([EmotionsMsg("cam-1", 0, 1.0, [])])


def test_build_stage_takes_the_emotion_section():
    stage = build_stage(Config(), EmotionConfig(min_face_px=40, max_batch=8))
    assert (stage.name, stage.min_face_px, stage.max_batch) == ("emotion", 40, 8)
    assert stage.model.name == "vgg48-tflite+mini-xception-tflite+flip"


def test_the_stage_runs_on_the_in_memory_bus(tflite_model, carphone_jpegs):
    bus = InMemoryBus(partitions=1, max_backlog=1000)
    bus.create_topics(ALL_TOPICS)
    sink = bus.subscriber("sink", [EMOTIONS])
    letters = bus.subscriber("operators", [DEADLETTER])
    runner = StageRunner(EmotionStage(tflite_model), bus, [FACES],
                         RuntimeConfig(batch_size=4, poll_timeout_s=0.1, publish_timeout_s=5), expect=FacesMsg).start()
    publisher = bus.publisher()
    sent = [faces_msg(carphone_jpegs[i * 3:i * 3 + 3] + [GARBAGE], camera=f"cam-{i % 2}", seq=i) for i in range(6)]
    for message in sent:
        publisher.publish(FACES, message.key, encode(message))
    publisher.publish(FACES, "cam-0", b"not a message at all")
    publisher.flush(5)

    handled, deadline = 0, time.monotonic() + 120
    while handled < 7 and time.monotonic() < deadline:
        handled += runner.run_once()
    runner.close()
    assert handled == 7

    records = sink.poll(100, 1.0)
    emotions = sorted((decode(r.value, EmotionsMsg) for r in records), key=lambda m: m.seq)
    assert [m.seq for m in emotions] == list(range(6))
    assert all(r.key == decode(r.value).camera for r in records)
    assert all(len(m.faces) == 3 for m in emotions)
    assert [f.track_id for f in emotions[2].faces] == ["cam-0-t0", "cam-0-t1", "cam-0-t2"]
    dead = letters.poll(10, 1.0)
    assert len(dead) == 1 and decode(dead[0].value).original == b"not a message at all"
    bus.close()
