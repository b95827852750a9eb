"""Credentials are masked in URLs, free text, nested data, log records and tracebacks."""

from __future__ import annotations

import io
import logging
import subprocess
import sys

import pytest
from pydantic import BaseModel, SecretStr

from vidsentry.redact import RedactingFilter, install_log_redaction, redact_data, redact_text, redact_url

SECRET = "s3cretpw"


@pytest.mark.parametrize(("url", "shown"), [
    ("rtsp://user:s3cretpw@10.0.0.7:554/stream1", "rtsp://user:***@10.0.0.7:554/stream1"),
    ("rtsps://user:s3cretpw@cam/x?transport=tcp", "rtsps://user:***@cam/x?transport=tcp"),
    ("redis://:s3cretpw@127.0.0.1:6379/0", "redis://:***@127.0.0.1:6379/0"),
    ("rediss://default:s3cretpw@redis.internal:6380/0", "rediss://default:***@redis.internal:6380/0"),
    ("http://admin:s3cretpw@cam.local/video.mjpg", "http://admin:***@cam.local/video.mjpg"),
    ("https://s3cretpw@hooks.example/x", "https://***@hooks.example/x"),
    ("rtsp://user:s3c@retpw@host/x", "rtsp://user:***@host/x"),
    ("SASL_SSL://alice:s3cretpw@b1:9092,b2:9092", "SASL_SSL://alice:***@b1:9092,b2:9092"),
    ("alice:s3cretpw@b1:9092,b2:9092", "alice:***@b1:9092,b2:9092"),
    ("ftp:/user:s3cretpw@h/x.mp4", "ftp:/user:***@h/x.mp4"),
    ("https://hooks.example/x?token=s3cretpw&team=ops#top", "https://hooks.example/x?token=***&team=ops#top"),
    ("http://cam/snap.jpg?user=a&password=s3cretpw;apikey=s3cretpw&Access_Token=s3cretpw",
     "http://cam/snap.jpg?user=a&password=***;apikey=***&Access_Token=***"),
    ("http://cam/a?key=s3cretpw&secret=s3cretpw&auth=s3cretpw", "http://cam/a?key=***&secret=***&auth=***"),
])
def test_urls_lose_their_credentials_and_keep_everything_else(url, shown):
    assert redact_url(url) == shown
    assert redact_url(shown) == shown, "redacting twice changes nothing"
    assert redact_text(f"cannot open ({url}); retrying") == f"cannot open ({shown}); retrying"


@pytest.mark.parametrize("text", ["/videos/lobby.mp4", "0", "127.0.0.1:9092,127.0.0.2:9092", "rtsp://10.0.0.7/stream",
                                  "redis://127.0.0.1:6379/0", "http://cam/a?size=2&mode=x", "bob@example.com",
                                  "person-1f2e at 12:30", "camera:face:3"])
def test_text_without_credentials_is_unchanged(text):
    assert redact_url(text) == text
    assert redact_text(text) == text


def test_free_text_assignments_and_host_lists_are_masked():
    text = "no broker at alice:s3cretpw@k1:9092,k2:9092 (sasl_password=s3cretpw, token = s3cretpw)"
    assert SECRET not in redact_text(text)
    assert redact_text(text) == "no broker at alice:***@k1:9092,k2:9092 (sasl_password=***, token = ***)"


def test_nested_data_masks_secret_keys_and_urls_and_leaves_the_rest():
    class Settings(BaseModel):
        url: str = f"redis://:{SECRET}@h/0"
        password: SecretStr = SecretStr(SECRET)
        sasl_password: str = SECRET
        password_file: str = "/run/secrets/kafka"
        port: int = 9092

    dumped = redact_data({"redis": Settings().model_dump(mode="json"), "sources": [f"rtsp://u:{SECRET}@cam/x", 3, None]})
    assert dumped == {"redis": {"url": "redis://:***@h/0", "password": "**********", "sasl_password": "**********",
                                "password_file": "/run/secrets/kafka", "port": 9092},
                      "sources": ["rtsp://u:***@cam/x", 3, None]}


def capture(logger_name: str) -> tuple[logging.Logger, io.StringIO, logging.Handler]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(logger_name)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, stream, handler


def test_log_records_are_masked_in_message_arguments_exceptions_and_stacks():
    logger, stream, handler = capture("test.redact.child")
    try:
        logger.warning("camera %s: cannot open the source (%s)", "lobby", f"rtsp://user:{SECRET}@10.0.0.7/x")
        logger.info(f"connecting to redis://:{SECRET}@h:6379/0")
        try:
            raise ConnectionError(f"refused by http://admin:{SECRET}@cam.local/")
        except ConnectionError:
            logger.exception("webhook failed")
        logger.info("where am I", stack_info=True, extra={"x": f"rtsp://u:{SECRET}@h"})
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert SECRET not in text
    assert "camera lobby: cannot open the source (rtsp://user:***@10.0.0.7/x)" in text
    assert "ConnectionError: refused by http://admin:***@cam.local/" in text and "Stack (most recent call last)" in text


def test_install_puts_one_filter_on_each_root_handler():
    root = logging.getLogger()
    handler = logging.StreamHandler(io.StringIO())
    root.addHandler(handler)
    try:
        install_log_redaction()
        install_log_redaction()
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)


def test_an_uncaught_exception_is_printed_without_credentials():
    code = ("import threading\n"
            "from vidsentry.redact import install_traceback_redaction\n"
            "install_traceback_redaction()\n"
            "def fail():\n"
            f"    raise ValueError('rtsp://u:{SECRET}@h')\n"
            "thread = threading.Thread(target=fail)\n"
            "thread.start()\n"
            "thread.join()\n"
            f"raise RuntimeError('redis://:{SECRET}@h/0')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "ValueError: rtsp://u:***@h" in result.stderr and "RuntimeError: redis://:***@h/0" in result.stderr
    assert SECRET not in result.stderr
