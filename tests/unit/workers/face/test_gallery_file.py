"""The local-file gallery (embedded mode) against the store contract, and its file handling."""

from __future__ import annotations

import json

import pytest

from tests.unit.workers.face.gallery_contract import GalleryContract
from vidsentry.config import RedisConfig
from workers.face.config import FaceConfig
from workers.face.errors import GalleryError
from workers.face.gallery import open_gallery
from workers.face.gallery_file import FileGallery


class TestFileGallery(GalleryContract):
    @pytest.fixture
    def gallery(self, tmp_path):
        return FileGallery(tmp_path / "people" / "gallery.json")

    @pytest.fixture
    def reopen(self, tmp_path):
        return lambda: FileGallery(tmp_path / "people" / "gallery.json")


def test_the_file_holds_embeddings_only(tmp_path, photo_embedding):
    path = tmp_path / "gallery.json"
    FileGallery(path).add("Barack Obama", photo_embedding("obama"))
    document = json.loads(path.read_text())
    assert document["format"] == "vidsentry-gallery/1"
    (person,) = document["people"]
    assert set(person) == {"person_id", "name", "embeddings", "rejected"}
    assert len(person["embeddings"]) == 1 and len(person["embeddings"][0]) == 128
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []


def test_a_damaged_or_foreign_file_is_a_clear_error(tmp_path):
    path = tmp_path / "gallery.json"
    path.write_text("{not json")
    with pytest.raises(GalleryError, match="cannot read the gallery"):
        FileGallery(path).people()
    path.write_text(json.dumps({"people": []}))
    with pytest.raises(GalleryError, match="not a vidsentry gallery"):
        FileGallery(path).people()


def test_open_gallery_chooses_the_store(tmp_path):
    config = FaceConfig(gallery_path=tmp_path / "g.json")
    assert isinstance(open_gallery(config), FileGallery)
    redis = RedisConfig(url="redis://127.0.0.1:1/0")
    assert type(open_gallery(config, redis)).__name__ == "RedisGallery"
    assert isinstance(open_gallery(config, RedisConfig()), FileGallery)
    assert isinstance(open_gallery(config.model_copy(update={"gallery_store": "file"}), redis), FileGallery)
    with pytest.raises(ValueError, match="no Redis URL"):
        open_gallery(config.model_copy(update={"gallery_store": "redis"}))
