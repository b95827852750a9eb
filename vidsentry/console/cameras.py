"""The camera grid's rows: what the console sees on the bus (frames, the newest tile) joined with
what each camera's producer reports (vidsentry/camera_state.py). The producer's word wins on state
and fps; a camera it reported whose record is gone (the producer died) or stopped changing is down.
A camera no producer reports on (no Redis at the producer) keeps the state its frames tell: up or stalled."""

from __future__ import annotations

from collections.abc import Callable

from vidsentry.camera_state import CameraStateRecord

NO_REPORT = "no report from its producer"
STOPPED_REPORTING = "its producer stopped reporting"


def camera_rows(live: list[dict], records: dict[str, CameraStateRecord], known: set[str],
                stale: Callable[[CameraStateRecord], bool]) -> list[dict]:
    rows = {r["camera"]: {**r, "dropped": None, "reconnects": None, "error": None} for r in live}
    for camera in known | set(records):
        row = rows.setdefault(camera, {"camera": camera, "fps": 0.0, "frames": 0, "seq": None, "dropped": None,
                                       "reconnects": None, "error": None})
        record = records.get(camera)
        if record is None:
            row.update(state="down", error=NO_REPORT)
            continue
        state, error = record.state, record.error
        if stale(record) and state != "ended":
            state, error = "down", STOPPED_REPORTING
        row.update(state=state, fps=round(record.fps, 1), dropped=record.dropped, reconnects=record.reconnects, error=error)
    return sorted(rows.values(), key=lambda r: r["camera"])
