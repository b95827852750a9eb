"""Log output for every command: plain text lines, or one JSON object a line (``--log-format
json``) for log collectors, with the camera, stage and track ids as fields of their own.

Where the fields come from, first found wins:
- ``extra={"camera": ..., "track_id": ...}`` on the log call;
- ``log_fields(camera=...)``, bound for the current thread or task (contextvars);
- ``set_log_fields(stage=...)``, set once per process by the role that runs (its stage);
- for ``camera``, the ``camera ID: ...`` prefix the code's messages use (ids are restricted to
  ``[A-Za-z0-9._-]``, so the prefix reads back unambiguously).
Messages are redacted before they are formatted (``vidsentry.redact.RedactingFilter``).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Literal

LogFormat = Literal["text", "json"]
FIELDS = ("stage", "camera", "track_id", "track_ids", "person_id", "topic", "partition", "offset")
"""Record attributes copied into a JSON line when present."""
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_process_fields: dict[str, object] = {}
_bound: contextvars.ContextVar[dict[str, object] | None] = contextvars.ContextVar("vidsentry_log_fields", default=None)
_CAMERA_PREFIX = re.compile(r"^camera (?P<camera>[A-Za-z0-9._-]{1,64}):")


def set_log_fields(**fields: object) -> None:
    """Fields for every record of this process (the role's ``stage``)."""
    _process_fields.update(fields)


@contextlib.contextmanager
def log_fields(**fields: object) -> Iterator[None]:
    """Fields for the records logged inside the block, in this thread or task."""
    token = _bound.set({**(_bound.get() or {}), **fields})
    try:
        yield
    finally:
        _bound.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        bound = _bound.get() or {}
        for name in FIELDS:
            value = getattr(record, name, None)
            if value is None:
                value = bound.get(name, _process_fields.get(name))
            if value is not None:
                line[name] = value
        if "camera" not in line and (match := _CAMERA_PREFIX.match(message)):
            line["camera"] = match["camera"]
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(level: str = "info", log_format: LogFormat = "text") -> None:
    """One stderr handler on the root logger in the chosen format. Like ``logging.basicConfig``
    it leaves a root logger that already has handlers alone (a host application's, pytest's)."""
    if log_format not in ("text", "json"):
        raise ValueError(f"log format must be text or json, not {log_format!r}")
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
