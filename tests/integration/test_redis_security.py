"""Redis with a password (requirepass), an ACL user and TLS, reached through the ``redis``
settings: the aggregator and the gallery work with the right credentials; wrong ones fail
with a typed error that names the setting and never the secret."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

from aggregator.role import build_aggregator
from tests.conftest import REDIS_PASSWORD, REDIS_USER, REDIS_USER_PASSWORD
from tests.scenario import Scene, body, face
from vidsentry.config import Config, RedisConfig, load_config
from vidsentry.devservices import LocalRedis
from vidsentry.redis_client import RedisAccessError, check_redis_access, redis_client, redis_location
from workers.face.config import FaceConfig
from workers.face.errors import GalleryError
from workers.face.gallery import open_gallery

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory, tls_files):
    server = LocalRedis(tmp_path_factory.mktemp("redis-tls"), password=REDIS_PASSWORD, tls=tls_files)
    try:
        yield server.start()
    finally:
        server.stop(timeout_s=5)


def acl_user(server, password: str = REDIS_USER_PASSWORD) -> RedisConfig:
    return RedisConfig(url=server.url, username=REDIS_USER, password=password)


def aggregator_config(redis: RedisConfig) -> Config:
    config = Config(redis=redis)
    config.aggregator.redis_prefix = f"t{uuid.uuid4().hex[:8]}"
    return config


def test_the_aggregator_keeps_state_in_redis_as_an_acl_user(secure_redis_server):
    config = aggregator_config(acl_user(secure_redis_server))
    stage = build_aggregator(config)
    scene = Scene()
    scene.run(2, faces=[face("f1")], bodies=[body("b1", "walking")])
    stage.process(scene.messages)
    client = redis_client(config.redis)
    stored = client.hgetall(f"{config.aggregator.redis_prefix}:person:anon-f1")
    assert json.loads(stored[b"action"]) == "walking"


def test_the_default_user_password_comes_from_a_secret_file(secure_redis_server, tmp_path):
    secret = tmp_path / "redis_password"
    secret.write_text(REDIS_PASSWORD + "\n")
    config = load_config(None, {"VIDSENTRY_REDIS__URL": secure_redis_server.url,
                                "VIDSENTRY_REDIS__PASSWORD_FILE": str(secret)})
    assert config.redis.password.get_secret_value() == REDIS_PASSWORD
    gallery = open_gallery(FaceConfig(gallery_store="redis", gallery_redis_prefix=f"g{uuid.uuid4().hex[:8]}"),
                           config.redis)
    gallery.add("Ann", np.ones((1, 128), np.float32))
    assert [p.name for p in gallery.people()] == ["Ann"]


@pytest.mark.parametrize("settings", [
    {"username": REDIS_USER, "password": "not-the-Password-42"},
    {"password": "not-the-Password-42"},
    {},
], ids=["acl-user-wrong-password", "default-user-wrong-password", "no-password"])
@pytest.mark.reliability(fault='a wrong Redis password or ACL user against the real Redis with requirepass and ACL users',
                         happened='a clear error at start, without the password',
                         lost='nothing (the role does not start)')
def test_a_refused_login_is_a_clear_error_at_start(secure_redis_server, settings):
    config = aggregator_config(RedisConfig(url=secure_redis_server.url, **settings))
    with pytest.raises(RedisAccessError) as refused:
        build_aggregator(config)
    message = str(refused.value)
    assert f"Redis at {secure_redis_server.url} refused the login" in message
    assert "redis.password" in message and "not-the-Password-42" not in message


def test_the_gallery_names_a_refused_login_without_the_password(secure_redis_server):
    gallery = open_gallery(FaceConfig(gallery_store="redis"), acl_user(secure_redis_server, "not-the-Password-42"))
    with pytest.raises(GalleryError, match="invalid username-password") as refused:
        gallery.people()
    assert "not-the-Password-42" not in str(refused.value)


def test_an_unreachable_redis_is_not_a_refusal():
    from vidsentry.devservices import free_port

    config = RedisConfig(url=f"redis://127.0.0.1:{free_port()}/0", password="x")
    assert check_redis_access(redis_client(config, socket_connect_timeout=5), config) is False


def test_tls_with_the_server_ca(tls_redis, tls_files):
    config = RedisConfig(url=f"redis://127.0.0.1:{tls_redis.port}/0", tls=True, tls_ca_file=tls_files.ca,
                         password=REDIS_PASSWORD)
    assert redis_location(config) == f"rediss://127.0.0.1:{tls_redis.port}/0"
    client = redis_client(config, socket_timeout=10)
    assert check_redis_access(client, config)
    client.set("k", "v")
    assert client.get("k") == b"v"


def test_tls_without_the_server_ca_is_refused(tls_redis):
    config = RedisConfig(url=tls_redis.url, password=REDIS_PASSWORD)
    with pytest.raises(RedisAccessError, match="TLS failed .*redis.tls_ca_file"):
        check_redis_access(redis_client(config, socket_timeout=10), config)
