"""Face tracks: the shared box tracker, faces measured by the square root of their area."""

from workers.tracking import BoxTracker, Track, TrackUpdate, iou_matrix

__all__ = ["FaceTracker", "Track", "TrackUpdate", "iou_matrix"]


class FaceTracker(BoxTracker):
    size_by = "area"
