"""The ``--clips DIR`` forms of ``vidsentry train action`` and ``vidsentry evaluate action``:
the fight model trained, and the whole action stage scored, on a folder of fight / no-fight
clips (folder = class)."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

from workers.action.config import ActionConfig, PoseConfig
from workers.action.errors import ActionModelError, DatasetError, PoseModelError
from workers.action.pose import PoseEstimator

Echo = Callable[[str], None]
EstimatorFactory = Callable[[], PoseEstimator]


def stage_config(pose: PoseConfig, pose_fps: float | None, fight: bool, fight_model: Path | None) -> ActionConfig:
    """The default action configuration with these changes; ``pose_fps`` 0: pose on every frame."""
    pose_settings = pose.model_dump()
    if pose_fps is not None:
        pose_settings["max_fps"] = pose_fps or None
    return ActionConfig.model_validate({"pose": pose_settings, "fight": {"enabled": fight, "model_path": fight_model}})


def train(clips: Path, out: Path, config: ActionConfig, cache_root: Path, make_estimator: EstimatorFactory,
          min_recall: float, folds: int, repeats: int, regularisation: float, seed: int, echo: Echo) -> None:
    from workers.action.train_fight import FightTrainOptions, train_fight

    pose = f" --pose {shlex.quote(config.pose.model)}" if config.pose.model != PoseConfig().model else ""
    command = (f"vidsentry train action --clips DIR --out {shlex.quote(str(out))}{pose} --min-recall {min_recall} "
               f"--folds {folds} --repeats {repeats} --regularisation {regularisation} --seed {seed}")
    options = FightTrainOptions(clips, out, config, cache_root, folds, repeats, min_recall, regularisation, seed,
                                command=command)
    train_fight(options, make_estimator, echo)


def evaluate(clips: Path, config: ActionConfig, cache_root: Path, make_estimator: EstimatorFactory,
             echo: Echo) -> None:
    """Every clip through the stage; prints the report and the clips it got wrong."""
    from workers.action.classifier import make_classifier
    from workers.action.evaluate_clips import evaluate_clips, format_clip_evaluation
    from workers.action.fight import FightDetector
    from workers.action.pose_cache import CachingPoseEstimator
    from workers.action.worker import ActionStage

    estimator = CachingPoseEstimator(make_estimator, Path(cache_root).expanduser() / "action-clip-poses")
    detector = FightDetector.from_config(config.fight)
    stage = ActionStage(config, estimator, make_classifier(config), fight=detector)
    fight = f"fight model {config.fight.model_path or 'shipped'} (threshold {detector.threshold:.3f})" if detector else \
        "no fight model (rules only)"
    echo(f"pose {config.pose.model} at {config.pose.max_fps or 'every'} frames/s, {fight}")
    evaluation = evaluate_clips(clips, stage)
    echo(format_clip_evaluation(evaluation))
    wrong = [v for v in evaluation.verdicts if v.flagged != (v.truth == "fight")]
    if wrong:
        echo(f"wrong ({len(wrong)}): " + ", ".join(f"{v.path.name} ({v.truth})" for v in wrong[:40])
             + (" ..." if len(wrong) > 40 else ""))


ERRORS = (DatasetError, PoseModelError, ActionModelError)
