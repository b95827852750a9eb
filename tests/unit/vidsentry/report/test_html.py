"""report.html with hostile data: names, camera ids, rule names, subjects, sources, errors and
link targets are shown as text, never as markup, and links only point at the run's files."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest

from vidsentry.report.html import safe_href, write_report
from vidsentry.report.recorder import FrameMarks, Recorder

HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_CAMERA = "<script>alert(2)</script>"
HOSTILE_RULE = '"><svg onload=alert(3)>'
HOSTILE_SUBJECT = "</td><iframe src=javascript:alert(4)>"
HOSTILE_ERROR = "</table><script>alert(5)</script>"
STRUCTURE = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "table", "tr", "th", "td", "a", "img",
             "script"}


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.data: list[str] = []
        self._in_data = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        self._in_data = tag == "script" and attrs.get("id") == "vidsentry-data"

    def handle_endtag(self, tag):
        self._in_data = False

    def handle_data(self, data):
        (self.data if self._in_data else self.text).append(data)


def hostile_report(tmp_path) -> Elements:
    recorder = Recorder(tmp_path / "events.jsonl")
    person = f"{HOSTILE_CAMERA}:face:1"
    recorder.marks[HOSTILE_CAMERA][0] = FrameMarks(100.0)
    recorder.persons[person] = {"name": HOSTILE_NAME, "identity": "known", "face_tracks": ["1"], "cameras": [HOSTILE_CAMERA],
                                "first_seen": 100.0, "last_seen": 103.0}
    recorder.emotion_history[(HOSTILE_CAMERA, "1")] = [(100.0, [0.1, 0.1, 0.1, 0.4, 0.1, 0.1, 0.1]),
                                                       (101.0, [0.1, 0.1, 0.1, 0.4, 0.1, 0.1, 0.1])]
    recorder.action_history[person] = [(100.0, "walking"), (102.0, HOSTILE_NAME)]
    recorder.dead_letters.append({"stage": "face", "topic": HOSTILE_CAMERA, "error": HOSTILE_ERROR})
    alerts = [{"id": "a1", "ts": 101.0, "rule": HOSTILE_RULE, "severity": "warning", "status": "raised",
               "camera": HOSTILE_CAMERA, "subject": HOSTILE_SUBJECT, "snapshot": "javascript:alert(6)"},
              {"id": "a2", "ts": 102.0, "rule": "r", "severity": "info", "status": "raised", "camera": "c",
               "subject": "s", "snapshot": "snapshots/a2-raised.jpg"}]
    run = {"summary": HOSTILE_NAME, "sources": [{"source": "rtsp://u:pw@host/<b>", "camera": HOSTILE_CAMERA, "frames": 1}],
           "frames": 1, "wall_s": 1.0, "fps": 1.0}
    timings = {HOSTILE_RULE: {"batches": 1, "seconds": 0.1, "ms_per_batch": 100.0, "messages": 1, "ms_per_message": 100.0}}
    path = tmp_path / "report.html"
    write_report(path, recorder, alerts, timings, run, {HOSTILE_CAMERA: "javascript:alert(7)"})
    recorder.close()
    page = Elements()
    page.feed(path.read_text())
    page.close()
    return page


@pytest.mark.reliability(fault="markup in a person's name, camera id, rule name, alert subject and dead-letter error (`<img src=x onerror=...>`, `<script>`)",
                         happened='report.html is rendered by an autoescaping Jinja2 template: the text is shown, never run; hrefs only to relative run files',
                         lost='nothing')
def test_hostile_data_never_becomes_markup(tmp_path):
    page = hostile_report(tmp_path)
    assert {tag for tag, _ in page.tags} <= STRUCTURE
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert scripts == [{"type": "application/json", "id": "vidsentry-data"}], "the data block is the only script"
    for tag, attrs in page.tags:
        assert not [name for name in attrs if name.startswith("on")], f"<{tag}> has an event handler: {attrs}"
        for name in ("href", "src"):
            if name in attrs:
                value = attrs[name]
                assert value.startswith("data:image/png;base64,") or value == "snapshots/a2-raised.jpg", (tag, attrs)
    text = "".join(page.text)
    for hostile in (HOSTILE_NAME, HOSTILE_CAMERA, HOSTILE_RULE, HOSTILE_SUBJECT, HOSTILE_ERROR, "javascript:alert(6)"):
        assert hostile in text, f"{hostile!r} is shown as text"
    data = json.loads("".join(page.data))
    assert data["persons"] == [f"{HOSTILE_CAMERA}:face:1"] and data["alerts"] == ["a1", "a2"]


def test_sources_are_shown_without_credentials(tmp_path):
    text = "".join(hostile_report(tmp_path).text)
    assert "pw@" not in text and "rtsp://u:***@host/<b>" in text


@pytest.mark.parametrize("target", ["javascript:alert(1)", "JavaScript:alert(1)", "java\tscript:alert(1)", " javascript:x",
                                    "data:text/html,<script>", "vbscript:x", "http://evil.example/x", "//evil.example/x",
                                    "/etc/passwd", "\\\\evil\\share", "vidsentry:snapshot:a1", "", None])
def test_only_relative_run_files_become_links(target):
    assert safe_href(target) is None


def test_a_relative_file_is_a_link_quoted_for_an_attribute():
    assert safe_href("snapshots/a1-raised.jpg") == "snapshots/a1-raised.jpg"
    assert safe_href('cam "1".mp4') == "cam%20%221%22.mp4"
