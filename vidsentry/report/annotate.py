"""The annotated video: boxes, who (name or unknown id), emotion, action and alert banners
drawn on every frame; faces can be blurred for privacy.

For a file the source is read again frame by frame, so the video has the input's frame
count and each frame shows the marks of the latest analysed frame at or before it.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

from vidsentry.image_header import DEFAULT_MAX_PIXELS, megapixels
from vidsentry.privacy import blur_region, blurs
from vidsentry.report.recorder import FrameMarks

FACE_COLOURS = {"known": (80, 200, 80), "unknown": (40, 40, 230), "pending": (200, 200, 200)}
BODY_COLOUR = (230, 160, 40)
HOLD_S = 1.0


class AnnotateError(RuntimeError):
    """The annotated video could not be written; the run goes on without it and counts it."""


def draw(image: np.ndarray, marks: FrameMarks | None, scale: float, banners: list[str], blur_faces: str = "none") -> np.ndarray:
    """``blur_faces``: none, all, or unknown (everyone not identified as a known person)."""
    out = image.copy()
    if marks is not None:
        for body in marks.bodies:
            x1, y1, x2, y2 = (int(round(v * scale)) for v in body["box"])
            cv2.rectangle(out, (x1, y1), (x2, y2), BODY_COLOUR, 2)
            _label(out, f"{body['action']}", (x1, y2), BODY_COLOUR, below=True)
        for face in marks.faces:
            x1, y1, x2, y2 = (int(round(v * scale)) for v in face["box"])
            x1, y1 = max(0, x1), max(0, y1)
            if blurs(blur_faces, face["status"]):
                blur_region(out, (x1, y1, x2, y2))
            colour = FACE_COLOURS.get(face["status"], FACE_COLOURS["pending"])
            cv2.rectangle(out, (x1, y1), (x2, y2), colour, 2)
            who = face["name"] or (face["person"] if face["status"] == "unknown" else "?")
            _label(out, f"{who} {face['emotion'] or ''}".strip(), (x1, y1), colour)
    for i, text in enumerate(banners[:3]):
        cv2.rectangle(out, (0, i * 22), (out.shape[1], (i + 1) * 22), (0, 0, 200), -1)
        cv2.putText(out, text, (6, i * 22 + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def _label(image: np.ndarray, text: str, corner: tuple[int, int], colour: tuple[int, int, int], below: bool = False) -> None:
    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
    x, y = corner
    top = y if below else max(0, y - h - 6)
    cv2.rectangle(image, (x, top), (x + w + 4, top + h + 6), colour, -1)
    cv2.putText(image, text, (x + 2, top + h + 2), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)


class Timeline:
    """Marks by capture time, to find the latest analysed frame at or before a moment."""

    def __init__(self, marks: dict[int, FrameMarks]) -> None:
        ordered = sorted(marks.values(), key=lambda m: m.ts)
        self.times = [m.ts for m in ordered]
        self.marks = ordered

    def at(self, ts: float) -> FrameMarks | None:
        i = bisect.bisect_right(self.times, ts + 1e-6) - 1
        if i < 0 or ts - self.times[i] > HOLD_S:
            return None
        return self.marks[i]


def banners_at(alerts: Iterable[dict], ts: float) -> list[str]:
    shown = []
    for alert in alerts:
        if alert["status"] in ("raised", "escalated") and alert["ts"] <= ts <= alert["ts"] + 3.0:
            shown.append(f"ALERT {alert['severity'].upper()}: {alert['rule']} ({alert['subject']})")
    return shown


def annotate_file(source: Path, target: Path, marks: dict[int, FrameMarks], published_width: int, t0: float,
                  alerts: list[dict], blur_faces: str = "none", max_pixels: int = DEFAULT_MAX_PIXELS) -> int:
    """Write the annotated copy of a video file; returns the frames written (the input's count).
    Raises AnnotateError when the source's frames are above ``max_pixels`` (it would decode
    them at full size) or the video writer cannot be opened.

    ``t0`` is the capture time the producer gave the file's first frame: frame i is at
    t0 + i / fps on the same clock as the marks.
    """
    capture = cv2.VideoCapture(str(source))
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    scale = width / published_width if published_width else 1.0
    if width * height > max_pixels:
        capture.release()
        raise AnnotateError(f"{source.name}: frames are {megapixels(width, height)}, above the camera's max_pixels "
                            f"({max_pixels}); no annotated video")
    writer = cv2.VideoWriter(str(target), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        capture.release()
        raise AnnotateError(f"{source.name}: the video writer cannot write {width}x{height} MPEG-4 to {target.name}; "
                            f"no annotated video")
    timeline = Timeline(marks)
    written = 0
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            ts = t0 + written / fps
            writer.write(draw(image, timeline.at(ts), scale, banners_at(alerts, ts), blur_faces))
            written += 1
    finally:
        writer.release()
        capture.release()
    if written and (not target.is_file() or target.stat().st_size == 0):
        raise AnnotateError(f"{source.name}: the video writer left no {target.name}; no annotated video")
    return written
