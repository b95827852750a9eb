"""`vidsentry run PHOTOS/` on real group photos (face-api samples from npm: a group sitting on
stairs, a group standing) labels people's posture from each photo alone, and raises no fall or
person-down alert."""

from __future__ import annotations

import shutil

import pytest

from tests.integration.embedded.test_run import check_outputs, run_cli

pytestmark = pytest.mark.integration


def test_group_photos_get_postures(samples, tmp_path):
    photos, out = tmp_path / "photos", tmp_path / "out"
    photos.mkdir()
    shutil.copy(samples["group5"], photos / "a-stairs.jpg")
    shutil.copy(samples["group4"], photos / "b-standing.jpg")
    result = run_cli(["run", str(photos), "--out", str(out)])
    assert result.returncode == 0, result.stderr[-3000:]
    found = check_outputs(out, None)
    assert found["summary"]["frames"] == 2
    actions = [e["state"].get("action") for e in found["events"]]
    assert "sitting" in actions and "standing" in actions, actions
    assert not {"lying", "falling", "fighting"} & set(actions), actions
    assert not [a for a in found["alerts"] if a["rule"] in ("fall", "person-down", "fight")]
