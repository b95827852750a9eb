"""deploy/k8s/: the example overlay rendered (with kustomize when installed, and always with the
small renderer below, which must agree with it) and checked against the code: every role has a
Deployment whose command the CLI knows, every probe path and port is one a real metrics server
answers, every VIDSENTRY_* variable and the ConfigMap are real configuration, each worker pool
has a KEDA ScaledObject on its own consumer group and input topic, capped at the partitions,
and requests cover the memory BENCHMARKS.md measured."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from schemas.topics import FACES, FRAMES
from vidsentry.cli import app, worker_app
from vidsentry.config import load_config
from vidsentry.metrics import MetricsServer

REPO = Path(__file__).resolve().parents[3]
K8S = REPO / "deploy" / "k8s"
POOL_INPUT = {"face": FRAMES, "emotion": FACES, "action": FRAMES}
"""Each worker pool's input topic (its consumer group is its stage name): what KEDA must watch."""
SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "configMapGenerator", "secretGenerator", "generatorOptions"}


def render(directory: Path) -> list[dict]:
    """``kustomize build`` for the features deploy/k8s uses (checked: anything else fails)."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - SUPPORTED
    assert not unsupported, f"{directory}: the test's renderer does not know {sorted(unsupported)}"
    assert kustomization.get("generatorOptions", {}).get("disableNameSuffixHash") is True
    docs: list[dict] = []
    for resource in kustomization.get("resources", []):
        path = directory / resource
        docs += render(path) if path.is_dir() else [d for d in yaml.safe_load_all(path.read_text()) if d]
    for kind, generators in (("ConfigMap", kustomization.get("configMapGenerator", [])),
                             ("Secret", kustomization.get("secretGenerator", []))):
        for generator in generators:
            data = {}
            for item in generator.get("literals", []):
                key, _, value = item.partition("=")
                data[key] = value
            for item in generator.get("files", []):
                key, _, source = item.rpartition("=")
                data[key or Path(source).name] = (directory / source).read_text()
            doc = {"apiVersion": "v1", "kind": kind, "metadata": {"name": generator["name"]}}
            if kind == "Secret":
                doc["type"] = "Opaque"
                data = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
            doc["data"] = data
            docs.append(doc)
    for doc in docs:
        if "namespace" in kustomization:
            doc["metadata"]["namespace"] = kustomization["namespace"]
        for image in kustomization.get("images", []):
            for container in containers(doc):
                if container["image"] == image["name"]:
                    container["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
    return docs


def containers(doc: dict) -> list[dict]:
    return doc.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []) if doc["kind"] == "Deployment" else []


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.fixture(scope="module")
def overlay(tmp_path_factory) -> Path:
    """A copy of deploy/k8s with the example overlay's password files created, as its header says."""
    root = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, root)
    secrets = root / "overlays" / "example" / "secrets"
    (secrets / "kafka_password").write_text("kafka-Example-0123")
    (secrets / "redis_password").write_text("redis-Example-0123")
    return root / "overlays" / "example"


@pytest.fixture(scope="module")
def docs(overlay: Path) -> list[dict]:
    return render(overlay)


@pytest.fixture(scope="module")
def config_files(docs: list[dict], tmp_path_factory) -> Path:
    """The ConfigMap's files where the pods mount them (/etc/vidsentry), here a folder."""
    folder = tmp_path_factory.mktemp("etc-vidsentry")
    for name, text in by_kind(docs, "ConfigMap")["vidsentry-config"]["data"].items():
        (folder / name).write_text(text)
    return folder


def kustomize_command() -> list[str] | None:
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        return ["kubectl", "kustomize"]
    return None


@pytest.mark.skipif(kustomize_command() is None, reason="neither kustomize nor kubectl is installed: the PyYAML renderer "
                                                        "alone renders the overlay for the other tests")
def test_kustomize_renders_the_same_as_the_tests_renderer(overlay, docs):
    built = subprocess.run([*kustomize_command(), str(overlay)], capture_output=True, text=True, timeout=120)
    assert built.returncode == 0, built.stderr
    theirs = list(yaml.safe_load_all(built.stdout))

    def key(doc: dict) -> str:
        return f"{doc['kind']}/{doc['metadata']['name']}"

    assert sorted(map(key, theirs)) == sorted(map(key, docs))
    ours = {key(d): d for d in docs}
    for doc in theirs:
        assert doc == ours[key(doc)], key(doc)


