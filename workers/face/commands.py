"""``vidsentry gallery ...``: enrol, list, remove, import and reject people.

The store is Redis with ``--redis URL``, a local file with ``--store PATH``, otherwise
what the configuration says (``face.gallery_store``, ``face.gallery_path``,
``redis.url``). ``add`` and ``reject`` are all-or-nothing: one unusable photo and nothing
is written. ``import`` enrols every usable photo and lists the rest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer

from vidsentry.cli_context import cli_config, fail
from vidsentry.config import ModelsConfig, RedisConfig
from workers.face.config import FaceConfig
from workers.face.enrol import Enroller, build_enroller, person_folders
from workers.face.errors import EnrolmentError, GalleryError, InvalidNameError, UnknownPersonError
from workers.face.gallery import Gallery, open_gallery, valid_name

gallery_app = typer.Typer(help="The gallery of known people: add, list, remove, import, reject. Stores embeddings only, "
                               "never photos.", no_args_is_help=True)

RedisOption = Annotated[Optional[str], typer.Option(
    "--redis", help="Use the gallery in this Redis (redis://host:port/db) instead of the configured store.")]
StoreOption = Annotated[Optional[Path], typer.Option(
    "--store", help="Use this local gallery file (embedded mode) instead of the configured store.")]
Images = Annotated[list[Path], typer.Argument(help="Photos showing exactly one face each (JPEG, PNG, BMP, WebP, GIF, "
                                                   "PGM or TIFF).")]
Folder = Annotated[Path, typer.Argument(help="One sub-folder per person, named after them, holding their photos.",
                                        exists=True, file_okay=False)]


def _settings(ctx: typer.Context) -> tuple[FaceConfig, ModelsConfig, RedisConfig]:
    """The face, models and redis sections, from the root command's ``--config``
    (when this app is mounted under ``vidsentry``) or $VIDSENTRY_CONFIG and the environment."""
    config = cli_config(ctx)
    return config.face, config.models, config.redis


def _gallery(ctx: typer.Context, redis_url: str | None, store: Path | None) -> Gallery:
    if redis_url and store:
        fail("give --redis or --store, not both")
    face, _, configured_redis = _settings(ctx)
    try:
        if redis_url:
            # --redis replaces the url only: redis.username, password and TLS settings still apply
            return open_gallery(face.model_copy(update={"gallery_store": "redis"}),
                                configured_redis.model_copy(update={"url": redis_url}))
        if store:
            return open_gallery(face.model_copy(update={"gallery_store": "file", "gallery_path": store}))
        return open_gallery(face, configured_redis)
    except ValueError as exc:
        fail(str(exc))


def _enroller(ctx: typer.Context) -> Enroller:
    from vidsentry.models import ModelMissingError

    face, models, _ = _settings(ctx)
    try:
        return build_enroller(face, models)
    except ModelMissingError as exc:
        fail(str(exc), code=1)


def _all_or_nothing(ctx: typer.Context, images: list[Path], action: str) -> np.ndarray:
    embeddings, refused = _enroller(ctx).embeddings(images)
    if refused:
        fail("\n".join(str(e) for e in refused) + f"\nnothing was {action}: fix or leave out the photos above")
    return embeddings


@gallery_app.command("add")
def add(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The person's name (unique in the gallery).")],
        images: Images, redis_url: RedisOption = None, store: StoreOption = None) -> None:
    """Enrol NAME from one or more photos (each with exactly one clear face).

    A name is 1 to 64 letters (any script), digits, spaces and . ' - _ characters."""
    try:
        name = valid_name(name)
    except InvalidNameError as exc:
        fail(str(exc))
    gallery = _gallery(ctx, redis_url, store)
    embeddings = _all_or_nothing(ctx, images, "enrolled")
    try:
        person = gallery.add(name, embeddings)
    except GalleryError as exc:
        fail(str(exc), code=1)
    typer.echo(f"enrolled {person.name} ({person.person_id}): {len(images)} photo(s) added, "
               f"{len(person.embeddings)} in the gallery")


@gallery_app.command("reject")
def reject(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The person the photo is NOT.")], images: Images,
           redis_url: RedisOption = None, store: StoreOption = None) -> None:
    """Record that the face in each photo is not NAME: it (and faces closer to it than to NAME) stop matching NAME."""
    gallery = _gallery(ctx, redis_url, store)
    embeddings = _all_or_nothing(ctx, images, "recorded")
    try:
        person = gallery.reject(name, embeddings)
    except (UnknownPersonError, GalleryError) as exc:
        fail(str(exc), code=2 if isinstance(exc, UnknownPersonError) else 1)
    typer.echo(f"recorded {len(images)} face(s) as not {person.name}; {len(person.rejected)} rejected in all")


@gallery_app.command("remove")
def remove(ctx: typer.Context, name: Annotated[str, typer.Argument(help="The person to forget.")],
           redis_url: RedisOption = None, store: StoreOption = None) -> None:
    """Forget NAME and every embedding of them."""
    gallery = _gallery(ctx, redis_url, store)
    try:
        person = gallery.remove(name)
    except (UnknownPersonError, GalleryError) as exc:
        fail(str(exc), code=2 if isinstance(exc, UnknownPersonError) else 1)
    typer.echo(f"removed {person.name} ({person.person_id}, {len(person.embeddings)} embedding(s))")


@gallery_app.command("list")
def list_people(ctx: typer.Context, redis_url: RedisOption = None, store: StoreOption = None,
                as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """Show everyone enrolled, with how many faces and rejected faces each has."""
    gallery = _gallery(ctx, redis_url, store)
    try:
        people = sorted(gallery.people(), key=lambda p: p.name.lower())
    except GalleryError as exc:
        fail(str(exc), code=1)
    rows = [{"name": p.name, "person_id": p.person_id, "embeddings": len(p.embeddings), "rejected": len(p.rejected)}
            for p in people]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("the gallery is empty; enrol someone with `gallery add NAME PHOTO...`")
    for row in rows:
        typer.echo(f"{row['name']:<30} {row['person_id']:<20} {row['embeddings']:>3} face(s)  {row['rejected']:>3} rejected")


@gallery_app.command("import")
def import_folder(ctx: typer.Context, folder: Folder, redis_url: RedisOption = None, store: StoreOption = None) -> None:
    """Enrol everyone in FOLDER/<name>/*.jpg; unusable photos are listed and skipped."""
    gallery = _gallery(ctx, redis_url, store)
    people = person_folders(folder)
    if not people:
        fail(f"{folder} holds no person folders with photos (expected {folder}/<name>/<photo>.jpg)")
    enroller = _enroller(ctx)
    refused: list[EnrolmentError] = []
    for name, images in people.items():
        try:
            valid_name(name)
        except InvalidNameError as exc:
            refused.append(EnrolmentError(folder / name, str(exc)))
            typer.echo(f"skipped {name!r}: not a valid person name")
            continue
        embeddings, bad = enroller.embeddings(images)
        refused.extend(bad)
        if not len(embeddings):
            typer.echo(f"skipped {name}: no usable photo")
            continue
        try:
            person = gallery.add(name, embeddings)
        except GalleryError as exc:
            fail(str(exc), code=1)
        typer.echo(f"enrolled {person.name} ({person.person_id}): {len(embeddings)} of {len(images)} photo(s)")
    if refused:
        fail("these photos or folders were skipped:\n" + "\n".join(str(e) for e in refused), code=1)
