"""The report's table of photos: one row per still frame (a photo of an image folder), with
the faces found in it, who they are and how they seem to feel."""

from __future__ import annotations

from vidsentry.report.recorder import Recorder


def photo_rows(recorder: Recorder, names: dict[str, list[str]]) -> list[list]:
    """[photo, camera, faces found, names, emotions] per still frame, in camera and file order;
    ``names`` gives each image-folder camera's file names in frame order."""
    rows = []
    for camera in sorted(recorder.stills):
        files = names.get(camera, [])
        for seq in sorted(recorder.stills[camera]):
            marks = recorder.marks.get(camera, {}).get(seq)
            faces = marks.faces if marks is not None else []
            photo = files[seq] if 0 <= seq < len(files) else f"frame {seq}"
            rows.append([photo, camera, len(faces), ", ".join(identity_text(f) for f in faces) or "-",
                         ", ".join(f.get("emotion") or "-" for f in faces) or "-"])
    return rows


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
