"""``vidsentry train emotion`` and ``vidsentry evaluate emotion`` (registered by vidsentry.cli)."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional, get_args

import typer

from vidsentry.cli_context import cli_config, fail
from vidsentry.models import ModelMissingError

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

class Base(str, Enum):
    bundled = "bundled"
    scratch = "scratch"
    vgg = "vgg"


class Schedule(str, Enum):
    plateau = "plateau"
    cosine = "cosine"


class RuntimeChoice(str, Enum):
    auto = "auto"
    tflite = "tflite"
    keras = "keras"
    tf_function = "tf-function"


DataArg = Annotated[Path, typer.Argument(exists=True, help="A FER2013-style CSV (emotion,pixels[,Usage]) or a folder "
                                                           "per class, optionally under train/ val/ test/.")]
CacheOpt = Annotated[Optional[Path], typer.Option(help="Model cache root (default: models.cache_dir of the config).")]


def train_emotion(
    ctx: typer.Context,
    data: DataArg,
    out: Annotated[Path, typer.Option(help="Folder for the model, its label map and history.json.")] = Path("emotion-model"),
    base: Annotated[Base, typer.Option(help="bundled: fine-tune the bundled mini-Xception (64x64 gray); "
                                            "scratch: a fresh mini-Xception; vgg: a fresh, wider VGG-style network.")] = Base.bundled,
    input_size: Annotated[int, typer.Option(min=16, max=512, help="Input side in px (scratch only).")] = 64,
    rgb: Annotated[bool, typer.Option(help="Train on colour instead of gray (scratch only).")] = False,
    epochs: Annotated[int, typer.Option(min=1, max=10000, help="Most epochs; early stopping may end sooner.")] = 30,
    batch_size: Annotated[int, typer.Option(min=1, max=4096)] = 64,
    learning_rate: Annotated[Optional[float], typer.Option(min=1e-7, max=1.0, help="Default: 1e-3 scratch, 1e-4 fine-tune.")] = None,
    patience: Annotated[int, typer.Option(min=1, max=1000, help="Epochs without a better val loss before stopping.")] = 5,
    val_fraction: Annotated[float, typer.Option(min=0.01, max=0.9, help="Held out for validation when the data has no val split.")] = 0.1,
    augment: Annotated[bool, typer.Option(help="Random flips, small rotations, zoom, shifts and contrast.")] = True,
    balance_classes: Annotated[bool, typer.Option(help="Weight classes by inverse frequency.")] = False,
    label_smoothing: Annotated[float, typer.Option(min=0.0, max=0.99)] = 0.0,
    schedule: Annotated[Schedule, typer.Option(help="plateau: halve the rate when val loss stalls, stop early, keep "
                                                    "the best; cosine: decay over all epochs, keep the last.")] = Schedule.plateau,
    bfloat16: Annotated[bool, typer.Option(help="Train in mixed bfloat16 (faster on CPUs with AVX512-BF16); "
                                                "the saved model is float32.")] = False,
    stop_after: Annotated[Optional[float], typer.Option(min=0.01, help="Time box in minutes: stop there and save.")] = None,
    init: Annotated[Optional[Path], typer.Option(exists=True, help="Warm start from this saved Keras model "
                                                                   "(same network as --base and --input-size).")] = None,
    tflite: Annotated[bool, typer.Option(help="Also export a .tflite file (with its own label map).")] = False,
    seed: Annotated[int, typer.Option()] = 0,
    cache_dir: CacheOpt = None,
) -> None:
    """Train an emotion model; saves emotion_model.keras, emotion_model.labels.json and history.json in --out."""
    from workers.emotion.errors import DatasetError, EmotionModelError, TrainingOptionsError
    from workers.emotion.train import TrainOptions, train

    options = TrainOptions(out_dir=out, base=base.value, input_size=input_size, channels=3 if rgb else 1, epochs=epochs,
                           batch_size=batch_size, learning_rate=learning_rate, patience=patience,
                           val_fraction=val_fraction, augment=augment, balance_classes=balance_classes,
                           label_smoothing=label_smoothing, schedule=schedule.value, bfloat16=bfloat16,
                           stop_after_minutes=stop_after, init_from=init,
                           export_tflite=tflite, seed=seed, cache_root=_cache_root(ctx, cache_dir),
                           verbose=1 if sys.stdout.isatty() else 2)
    try:
        result = train(data, options)
    except (DatasetError, EmotionModelError, TrainingOptionsError, ModelMissingError) as exc:
        fail(str(exc))
    typer.echo(f"trained {result.epochs_run} epoch(s); best val loss {result.best_val_loss:.4f}, "
               f"val accuracy {result.best_val_accuracy:.4f}")
    typer.echo(f"model:     {result.model_path}")
    typer.echo(f"labels:    {result.label_map_path} ({', '.join(result.labels)})")
    if result.tflite_path:
        typer.echo(f"tflite:    {result.tflite_path}")
    typer.echo(f"use it with emotion.model_path: {result.model_path}")


def evaluate_emotion(
    ctx: typer.Context,
    data: DataArg,
    model: Annotated[str, typer.Argument(help="A model file or SavedModel folder, or a built-in model: vgg48, "
                                              "mini-xception (also 'bundled'), vgg48+mini-xception.")],
    out: Annotated[Path, typer.Option(help="Folder for report.json, predictions.csv and confusion.png.")] = Path("emotion-eval"),
    split: Annotated[Optional[str], typer.Option(help="train, val, test or all (default: test if the data has one, else all).")] = None,
    runtime: Annotated[RuntimeChoice, typer.Option(help="How the model runs (as emotion.runtime).")] = RuntimeChoice.auto,
    labels: Annotated[Optional[str], typer.Option(help="Comma-separated class order of a model without a label map.")] = None,
    flip: Annotated[bool, typer.Option(help="Average each face with its mirror image (as emotion.flip).")] = True,
    batch_size: Annotated[int, typer.Option(min=1, max=4096)] = 256,
    cache_dir: CacheOpt = None,
) -> None:
    """Print accuracy, per-class precision/recall/F1, macro-F1 and the confusion matrix; save them and a plot."""
    from pydantic import ValidationError

    from workers.emotion.config import BuiltinModel, EmotionConfig
    from workers.emotion.dataset import available_splits, load_split
    from workers.emotion.errors import DatasetError, EmotionModelError
    from workers.emotion.evaluate import evaluate, format_report, write_outputs
    from workers.emotion.loader import load_emotion_model

    try:
        builtin = "mini-xception" if model == "bundled" else model
        chosen_model = {"model": builtin} if builtin in get_args(BuiltinModel) else {"model_path": Path(model)}
        config = EmotionConfig(**chosen_model, runtime=runtime.value, flip=flip,
                               labels=[s.strip() for s in labels.split(",")] if labels else None)
    except ValidationError as exc:
        fail("; ".join(error["msg"] for error in exc.errors()))
    try:
        emotion_model = load_emotion_model(config, _cache_root(ctx, cache_dir))
        chosen = split or ("test" if "test" in available_splits(data) else "all")
        dataset = load_split(data, chosen, emotion_model.input_spec,
                             _dataset_labels(data, emotion_model.labels)).relabel(emotion_model.labels)
        report, probabilities = evaluate(emotion_model, dataset, batch_size)
        paths = write_outputs(report, dataset.targets, probabilities, out)
    except (DatasetError, EmotionModelError, ModelMissingError) as exc:
        fail(str(exc))
    typer.echo(format_report(report))
    typer.echo("")
    for name, path in paths.items():
        typer.echo(f"{name + ':':<12} {path}")


def _dataset_labels(data: Path, model_labels: tuple[str, ...]) -> tuple[str, ...] | None:
    """A CSV's class indexes follow FER2013 (or the model's own order when it has other labels)."""
    from schemas import EMOTION_LABELS

    if Path(data).is_file():
        return EMOTION_LABELS if set(model_labels) <= set(EMOTION_LABELS) else model_labels
    return None


def _cache_root(ctx: typer.Context, cache_dir: Path | None) -> Path:
    if cache_dir is not None:
        return cache_dir
    return cli_config(ctx).models.cache_dir
