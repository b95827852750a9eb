"""The group photos come from the npm registry through the registry module, pinned by sha256."""

from __future__ import annotations

import json

import pytest

from tests.conftest import CACHE_ROOT
from vidsentry.registry import FetchError, NpmArchive, _npm_tarball_url, download, sha256_of
from vidsentry.samples import FACE_API_NPM, SAMPLES, sample_cache


def test_group_photos_are_verified_with_their_npm_source_and_licence(samples):
    cache = sample_cache(CACHE_ROOT)
    manifest = json.loads(cache.manifest_path.read_text())
    for name in ("group1", "group2", "group3"):
        assert sha256_of(samples[name]) == SAMPLES[name].sha256
        assert manifest[name]["source"] == f"npm @vladmandic/face-api face-api-1.7.15.tgz: package/demo/{samples[name].name}"
        assert manifest[name]["licence"].startswith("MIT")
    assert sha256_of(cache.downloads / FACE_API_NPM.filename) == FACE_API_NPM.sha256


def test_npm_tarball_address_keeps_the_scope(monkeypatch):
    monkeypatch.delenv("NPM_CONFIG_REGISTRY", raising=False)
    monkeypatch.delenv("npm_config_registry", raising=False)
    assert _npm_tarball_url(FACE_API_NPM) == "https://registry.npmjs.org/@vladmandic/face-api/-/face-api-1.7.15.tgz"
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", "http://mirror.example/npm/")
    assert _npm_tarball_url(FACE_API_NPM).startswith("http://mirror.example/npm/@vladmandic/face-api/-/")


def test_a_tarball_that_fails_its_checksum_is_refused(tmp_path, monkeypatch):
    """A wrong pin against the cached real tarball, served from a file:// "registry"."""
    registry = tmp_path / "registry" / "@vladmandic" / "face-api" / "-"
    registry.mkdir(parents=True)
    (registry / FACE_API_NPM.filename).write_bytes((CACHE_ROOT / "downloads" / FACE_API_NPM.filename).read_bytes())
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", (tmp_path / "registry").as_uri())
    wrong = NpmArchive(FACE_API_NPM.package, FACE_API_NPM.filename, "0" * 64)
    with pytest.raises(FetchError, match="does not match the pinned sha256"):
        download(wrong, tmp_path / "downloads")
    assert not (tmp_path / "downloads" / FACE_API_NPM.filename).exists()
    assert download(FACE_API_NPM, tmp_path / "downloads").stat().st_size == 12677476
