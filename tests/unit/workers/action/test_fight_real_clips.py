"""The shipped fight model on REAL sample clips (carphone, vtest's first 10 s; recorded by
real_clip_windows.py): it gives the recorded probabilities for the recorded window features,
and replaying the clips through the default stage gives those features again."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.conftest import CACHE_ROOT
from tests.unit.workers.action.real_clip_windows import CLIPS, FIXTURE, clip_windows
from vidsentry.samples import sample_cache
from workers.action.fight_model import SHIPPED_MODEL, FightModel

recorded = json.loads(FIXTURE.read_text())


@pytest.mark.parametrize("clip", list(CLIPS))
def test_the_shipped_model_agrees_with_its_recorded_outputs_on_real_clips(clip):
    model = FightModel.load(SHIPPED_MODEL)
    windows = recorded[clip]
    assert len(windows) >= 10
    features = np.array([w["features"] for w in windows])
    assert model.probability(features) == pytest.approx([w["probability"] for w in windows], rel=1e-9)


@pytest.mark.parametrize("clip", list(CLIPS))
def test_replaying_the_real_clip_gives_the_recorded_windows(clip, movenet):
    fresh = {w["t"]: w for w in clip_windows(sample_cache(CACHE_ROOT).require(clip), CLIPS[clip], movenet)}
    matched = [(w, fresh[w["t"]]) for w in recorded[clip] if w["t"] in fresh]
    assert len(matched) >= len(recorded[clip]) // 2, "windows are scored at the recorded times"
    for old, new in matched:
        assert new["features"] == pytest.approx(old["features"], rel=1e-2, abs=1e-3), old["t"]
        assert new["probability"] == pytest.approx(old["probability"], abs=0.01), old["t"]
