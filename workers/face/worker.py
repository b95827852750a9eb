"""The face stage: ``frames`` -> ``faces``, one FacesMsg per frame.

Per frame: detect, keep the ``max_faces_per_frame`` largest, update the camera's tracks,
then for each confirmed track cut an aligned crop, judge the sample and — within the
batch's embedding budget — embed the tracks that need it (undecided and larger faces
first; the rest wait for a later frame). Identity in video never comes from a single sample.

A still frame (a photo of an image folder) is a scene of its own: its faces are looked for
with the photo detector, become tracks at once (no hysteresis, no tracker), and every good
one is embedded and decided from that one sample. The camera's video tracks are untouched.

A face still ``pending`` says why in ``identity.reason``.

State is per camera (tracks, identity evidence, the last outputs) and is dropped on
revoke: the next owner of a camera's partition starts fresh tracks with new ids.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from schemas import Face, FaceQuality, FacesMsg, FrameMsg, Identity
from vidsentry.config.models import Config
from workers.face.align import aligned_crop, encode_crop
from workers.face.config import FaceConfig
from workers.face.detector import FaceBoxes, FaceDetector, make_detector
from workers.face.embedder import FaceEmbedder, load_embedder
from workers.face.errors import GalleryError
from workers.face.gallery import Gallery
from workers.face.identity import GalleryIndex, TrackIdentity
from workers.face.metrics import (
    DETECTION_SECONDS,
    EMBEDDING_SECONDS,
    EMBEDDINGS,
    EMBEDDINGS_DEFERRED,
    FACES_DETECTED,
    IDENTITY_MATCHES,
    IDENTITY_UNKNOWNS,
    TRACKS_ACTIVE,
)
from workers.face.quality import SampleQuality, assess
from workers.face.tracker import FaceTracker, Track
from workers.frames import decode_frame
from workers.per_camera import PerCameraStage

log = logging.getLogger(__name__)

@dataclass
class CameraState:
    tracker: FaceTracker
    identities: dict[str, TrackIdentity] = field(default_factory=dict)
    frames: int = 0
    outputs: OrderedDict[str, FacesMsg] = field(default_factory=OrderedDict)
    """The last outputs by frame id (``PerCameraStage.answer_once``)."""


@dataclass
class _Budget:
    """Embeddings still allowed in the current batch."""

    remaining: int


@dataclass
class _Seen:
    """One confirmed face in the current frame."""

    index: int
    track: Track
    identity: TrackIdentity
    crop: np.ndarray
    quality: SampleQuality


class FaceStage(PerCameraStage[CameraState, FacesMsg]):
    name = "face"
    camera_gauge = TRACKS_ACTIVE

    def __init__(self, config: FaceConfig, gallery: Gallery, detector: FaceDetector, embedder: FaceEmbedder,
                 photo_detector: FaceDetector | None = None) -> None:
        self.config = config
        self.gallery = gallery
        self.detector = detector
        self.photo_detector = photo_detector or detector
        """Finds the faces of still photos (with ``detect_photo`` when it has one), as enrolment does."""
        self.embedder = embedder
        super().__init__()
        self.index = GalleryIndex([])
        self._gallery_version: str | None = None
        self._next_gallery_check = 0.0
        self._still_prefix = secrets.token_hex(3)

    def process(self, batch: list[FrameMsg]) -> list[FacesMsg]:
        images = [decode_frame(frame, self.config.max_frame_pixels) for frame in batch]
        self.refresh_gallery()
        budget = _Budget(self.config.max_embeddings_per_batch)
        return [self._process_frame(frame, rgb, budget) for frame, rgb in zip(batch, images)]

    def refresh_gallery(self, force: bool = False) -> None:
        """Reload the gallery when it changed; an outage keeps the last snapshot. Until a
        first snapshot is loaded no track is decided (they stay pending, samples kept), so an
        unreachable gallery never turns known people into "unknown"."""
        now = time.monotonic()
        if not force and now < self._next_gallery_check:
            return
        self._next_gallery_check = now + self.config.gallery_refresh_s
        try:
            version = self.gallery.version()
            if version == self._gallery_version and not force:
                return
            self.index = GalleryIndex(self.gallery.people())
        except GalleryError as exc:
            if self._gallery_version is None:
                log.warning("face: no gallery yet, tracks stay pending: %s", exc)
            else:
                log.warning("face: keeping the gallery loaded before (%d people): %s", len(self.index), exc)
            return
        self._gallery_version = version
        log.info("face: gallery loaded, %d people", len(self.index))
        for camera, state in self.cameras.items():
            for identity in state.identities.values():
                if identity.samples:
                    self._decide(camera, identity)

    def _process_frame(self, frame: FrameMsg, rgb: np.ndarray, budget: _Budget) -> FacesMsg:
        def answer(state: CameraState) -> FacesMsg:
            faces = self._still(frame, rgb, budget) if frame.still else self._video(frame, rgb, state, budget)
            return FacesMsg(frame.camera, frame.seq, frame.ts_capture, rgb.shape[1], rgb.shape[0], faces, still=frame.still)

        return self.answer_once(frame, answer)

    def _video(self, frame: FrameMsg, rgb: np.ndarray, state: CameraState, budget: _Budget) -> list[Face]:
        state.frames += 1
        height, width = rgb.shape[:2]
        found = self._detect(frame.camera, rgb)
        update = state.tracker.update(found.boxes)
        for ended in update.ended:
            state.identities.pop(ended.track_id, None)

        seen = []
        for index, track in enumerate(update.tracks):
            if not track.confirmed:
                continue
            identity = state.identities.setdefault(track.track_id, TrackIdentity(track.track_id))
            crop = aligned_crop(rgb, found.boxes[index], found.landmarks[index], self.config.crop_size)
            quality = assess(found.boxes[index], float(found.scores[index]), found.landmarks[index], crop, width,
                             height, self.config)
            seen.append(_Seen(index, track, identity, crop, quality))
        self._identify(frame.camera, rgb, found, seen, state.frames, budget)
        TRACKS_ACTIVE.labels(frame.camera).set(len(state.tracker.confirmed))
        return [self._face(found, s, width, height) for s in seen]

    def _still(self, frame: FrameMsg, rgb: np.ndarray, budget: _Budget) -> list[Face]:
        """Every face of one photo, decided from its one sample (never deferred: there is no later frame)."""
        height, width = rgb.shape[:2]
        found = self._detect(frame.camera, rgb, photo=True)
        scene = f"{frame.camera}/{self._still_prefix}-still-{frame.seq}"
        seen = []
        for index in range(len(found)):
            track = Track(f"{scene}/{index + 1}", found.boxes[index].copy(), confirmed=True)
            crop = aligned_crop(rgb, found.boxes[index], found.landmarks[index], self.config.crop_size)
            quality = assess(found.boxes[index], float(found.scores[index]), found.landmarks[index], crop, width,
                             height, self.config)
            seen.append(_Seen(index, track, TrackIdentity(track.track_id), crop, quality))
        good = [s for s in seen if s.quality.good]
        if good:
            budget.remaining = max(0, budget.remaining - len(good))
            self._embed(frame.camera, rgb, found, good, 0, min_agreeing=1)
        return [self._face(found, s, width, height) for s in seen]

    def _detect(self, camera: str, rgb: np.ndarray, photo: bool = False) -> FaceBoxes:
        detector = self.photo_detector if photo else self.detector
        started = time.perf_counter()
        detect_photo = getattr(detector, "detect_photo", None) if photo else None
        found = detect_photo(rgb) if detect_photo is not None else detector.detect(rgb)
        DETECTION_SECONDS.labels(detector.model).observe(time.perf_counter() - started)
        if len(found) and found.scores.min() < self.config.min_detection_score:
            found = found.select(np.flatnonzero(found.scores >= self.config.min_detection_score))
        FACES_DETECTED.labels(camera, detector.model).inc(len(found))
        if len(found) > self.config.max_faces_per_frame:
            keep = np.argsort(-found.sizes() * found.scores, kind="stable")[:self.config.max_faces_per_frame]
            found = found.select(np.sort(keep))
        return found

    def _identify(self, camera: str, rgb: np.ndarray, found: FaceBoxes, seen: list[_Seen], frame_no: int,
                  budget: _Budget) -> None:
        wanted = [s for s in seen if s.quality.good and s.identity.wants_sample(frame_no, s.quality.size_px, self.config)]
        wanted.sort(key=lambda s: (s.identity.decided, -s.quality.size_px * float(found.scores[s.index])))
        chosen, deferred = wanted[:budget.remaining], wanted[budget.remaining:]
        if deferred:
            EMBEDDINGS_DEFERRED.labels(camera).inc(len(deferred))
        if not chosen:
            return
        budget.remaining -= len(chosen)
        self._embed(camera, rgb, found, chosen, frame_no)

    def _embed(self, camera: str, rgb: np.ndarray, found: FaceBoxes, chosen: list[_Seen], frame_no: int,
               min_agreeing: int | None = None) -> None:
        started = time.perf_counter()
        embeddings = self.embedder.embed(rgb, found.boxes[[s.index for s in chosen]])
        EMBEDDING_SECONDS.labels(self.embedder.model).observe(time.perf_counter() - started)
        EMBEDDINGS.labels(camera, self.embedder.model).inc(len(chosen))
        for s, embedding in zip(chosen, embeddings):
            s.identity.add_sample(embedding, frame_no, s.quality.size_px)
            s.identity.min_agreeing = min_agreeing
            self._decide(camera, s.identity)

    def _decide(self, camera: str, identity: TrackIdentity) -> None:
        if self._gallery_version is None:
            return
        before = identity.identity
        after = identity.decide(self.index, self.config, identity.min_agreeing)
        if (after.status, after.person_id) == (before.status, before.person_id):
            return
        if after.status == "known":
            IDENTITY_MATCHES.labels(camera).inc()
        elif after.status == "unknown":
            IDENTITY_UNKNOWNS.labels(camera).inc()
        log.info("camera %s: face track %s is %s%s", camera, identity.track_id, after.status,
                 f" ({after.person_id})" if after.person_id else "",
                 extra={"camera": camera, "track_id": identity.track_id, "person_id": after.person_id})

    def _face(self, found: FaceBoxes, s: _Seen, width: int, height: int) -> Face:
        x1, y1, x2, y2 = (float(v) for v in found.boxes[s.index])
        box = [round(min(max(x1, 0.0), width), 1), round(min(max(y1, 0.0), height), 1),
               round(min(max(x2, 0.0), width), 1), round(min(max(y2, 0.0), height), 1)]
        current = s.identity.identity
        reason = self._pending_reason(current, s.quality) if current.status == "pending" else None
        return Face(
            track_id=s.track.track_id, box=box, score=round(float(found.scores[s.index]), 4),
            identity=Identity(current.status, current.person_id, current.name, current.distance, reason),
            landmarks=[[round(float(x), 1), round(float(y), 1)] for x, y in found.landmarks[s.index]],
            quality=FaceQuality(round(s.quality.size_px, 1), round(s.quality.blur, 1)),
            crop=encode_crop(s.crop, self.config.crop_jpeg_quality))

    def _pending_reason(self, identity: Identity, quality: SampleQuality) -> str:
        """Why a face is still pending: the vote so far and, when this view cannot be used, why not."""
        if self._gallery_version is None:
            return "no gallery loaded yet"
        parts = [identity.reason] if identity.reason else []
        if not quality.good:
            parts.append(f"this view: {quality.problem}" if parts else str(quality.problem))
        return "; ".join(parts) or "waiting for a sample"

    def new_camera(self, camera: str) -> CameraState:
        c = self.config
        return CameraState(FaceTracker(camera, c.track_min_hits, c.track_max_misses, c.track_min_iou, c.track_max_shift))


def build_stage(config: Config, face: FaceConfig | None = None, gallery: Gallery | None = None) -> FaceStage:
    """The face stage with its detector and embedder loaded from the verified model cache.

    ``face`` replaces ``config.face``; ``gallery`` replaces the one the section and
    ``redis.url`` choose."""
    from workers.face.enrol import ENROLMENT_DETECTOR
    from workers.face.gallery import open_gallery

    section, models = face or config.face, config.models
    if gallery is None:
        gallery = open_gallery(section, config.redis)
    detector = make_detector(section.detector, section.min_detection_score, models.cache_dir, models.fetch_on_demand)
    photo_detector = detector if section.detector == ENROLMENT_DETECTOR else make_detector(
        ENROLMENT_DETECTOR, section.min_detection_score, models.cache_dir, models.fetch_on_demand)
    embedder = load_embedder(models.cache_dir, models.fetch_on_demand)
    return FaceStage(section, gallery, detector, embedder, photo_detector)
