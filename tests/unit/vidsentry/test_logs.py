"""--log-format json: one JSON object a line, with camera, stage and track ids as fields, and
credentials still masked."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from vidsentry.logs import JsonFormatter, configure_logging, log_fields, set_log_fields
from vidsentry.redact import RedactingFilter

REPO = Path(__file__).resolve().parents[3]


def emit(logger_name: str, *args, **kwargs) -> dict:
    """Log through a handler set up as the CLI sets it up (redaction filter + JSON formatter)."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Collect()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        logger.warning(*args, **kwargs)
    finally:
        logger.removeHandler(handler)
    (line,) = lines
    return json.loads(line)


def test_fields_from_extra_context_and_process():
    set_log_fields(stage="face")
    try:
        with log_fields(camera="gate-1"):
            line = emit("t.ctx", "face track %s is %s", "gate-1/7", "unknown", extra={"track_id": "gate-1/7"})
        plain = emit("t.plain", "nothing bound")
    finally:
        set_log_fields(stage=None)
    assert line["message"] == "face track gate-1/7 is unknown"
    assert (line["stage"], line["camera"], line["track_id"], line["level"]) == ("face", "gate-1", "gate-1/7", "warning")
    assert line["ts"].endswith("+00:00")
    assert "camera" not in plain and "track_id" not in plain and plain["stage"] == "face"


def test_the_camera_comes_from_the_message_prefix_when_not_given():
    line = emit("t.prefix", "camera %s: source is back after a %.1f s gap", "lobby.east", 2.0)
    assert line["camera"] == "lobby.east"
    assert "camera" not in emit("t.prefix", "cameras: 2 of them")


def test_a_binding_stays_in_its_own_thread():
    seen = {}

    def other():
        seen["line"] = emit("t.thread", "from another thread")

    with log_fields(camera="mine"):
        worker = threading.Thread(target=other)
        worker.start()
        worker.join()
    assert "camera" not in seen["line"]


def test_credentials_are_masked_and_exceptions_are_one_field():
    try:
        raise ValueError("cannot open rtsp://admin:hunter2@cam/stream")
    except ValueError:
        line = emit("t.exc", "camera %s: %s", "door", "rtsp://admin:hunter2@cam/stream", exc_info=True)
    text = json.dumps(line)
    assert "hunter2" not in text and "admin:***@cam" in line["message"]
    assert "ValueError" in line["exception"] and "\n" not in json.dumps(line).strip()


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="text or json"):
        configure_logging("info", "xml")


def test_the_cli_writes_json_lines_with_the_stage_and_camera(tmp_path):
    env = {**os.environ, "VIDSENTRY_BUS__KIND": "memory", "VIDSENTRY_METRICS__ENABLED": "false"}
    missing = tmp_path / "missing.mp4"
    result = subprocess.run([sys.executable, "-m", "vidsentry.cli", "--log-format", "json", "producer", "--source", str(missing),
                             "--camera-id", "door-2"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    logged = [json.loads(line) for line in result.stderr.splitlines() if not line.startswith("error:")]
    assert logged and all(line["stage"] == "producer" for line in logged)
    assert any(line.get("camera") == "door-2" and line["level"] == "error" for line in logged), logged
    refused = subprocess.run([sys.executable, "-m", "vidsentry.cli", "--log-format", "xml", "config", "check"],
                             cwd=REPO, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "--log-format must be text or json" in refused.stderr


def test_a_dead_letter_is_logged_with_its_camera_and_position(caplog):
    from schemas import encode as encode_message
    from schemas.messages import FrameMsg
    from schemas.topics import FRAMES
    from tests.echo_stage import EchoStage
    from vidsentry.bus import Record
    from vidsentry.bus.memory import InMemoryBus
    from vidsentry.config import RuntimeConfig
    from vidsentry.runtime import StageRunner

    runner = StageRunner(EchoStage(), InMemoryBus(), [FRAMES], RuntimeConfig(), expect=FrameMsg)
    poison = encode_message(FrameMsg("poison", 3, 1.0, 2, 2, b"jpeg"))  # the echo stage raises on this camera
    with caplog.at_level(logging.WARNING, logger="vidsentry.runtime"):
        runner.handle([Record(FRAMES, 2, 41, "poison", b"garbage", 0), Record(FRAMES, 2, 42, "poison", poison, 0)])
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if "dead-lettering" in r.getMessage()]
    assert [(line["camera"], line["topic"], line["partition"], line["offset"]) for line in lines][:1] == [("poison", FRAMES, 2, 41)]
