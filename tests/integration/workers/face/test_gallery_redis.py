"""The Redis gallery (a deployment) against the same store contract, on a real redis-server."""

from __future__ import annotations

import uuid

import pytest

from tests.unit.workers.face.gallery_contract import GalleryContract
from workers.face.errors import GalleryError
from workers.face.gallery_redis import RedisGallery

pytestmark = pytest.mark.integration


class TestRedisGallery(GalleryContract):
    @pytest.fixture
    def prefix(self) -> str:
        return f"test-{uuid.uuid4().hex[:8]}:gallery"

    @pytest.fixture
    def gallery(self, redis_server, prefix):
        return RedisGallery.from_url(redis_server.url, prefix)

    @pytest.fixture
    def reopen(self, redis_server, prefix):
        return lambda: RedisGallery.from_url(redis_server.url, prefix)


def test_galleries_under_different_prefixes_are_separate(redis_server, photo_embedding):
    a = RedisGallery.from_url(redis_server.url, f"a-{uuid.uuid4().hex[:8]}")
    b = RedisGallery.from_url(redis_server.url, f"b-{uuid.uuid4().hex[:8]}")
    a.add("Barack Obama", photo_embedding("obama"))
    assert b.people() == [] and [p.name for p in a.people()] == ["Barack Obama"]


def test_an_unreachable_redis_is_a_gallery_error_naming_where(photo_embedding):
    from vidsentry.devservices import free_port

    port = free_port()
    gallery = RedisGallery.from_url(f"redis://:secret@127.0.0.1:{port}/0")
    with pytest.raises(GalleryError, match=f"redis://127.0.0.1:{port}/0") as caught:
        gallery.people()
    assert "secret" not in str(caught.value)
    with pytest.raises(GalleryError):
        gallery.add("Barack Obama", photo_embedding("obama"))
