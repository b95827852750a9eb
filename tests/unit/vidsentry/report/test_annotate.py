"""The annotated video: faces blurred for everyone or only for people not known, on a
generated frame with known, unknown and pending face boxes; and a video that cannot be
written is an AnnotateError, never a silently missing file."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.big_images import huge_jpeg
from vidsentry.report.annotate import AnnotateError, annotate_file, draw
from vidsentry.report.recorder import FrameMarks

BOXES = {"known": (20, 40, 120, 160), "unknown": (200, 40, 300, 160), "pending": (380, 40, 480, 160)}


def marks() -> FrameMarks:
    return FrameMarks(0.0, faces=[{"track": status, "box": list(box), "status": status, "name": "Ann" if status == "known" else None,
                                   "person": f"p-{status}", "emotion": None} for status, box in BOXES.items()])


def interior(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    x1, y1, x2, y2 = box
    return image[y1 + 4:y2 - 4, x1 + 4:x2 - 4]


def detail(pixels: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


@pytest.mark.parametrize("mode,blurred", [("none", set()), ("unknown", {"unknown", "pending"}),
                                          ("all", {"known", "unknown", "pending"})])
def test_faces_are_blurred_by_mode(mode, blurred):
    frame = np.random.default_rng(11).integers(0, 256, (240, 520, 3), dtype=np.uint8)
    out = draw(frame, marks(), 1.0, [], mode)
    for status, box in BOXES.items():
        if status in blurred:
            assert detail(interior(out, box)) < detail(interior(frame, box)) / 10, f"{status} face is not blurred"
        else:
            assert np.array_equal(interior(out, box), interior(frame, box)), f"{status} face was changed"


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown blur mode 'some'"):
        draw(np.zeros((240, 520, 3), np.uint8), marks(), 1.0, [], "some")


def test_a_video_the_writer_cannot_write_is_an_error(samples, tmp_path):
    with pytest.raises(AnnotateError, match="video writer cannot write 176x144"):
        annotate_file(samples["carphone"], tmp_path / "missing-folder" / "out.mp4", {}, 176, 0.0, [])


def test_a_huge_image_is_not_annotated_at_full_size(tmp_path):
    source = tmp_path / "huge.jpg"
    source.write_bytes(huge_jpeg())  # generated 12000x12000
    with pytest.raises(AnnotateError, match=r"frames are 12000x12000 \(144.0 MP\), above the camera's max_pixels"):
        annotate_file(source, tmp_path / "out.mp4", {}, 768, 0.0, [])
    with pytest.raises(AnnotateError, match="video writer cannot write 12000x12000"):
        annotate_file(source, tmp_path / "out.mp4", {}, 768, 0.0, [], max_pixels=200_000_000)
    assert not (tmp_path / "out.mp4").exists()
