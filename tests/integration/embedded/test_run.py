"""`vidsentry run` on a real sample: every output present, consistent and valid."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.mjpeg_server import MjpegCamera

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]

UNKNOWN_FACE_RULE = "rules:\n  - name: stranger\n    severity: warning\n    when: {identity: unknown}\n"


class Page(HTMLParser):
    """Collects references and checks that every opened tag is closed in order."""

    VOID = {"meta", "img", "br", "hr", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.refs: list[str] = []
        self.errors: list[str] = []
        self.text: list[str] = []
        self.data_blocks: list[str] = []
        self._in_data = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href"):
            if key in attrs:
                self.refs.append(attrs[key])
        self._in_data = tag == "script" and attrs.get("id") == "vidsentry-data"
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)
        if self._in_data:
            self.data_blocks.append(data)


def run_cli(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidsentry.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600, **kwargs)


def check_outputs(out: Path, source: Path | None) -> dict:
    summary = json.loads((out / "summary.json").read_text())
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    alerts = [json.loads(line) for line in (out / "alerts.jsonl").read_text().splitlines()]
    assert all(e["person_id"] and e["state"]["camera"] for e in events)
    page = Page()
    page.feed((out / "report.html").read_text())
    page.close()
    assert page.errors == [] and page.stack == []
    for ref in page.refs:
        assert ref.startswith("data:image/png;base64,") or (out / ref).is_file(), f"report links a missing file: {ref}"
    report_alerts = json.loads("".join(page.data_blocks))["alerts"]
    assert sorted(report_alerts) == sorted(a["id"] for a in alerts), "every alert is in the report"
    text = " ".join(page.text)
    for alert in alerts:
        assert alert["id"] in text
        if alert.get("snapshot"):
            assert (out / alert["snapshot"]).is_file()
    if source is not None:
        video = out / f"{source.stem}.annotated.mp4"
        written = cv2.VideoCapture(str(video))
        original = cv2.VideoCapture(str(source))
        assert count_frames(written) == count_frames(original), "the annotated video has the input's frame count"
    return {"summary": summary, "events": events, "alerts": alerts, "text": text}


def count_frames(capture) -> int:
    n = 0
    while capture.read()[0]:
        n += 1
    return n


def test_run_on_a_real_video_writes_consistent_outputs(samples, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(UNKNOWN_FACE_RULE)
    out = tmp_path / "out"
    result = run_cli(["run", str(samples["carphone"]), "--out", str(out), "--rules", str(rules), "--fps", "15"])
    assert result.returncode == 0, result.stderr[-3000:]
    found = check_outputs(out, samples["carphone"])
    assert found["summary"]["frames"] == 60
    assert [a["rule"] for a in found["alerts"] if a["status"] == "raised"] == ["stranger"]
    assert found["summary"]["persons"] >= 1
    assert found["summary"]["latency_s"] is None, "media-clock stamps (as fast as possible): no latency to measure"
    (camera,) = found["summary"]["cameras"].values()
    assert camera["published"] == 60 and camera["dropped"] == 0
    assert found["summary"]["cpu_s"] > 0 and found["summary"]["peak_rss_mb"] > 100, "models are loaded"
    assert found["summary"]["frames_without_pose"] == {"rate": 40, "stale": 0, "no_motion": 0}, "15 fps analysed, pose at 5/s"
    raised = next(a for a in found["alerts"] if a["status"] == "raised")
    assert raised["emitted"] > 0
    assert "Emotions over time" in found["text"]
    assert not (tmp_path / "out.partial").exists()


def test_ctrl_c_mid_run_still_leaves_valid_outputs(samples, tmp_path):
    out = tmp_path / "out"
    # Next to the file, a live camera that never ends: the run cannot finish on its own before
    # the Ctrl-C, however long the machine takes to produce the first event.
    with MjpegCamera([("serve", 10**6)], fps=5) as live:
        started = time.monotonic()
        process = subprocess.Popen([sys.executable, "-m", "vidsentry.cli", "run", str(samples["bikes"]), live.url,
                                    "--out", str(out), "--realtime", "--fps", "5"], cwd=REPO, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        events = tmp_path / "out.partial" / "events.jsonl"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and process.poll() is None:
            if events.exists() and events.stat().st_size > 0:
                break
            time.sleep(0.2)
        assert process.poll() is None, "the run ended before it could be interrupted"
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=240)
        run_s = time.monotonic() - started
    assert process.returncode == 0, stderr[-3000:]
    assert "stopped early" in stdout
    found = check_outputs(out, samples["bikes"])
    assert found["summary"]["interrupted"] is True
    assert found["summary"]["cameras"]["bikes"]["published"] > 0
    latency = found["summary"]["latency_s"]
    for kind in ("faces", "actions", "event"):
        assert latency[kind]["n"] > 0 and 0 < latency[kind]["p50"] <= latency[kind]["p95"] <= latency[kind]["p99"] < run_s, \
            "seconds from capture to here, within the run"


def test_a_corrupt_input_is_a_clear_error_and_leaves_nothing(tmp_path):
    corrupt = tmp_path / "camera.mp4"
    corrupt.write_bytes(np.random.default_rng(7).integers(0, 256, 100_000, dtype=np.uint8).tobytes())
    out = tmp_path / "out"
    result = run_cli(["run", str(corrupt), "--out", str(out)])
    assert result.returncode == 1
    assert "corrupt" in result.stderr and str(corrupt) in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() and not (tmp_path / "out.partial").exists()