def test_every_role_of_the_pipeline_has_a_deployment_running_a_real_command(docs):
    roles = {"producer", "aggregator"} | {command.name for command in worker_app.registered_commands}
    deployments = by_kind(docs, "Deployment")
    assert set(deployments) == {f"vidsentry-{role}" for role in roles}
    runner = CliRunner()
    for role in roles:
        (container,) = containers(deployments[f"vidsentry-{role}"])
        args = container["args"]
        assert role in args and args[:2] == ["--log-format", "json"], args
        command = [a for a in args if not a.startswith("/")]  # drop file arguments, keep the command and its options
        shown = runner.invoke(app, [*command[:command.index(role) + 1], "--help"] if role != "producer"
                              else [*command[:3], "--help"])
        assert shown.exit_code == 0, (args, shown.output)
        for option in (a for a in args[2:] if a.startswith("--")):
            assert option in shown.output, (role, option)
        assert container["image"] == "registry.example.com/vidsentry:0.1.0"


def test_probes_name_paths_a_real_metrics_server_answers_on_the_configured_port(docs, config_files, tmp_path):
    server = MetricsServer("127.0.0.1", 0, health=lambda: {"ok": True}, ready=lambda: {"ok": False}).start()
    try:
        for name, deployment in by_kind(docs, "Deployment").items():
            (container,) = containers(deployment)
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            config = pod_config(deployment, docs, config_files, tmp_path / name)
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                get = container[probe]["httpGet"]
                assert ports[get["port"]] == config.metrics.port, (name, probe)
                code = status(f"http://127.0.0.1:{server.port}{get['path']}")
                assert code in (200, 503), (name, probe, get["path"], code)  # 404 for a path the server does not serve
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
            annotations = deployment["spec"]["template"]["metadata"]["annotations"]
            assert int(annotations["prometheus.io/port"]) == config.metrics.port and annotations["prometheus.io/path"] == "/metrics"
            assert config.metrics.host == "0.0.0.0"  # the probes and Prometheus come from outside the pod
    finally:
        server.stop()


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def pod_environ(deployment: dict, docs: list[dict], config_files: Path, folder: Path) -> dict[str, str]:
    """The VIDSENTRY_* variables the pod gets, with the files they name (mounted Secrets and the
    ConfigMap) written under ``folder`` as the volumes would mount them."""
    secrets = {name: {k: base64.b64decode(v).decode() for k, v in d["data"].items()} for name, d in by_kind(docs, "Secret").items()}
    (container,) = containers(deployment)
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    environ = {}
    for var in container["env"]:
        assert var["name"].startswith("VIDSENTRY_"), var
        if "valueFrom" in var:
            ref = var["valueFrom"]["secretKeyRef"]
            environ[var["name"]] = secrets[ref["name"]][ref["key"]]
            continue
        value = var["value"]
        assert not var["name"].endswith("PASSWORD"), f"{deployment['metadata']['name']}: a password as a literal value"
        mount = next((m for m in mounts if value.startswith(m + "/")), None)
        if mount is not None:
            volume, relative = mounts[mount], value[len(mount) + 1:]
            content = (secrets[volume["secret"]["secretName"]][relative] if "secret" in volume
                       else (config_files / relative).read_text())
            path = folder / mount.strip("/") / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            value = str(path)
        environ[var["name"]] = value
    return environ


def pod_config(deployment: dict, docs: list[dict], config_files: Path, folder: Path):
    return load_config(environ=pod_environ(deployment, docs, config_files, folder))  # ConfigError names an unknown key


def test_every_variable_the_manifests_set_is_real_configuration(docs, config_files, tmp_path):
    for name, deployment in by_kind(docs, "Deployment").items():
        config = pod_config(deployment, docs, config_files, tmp_path / name)
        assert config.bus.kind == "kafka" and config.bus.kafka.sasl_password is not None and config.redis.password is not None
        assert config.bus.kafka.sasl_username == "vidsentry"
        assert config.bus.kafka.sasl_password.get_secret_value() == "kafka-Example-0123"


def test_the_producer_gets_its_cameras_and_a_spool_volume(docs, config_files):
    from vidsentry.config.cameras import load_cameras

    deployment = by_kind(docs, "Deployment")["vidsentry-producer"]
    (container,) = containers(deployment)
    cameras_path = container["args"][container["args"].index("--cameras") + 1]
    assert cameras_path.startswith("/etc/vidsentry/")
    cameras = load_cameras(config_files / Path(cameras_path).name)
    spool_mounts = [m["mountPath"] for m in container["volumeMounts"] if m["name"] == "spool"]
    assert [str(cameras.producer.spool_dir)] == spool_mounts
    assert deployment["spec"]["replicas"] == 1 and deployment["spec"]["strategy"]["type"] == "Recreate"


