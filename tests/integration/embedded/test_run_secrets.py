"""`vidsentry run` with a camera URL holding a password next to a real video: the password is in
none of the outputs (logs, summary.json, report.html, events, alerts), and no camera id is
derived from it (camera ids are metrics labels and appear everywhere)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from tests.helpers import wait_until
from tests.integration.embedded.test_run import REPO, UNKNOWN_FACE_RULE, Page

pytestmark = pytest.mark.integration
SECRET = "s3cretpw"
LOCKED_CAMERA = f"rtsp://user:{SECRET}@127.0.0.1:1"
"""No path: the camera id is made from the rest of the URL. Nothing listens on port 1."""


@pytest.mark.reliability(fault='a camera URL with a password (`rtsp://user:pass@host`) in an embedded run',
                         happened='the password is in no log line, summary.json, report.html, events or alerts; the camera id comes from the host',
                         lost='nothing')
def test_a_camera_password_is_in_no_output_of_an_embedded_run(samples, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(UNKNOWN_FACE_RULE)
    out = tmp_path / "out"
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "vidsentry.cli", "run", str(samples["carphone"]), LOCKED_CAMERA,
                                    "--out", str(out), "--rules", str(rules), "--fps", "15"], cwd=REPO,
                                   stdout=log, stderr=subprocess.STDOUT)
    events = tmp_path / "out.partial" / "events.jsonl"
    try:
        # The live camera is retried for ever, so the run is stopped by hand once the locked camera
        # was refused (logged) and the video has reached the end of the pipeline.
        assert wait_until(lambda: "reconnecting with backoff" in log_path.read_text()
                          and events.exists() and events.stat().st_size > 0, timeout_s=300), log_path.read_text()[-3000:]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=300)
    logs = log_path.read_text()
    assert process.returncode == 0, logs[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    assert [s["source"] for s in summary["sources"]] == [str(samples["carphone"]), "rtsp://user:***@127.0.0.1:1"]
    assert summary["cameras"]["127.0.0.1"]["reconnects"] >= 1, "the locked camera's id comes from its host"
    report = (out / "report.html").read_text()
    page = Page()
    page.feed(report)
    assert "rtsp://user:***@127.0.0.1:1" in " ".join(page.text)
    outputs = {"log": logs, "summary.json": json.dumps(summary), "report.html": report,
               "events.jsonl": (out / "events.jsonl").read_text(), "alerts.jsonl": (out / "alerts.jsonl").read_text()}
    assert outputs["events.jsonl"], "the video was analysed"
    for where, text in outputs.items():
        assert SECRET not in text, f"the password is in {where}"
