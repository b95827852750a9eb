"""``vidsentry evaluate identity``: enrol people as ``gallery add`` does, then show the other
photos to the face stage as ``vidsentry run PHOTOS/`` does (each one a still frame, shrunk
and JPEG-encoded like the producer's frames) and count what it says about each.

Outcomes per probe: named correctly, named as someone else (for a stranger: any name, a
false accept), unknown, pending (with the stage's reason), no face, unreadable. The
distances of each probe's sample to the gallery are kept as well, so the same run gives
the whole ROC (the match threshold swept, the margin kept) without embedding again.
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from producers.encoder import encode_jpeg, shrink
from schemas import Face, FrameMsg
from workers.face.enrol import Enroller
from workers.face.evaluate_data import Probe, Trial
from workers.face.gallery_file import FileGallery
from workers.face.photos import UnreadablePhotoError, read_photo
from workers.face.tracker import iou_matrix
from workers.face.worker import FaceStage

NAMED, WRONG, UNKNOWN, PENDING, NO_FACE, UNREADABLE = (
    "named correctly", "named as someone else", "unknown", "pending", "no face", "unreadable")
OUTCOMES = (NAMED, WRONG, UNKNOWN, PENDING, NO_FACE, UNREADABLE)


@dataclass
class ProbeResult:
    photo: str
    person: str
    enrolled: bool
    outcome: str
    named: str | None = None
    """The dataset label of whoever the stage named (None unless known)."""
    distance: float | None = None
    reason: str | None = None
    faces: int = 0
    score: float | None = None
    """Detection confidence of the probed face."""
    size_px: float | None = None
    sharpness: float | None = None
    nearest: str | None = None
    """The closest enrolled person to the probe's sample (None without a sample)."""
    nearest_distance: float | None = None
    second_distance: float | None = None


@dataclass
class Enrolment:
    person: str
    photos: int
    enrolled: int
    refused: list[str] = field(default_factory=list)


class RecordingEmbedder:
    """The stage's embedder, keeping every embedding of the current probe with its box."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.model = inner.model
        self.boxes: list[np.ndarray] = []
        self.embeddings: list[np.ndarray] = []

    def embed(self, rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        embeddings = self.inner.embed(rgb, boxes)
        self.boxes.extend(np.asarray(boxes, np.float64))
        self.embeddings.extend(embeddings)
        return embeddings

    def clear(self) -> None:
        self.boxes, self.embeddings = [], []

    def embedding_of(self, box: list[float]) -> np.ndarray | None:
        """The first embedding computed for the face at ``box`` (frame-clipped boxes still overlap)."""
        if not self.boxes:
            return None
        overlap = iou_matrix(np.asarray([box]), np.stack(self.boxes))[0]
        best = int(np.argmax(overlap))
        return self.embeddings[best] if overlap[best] > 0.3 else None


@dataclass
class ProbeSettings:
    max_side: int = 768
    jpeg_quality: int = 85
    repeat: int = 1
    """1: each photo is one still frame (as from an image folder); N > 1: the photo is sent N
    times as ordinary frames of one camera (a still video), so tracking and voting apply."""


class IdentityEvaluation:
    def __init__(self, stage: FaceStage, enroller: Enroller, settings: ProbeSettings | None = None,
                 workdir: Path | None = None) -> None:
        self.stage = stage
        self.recorder = RecordingEmbedder(stage.embedder)
        stage.embedder = self.recorder
        self.enroller = enroller
        self.settings = settings or ProbeSettings()
        self._workdir = workdir
        self._enrolled_cache: dict[Path, tuple[np.ndarray | None, str | None]] = {}
        self._probes = 0
        self._faces = 0

    def run(self, trials: list[Trial], progress: bool = True) -> tuple[list[Enrolment], list[ProbeResult]]:
        enrolments: dict[str, Enrolment] = {}
        results = []
        total = sum(len(t.probes) for t in trials)
        with tempfile.TemporaryDirectory(dir=self._workdir) as workdir, \
                tqdm(total=total, unit="photo", desc="probing", disable=None if progress else True) as bar:
            for number, trial in enumerate(trials):
                aliases = self._enrol(trial, FileGallery(Path(workdir) / f"gallery-{number}.json"), enrolments)
                for probe in trial.probes:
                    results.append(self.probe(probe, aliases))
                    bar.update(1)
        return list(enrolments.values()), results

    def _enrol(self, trial: Trial, gallery: FileGallery, enrolments: dict[str, Enrolment]) -> dict[str, str]:
        """Enrol the trial's people under plain aliases (dataset labels need not be valid names)."""
        aliases = {}
        for index, (person, photos) in enumerate(trial.gallery.items(), 1):
            rows, refused = [], []
            for photo in photos:
                embedding, problem = self._enrolment_embedding(photo)
                if embedding is None:
                    refused.append(f"{photo.name}: {problem}")
                else:
                    rows.append(embedding)
            if rows:
                person_id = gallery.add(f"person {index}", np.stack(rows)).person_id
                aliases[person_id] = person
            entry = enrolments.setdefault(person, Enrolment(person, 0, 0))
            entry.photos += len(photos)
            entry.enrolled += len(rows)
            entry.refused.extend(refused)
        self.stage.gallery = gallery
        self.stage.refresh_gallery(force=True)
        return aliases

    def _enrolment_embedding(self, photo: Path) -> tuple[np.ndarray | None, str | None]:
        from workers.face.errors import EnrolmentError

        if photo not in self._enrolled_cache:
            try:
                self._enrolled_cache[photo] = (self.enroller.embedding(photo), None)
            except EnrolmentError as exc:
                self._enrolled_cache[photo] = (None, exc.reason)
        return self._enrolled_cache[photo]

    def probe(self, probe: Probe, aliases: dict[str, str]) -> ProbeResult:
        result = ProbeResult(str(probe.photo), probe.person, probe.enrolled, UNREADABLE)
        try:
            rgb = read_photo(probe.photo)
        except UnreadablePhotoError as exc:
            result.reason = str(exc)
            return result
        face = self._show(rgb)
        result.faces = self._faces
        if face is None:
            result.outcome = NO_FACE
            return result
        identity = face.identity
        result.distance, result.reason, result.score = identity.distance, identity.reason, face.score
        if face.quality is not None:
            result.size_px, result.sharpness = face.quality.size_px, face.quality.blur
        if identity.status == "known":
            result.named = aliases.get(identity.person_id, identity.person_id)
            result.outcome = NAMED if probe.enrolled and result.named == probe.person else WRONG
        else:
            result.outcome = UNKNOWN if identity.status == "unknown" else PENDING
        embedding = self.recorder.embedding_of(face.box)
        if embedding is not None and len(self.stage.index):
            self._nearest(result, embedding, aliases)
        return result

    def _show(self, rgb: np.ndarray) -> Face | None:
        """The largest face the stage reports in the photo, after the last of its frames."""
        self._probes += 1
        camera = f"probe-{self._probes}"
        image = shrink(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), self.settings.max_side)
        jpeg = encode_jpeg(image, self.settings.jpeg_quality)
        still = self.settings.repeat == 1
        self.recorder.clear()
        message = None
        for seq in range(self.settings.repeat):
            frame = FrameMsg(camera, seq, 1.0 + seq / 10, image.shape[1], image.shape[0], jpeg, still=still)
            (message,) = self.stage.process([frame])
        self.stage.cameras.pop(camera, None)
        self._faces = len(message.faces)
        if not message.faces:
            return None
        return max(message.faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))

    def _nearest(self, result: ProbeResult, embedding: np.ndarray, aliases: dict[str, str]) -> None:
        index = self.stage.index
        distances = index.distances(np.asarray(embedding, np.float32))
        order = np.argsort(distances)
        result.nearest = aliases.get(index.people[int(order[0])].person_id)
        result.nearest_distance = round(float(distances[order[0]]), 4)
        if len(order) > 1:
            result.second_distance = round(float(distances[order[1]]), 4)


