"""Alert snapshots kept as files (embedded mode): within a count and an age, oldest first,
with failures counted; and blurred for everyone or only for people not known."""

from __future__ import annotations

import json
import os

import cv2
import numpy as np
import pytest

from aggregator.aggregator import AggregatorStage
from aggregator.alerts import FileAlertSink
from aggregator.config import AggregatorConfig
from aggregator.incidents import Alert
from aggregator.rules import load_rules
from aggregator.state import MemoryStore
from tests.scenario import Scene, face

RULES = """rules:
  - name: stranger
    severity: warning
    when: {identity: unknown}
  - name: known
    severity: info
    when: {identity: known}
"""


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def alert(n: int) -> Alert:
    return Alert(f"a{n}", "stranger", "warning", "raised", f"p{n}", "cam-1", float(n), float(n), "test")


def test_the_snapshot_folder_keeps_the_newest_files_within_the_count(tmp_path):
    sink = FileAlertSink(tmp_path / "alerts.jsonl", max_snapshots=3, clock=Clock())
    for n in range(5):
        sink.emit(alert(n), b"jpeg %d" % n)
    sink.close()
    assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == ["a2-raised.jpg", "a3-raised.jpg", "a4-raised.jpg"]
    assert sink.snapshots.pruned == 2 and sink.snapshots.failed == 0


def test_snapshots_older_than_the_age_limit_are_deleted_at_the_next_alert(tmp_path):
    clock = Clock()
    sink = FileAlertSink(tmp_path / "alerts.jsonl", max_snapshots=100, max_snapshot_age_s=3600, clock=clock)
    sink.emit(alert(1), b"old")
    clock.now += 1800
    sink.emit(alert(2), b"newer")
    clock.now += 1801
    sink.emit(alert(3), None)
    assert sorted(p.name for p in (tmp_path / "snapshots").iterdir()) == ["a2-raised.jpg"]
    clock.now += 3600
    sink.close()
    assert list((tmp_path / "snapshots").iterdir()) == []


def test_files_left_by_an_earlier_run_count_oldest_first(tmp_path):
    folder = tmp_path / "snapshots"
    folder.mkdir()
    for n, mtime in ((1, 100.0), (2, 200.0)):
        (folder / f"old{n}.jpg").write_bytes(b"x")
        os.utime(folder / f"old{n}.jpg", (mtime, mtime))
    sink = FileAlertSink(tmp_path / "alerts.jsonl", max_snapshots=2, max_snapshot_age_s=10**9, clock=Clock(300.0))
    sink.emit(alert(3), b"new")
    assert sorted(p.name for p in folder.iterdir()) == ["a3-raised.jpg", "old2.jpg"]


def test_a_snapshot_that_cannot_be_written_is_counted_and_the_alert_goes_on(tmp_path):
    (tmp_path / "snapshots").write_text("a file where the folder should be")
    sink = FileAlertSink(tmp_path / "alerts.jsonl")
    sink.emit(alert(1), b"jpeg")
    sink.close()
    assert sink.snapshots.failed == 1 and "a1-raised.jpg" in sink.snapshots.failures[0]
    (line,) = (tmp_path / "alerts.jsonl").read_text().splitlines()
    assert json.loads(line)["id"] == "a1" and json.loads(line)["snapshot"] is None


def crop_jpeg(seed: int) -> bytes:
    """A generated high-detail 96x96 'crop': blurring it must visibly remove detail."""
    pixels = np.random.default_rng(seed).integers(0, 256, (96, 96, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()


def detail(jpeg: bytes) -> float:
    gray = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def snapshots_after_a_scene(tmp_path, mode: str) -> dict[str, bytes]:
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES)
    sink = FileAlertSink(tmp_path / "alerts.jsonl")
    stage = AggregatorStage(load_rules(rules_file), MemoryStore(), [sink], AggregatorConfig(blur_snapshots=mode))
    known, stranger = face("f1", "known", "Ann"), face("f2", box=(10, 10, 50, 60))
    known.crop, stranger.crop = crop_jpeg(1), crop_jpeg(2)
    scene = Scene()
    scene.run(1, faces=[known, stranger], bodies=None)
    stage.process(scene.messages)
    sink.close()
    alerts = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    return {a["subject"]: (tmp_path / a["snapshot"]).read_bytes() for a in alerts if a["status"] == "raised"}


@pytest.mark.parametrize("mode,blurred", [("none", set()), ("unknown", {"anon-f2"}), ("all", {"p-ann", "anon-f2"})])
def test_snapshots_are_blurred_for_everyone_or_only_for_people_not_known(tmp_path, mode, blurred):
    originals = {"p-ann": crop_jpeg(1), "anon-f2": crop_jpeg(2)}
    stored = snapshots_after_a_scene(tmp_path, mode)
    assert set(stored) == set(originals)
    for person, data in stored.items():
        if person in blurred:
            assert detail(data) < detail(originals[person]) / 10, f"{person}'s snapshot is not blurred"
        else:
            assert data == originals[person], f"{person}'s snapshot was changed"


def test_a_snapshot_that_must_be_blurred_but_cannot_be_decoded_is_not_kept(tmp_path):
    rules_file = tmp_path / "rules.yaml"
    rules_file.write_text(RULES)
    sink = FileAlertSink(tmp_path / "alerts.jsonl")
    stage = AggregatorStage(load_rules(rules_file), MemoryStore(), [sink], AggregatorConfig(blur_snapshots="unknown"))
    scene = Scene()
    scene.run(1, faces=[face("f2")], bodies=None)  # its crop is not a decodable JPEG
    stage.process(scene.messages)
    sink.close()
    (raised,) = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert raised["snapshot"] is None and not (tmp_path / "snapshots").exists()
