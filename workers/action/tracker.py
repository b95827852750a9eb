"""Body tracks: the shared box tracker, bodies measured by their height (a walker's width
changes with every stride)."""

from workers.tracking import BoxTracker, Track, TrackUpdate

__all__ = ["BodyTrack", "BodyTracker", "TrackUpdate"]

BodyTrack = Track


class BodyTracker(BoxTracker):
    size_by = "height"

    def __init__(self, camera: str, min_hits: int = 2, max_misses: int = 10, min_iou: float = 0.2,
                 max_shift: float = 0.6) -> None:
        super().__init__(camera, min_hits, max_misses, min_iou, max_shift)
