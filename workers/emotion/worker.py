"""The emotion stage: FacesMsg batches in, one EmotionsMsg per FacesMsg out.

All usable faces of a whole message batch go through the model together (in chunks of
``max_batch``): a compiled graph costs 2.8 ms for one face but 0.55 ms per face in a batch
of 32 (benchmarks/emotion.md). A face whose crop is unusable is skipped and counted; its
message still gets an EmotionsMsg.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from schemas import EmotionsMsg, Face, FaceEmotion, FacesMsg
from vidsentry.config import Config
from workers.emotion.config import EmotionConfig
from workers.emotion.crops import FaceCrop, decode_crop, fit_to_input
from workers.emotion.errors import BadCrop
from workers.emotion.metrics import BAD_CROPS, FACES_CLASSIFIED, INFERENCE_SECONDS, MODEL_BATCH_FACES, TOP_LABELS
from workers.emotion.model import EmotionModel

log = logging.getLogger(__name__)


@dataclass
class _Usable:
    message: int
    face: Face
    crop: FaceCrop


class EmotionStage:
    name = "emotion"

    def __init__(self, model: EmotionModel, min_face_px: int = 24, max_batch: int = 64) -> None:
        self.model = model
        self.min_face_px = min_face_px
        self.max_batch = max_batch

    def process(self, batch: list[FacesMsg]) -> list[EmotionsMsg]:
        for message in batch:
            if not isinstance(message, FacesMsg):
                raise TypeError(f"the emotion stage takes faces messages, got {type(message).__name__} {message.id}")
        usable = [u for index, message in enumerate(batch) for u in self._usable_faces(index, message)]
        probabilities = self.classify([u.crop for u in usable])
        per_message: list[list[FaceEmotion]] = [[] for _ in batch]
        for item, probs in zip(usable, probabilities):
            top = int(np.argmax(probs))
            per_message[item.message].append(FaceEmotion(
                track_id=item.face.track_id, probs=[float(p) for p in probs], label=self.model.labels[top],
                person_id=item.face.identity.person_id, quality=item.crop.quality))
            FACES_CLASSIFIED.labels(batch[item.message].camera, self.model.name).inc()
            TOP_LABELS.labels(self.model.name, self.model.labels[top]).inc()
        return [EmotionsMsg(camera=m.camera, seq=m.seq, ts_capture=m.ts_capture, faces=faces, labels=list(self.model.labels))
                for m, faces in zip(batch, per_message)]

    def classify(self, crops: list[FaceCrop]) -> np.ndarray:
        """Probabilities for decoded crops, in model calls of at most ``max_batch`` faces."""
        chunks = []
        for start in range(0, len(crops), self.max_batch):
            chunk = crops[start:start + self.max_batch]
            started = time.perf_counter()
            chunks.append(self.model.predict(fit_to_input([c.pixels for c in chunk], self.model.input_spec)))
            INFERENCE_SECONDS.labels(self.model.name).observe(time.perf_counter() - started)
            MODEL_BATCH_FACES.labels(self.model.name).observe(len(chunk))
        return np.concatenate(chunks) if chunks else np.zeros((0, len(self.model.labels)))

    def _usable_faces(self, index: int, message: FacesMsg) -> list[_Usable]:
        usable = []
        for face in message.faces:
            x1, y1, x2, y2 = face.box
            try:
                usable.append(_Usable(index, face, decode_crop(face.crop, self.min_face_px, self.model.input_spec.channels,
                                                               face_px=min(x2 - x1, y2 - y1))))
            except BadCrop as exc:
                BAD_CROPS.labels(message.camera, exc.reason).inc()
                log.debug("%s: skipping face %s of %s: %s", self.name, face.track_id, message.id, exc)
        return usable


def build_stage(config: Config, emotion: EmotionConfig | None = None) -> EmotionStage:
    """The stage ``vidsentry worker emotion`` serves, from the whole configuration.

    ``config`` is the vidsentry Config (its ``models`` section locates the model cache);
    the emotion section is ``emotion`` when given, else ``config.emotion``, else the defaults.
    """
    from workers.emotion.loader import load_emotion_model

    section = emotion or config.emotion
    models = config.models
    model = load_emotion_model(section, models.cache_dir, models.fetch_on_demand)
    log.info("emotion: model %s, labels %s, input %s", model.name, ", ".join(model.labels), model.input_spec)
    return EmotionStage(model, section.min_face_px, section.max_batch)

