from __future__ import annotations

import pytest

from tests.conftest import CACHE_ROOT
from vidsentry.config import Config
from vidsentry.console.app import Console
from vidsentry.redis_client import redis_client
from workers.face.embedder import load_embedder
from workers.face.gallery_redis import RedisGallery


@pytest.fixture
def console(config: Config):
    """A started console on the ``config`` fixture of the test module."""
    client = redis_client(config.redis)
    console = Console(config, client, lambda: RedisGallery(client, config.face.gallery_redis_prefix),
                      lambda: load_embedder(CACHE_ROOT)).start()
    yield console
    console.stop()
