"""`vidsentry run` counts in summary.json what it passed over or could not write, instead of
hiding it: an unreadable image in a folder, and the annotated video of a generated
12000x12000 JPEG (analysed shrunk, too large to annotate at full size). The worker pools
are left out (no models needed); producers, bus, aggregator and outputs are the real ones."""

from __future__ import annotations

import json

import cv2
import pytest

from tests.big_images import huge_jpeg
from vidsentry.config import Config
from vidsentry.embedded import EmbeddedRun, RunError, RunOptions

pytestmark = pytest.mark.integration


@pytest.mark.reliability(fault='unreadable images in a folder and an annotated video that cannot be written',
                         happened='the run goes on; each is counted with its reason under `skipped` in summary.json',
                         lost='those outputs (counted, not hidden)')
def test_skipped_images_and_an_unwritable_annotated_video_are_counted(samples, tmp_path):
    folder = tmp_path / "stills"
    folder.mkdir()
    capture = cv2.VideoCapture(str(samples["carphone"]))
    for i in range(3):
        cv2.imwrite(str(folder / f"img_{i}.jpg"), capture.read()[1])
    (folder / "img_1b.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    huge = tmp_path / "huge.jpg"
    huge.write_bytes(huge_jpeg())
    out = tmp_path / "out"
    result = EmbeddedRun(RunOptions(sources=[str(folder), str(huge)], out=out, progress=False), Config(),
                         stages=lambda config: []).run()
    assert result.frames == 4 and result.failures == {}
    summary = json.loads((out / "summary.json").read_text())
    skipped = summary["skipped"]
    assert (skipped["images"], skipped["annotated_videos"], skipped["snapshots"]) == (1, 1, 0)
    assert summary["cameras"]["stills"]["skipped_images"] == 1
    (reason,) = skipped["reasons"]
    assert reason.startswith("camera huge: huge.jpg: frames are 12000x12000 (144.0 MP), above the camera's max_pixels")
    assert not list(out.glob("*.mp4"))


def test_an_unknown_blur_mode_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(RunError, match="--blur-faces 'strangers': one of none, all, unknown"):
        EmbeddedRun(RunOptions(sources=["x.mp4"], out=tmp_path / "out", blur_faces="strangers"), Config())
