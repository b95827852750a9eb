"""``vidsentry evaluate identity DATA`` (registered by vidsentry.cli)."""

from __future__ import annotations

import logging
import platform
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from vidsentry.cli_context import cli_config, fail
from vidsentry.machine import cpu_name


def evaluate_identity(
    ctx: typer.Context,
    data: Annotated[Path, typer.Argument(exists=True, help="A folder per person (DATA/<name>/<photo>), or a pairs file "
                                                           "('PHOTO_A PHOTO_B same|different' lines, or LFW's pairs.txt).")],
    out: Annotated[Path, typer.Option(help="Folder for report.json, probes.csv, roc.csv and roc.png.")] = Path("identity-eval"),
    enrol: Annotated[int, typer.Option(min=1, max=100, help="Photos enrolled per person (folder layout); the rest are probed.")] = 1,
    stranger_every: Annotated[int, typer.Option(min=0, max=1000, help="Every Nth person by sorted name is a stranger, "
                                                                      "never enrolled, all photos probed (0: none).")] = 2,
    images: Annotated[Optional[Path], typer.Option(help="Folder the paths of a pairs file are relative to (default: "
                                                        "the file's folder).")] = None,
    repeat: Annotated[int, typer.Option(min=1, max=100, help="1: each probe is one still photo (an image folder); N: the "
                                                            "photo is shown N times as a video (tracking and voting apply).")] = 1,
    max_side: Annotated[int, typer.Option(min=64, max=4096, help="Probes are shrunk to this longest side, as `vidsentry run` "
                                                                 "does.")] = 768,
) -> None:
    """Enrol people as `gallery add` does, probe their other photos and strangers' photos as `vidsentry run PHOTOS/`
    does; print TAR, FAR, the wrong-person rate and the pending share with its reasons; write the ROC."""
    from vidsentry.models import ModelMissingError
    from workers.face.enrol import build_enroller
    from workers.face.evaluate import IdentityEvaluation, ProbeSettings, rates, roc
    from workers.face.evaluate_data import EvaluationDataError, folder_trial, pairs_trials
    from workers.face.evaluate_report import format_summary, write_outputs
    from workers.face.gallery_file import FileGallery
    from workers.face.worker import build_stage

    config = cli_config(ctx)
    try:
        trials = pairs_trials(data, images) if data.is_file() else [folder_trial(data, enrol, stranger_every)]
    except (EvaluationDataError, OSError) as exc:
        fail(str(exc))
    face = config.face.model_copy(update={"gallery_refresh_s": 0.0})
    try:
        stage = build_stage(config, face, FileGallery(out / "unused-gallery.json"))
        enroller = build_enroller(face, config.models)
    except ModelMissingError as exc:
        fail(str(exc), code=1)
    logging.getLogger("workers.face.worker").setLevel(logging.WARNING)  # one "gallery loaded" per pair otherwise
    started = time.monotonic()
    evaluation = IdentityEvaluation(stage, enroller, ProbeSettings(max_side=max_side, repeat=repeat))
    enrolments, results = evaluation.run(trials)
    summary = {
        "data": str(data), "layout": "pairs file" if data.is_file() else f"folder per person, enrol {enrol}, "
                                                                          f"every {stranger_every or 'no'} person a stranger",
        "mode": "still photos" if repeat == 1 else f"each photo as {repeat} video frames",
        "strangers": sorted({r.person for r in results if not r.enrolled}),
        "config": face.model_dump(mode="json", include={"detector", "match_threshold", "match_margin", "min_identity_score",
                                                         "min_face_px", "min_sharpness", "max_yaw", "min_agreeing_samples"}),
        "seconds": round(time.monotonic() - started, 1), "cpu": cpu_name(), "python": platform.python_version(),
    }
    measured = rates(results)
    points = roc(results, face.match_margin)
    paths = write_outputs(out, summary, measured, enrolments, results, points)
    typer.echo(format_summary(summary, measured, enrolments, points))
    typer.echo("")
    for name, path in paths.items():
        typer.echo(f"{name + ':':<12} {path}")
