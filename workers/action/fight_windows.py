"""The fight model's training data: the feature vector of every window the stage scores while
a labelled clip plays through it (``clip_replay``, the default camera and pose rate), cached
per clip under the user cache so training again does not replay the clips.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from workers.action.classifier import make_classifier
from workers.action.clip_replay import replay_clip
from workers.action.config import ActionConfig
from workers.action.dataset import Clip
from workers.action.fight import FightDetector
from workers.action.fight_features import FEATURE_VERSION, FEATURES
from workers.action.pose import PoseEstimator
from workers.action.pose_cache import CachingPoseEstimator
from workers.action.worker import ActionStage

log = logging.getLogger(__name__)


def _key(clip: Path, config: ActionConfig) -> str:
    stat = Path(clip).stat()
    settings = config.model_dump(mode="json", include={"pose", "tracker", "window", "fight"})
    settings["fight"].pop("model_path", None)
    settings["fight"].pop("threshold", None)
    text = json.dumps([str(Path(clip).resolve()), stat.st_size, stat.st_mtime_ns, settings, FEATURE_VERSION],
                      sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()


def clip_windows(clips: list[Clip], config: ActionConfig, cache_root: Path,
                 make_estimator: Callable[[], PoseEstimator], progress: bool = True) -> dict[Path, np.ndarray]:
    """(windows, features) of every clip, from ``cache_root/fight-windows`` when there."""
    from tqdm import tqdm

    folder = Path(cache_root).expanduser() / "fight-windows"
    windows: dict[Path, np.ndarray] = {}
    detector = FightDetector(config.fight, None)
    detector.recorded = []
    stage = None
    for clip in tqdm(clips, desc="fight windows", unit="clip", disable=None if progress else True):
        file = folder / f"{_key(clip.path, config)}.npz"
        if file.is_file():
            with np.load(file) as data:
                windows[clip.path] = data["features"]
            continue
        if stage is None:
            estimator = CachingPoseEstimator(make_estimator, Path(cache_root).expanduser() / "action-clip-poses")
            stage = ActionStage(config, estimator, make_classifier(config), fight=detector)
        detector.recorded.clear()
        replay_clip(stage, clip.path)
        features = np.stack([f for _, _, f in detector.recorded]) if detector.recorded else np.zeros((0, len(FEATURES)))
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(file, features=features)
        windows[clip.path] = features
    return windows
