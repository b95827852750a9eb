"""The recorder keeps a long run's per-frame marks on disk, not in memory, and reads back
exactly what it would have kept in memory (messages generated here, in both orders)."""

from __future__ import annotations

from dataclasses import asdict

from schemas import ActionsMsg, EmotionsMsg, FaceEmotion, FacesMsg, PersonAction
from schemas.messages import Face, Identity
from vidsentry.report.recorder import Recorder


def messages():
    face = Face("f1", [1.0, 2.0, 30.0, 40.0], 0.9, Identity("known", "p1", "Ann"))
    emotion = FaceEmotion("f1", [0.1, 0, 0, 0.9, 0, 0, 0], "happy")
    body = PersonAction("b1", [0.0, 0.0, 50.0, 90.0], "walking", 0.8)
    return [
        EmotionsMsg("cam", 1, 10.0, [emotion]),  # the emotion of frame 1 before its faces
        FacesMsg("cam", 1, 10.0, 640, 480, [face]),
        FacesMsg("cam", 2, 10.1, 640, 480, [face]),
        EmotionsMsg("cam", 2, 10.1, [emotion]),
        ActionsMsg("cam", 2, 10.1, 640, 480, [body]),
    ]


def marks_of(recorder: Recorder) -> dict:
    return {camera: {seq: asdict(m) for seq, m in frames.items()} for camera, frames in recorder.marks.items()}


def test_marks_spilled_to_disk_read_back_as_kept_in_memory(tmp_path):
    in_memory = Recorder(tmp_path / "a.jsonl")
    spilled = Recorder(tmp_path / "b.jsonl", marks_path=tmp_path / "marks.jsonl")
    for recorder in (in_memory, spilled):
        recorder.process(messages())
    assert spilled.marks == {}, "nothing is held in memory during the run"
    in_memory.close()
    spilled.close()
    assert marks_of(spilled) == marks_of(in_memory)
    assert marks_of(spilled)["cam"][1]["faces"][0]["emotion"] == "happy"
    assert marks_of(spilled)["cam"][2]["bodies"][0]["action"] == "walking"
    assert not (tmp_path / "marks.jsonl").exists()