@dataclass
class Rates:
    enrolled_probes: int
    stranger_probes: int
    tar: float | None
    """Share of probes of enrolled people named correctly."""
    wrong: float | None
    """Share of probes of enrolled people named as someone else."""
    far: float | None
    """Share of stranger probes named as anyone."""
    outcomes: dict[str, dict[str, int]]
    """{"enrolled"|"strangers": {outcome: count}}."""
    pending: float
    """Share of all probes left pending."""
    pending_reasons: dict[str, int]
    no_face: float


def rates(results: list[ProbeResult]) -> Rates:
    enrolled = [r for r in results if r.enrolled]
    strangers = [r for r in results if not r.enrolled]
    by_side = {side: {o: sum(r.outcome == o for r in group) for o in OUTCOMES}
               for side, group in (("enrolled", enrolled), ("strangers", strangers))}
    pending = [r for r in results if r.outcome == PENDING]
    reasons = Counter(reason_kind(r.reason) for r in pending)
    total = len(results) or 1
    return Rates(len(enrolled), len(strangers),
                 _share(by_side["enrolled"][NAMED], len(enrolled)), _share(by_side["enrolled"][WRONG], len(enrolled)),
                 _share(by_side["strangers"][WRONG], len(strangers)), by_side, len(pending) / total,
                 dict(reasons.most_common()), sum(r.outcome == NO_FACE for r in results) / total)


def reason_kind(reason: str | None) -> str:
    """A pending reason with its numbers masked, so the same cause counts once."""
    if not reason:
        return "no reason given"
    return re.sub(r"\d+(\.\d+)?", "#", reason)


def roc(results: list[ProbeResult], margin: float, thresholds: np.ndarray | None = None) -> list[dict]:
    """TAR, FAR and wrong-person rate of the one-sample rule at each match threshold."""
    thresholds = np.round(np.arange(0.30, 0.801, 0.01), 2) if thresholds is None else thresholds
    enrolled = [r for r in results if r.enrolled]
    strangers = [r for r in results if not r.enrolled]
    points = []
    for threshold in thresholds:
        accepted = [r for r in results if _accepted(r, float(threshold), margin)]
        right = sum(r.enrolled and r.nearest == r.person for r in accepted)
        points.append({"threshold": float(threshold), "tar": _share(right, len(enrolled)),
                       "wrong": _share(sum(r.enrolled and r.nearest != r.person for r in accepted), len(enrolled)),
                       "far": _share(sum(not r.enrolled for r in accepted), len(strangers))})
    return points


def _accepted(result: ProbeResult, threshold: float, margin: float) -> bool:
    if result.nearest_distance is None or result.nearest_distance > threshold:
        return False
    return result.second_distance is None or result.second_distance - result.nearest_distance >= margin


def _share(count: int, total: int) -> float | None:
    return count / total if total else None
