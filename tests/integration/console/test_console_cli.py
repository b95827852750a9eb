"""`vidsentry console` and `vidsentry run --console` refuse to start without what they need,
saying which setting to give."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]


def cli(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VIDSENTRY_")}
    return subprocess.run([sys.executable, "-m", "vidsentry.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**clean, **env})


def test_console_needs_a_deployment_bus_redis_and_a_password(redis_server, kafka_server, samples):
    memory = cli(["console"], VIDSENTRY_CONSOLE__PASSWORD="pw")
    assert memory.returncode == 2 and "bus.kind to kafka" in memory.stderr
    kafka = {"VIDSENTRY_BUS__KIND": "kafka", "VIDSENTRY_BUS__KAFKA__BOOTSTRAP_SERVERS": kafka_server.bootstrap_servers}
    no_redis = cli(["console"], VIDSENTRY_CONSOLE__PASSWORD="pw", **kafka)
    assert no_redis.returncode == 1 and "needs Redis" in no_redis.stderr
    no_password = cli(["console"], VIDSENTRY_REDIS__URL=redis_server.url, **kafka)
    assert no_password.returncode == 1 and "console.password" in no_password.stderr
    run = cli(["run", "--console", str(samples["carphone"])], VIDSENTRY_CONSOLE__PASSWORD="pw")
    assert run.returncode == 1 and "needs Redis" in run.stderr and "--redis" in run.stderr


def test_hash_password_prints_a_hash_the_config_takes(tmp_path: Path):
    from vidsentry.config.console import ConsoleConfig
    from vidsentry.console.auth import verify_password

    done = subprocess.run([sys.executable, "-m", "vidsentry.cli", "console", "--hash-password"], cwd=REPO,
                          input="Op3rator!\nOp3rator!\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    stored = re.search(r"scrypt\$[0-9a-f]+\$[0-9a-f]+", done.stdout).group(0)
    assert "Op3rator!" not in done.stdout
    assert verify_password("Op3rator!", stored)
    assert ConsoleConfig(password_hash=stored).password is None
