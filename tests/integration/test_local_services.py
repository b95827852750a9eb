"""The local servers the suite and `vidsentry dev up` start are the real thing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import redis

from vidsentry.bus.kafka import wait_for_broker

pytestmark = pytest.mark.integration


def test_redis_is_a_real_server(redis_server):
    client = redis.Redis.from_url(redis_server.url)
    assert client.ping()
    info = client.info("server")
    assert info["tcp_port"] == redis_server.port
    entry = client.xadd("alerts:test", {"rule": "fight", "severity": "high"})
    assert client.xrange("alerts:test")[0][0] == entry


def test_dev_up_and_down_from_the_cli(tmp_path: Path):
    state = tmp_path / "local"
    up = subprocess.run([sys.executable, "-m", "vidsentry.cli", "dev", "up", "--dir", str(state)],
                        capture_output=True, text=True, timeout=180)
    try:
        assert up.returncode == 0, up.stderr
        env = dict(line.removeprefix("export ").split("=", 1) for line in (state / "services.env").read_text().splitlines())
        wait_for_broker(env["VIDSENTRY_BUS__KAFKA__BOOTSTRAP_SERVERS"], timeout_s=120)
        assert redis.Redis.from_url(env["VIDSENTRY_REDIS__URL"]).ping()
        assert (state / "kafka.pid").exists() and (state / "redis.pid").exists()
    finally:
        down = subprocess.run([sys.executable, "-m", "vidsentry.cli", "dev", "down", "--dir", str(state)],
                              capture_output=True, text=True, timeout=120)
    assert down.returncode == 0, down.stderr
    assert not (state / "kafka.pid").exists()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(env["VIDSENTRY_REDIS__URL"], socket_connect_timeout=1).ping()
