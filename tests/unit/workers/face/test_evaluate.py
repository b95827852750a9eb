"""``vidsentry evaluate identity`` on real photos: the data layouts, the figures and the ROC."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
from typer.testing import CliRunner

from tests.unit.workers.face.photo_files import close_up_file, converted
from vidsentry.cli import app
from workers.face.evaluate import NAMED, PENDING, UNKNOWN, WRONG, ProbeResult, rates, reason_kind, roc
from workers.face.evaluate_data import EvaluationDataError, folder_trial, pairs_trials


@pytest.fixture(autouse=True)
def model_cache(monkeypatch):
    from tests.conftest import CACHE_ROOT

    monkeypatch.setenv("VIDSENTRY_MODELS__CACHE_DIR", str(CACHE_ROOT))
    monkeypatch.delenv("VIDSENTRY_CONFIG", raising=False)


@pytest.fixture
def people(samples, tmp_path, face_detector):
    """Barack Obama (enrolled from obama.jpg; probed with obama2 and a close-up of it) and Joe
    Biden (the stranger: every other person by sorted name; a JPEG and a GIF of him)."""
    root = tmp_path / "people"
    obama, biden = root / "Barack Obama", root / "Joe Biden"
    obama.mkdir(parents=True)
    biden.mkdir()
    shutil.copy(samples["obama"], obama / "1.jpg")
    shutil.copy(samples["obama2"], obama / "2.jpg")
    close_up_file(samples["obama2"], face_detector, obama, fill=1.5).rename(obama / "10-close-up.jpg")
    shutil.copy(samples["biden"], biden / "1.jpg")
    converted(samples["biden"], "gif", biden).rename(biden / "2.gif")
    (biden / "README.txt").write_text("not a photo")
    return root


def test_a_folder_per_person_enrols_the_first_photos_and_holds_strangers_aside(people):
    trial = folder_trial(people, enrol=1, stranger_every=2)
    assert {name: [p.name for p in photos] for name, photos in trial.gallery.items()} == {"Barack Obama": ["1.jpg"]}
    assert [(p.photo.name, p.person, p.enrolled) for p in trial.probes] == [
        ("2.jpg", "Barack Obama", True), ("10-close-up.jpg", "Barack Obama", True),
        ("1.jpg", "Joe Biden", False), ("2.gif", "Joe Biden", False)], "natural order: 2 before 10"
    assert trial.strangers == ["Joe Biden"]
    assert len(folder_trial(people, enrol=2, stranger_every=0).gallery) == 2
    with pytest.raises(EvaluationDataError, match="nobody left to enrol"):
        folder_trial(people, stranger_every=1)


def test_pairs_files_plain_and_lfw(people, tmp_path):
    plain = tmp_path / "pairs.txt"
    plain.write_text("# enrolled photo, probe, same|different\nBarack_Obama/1.jpg Barack_Obama/2.jpg same\n")
    (tmp_path / "Barack_Obama").mkdir()
    for name in ("1.jpg", "2.jpg"):
        shutil.copy(people / "Barack Obama" / name, tmp_path / "Barack_Obama" / name)
    (trial,) = pairs_trials(plain)
    assert [p.name for p in trial.gallery["1"]] == ["1.jpg"] and trial.probes[0].enrolled

    lfw = tmp_path / "lfw"
    for person, numbers in (("Barack_Obama", (1, 2)), ("Joe_Biden", (1,))):
        (lfw / person).mkdir(parents=True)
        for n in numbers:
            shutil.copy(people / "Barack Obama" / "1.jpg", lfw / person / f"{person}_{n:04d}.jpg")
    pairs = tmp_path / "lfw_pairs.txt"
    pairs.write_text("1\t1\nBarack_Obama\t1\t2\nBarack_Obama\t1\tJoe_Biden\t1\n")
    same, different = pairs_trials(pairs, lfw)
    assert same.probes[0].enrolled and same.probes[0].person == "Barack_Obama"
    assert not different.probes[0].enrolled and different.probes[0].person == "Joe_Biden"
    pairs.write_text("Barack_Obama\t1\t7\n")
    with pytest.raises(EvaluationDataError, match=r"lfw_pairs.txt:1: no such photo"):
        pairs_trials(pairs, lfw)


def test_evaluate_identity_names_the_enrolled_and_not_the_stranger(people, tmp_path):
    out = tmp_path / "eval"
    result = CliRunner().invoke(app, ["evaluate", "identity", str(people), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "TAR (enrolled people named correctly): 2/2 = 100.0%" in result.output
    assert "FAR (strangers named as someone): 0/2 = 0.0%" in result.output
    assert "wrong person (enrolled, named as someone else): 0/2 = 0.0%" in result.output
    report = json.loads((out / "report.json").read_text())
    assert report["rates"]["tar"] == 1.0 and report["rates"]["far"] == 0.0
    assert report["enrolment"] == [{"person": "Barack Obama", "photos": 1, "enrolled": 1, "refused": []}]
    assert report["config"]["match_threshold"] == 0.48
    with (out / "probes.csv").open() as handle:
        probes = list(csv.DictReader(handle))
    assert [(p["person"], p["outcome"]) for p in probes] == [("Barack Obama", NAMED), ("Barack Obama", NAMED),
                                                             ("Joe Biden", UNKNOWN), ("Joe Biden", UNKNOWN)]
    assert all(float(p["nearest_distance"]) > 0.7 for p in probes[2:])
    with (out / "roc.csv").open() as handle:
        points = {round(float(p["threshold"]), 2): p for p in csv.DictReader(handle)}
    assert float(points[0.48]["tar"]) == 1.0 and float(points[0.48]["far"]) == 0.0
    assert min(points) == 0.3 and max(points) == 0.8 and len(points) == 51
    assert (out / "roc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def result(person: str, enrolled: bool, outcome: str, nearest: str | None, distance: float | None,
           second: float | None = None, reason: str | None = None) -> ProbeResult:
    return ProbeResult(f"{person}.jpg", person, enrolled, outcome, reason=reason, nearest=nearest,
                       nearest_distance=distance, second_distance=second)


def test_rates_and_roc_count_each_kind_of_outcome():
    results = [result("a", True, NAMED, "a", 0.3, 0.9), result("a", True, WRONG, "b", 0.45, 0.6),
               result("a", True, PENDING, None, None, reason="face is 30 px, identity needs 40"),
               result("c", False, UNKNOWN, "a", 0.7, 0.8), result("c", False, PENDING, None, None,
                                                                   reason="face is 31 px, identity needs 40")]
    measured = rates(results)
    assert (measured.tar, measured.wrong, measured.far) == (1 / 3, 1 / 3, 0.0)
    assert measured.pending_reasons == {"face is # px, identity needs #": 2}
    assert measured.pending == 0.4
    points = {p["threshold"]: p for p in roc(results, margin=0.05)}
    assert points[0.5] == {"threshold": 0.5, "tar": 1 / 3, "wrong": 1 / 3, "far": 0.0}
    assert points[0.7]["far"] == 0.5, "the stranger within 0.7 of a; the one without a sample never counts"
    assert reason_kind(None) == "no reason given"
