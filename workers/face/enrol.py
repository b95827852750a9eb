"""Turn an enrolment photo into one embedding, or say exactly why it cannot be used.

A photo is judged exactly as the face stage judges a still frame: the same photo detector
(both BlazeFace ranges, whatever the worker runs: it sees every face of a group photo, so a
photo with several faces is refused, not enrolled as whichever face came first, and it finds
close-ups and faces that fill the picture) and the same quality policy (``quality.assess``
with the same settings). What enrolment accepts the live stage accepts, and the reverse.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from vidsentry.config.models import ModelsConfig
from workers.face.align import aligned_crop
from workers.face.config import FaceConfig
from workers.face.detector import FaceDetector
from workers.face.embedder import EMBEDDING_DIM, FaceEmbedder
from workers.face.errors import EnrolmentError, InvalidNameError, NoFaceError, PoorFaceError, SeveralFacesError
from workers.face.photos import PHOTO_SUFFIXES, UnreadablePhotoError, read_photo
from workers.face.quality import assess

IMAGE_SUFFIXES = PHOTO_SUFFIXES
ENROLMENT_DETECTOR = "mediapipe-auto"


class Enroller:
    def __init__(self, detector: FaceDetector, embedder: FaceEmbedder, config: FaceConfig) -> None:
        self.detector = detector
        self.embedder = embedder
        self.config = config

    def embedding(self, image: Path | str) -> np.ndarray:
        """The (128,) embedding of the single good face in ``image``; EnrolmentError otherwise."""
        try:
            rgb = read_photo(image)
        except UnreadablePhotoError as exc:
            raise EnrolmentError(image, str(exc)) from None
        detect_photo = getattr(self.detector, "detect_photo", None)
        found = detect_photo(rgb) if detect_photo is not None else self.detector.detect(rgb)
        if len(found):
            found = found.select(np.flatnonzero(found.scores >= self.config.min_detection_score))
        if len(found) == 0:
            raise NoFaceError(image)
        if len(found) > 1:
            raise SeveralFacesError(image, found.boxes.tolist())
        height, width = rgb.shape[:2]
        crop = aligned_crop(rgb, found.boxes[0], found.landmarks[0], self.config.crop_size)
        quality = assess(found.boxes[0], float(found.scores[0]), found.landmarks[0], crop, width, height, self.config)
        if not quality.good:
            raise PoorFaceError(image, f"{quality.problem}; use a sharper, closer, frontal photo")
        return self.embedder.embed(rgb, found.boxes[:1])[0]

    def embeddings(self, images: Iterable[Path | str]) -> tuple[np.ndarray, list[EnrolmentError]]:
        """Embeddings of every usable image, and the reasons the others were refused."""
        rows, refused = [], []
        for image in images:
            try:
                rows.append(self.embedding(image))
            except EnrolmentError as exc:
                refused.append(exc)
        return np.asarray(rows, np.float32).reshape(-1, EMBEDDING_DIM), refused


def person_folders(root: Path) -> dict[str, list[Path]]:
    """``root/<name>/*.jpg`` -> {name: images}; folders without images are left out."""
    folders = {}
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith(".")):
        images = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if images:
            folders[folder.name] = images
    return folders


def build_enroller(face: FaceConfig, models: ModelsConfig) -> Enroller:
    """An enroller with the photo detector (both ranges), whatever detector the worker runs."""
    from workers.face.detector import make_detector
    from workers.face.embedder import load_embedder

    detector = make_detector(ENROLMENT_DETECTOR, face.min_detection_score, models.cache_dir, models.fetch_on_demand)
    return Enroller(detector, load_embedder(models.cache_dir, models.fetch_on_demand), face)


def enrol_folder(folder: Path, face: FaceConfig, models: ModelsConfig) -> tuple[list[str], list[EnrolmentError]]:
    """Enrol FOLDER/<name>/*.jpg into the configured gallery; returns who was enrolled and the refused photos."""
    from workers.face.gallery import open_gallery, valid_name

    people = person_folders(folder)
    if not people:
        raise EnrolmentError(str(folder), f"no person folders with photos (expected {folder}/<name>/<photo>.jpg)")
    gallery = open_gallery(face)
    enroller = build_enroller(face, models)
    enrolled, refused = [], []
    for name, images in people.items():
        try:
            valid_name(name)
        except InvalidNameError as exc:
            refused.append(EnrolmentError(Path(folder) / name, str(exc)))
            continue
        embeddings, bad = enroller.embeddings(images)
        refused.extend(bad)
        if len(embeddings):
            enrolled.append(gallery.add(name, embeddings).name)
    return enrolled, refused
