"""Adding a stage is a new package plus one line in the pipeline list: the toy echo stage
(tests/echo_stage.py, which declares itself like any stage package) put in the list runs
embedded on the real bus, producers, aggregator and recorder, with nothing else changed."""

from __future__ import annotations

import json

import cv2
import pytest

from tests.echo_stage import STAGE as ECHO
from vidsentry.config import Config
from vidsentry.embedded import EmbeddedRun, RunOptions
from vidsentry.pipeline import AGGREGATOR

pytestmark = pytest.mark.integration


def test_a_declared_toy_stage_runs_embedded(samples, tmp_path):
    folder = tmp_path / "stills"
    folder.mkdir()
    capture = cv2.VideoCapture(str(samples["carphone"]))
    for i in range(3):
        cv2.imwrite(str(folder / f"img_{i}.jpg"), capture.read()[1])
    out = tmp_path / "out"
    pipeline = (ECHO, AGGREGATOR)  # the model stages left out: no models needed
    result = EmbeddedRun(RunOptions(sources=[str(folder)], out=out, progress=False), Config(), pipeline=pipeline).run()
    assert result.frames == 3 and result.failures == {}
    timings = json.loads((out / "summary.json").read_text())["timings"]
    assert set(timings) == {"echo", "aggregator"}
    assert timings["echo"]["messages"] == 3  # each frame, once
    assert timings["aggregator"]["messages"] == 3  # the echo's faces messages reached the aggregator
