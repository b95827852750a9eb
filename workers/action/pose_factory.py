"""Build the configured pose estimator: a built-in name or your own ``module:callable``."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from workers.action.config import PoseConfig
from workers.action.errors import PoseModelError
from workers.action.pose import PoseEstimator


def make_pose_estimator(config: PoseConfig, cache_root: Path, fetch_on_demand: bool = True) -> PoseEstimator:
    if config.model == "movenet-multipose":
        from workers.action.assets import require_movenet
        from workers.action.movenet import MoveNetMultiPose

        return MoveNetMultiPose(require_movenet(cache_root, fetch_on_demand), config.input_long_side,
                                config.min_person_score, config.tile_when_full)
    if config.model == "hog-blazepose":
        from workers.action.crop_pose import CropPoseEstimator
        from workers.action.person_detector import HogPersonDetector

        return CropPoseEstimator(HogPersonDetector(config.hog_upscale, config.hog_min_score))
    module_name, _, attribute = config.model.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise PoseModelError(f"pose.model {config.model!r} cannot be imported: {exc}") from None
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    try:
        if signature is not None:
            signature.bind(config, cache_root)
    except TypeError as exc:
        raise PoseModelError(f"pose.model {config.model!r} must take (PoseConfig, cache_root): {exc}") from None
    estimator = factory(config, cache_root)
    if not callable(getattr(estimator, "estimate", None)):
        raise PoseModelError(f"pose.model {config.model!r} returned {type(estimator).__name__}, which has no estimate()")
    return estimator
