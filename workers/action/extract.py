"""Keypoint tracks of labelled clips, extracted once and cached, and the training windows
cut from them.

A clip is read at ``fps`` frames per second (the rate the cameras publish at), every
person's pose found and tracked with the worker's own tracker, and the tracks stored as
an ``.npz`` in the cache, keyed by the clip's path, size and modification time and the
pose settings. Windows come from the clip's main tracks: those present for at least
``min_track_fraction`` of the clip (the longest one when none is), labelled with the clip's
label, so a passer-by in the background of a 'fighting' clip does not teach the model
that walking is fighting.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from workers.action.config import PoseConfig, TrackerConfig
from workers.action.dataset import Clip
from workers.action.errors import DatasetError
from workers.action.features import FEATURES_PER_STEP, SequenceSpec, track_sequence
from workers.action.keypoints import TrackHistory
from workers.action.pose import PoseEstimator
from workers.action.tracker import BodyTracker

log = logging.getLogger(__name__)

EXTRACT_VERSION = 1


@dataclass(frozen=True)
class ExtractOptions:
    fps: float = 10.0
    pose: PoseConfig = field(default_factory=PoseConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    min_track_fraction: float = 0.5
    stride_seconds: float = 0.5

    def cache_key(self) -> str:
        return json.dumps({"v": EXTRACT_VERSION, "fps": self.fps, "pose": self.pose.model_dump(),
                           "tracker": self.tracker.model_dump()}, sort_keys=True)


def read_tracks(path: Path, estimator: PoseEstimator, options: ExtractOptions,
                on_frame: Callable[[], None] | None = None) -> dict[str, TrackHistory]:
    """Every confirmed track of one video, sampled at ``options.fps``."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise DatasetError(path, "OpenCV cannot open this video")
    source_fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    if not 0 < source_fps < 1000:
        source_fps = options.fps
    step = max(1, round(source_fps / options.fps))
    c = options.tracker
    tracker = BodyTracker("clip", c.min_hits, c.max_misses, c.min_iou, c.max_shift)
    observed: dict[str, list[tuple[float, np.ndarray, np.ndarray]]] = {}
    index = 0
    try:
        while True:
            ok = capture.grab()
            if not ok:
                break
            if index % step == 0:
                ok, bgr = capture.retrieve()
                if not ok:
                    break
                people = estimator.estimate(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                update = tracker.update(np.stack([p.box for p in people]) if people else np.zeros((0, 4)))
                for person, track in zip(people, update.tracks):
                    observed.setdefault(track.track_id, []).append((index / source_fps, person.keypoints, person.box))
                if on_frame:
                    on_frame()
            index += 1
    finally:
        capture.release()
    confirmed = {t.track_id for t in tracker.tracks if t.confirmed}
    confirmed |= {track_id for track_id, items in observed.items() if len(items) >= c.min_hits}
    return {track_id: TrackHistory(np.array([t for t, _, _ in items]), np.stack([k for _, k, _ in items]),
                                   np.stack([b for _, _, b in items]))
            for track_id, items in observed.items() if track_id in confirmed}


class TrackCache:
    """Tracks of clips as ``.npz`` files under ``folder`` (one per clip and settings)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder).expanduser()

    def key(self, path: Path, options: ExtractOptions) -> str:
        stat = Path(path).stat()
        text = json.dumps([str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, options.cache_key()])
        return hashlib.sha1(text.encode()).hexdigest()

    def load(self, path: Path, options: ExtractOptions) -> dict[str, TrackHistory] | None:
        file = self.folder / f"{self.key(path, options)}.npz"
        if not file.is_file():
            return None
        try:
            with np.load(file) as data:
                ids = [str(i) for i in data["ids"]]
                offsets = data["offsets"]
                return {track_id: TrackHistory(data["times"][a:b], data["keypoints"][a:b], data["boxes"][a:b])
                        for track_id, a, b in zip(ids, offsets[:-1], offsets[1:])}
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring the unreadable cache file %s: %s", file, exc)
            return None

    def save(self, path: Path, options: ExtractOptions, tracks: dict[str, TrackHistory]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        histories = list(tracks.values())
        offsets = np.cumsum([0] + [len(h) for h in histories])
        file = self.folder / f"{self.key(path, options)}.npz"
        tmp = file.with_suffix(".tmp.npz")
        np.savez_compressed(
            tmp, ids=np.array(list(tracks), dtype=str), offsets=offsets,
            times=np.concatenate([h.times for h in histories]) if histories else np.zeros(0),
            keypoints=np.concatenate([h.keypoints for h in histories]) if histories else np.zeros((0, 17, 3), np.float32),
            boxes=np.concatenate([h.boxes for h in histories]) if histories else np.zeros((0, 4), np.float32))
        tmp.replace(file)


def main_tracks(tracks: dict[str, TrackHistory], clip_seconds: float, min_fraction: float) -> list[str]:
    """The tracks the clip is about: present for ``min_fraction`` of it, else the longest."""
    if not tracks:
        return []
    spans = {track_id: h.times[-1] - h.times[0] for track_id, h in tracks.items()}
    main = [track_id for track_id, span in spans.items() if clip_seconds > 0 and span >= min_fraction * clip_seconds]
    return main or [max(spans, key=lambda t: (spans[t], len(tracks[t])))]


def clip_sequences(tracks: dict[str, TrackHistory], spec: SequenceSpec, clip_seconds: float,
                   options: ExtractOptions, min_frames: int) -> np.ndarray:
    """(N, steps, 55) windows ending every ``stride_seconds`` along each main track."""
    windows = []
    for track_id in main_tracks(tracks, clip_seconds, options.min_track_fraction):
        history = tracks[track_id]
        others = [h for other, h in tracks.items() if other != track_id]
        ends = np.arange(history.times[0] + min(spec.seconds, history.times[-1] - history.times[0]),
                         history.times[-1] + 1e-6, options.stride_seconds)
        for t_end in ends if len(ends) else [history.times[-1]]:
            part = history.between(t_end - spec.seconds, t_end)
            if len(part) < min_frames:
                continue
            seq = track_sequence(part, [o.between(t_end - spec.seconds, t_end) for o in others], spec)
            if seq is not None:
                windows.append(seq)
    return np.stack(windows) if windows else np.zeros((0, spec.steps, FEATURES_PER_STEP), np.float32)


def extract_clips(clips: Iterable[Clip], make_estimator: Callable[[], PoseEstimator], options: ExtractOptions,
                  cache: TrackCache, progress: bool = True) -> dict[Path, dict[str, TrackHistory]]:
    """Tracks of every clip, from the cache when present; the pose model is loaded only when
    a clip needs extracting. A progress bar (on a terminal) counts frames."""
    from tqdm import tqdm

    clips = list(clips)
    tracks: dict[Path, dict[str, TrackHistory]] = {}
    todo = []
    for clip in clips:
        cached = cache.load(clip.path, options)
        if cached is None:
            todo.append(clip)
        else:
            tracks[clip.path] = cached
    if todo:
        estimator = make_estimator()
        total = sum(max(1, round(c.frames / max(1, round((c.fps or options.fps) / options.fps)))) for c in todo)
        with tqdm(total=total, desc=f"keypoints ({len(todo)} clips, {len(clips) - len(todo)} cached)", unit="frame",
                  disable=None if progress else True) as bar:
            for clip in todo:
                bar.set_postfix_str(f"{clip.label}/{clip.path.name}")
                found = read_tracks(clip.path, estimator, options, on_frame=lambda: bar.update(1))
                cache.save(clip.path, options, found)
                tracks[clip.path] = found
    return tracks
