"""The CLI never prints a credential: `config show`, error messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SECRET = "s3cretpw"


def run_cli(args: list[str], **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("VIDSENTRY_")}
    return subprocess.run([sys.executable, "-m", "vidsentry.cli", *args], cwd=REPO, env={**environ, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.reliability(fault='a Redis password in the URL and a webhook token, then `vidsentry config show`',
                         happened='both are printed masked',
                         lost='nothing')
def test_config_show_masks_the_redis_password_and_webhook_token():
    result = run_cli(["config", "show"], VIDSENTRY_REDIS__URL=f"redis://:{SECRET}@127.0.0.1:6379/0",
                     VIDSENTRY_AGGREGATOR__WEBHOOK_URL=f"https://hooks.example/alerts?token={SECRET}")
    assert result.returncode == 0, result.stderr
    assert SECRET not in result.stdout + result.stderr
    shown = json.loads(result.stdout)
    assert shown["redis"]["url"] == "redis://:***@127.0.0.1:6379/0"
    assert shown["aggregator"]["webhook_url"] == "https://hooks.example/alerts?token=***"
    assert shown["bus"]["kafka"]["bootstrap_servers"] == "127.0.0.1:9092", "the rest is shown as it is"


def test_credentials_in_the_kafka_server_list_are_refused_without_being_echoed():
    """kafka-python has no user:password@ in bootstrap servers: it failed with a traceback ending
    in the password; now the key is named and the value is not repeated."""
    result = run_cli(["topics", "create"], VIDSENTRY_BUS__KIND="kafka",
                     VIDSENTRY_BUS__KAFKA__BOOTSTRAP_SERVERS=f"alice:{SECRET}@127.0.0.1:1")
    assert result.returncode == 2
    assert "bus.kafka.bootstrap_servers" in result.stderr and "sasl_username" in result.stderr
    assert "Traceback" not in result.stderr and SECRET not in result.stdout + result.stderr