def test_each_worker_pool_scales_on_its_own_lag_and_never_past_the_partitions(docs, config_files, tmp_path):
    scaled = by_kind(docs, "ScaledObject")
    assert {s["spec"]["scaleTargetRef"]["name"] for s in scaled.values()} == {f"vidsentry-{p}" for p in POOL_INPUT}
    auth = by_kind(docs, "TriggerAuthentication")
    secrets = by_kind(docs, "Secret")
    for scaled_object in scaled.values():
        pool = scaled_object["spec"]["scaleTargetRef"]["name"].removeprefix("vidsentry-")
        config = pod_config(by_kind(docs, "Deployment")[f"vidsentry-{pool}"], docs, config_files, tmp_path / pool)
        assert scaled_object["spec"]["maxReplicaCount"] <= config.bus.kafka.partitions, pool
        (trigger,) = scaled_object["spec"]["triggers"]
        meta = trigger["metadata"]
        assert trigger["type"] == "kafka"
        assert (meta["consumerGroup"], meta["topic"]) == (pool, config.bus.kafka.topic_prefix + POOL_INPUT[pool])
        assert meta["bootstrapServers"] == config.bus.kafka.bootstrap_servers and meta["allowIdleConsumers"] == "false"
        assert int(meta["lagThreshold"]) > 0
        for ref in auth[trigger["authenticationRef"]["name"]]["spec"]["secretTargetRef"]:
            assert ref["key"] in secrets[ref["name"]]["data"]
    # The reason for each cap is written next to it.
    text = (K8S / "base" / "keda.yaml").read_text()
    caps = [line for line in text.splitlines() if line.strip().startswith("maxReplicaCount:")]
    assert len(caps) == len(POOL_INPUT) and all("partitions" in line.partition("#")[2] for line in caps)


MEBI = {"Mi": 2**20, "Gi": 2**30}


def quantity(text: str) -> float:
    """Kubernetes memory quantity -> MB (10^6 bytes, as BENCHMARKS.md counts)."""
    number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", text).groups()
    return int(number) * MEBI[unit] / 1e6


def test_requests_cover_the_memory_benchmarks_measured(docs):
    text = (REPO / "BENCHMARKS.md").read_text()
    measured = re.search(r"As processes \(distributed\.md, peak RSS\):(.*?)Redis", text, re.DOTALL).group(1)
    rss = {role: float(mb) for role, mb in re.findall(r"(producer|face|emotion|action|aggregator)\w*\s+(?:worker\s+)?~(\d+(?:\.\d+)?)", measured)}
    rss.update({role: float(gb) * 1000 for role, gb in re.findall(r"(producer|face|emotion|action|aggregator) worker ~(\d+(?:\.\d+)?) GB", measured)})
    assert set(rss) == {"producer", "face", "emotion", "action", "aggregator"}, measured
    for name, deployment in by_kind(docs, "Deployment").items():
        (container,) = containers(deployment)
        resources = container["resources"]
        role = name.removeprefix("vidsentry-")
        assert quantity(resources["requests"]["memory"]) >= rss[role], (role, resources, rss[role])
        assert quantity(resources["limits"]["memory"]) >= 1.5 * quantity(resources["requests"]["memory"]), role
        assert {"cpu", "memory"} <= set(resources["requests"]) and {"cpu", "memory"} <= set(resources["limits"])


def test_pods_run_as_non_root_and_prometheus_finds_them(docs):
    (monitor,) = by_kind(docs, "PodMonitor").values()
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert monitor["spec"]["jobLabel"] in selector and selector[monitor["spec"]["jobLabel"]] == "vidsentry"  # alerts.yml: job="vidsentry"
    for name, deployment in by_kind(docs, "Deployment").items():
        pod = deployment["spec"]["template"]
        assert selector.items() <= pod["metadata"]["labels"].items(), name
        assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == [p["name"] for c in containers(deployment) for p in c["ports"]]
        assert pod["spec"]["securityContext"]["runAsNonRoot"] is True and pod["spec"]["securityContext"]["runAsUser"] != 0
        for container in containers(deployment):
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
