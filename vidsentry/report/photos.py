"""The report's table of photos: one row per still frame (a photo of an image folder), with
the faces found in it, who they are, how they seem to feel, and the people's postures."""

from __future__ import annotations

from collections import Counter

from vidsentry.report.recorder import Recorder


def photo_rows(recorder: Recorder, names: dict[str, list[str]]) -> list[list]:
    """[photo, camera, faces found, names, emotions, postures] per still frame, in camera and file order;
    ``names`` gives each image-folder camera's file names in frame order."""
    rows = []
    for camera in sorted(recorder.stills):
        files = names.get(camera, [])
        for seq in sorted(recorder.stills[camera]):
            marks = recorder.marks.get(camera, {}).get(seq)
            faces = marks.faces if marks is not None else []
            bodies = marks.bodies if marks is not None else []
            photo = files[seq] if 0 <= seq < len(files) else f"frame {seq}"
            rows.append([photo, camera, len(faces), ", ".join(identity_text(f) for f in faces) or "-",
                         ", ".join(f.get("emotion") or "-" for f in faces) or "-", posture_text(bodies)])
    return rows


def posture_text(bodies: list[dict]) -> str:
    """The people of one photo by posture, most common first: "3 sitting, 1 unknown"."""
    counts = Counter(body.get("action") or "unknown" for body in bodies)
    return ", ".join(f"{count} {label}" for label, count in counts.most_common()) or "-"


def identity_text(face: dict) -> str:
    """How one face's identity reads in the report: the name, "unknown", or why it is pending."""
    if face.get("status") == "known":
        return face.get("name") or "known"
    if face.get("status") == "pending":
        return f"pending ({face['reason']})" if face.get("reason") else "pending"
    return "unknown"


def pending_reason(recorder: Recorder, state: dict) -> str | None:
    """The latest reason one of a pending person's face tracks gave."""
    for camera in [state.get("camera")] + list(state.get("cameras", [])):
        for track in reversed(state.get("face_tracks", [])):
            reason = recorder.face_reasons.get((camera, track))
            if reason:
                return reason
    return None
