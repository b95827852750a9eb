"""``vidsentry evaluate action --photos DIR --truth CSV``: posture from one photo.

Every photo listed in the truth file is sent to the action stage as ``vidsentry run DIR``
sends it (an image-folder camera with the default settings: shrunk to the camera's long
side, JPEG, a still frame). The truth is one posture per photo, judged by eye (every person
of those photos does the same), with the number of people in view: each person the stage
reports is scored against the photo's posture (``unknown`` counts as a miss), and the
people the pose model did not find are counted apart.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from producers.encoder import encode_jpeg, shrink
from producers.images import decode_image
from schemas import FrameMsg
from vidsentry.config.cameras import CameraConfig
from workers.action.classifier import UNKNOWN
from workers.action.config import ActionConfig
from workers.action.errors import DatasetError
from workers.action.pose import PoseEstimator
from workers.action.report import ClassificationReport, classification_report, format_report
from workers.action.worker import ActionStage

FACE_API_TRUTH = Path(__file__).resolve().parents[2] / "benchmarks" / "posture" / "face_api_photos.csv"
POSTURES = ("standing", "sitting", "lying")
LABELS = [*POSTURES, UNKNOWN]


@dataclass(frozen=True)
class PhotoTruth:
    photo: str
    posture: str
    people: int
    """People in view, counted by eye."""


@dataclass
class PhotoResult:
    truth: PhotoTruth
    labels: list[str]
    """The posture the stage gave each person it found."""


@dataclass
class PhotoEvaluation:
    photos: list[PhotoResult]
    report: ClassificationReport
    """Over the people found: truth is the photo's posture, ``unknown`` a prediction that is never right."""

    @property
    def people_in_view(self) -> int:
        return sum(r.truth.people for r in self.photos)

    @property
    def people_found(self) -> int:
        return sum(len(r.labels) for r in self.photos)


def read_truth(path: Path) -> list[PhotoTruth]:
    """Rows ``photo,posture,people``; a bad row is a DatasetError naming it."""
    try:
        rows = list(csv.DictReader(Path(path).read_text().splitlines()))
    except OSError as exc:
        raise DatasetError(path, f"cannot read the truth file: {exc.strerror or exc}") from None
    truth = []
    for number, row in enumerate(rows, 2):
        try:
            item = PhotoTruth(row["photo"].strip(), row["posture"].strip(), int(row["people"]))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise DatasetError(path, f"line {number}: expected photo,posture,people") from None
        if item.posture not in POSTURES or item.people < 0:
            raise DatasetError(path, f"line {number}: posture must be one of {', '.join(POSTURES)} and people >= 0")
        truth.append(item)
    if not truth:
        raise DatasetError(path, "the truth file lists no photos")
    return truth


def photo_frame(path: Path, camera: CameraConfig, seq: int) -> FrameMsg:
    """The still FrameMsg an image-folder camera publishes for ``path``."""
    try:
        decoded = decode_image(Path(path).read_bytes(), camera.max_pixels)
    except OSError as exc:
        raise DatasetError(path, f"cannot read the photo: {exc.strerror or exc}") from None
    if decoded is None:
        raise DatasetError(path, "not a readable image")
    image = shrink(decoded.image, camera.max_side)
    return FrameMsg(camera.id, seq, 1.0 + seq, image.shape[1], image.shape[0],
                    encode_jpeg(image, camera.jpeg_quality), still=True)


def evaluate_photos(stage: ActionStage, photos: Path, truth: list[PhotoTruth],
                    echo: Callable[[str], None] = print) -> PhotoEvaluation:
    camera = CameraConfig(id="photos", source=str(photos))
    results = []
    for seq, item in enumerate(truth):
        (output,) = stage.process([photo_frame(Path(photos) / item.photo, camera, seq)])
        labels = [p.action for p in output.persons]
        results.append(PhotoResult(item, labels))
        echo(f"{item.photo}: {item.posture} x{item.people}: " + (", ".join(labels) or "nobody found"))
    y_true = [LABELS.index(r.truth.posture) for r in results for _ in r.labels]
    y_pred = [LABELS.index(label) for r in results for label in r.labels]
    return PhotoEvaluation(results, classification_report(np.array(y_true, int), np.array(y_pred, int), LABELS))


def run(photos: Path, truth: Path, config: ActionConfig, make_estimator: Callable[[], PoseEstimator],
        echo: Callable[[str], None] = print) -> PhotoEvaluation:
    """The action stage as configured on the photos; prints the report."""
    from workers.action.classifier import make_classifier

    echo(f"pose {config.pose.model}, second pass on photos at {config.posture.photo_long_side or 'none'} px")
    stage = ActionStage(config, make_estimator(), make_classifier(config))
    evaluation = evaluate_photos(stage, photos, read_truth(truth), echo)
    echo(f"people in view (by eye): {evaluation.people_in_view}, found: {evaluation.people_found}, "
         f"labelled right: {int(np.trace(evaluation.report.confusion))}")
    echo(format_report(evaluation.report).replace("windows:", "people found:"))
    return evaluation
