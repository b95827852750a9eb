"""`vidsentry run PHOTOS/ --gallery PEOPLE/` on real photos: each photo is its own scene, an
enrolled person is named in a different photo, a stranger is unknown, a poor photo says why it
is pending, and the report has a row per photo."""

from __future__ import annotations

import shutil
from html.parser import HTMLParser

import cv2
import pytest

from schemas import EMOTION_LABELS
from tests.integration.embedded.test_run import check_outputs, run_cli
from tests.unit.workers.face.photo_files import close_up, converted, write_rgb
from tests.unit.workers.face.support import read_rgb
from workers.face.detector import MediaPipeFaceDetector

pytestmark = pytest.mark.integration


class Tables(HTMLParser):
    """Every table of the page as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture
def folders(samples, tmp_path):
    people, photos = tmp_path / "people", tmp_path / "photos"
    (people / "Barack Obama").mkdir(parents=True)
    photos.mkdir()
    shutil.copy(samples["obama"], people / "Barack Obama" / "obama.jpg")
    shutil.copy(samples["obama2"], photos / "a-obama2.jpg")
    converted(samples["biden"], "gif", photos).rename(photos / "b-biden.gif")
    rgb = read_rgb(samples["obama2"])
    box = MediaPipeFaceDetector(full_range=True, min_score=0.5).detect(rgb).boxes[0]
    write_rgb(close_up(rgb, box, fill=1.5), photos / "c-close-up.jpg")
    write_rgb(cv2.GaussianBlur(rgb, (0, 0), 6), photos / "d-blurred.jpg")
    shutil.copy(samples["group3"], photos / "e-group.jpg")
    return people, photos


def test_photos_are_named_one_by_one_and_the_report_has_a_row_per_photo(folders, tmp_path):
    people, photos = folders
    out = tmp_path / "out"
    result = run_cli(["run", str(photos), "--gallery", str(people), "--out", str(out)])
    assert result.returncode == 0, result.stderr[-3000:]
    found = check_outputs(out, None)
    assert found["summary"]["frames"] == 5

    states = [e["state"] for e in found["events"]]
    assert any(s.get("name") == "Barack Obama" and s.get("identity") == "known" for s in states)
    assert any(s.get("identity") == "unknown" for s in states), "the stranger"
    obama = [s for s in states if s.get("name") == "Barack Obama"][-1]
    assert obama["face_tracks"] and obama["body_tracks"], "his face and his body in a photo are one record"
    assert any(m.startswith("photos:body:") for m in obama["merged"]), "the body's record was folded into his"

    parser = Tables()
    parser.feed((out / "report.html").read_text())
    photo_table = next(t for t in parser.tables
                       if t[0] == ["photo", "camera", "faces found", "names", "emotion", "postures"])
    rows = {row[0]: row for row in photo_table[1:]}
    assert sorted(rows) == ["a-obama2.jpg", "b-biden.gif", "c-close-up.jpg", "d-blurred.jpg", "e-group.jpg"]
    assert rows["a-obama2.jpg"][2:4] == ["1", "Barack Obama"], "named in another photo than the enrolled one"
    assert rows["c-close-up.jpg"][2:4] == ["1", "Barack Obama"], "a close-up filling an 800x542 frame"
    assert rows["b-biden.gif"][2:4] == ["1", "unknown"]
    assert rows["d-blurred.jpg"][2] == "1" and rows["d-blurred.jpg"][3].startswith("pending (face is blurred")
    assert rows["e-group.jpg"][2] == "3" and rows["e-group.jpg"][3] == "unknown, unknown, unknown"
    assert rows["a-obama2.jpg"][4] in EMOTION_LABELS, "emotion from that photo"
    assert "sitting" in rows["e-group.jpg"][5] and "standing" not in rows["e-group.jpg"][5], "people on a sofa"
