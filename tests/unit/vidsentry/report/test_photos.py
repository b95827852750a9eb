"""The report's photo table and pending reasons, from messages as the recorder receives them
(emotions may arrive before the faces of the same frame)."""

from __future__ import annotations

from schemas import ActionsMsg, EmotionsMsg, Face, FaceEmotion, FacesMsg, FrameMsg, Identity, PersonAction
from vidsentry.report.html import render_report
from vidsentry.report.photos import photo_rows
from vidsentry.report.recorder import Recorder

HOSTILE = "<img src=x onerror=alert(1)>"


def fed(tmp_path) -> Recorder:
    recorder = Recorder(tmp_path / "events.jsonl")
    faces = [Face("p/1/1", [0, 0, 50, 50], 0.9, Identity("known", "person-1", HOSTILE, 0.3)),
             Face("p/1/2", [60, 0, 90, 30], 0.8, Identity("pending", reason="face is 30 px, identity needs 40"))]
    recorder.process([
        FrameMsg("photos", 0, 10.0, 100, 60, b"x", still=True), FrameMsg("photos", 1, 10.1, 100, 60, b"x", still=True),
        EmotionsMsg("photos", 1, 10.1, [FaceEmotion("p/1/1", [0, 0, 0, 1, 0, 0, 0], "happy")]),
        FacesMsg("photos", 0, 10.0, 100, 60, []), FacesMsg("photos", 1, 10.1, 100, 60, faces),
        ActionsMsg("photos", 1, 10.1, 100, 60, [PersonAction(f"p/1/{i}", [0, 0, 50, 50], label, 0.7, kind="posture")
                                                for i, label in enumerate(["unknown", "sitting", "sitting"])],
                   still=True),
        FrameMsg("door", 0, 10.0, 100, 60, b"x"), FacesMsg("door", 0, 10.0, 100, 60, faces[1:]),
    ])
    recorder.close()
    return recorder


def test_a_row_per_photo_with_names_reasons_and_emotions(tmp_path):
    rows = photo_rows(fed(tmp_path), {"photos": ["empty.jpg", "two.gif"]})
    assert rows == [["empty.jpg", "photos", 0, "-", "-", "-"],
                    ["two.gif", "photos", 2, f"{HOSTILE}, pending (face is 30 px, identity needs 40)", "happy, -",
                     "2 sitting, 1 unknown"]]
    assert photo_rows(fed(tmp_path / "again"), {})[1][0] == "frame 1", "without file names, the frame number"


def test_the_report_shows_the_photos_escaped_and_why_a_person_is_pending(tmp_path):
    recorder = fed(tmp_path)
    recorder.persons["door:face:p/1/2"] = {"identity": "pending", "face_tracks": ["p/1/2"], "cameras": ["door"],
                                           "camera": "door", "first_seen": 10.0, "last_seen": 10.0}
    run = {"sources": [{"source": "photos/", "camera": "photos", "frames": 2}], "frames": 3, "wall_s": 1.0, "fps": 3.0,
           "photos": {"photos": ["empty.jpg", "two.gif"]}}
    page = render_report(recorder, [], {}, run, {})
    assert "<h2>Photos (2)</h2>" in page and "two.gif" in page
    assert "<th>postures</th>" in page and "2 sitting, 1 unknown" in page
    assert HOSTILE not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert page.count("pending (face is 30 px, identity needs 40)") == 2, "in the photo row and the person row"
