"""The gallery CLI on real photos, with a local gallery file (Redis: the same code path
through ``--redis``, covered by the store contract in the integration tests)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Optional

import cv2
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from workers.face.commands import gallery_app
from workers.face.gallery_file import FileGallery

runner = CliRunner()


@pytest.fixture
def store(tmp_path):
    return tmp_path / "gallery.json"


@pytest.fixture(autouse=True)
def model_cache(monkeypatch):
    from tests.conftest import CACHE_ROOT

    monkeypatch.setenv("VIDSENTRY_MODELS__CACHE_DIR", str(CACHE_ROOT))
    monkeypatch.delenv("VIDSENTRY_CONFIG", raising=False)


@pytest.fixture(scope="module")
def street_photo(samples, tmp_path_factory):
    """A real frame without any face: the first frame of the bikes clip (empty pavement)."""
    ok, bgr = cv2.VideoCapture(str(samples["bikes"])).read()
    assert ok
    path = tmp_path_factory.mktemp("photos") / "street.jpg"
    cv2.imwrite(str(path), bgr)
    return path


def invoke(*args):
    return runner.invoke(gallery_app, [str(a) for a in args])


def names(store) -> list[str]:
    return [p.name for p in FileGallery(store).people()]


def test_add_list_reject_remove(samples, store):
    result = invoke("add", "Barack Obama", samples["obama"], samples["obama2"], "--store", store)
    assert result.exit_code == 0, result.output
    assert "enrolled Barack Obama (person-" in result.output and "2 in the gallery" in result.output

    listing = invoke("list", "--json", "--store", store)
    assert listing.exit_code == 0
    assert [(r["name"], r["embeddings"], r["rejected"]) for r in json.loads(listing.output)] == [("Barack Obama", 2, 0)]

    result = invoke("reject", "Barack Obama", samples["biden"], "--store", store)
    assert result.exit_code == 0, result.output
    assert FileGallery(store).people()[0].rejected.shape == (1, 128)

    result = invoke("remove", "Barack Obama", "--store", store)
    assert result.exit_code == 0 and "removed Barack Obama" in result.output
    assert names(store) == []
    assert "the gallery is empty" in invoke("list", "--store", store).output


def test_add_accepts_gif_bmp_png_webp_and_jpeg_photos(samples, store, tmp_path):
    from tests.unit.workers.face.photo_files import converted

    photos = [converted(samples["obama"], suffix, tmp_path) for suffix in ("gif", "bmp", "png", "webp", "jpeg")]
    result = invoke("add", "Barack Obama", *photos, "--store", store)
    assert result.exit_code == 0, result.output
    assert "5 photo(s) added, 5 in the gallery" in result.output
    (person,) = FileGallery(store).people()
    spread = np.linalg.norm(person.embeddings - person.embeddings.mean(axis=0), axis=1)
    assert spread.max() < 0.1, "the same face whatever the format (GIF: 256 colours)"


def test_a_photo_without_a_face_is_refused_and_nothing_is_enrolled(samples, store, street_photo):
    result = invoke("add", "Barack Obama", samples["obama"], street_photo, "--store", store)
    assert result.exit_code == 2
    assert f"{street_photo}: no face found" in result.output
    assert "nothing was enrolled" in result.output
    assert names(store) == []


def test_a_photo_with_several_faces_is_refused_with_the_count(samples, store):
    result = invoke("add", "Someone", samples["group3"], "--store", store)
    assert result.exit_code == 2
    assert "3 faces found" in result.output and "exactly one person" in result.output
    assert names(store) == []
    invoke("add", "Barack Obama", samples["obama"], "--store", store)
    result = invoke("reject", "Barack Obama", samples["group1"], "--store", store)
    assert result.exit_code == 2 and "3 faces found" in result.output
    assert FileGallery(store).people()[0].rejected.shape == (0, 128)


def test_unknown_names_and_conflicting_stores_are_clear_errors(samples, store):
    result = invoke("remove", "Nobody", "--store", store)
    assert result.exit_code == 2 and "no person named 'Nobody'" in result.output
    result = invoke("list", "--store", store, "--redis", "redis://127.0.0.1:1/0")
    assert result.exit_code == 2 and "not both" in result.output


def test_import_enrols_one_folder_per_person_and_lists_what_it_skipped(samples, store, tmp_path):
    root = tmp_path / "people"
    for name, photos in {"Barack Obama": ["obama", "obama2"], "Joe Biden": ["biden"], "Party": ["group2"]}.items():
        (root / name).mkdir(parents=True)
        for photo in photos:
            shutil.copy(samples[photo], root / name / f"{photo}.jpg")
    result = invoke("import", root, "--store", store)
    assert result.exit_code == 1
    assert "enrolled Barack Obama" in result.output and "2 of 2 photo(s)" in result.output
    assert "skipped Party: no usable photo" in result.output and "group2.jpg: 3 faces found" in result.output
    assert sorted(names(store)) == ["Barack Obama", "Joe Biden"]


@pytest.mark.reliability(fault="`gallery add '<img src=x onerror=alert(1)>'`",
                         happened='refused with a one-line error (exit 2) before any photo is read; nothing is enrolled',
                         lost='nothing')
def test_a_name_with_markup_is_refused_before_any_photo_is_read(store, tmp_path):
    result = invoke("add", "<img src=x onerror=alert(1)>", tmp_path / "not-read.jpg", "--store", store)
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: invalid person name '<img src=x onerror=alert(1)>'") and "letters, digits" in line
    assert not store.exists()


def test_import_skips_a_folder_whose_name_is_not_a_valid_person_name(samples, store, tmp_path):
    root = tmp_path / "people"
    for name in ("Barack Obama", "<img src=x onerror=alert(1)>"):
        (root / name).mkdir(parents=True)
        shutil.copy(samples["obama"], root / name / "obama.jpg")
    result = invoke("import", root, "--store", store)
    assert result.exit_code == 1
    assert "enrolled Barack Obama" in result.output and "invalid person name '<img src=x onerror=alert(1)>'" in result.output
    assert names(store) == ["Barack Obama"]


def test_mounted_under_a_root_command_it_reads_the_roots_config_file(tmp_path):
    """As under `vidsentry --config FILE gallery ...`: the file's redis.url picks the Redis store
    (nothing listens on port 1, so the command reports where it tried)."""
    root = typer.Typer()

    @root.callback()
    def main(config: Optional[Path] = typer.Option(None, "--config")) -> None:
        pass

    root.add_typer(gallery_app, name="gallery")
    config_file = tmp_path / "vidsentry.yaml"
    config_file.write_text("redis:\n  url: redis://127.0.0.1:1/0\n")
    result = runner.invoke(root, ["--config", str(config_file), "gallery", "list"])
    assert result.exit_code == 1
    assert "the gallery at redis://127.0.0.1:1/0 is unreachable" in result.output
