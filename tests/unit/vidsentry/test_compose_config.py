"""deploy/compose/: `docker-compose config` (Debian's docker-compose; installed by
deploy/local/install.sh --services) accepts the file, and its rendering passes the same checks
as deploy/k8s/: every role has a service running a real command, every VIDSENTRY_* variable is
real configuration, the health check asks a path a real metrics server answers on the configured
port. The image runs as a non-root user and has its models fetched at build time."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from vidsentry.cli import app, worker_app
from vidsentry.config import load_config
from vidsentry.metrics import MetricsServer

REPO = Path(__file__).resolve().parents[3]
COMPOSE = REPO / "deploy" / "compose"
COMPOSE_BINARY = shutil.which("docker-compose")
ROLES = {"producer", "aggregator"} | {command.name for command in worker_app.registered_commands}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict:
    """`docker-compose config` of a copy with the secret files created (as its header says);
    without the binary, the file as PyYAML reads it with its `<<` merge keys resolved."""
    root = tmp_path_factory.mktemp("compose") / "compose"
    shutil.copytree(COMPOSE, root)
    for name in ("kafka_password", "redis_password", "grafana_admin_password"):
        (root / "secrets" / name).write_text(f"{name}-Example-0123\n")
    if COMPOSE_BINARY is None:
        return yaml.safe_load((root / "docker-compose.yml").read_text())
    result = subprocess.run([COMPOSE_BINARY, "-f", str(root / "docker-compose.yml"), "config"], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.mark.skipif(COMPOSE_BINARY is None, reason="docker-compose is not installed (Debian package `docker-compose`; "
                                                   "deploy/local/install.sh --services installs it): the YAML-level checks still run")
def test_docker_compose_accepts_the_file(rendered):
    assert set(rendered["services"]) >= ROLES


def test_every_role_has_a_service_running_a_real_command(rendered):
    runner = CliRunner()
    for role in ROLES:
        command = rendered["services"][role]["command"]
        assert role in command, (role, command)
        path = [a for a in command if not a.startswith("-") and not a.startswith("/")]
        shown = runner.invoke(app, [*path, "--help"])
        assert shown.exit_code == 0, (command, shown.output)
        for option in (a for a in command if a.startswith("--")):
            assert option in shown.output, (role, option)


def service_config(service: dict, secrets: dict, folder: Path):
    """The service's configuration from its environment, with /run/secrets/<name> files resolved."""
    environ = {}
    for name, value in service["environment"].items():
        assert name.startswith("VIDSENTRY_"), name
        value = str(value)
        match = re.fullmatch(r"/run/secrets/(\w+)", value)
        if match:
            assert match[1] in service["secrets"] or match[1] in [s.get("source") for s in service["secrets"] if isinstance(s, dict)]
            source = Path(secrets[match[1]]["file"])
            path = folder / match[1]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(source.read_text() if source.is_absolute() and source.exists() else "placeholder\n")
            value = str(path)
        environ[name] = value
    return load_config(environ=environ)  # ConfigError names an unknown key


def test_every_variable_is_real_configuration_and_the_health_check_is_served(rendered, tmp_path):
    server = MetricsServer("127.0.0.1", 0, health=lambda: {"ok": True}).start()
    try:
        for role in ROLES | {"topics"}:
            service = rendered["services"][role]
            config = service_config(service, rendered["secrets"], tmp_path / role)
            assert config.bus.kind == "kafka" and config.bus.kafka.sasl_password is not None, role
            if role == "topics":
                assert service["healthcheck"] in ({"disable": True}, {"test": ["NONE"]})  # (docker-compose writes it the second way)
                continue
            check = " ".join(service["healthcheck"]["test"])
            url = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", check)
            assert int(url[1]) == config.metrics.port and config.metrics.host == "0.0.0.0", role
            local = f"http://127.0.0.1:{server.port}{url[2]}"
            probe = subprocess.run(["python3", "-c", service["healthcheck"]["test"][-1].replace(url[0], local)],
                                   capture_output=True, timeout=60)
            assert probe.returncode == 0, (role, probe.stderr)
    finally:
        server.stop()


def test_the_image_runs_as_non_root_with_models_fetched_at_build_time():
    lines = [line.strip() for line in (COMPOSE / "Dockerfile").read_text().splitlines() if line.strip() and not line.startswith("#")]
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    fetch = next(i for i, line in enumerate(lines) if "models fetch" in line)
    assert fetch < lines.index(next(line for line in lines if line.startswith("USER "))), "models are fetched before dropping root"
    assert "VIDSENTRY_MODELS__CACHE_DIR" in " ".join(lines), "the models live outside root's home, readable by the user"
    assert int(users[-1].split(":")[0]) == k8s_user()


def k8s_user() -> int:
    deployment = yaml.safe_load((REPO / "deploy" / "k8s" / "base" / "face.yaml").read_text())
    return deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
