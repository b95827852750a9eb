"""``vidsentry train action --clips`` and ``vidsentry evaluate action --clips`` through typer's
CliRunner on a tiny GENERATED folder of fight / no-fight clips: stick figures punching (fight/)
and walking (noFight/), read back by the stick-figure pose estimator through the public
``--pose module:callable`` hook, so the real path runs: producer-style sampling and JPEG,
the action stage, optical flow, the fight model, cross-validation and the report."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.unit.workers.action.stick_figures import write_action_clip
from vidsentry.cli import app
from workers.action.errors import DatasetError
from workers.action.fight_clips import FIGHT, NO_FIGHT, fight_label
from workers.action.fight_model import FightModel

POSE = "tests.unit.workers.action.stick_figures:stick_figure_pose"
runner = CliRunner()


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fight-clips")
    for i in range(4):
        write_action_clip(root / "fight" / f"fi{i}.avi", "fighting", seed=10 + i)
        write_action_clip(root / "noFight" / f"nofi{i}.avi", "walking", seed=20 + i)
    return root


@pytest.fixture(scope="module")
def trained(clips, tmp_path_factory):
    out = tmp_path_factory.mktemp("fight-model") / "fight.json"
    cache = tmp_path_factory.mktemp("cache")
    result = runner.invoke(app, ["train", "action", "--clips", str(clips), "--out", str(out), "--pose", POSE,
                                 "--folds", "2", "--repeats", "2", "--cache-dir", str(cache)])
    return result, out, cache


def test_train_writes_a_model_with_its_cross_validated_record(trained):
    result, out, cache = trained
    assert result.exit_code == 0, result.output
    assert "8 clips (4 fight, 4 no-fight)" in result.output
    assert "cross-validated (clips the model and its threshold never saw)" in result.output
    assert re.search(r"over 2 repeats: accuracy [01]\.\d{3} ± ", result.output)
    model = FightModel.load(out)
    record = model.training
    assert record["command"].startswith("vidsentry train action --clips DIR")
    assert record["clips"] == {"fight": 4, "no-fight": 4}
    assert record["cross_validation"]["folds"] == 2 and record["cross_validation"]["repeats"] == 2
    assert len(record["cross_validation"]["confusion_first_repeat"]["rows_true_columns_predicted"]) == 2
    assert [p["threshold"] for p in record["operating_points"]][:2] == [0.4, 0.45]
    assert len(list((cache / "fight-windows").glob("*.npz"))) == 8, "one feature file per clip, in the cache"


def test_evaluate_scores_the_stage_on_the_clips(trained, clips):
    _, out, cache = trained
    result = runner.invoke(app, ["evaluate", "action", "--clips", str(clips), "--fight-model", str(out), "--pose", POSE,
                                 "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    assert f"fight model {out}" in result.output
    assert "clips: 8" in result.output and "confusion (rows: true, columns: predicted):" in result.output
    assert re.search(r"no-fight clips flagged: \d+\.\d%", result.output)
    rows = {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"^(fight|no-fight)\s+(\d+)\s+(\d+)\s*$", result.output, re.M)}
    assert sum(rows["fight"]) == 4 and sum(rows["no-fight"]) == 4

    rules = runner.invoke(app, ["evaluate", "action", "--clips", str(clips), "--no-fight", "--pose", POSE,
                                "--pose-fps", "0", "--cache-dir", str(cache)])
    assert rules.exit_code == 0, rules.output
    assert "at every frames/s, no fight model (rules only)" in rules.output


def test_the_commands_say_what_is_missing_or_wrong(tmp_path, clips):
    result = runner.invoke(app, ["train", "action"])
    assert result.exit_code == 2 and "--clips DIR" in result.output
    result = runner.invoke(app, ["evaluate", "action"])
    assert result.exit_code == 2 and "--clips DIR" in result.output
    (tmp_path / "punching").mkdir()
    shutil.copy(clips / "fight" / "fi0.avi", tmp_path / "punching" / "a.avi")
    result = runner.invoke(app, ["train", "action", "--clips", str(tmp_path), "--pose", POSE])
    assert result.exit_code == 1 and "is not a fight class folder" in result.output
    result = runner.invoke(app, ["evaluate", "action", "--clips", str(clips), "--fight-model", str(tmp_path / "x.json"),
                                 "--pose", POSE])
    assert result.exit_code == 1 and "no such fight model" in result.output


@pytest.mark.parametrize(("folder", "label"), [("fight", FIGHT), ("Fight", FIGHT), ("fighting", FIGHT),
                                               ("violence", FIGHT), ("noFight", NO_FIGHT), ("NonFight", NO_FIGHT),
                                               ("no-fight", NO_FIGHT), ("non_violence", NO_FIGHT)])
def test_class_folders_of_public_data_sets_are_understood(folder, label):
    assert fight_label(folder) == label


def test_other_folders_are_refused():
    for folder in ("walking", "fightclub", "nonsense"):
        with pytest.raises(DatasetError, match="fight/ and noFight/"):
            fight_label(folder)


def test_the_model_file_is_json(trained):
    _, out, _ = trained
    assert json.loads(out.read_text())["features"][0] == "entropy"
