"""``vidsentry train action``, ``vidsentry evaluate action`` and ``vidsentry dataset stats``
(registered by vidsentry.cli)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from vidsentry.cli_context import cli_config, fail
from vidsentry.config.cache import DEFAULT_CACHE_DIR

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DataArg = Annotated[Optional[Path], typer.Argument(
    help="A folder per label of videos (DATA/walking/*.mp4, DATA/fighting/*.avi, ...) for the temporal model.")]
ClipsOpt = Annotated[Optional[Path], typer.Option(
    help="Instead of DATA: a folder of fight clips, one subfolder per class (fight/ and noFight/, or Fight/NonFight, "
         "violence/non-violence): train the fight model / score the whole action stage on them.")]
PoseFpsOpt = Annotated[Optional[float], typer.Option(
    min=0.0, max=120.0, help="--clips: pose passes per second (default: the configured 5; 0: every frame).")]
PoseOpt = Annotated[str, typer.Option(help="Pose model: movenet-multipose, hog-blazepose, or module:callable "
                                           "(a factory (PoseConfig, cache_root) -> PoseEstimator).")]
CacheOpt = Annotated[Path, typer.Option(help="Cache root: pose models under models/, extracted keypoint tracks "
                                             "under action-tracks/.")]
FpsOpt = Annotated[Optional[float], typer.Option(min=1.0, max=60.0, help="Frames per second read from each clip "
                                                                         "(default: 10, what cameras publish; "
                                                                         "evaluate: the model's).")]


def _pose_config(pose: str):
    from pydantic import ValidationError

    from workers.action.config import PoseConfig

    try:
        return PoseConfig(model=pose)
    except ValidationError as exc:
        fail(f"--pose: {exc.errors()[0]['msg']}")


def _estimator_factory(pose_config, cache_root: Path):
    from workers.action.pose_factory import make_pose_estimator

    return lambda: make_pose_estimator(pose_config, cache_root.expanduser())


def train_action(
    data: DataArg = None,
    clips: ClipsOpt = None,
    out: Annotated[Optional[Path], typer.Option(
        help="Folder for action_model.keras, its label map, history.json and split.json (default action-model); "
             "--clips: the fight model's file (default fight.json).")] = None,
    pose: PoseOpt = "movenet-multipose",
    fps: FpsOpt = None,
    steps: Annotated[int, typer.Option(min=4, max=256, help="Time steps per window.")] = 20,
    window_seconds: Annotated[float, typer.Option(min=0.3, max=30.0, help="Seconds per window.")] = 2.0,
    stride_seconds: Annotated[float, typer.Option(min=0.05, max=30.0, help="Seconds between window ends.")] = 0.5,
    val_fraction: Annotated[float, typer.Option(min=0.0, max=0.9, help="Share of each label's clips held out.")] = 0.25,
    epochs: Annotated[int, typer.Option(min=1, max=10000, help="Most epochs; early stopping may end sooner.")] = 60,
    batch_size: Annotated[int, typer.Option(min=1, max=4096)] = 32,
    patience: Annotated[int, typer.Option(min=1, max=1000, help="Epochs without a better validation loss before stopping.")] = 10,
    units: Annotated[int, typer.Option(min=4, max=1024, help="GRU units.")] = 64,
    mirror: Annotated[bool, typer.Option(help="Add left-right mirrored copies of the training windows.")] = True,
    balance_classes: Annotated[bool, typer.Option(help="Weight classes by inverse frequency.")] = False,
    seed: Annotated[int, typer.Option()] = 0,
    min_recall: Annotated[float, typer.Option(min=0.05, max=1.0, help="--clips: the threshold is the highest whose "
                                                                      "cross-validated clip recall is this.")] = 0.75,
    folds: Annotated[int, typer.Option(min=2, max=20, help="--clips: cross-validation folds (by clip).")] = 5,
    repeats: Annotated[int, typer.Option(min=1, max=50, help="--clips: cross-validation repeats.")] = 5,
    regularisation: Annotated[float, typer.Option(min=1e-4, max=1e4, help="--clips: logistic regression C.")] = 1.0,
    cache_dir: CacheOpt = DEFAULT_CACHE_DIR,
) -> None:
    """Train the temporal action model on labelled clips (split into train/validation by clip), or with
    --clips the fight model (cross-validated by clip)."""
    from workers.action.errors import ActionModelError, DatasetError, PoseModelError

    if clips is not None:
        from workers.action import fight_commands

        pose_config = _pose_config(pose)
        try:
            fight_commands.train(clips, out or Path("fight.json"), fight_commands.stage_config(pose_config, None, True, None),
                                 cache_dir, _estimator_factory(pose_config, cache_dir), min_recall, folds, repeats,
                                 regularisation, seed, typer.echo)
        except fight_commands.ERRORS as exc:
            fail(str(exc), code=1)
        return
    if data is None:
        fail("give DATA (a folder per action label) or --clips DIR (fight / no-fight clips)")
    out = out or Path("action-model")
    from workers.action.extract import ExtractOptions
    from workers.action.features import SequenceSpec
    from workers.action.train import TrainOptions, train

    pose_config = _pose_config(pose)
    options = TrainOptions(data=data, out=out, extract=ExtractOptions(fps=fps or 10.0, pose=pose_config,
                                                                      stride_seconds=stride_seconds),
                           spec=SequenceSpec(steps=steps, seconds=window_seconds), cache_dir=cache_dir / "action-tracks",
                           val_fraction=val_fraction, epochs=epochs, batch_size=batch_size, patience=patience,
                           units=units, augment_mirror=mirror, balance_classes=balance_classes, seed=seed)
    try:
        train(options, _estimator_factory(pose_config, cache_dir), echo=typer.echo)
    except (DatasetError, PoseModelError, ActionModelError) as exc:
        fail(str(exc), code=1)


def evaluate_action(
    ctx: typer.Context,
    data: DataArg = None,
    model: Annotated[Optional[Path], typer.Argument(help="action_model.keras written by `vidsentry train action`.")] = None,
    clips: ClipsOpt = None,
    fight_model: Annotated[Optional[Path], typer.Option(help="--clips: a fight.json (default: the shipped one).")] = None,
    fight: Annotated[bool, typer.Option(help="--clips: use the fight model (--no-fight: the rules alone).")] = True,
    pose_fps: PoseFpsOpt = None,
    photos: Annotated[Optional[Path], typer.Option(
        help="Instead of DATA: a folder of photos, each sent as `vidsentry run DIR` would: the posture (standing, "
             "sitting, lying) of everyone found, scored against --truth.")] = None,
    truth: Annotated[Optional[Path], typer.Option(
        help="--photos: a CSV photo,posture,people (one posture per photo, by eye; default: "
             "benchmarks/posture/face_api_photos.csv, for the face-api sample photos of `vidsentry samples fetch`).")] = None,
    confusion_png: Annotated[Optional[Path], typer.Option(help="Where to save the confusion matrix (default: next to the model).")] = None,
    pose: Annotated[Optional[str], typer.Option(help="Pose model (default: the one the model was trained with).")] = None,
    fps: FpsOpt = None,
    cache_dir: CacheOpt = DEFAULT_CACHE_DIR,
) -> None:
    """Accuracy, per-class precision/recall/F1 and macro-F1 of a trained action model; saves a confusion-matrix PNG.
    With --clips: the action stage on fight / no-fight clips, played as `vidsentry run` would (a clip is flagged when
    anyone in it is labelled fighting). With --photos: posture from one photo, scored against --truth."""
    from workers.action.errors import ActionModelError, DatasetError, PoseModelError

    if photos is not None:
        from workers.action import evaluate_photos

        config = cli_config(ctx).action  # --config, VIDSENTRY_CONFIG and VIDSENTRY_ACTION__... apply, as in `vidsentry run`
        if pose is not None:
            config = config.model_copy(update={"pose": _pose_config(pose)})
        try:
            evaluate_photos.run(photos, truth or evaluate_photos.FACE_API_TRUTH, config,
                                _estimator_factory(config.pose, cache_dir), typer.echo)
        except (DatasetError, PoseModelError) as exc:
            fail(str(exc), code=1)
        return
    if clips is not None:
        from workers.action import fight_commands

        pose_config = _pose_config(pose or "movenet-multipose")
        try:
            fight_commands.evaluate(clips, fight_commands.stage_config(pose_config, pose_fps, fight, fight_model),
                                    cache_dir, _estimator_factory(pose_config, cache_dir), typer.echo)
        except fight_commands.ERRORS as exc:
            fail(str(exc), code=1)
        return
    if data is None or model is None:
        fail("give DATA and MODEL (a trained temporal model), or --clips DIR (fight / no-fight clips)")
    from workers.action.evaluate import EvaluateOptions, evaluate
    from workers.action.extract import ExtractOptions
    from workers.action.temporal import labels_path

    try:
        meta = json.loads(labels_path(model).read_text())
    except (OSError, ValueError):
        meta = {}
    pose_config = _pose_config(pose or meta.get("pose", "movenet-multipose"))
    png = confusion_png or model.with_name(f"{model.stem}.confusion.png")
    options = EvaluateOptions(data=data, model=model, confusion_png=png,
                              extract=ExtractOptions(fps=fps or float(meta.get("fps", 10.0)), pose=pose_config),
                              cache_dir=cache_dir / "action-tracks")
    try:
        evaluate(options, _estimator_factory(pose_config, cache_dir), echo=typer.echo)
    except (DatasetError, PoseModelError, ActionModelError) as exc:
        fail(str(exc), code=1)


def dataset_stats_command(
    data: DataArg,
    out: Annotated[Optional[Path], typer.Option(help="Folder for the PNG plots (default: DATA/.stats).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the table as JSON.")] = False,
) -> None:
    """Clips and frames per label, clip durations, resolutions and frame rates: a table and PNG plots."""
    from workers.action.dataset import scan_dataset
    from workers.action.dataset_stats import dataset_stats, format_stats, plot_stats
    from workers.action.errors import DatasetError

    try:
        stats = dataset_stats(scan_dataset(data))
    except DatasetError as exc:
        fail(str(exc), code=1)
    if as_json:
        typer.echo(json.dumps({"labels": [vars(s) for s in stats.labels], "resolutions": dict(stats.resolutions),
                               "frame_rates": {str(k): v for k, v in stats.frame_rates.items()},
                               "imbalance": stats.imbalance,
                               "unreadable": [[str(p), r] for p, r in stats.unreadable]}, indent=2))
    else:
        typer.echo(format_stats(stats))
    for path in plot_stats(stats, out or Path(data) / ".stats"):
        typer.echo(f"plot: {path}", err=as_json)
