"""The pipeline list is the one place that says what the pipeline is: the CLI roles, the
embedded runner, the aggregator's inputs, the benchmark's groups and the deployment files'
roles all agree with it. The deploy files are only read here."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
import yaml

from aggregator.role import INPUT_TOPICS
from schemas.topics import ACTIONS, DEADLETTER, EMOTIONS, EVENTS, FACES, FRAMES
from tests.echo_stage import STAGE as ECHO
from vidsentry.pipeline import AGGREGATOR, PIPELINE
from vidsentry.stages import StageDecl, check_pipeline, group_inputs, topics_seen

REPO = Path(__file__).resolve().parents[3]


def stage_roles(commands: dict[str, list[str]]) -> dict[str, tuple[str, ...]]:
    """The services (by name) whose command starts like a declared stage's: ``worker ...`` or ``aggregator``."""
    firsts = {decl.command[0] for decl in PIPELINE}
    return {name: tuple(cmd) for name, cmd in commands.items() if cmd and cmd[0] in firsts}


def test_the_pipeline_is_face_emotion_action_then_the_aggregator():
    assert [(d.name, d.inputs, d.output_topics) for d in PIPELINE] == [
        ("face", (FRAMES,), (FACES,)), ("emotion", (FACES,), (EMOTIONS,)), ("action", (FRAMES,), (ACTIONS,)),
        ("aggregator", (FACES, EMOTIONS, ACTIONS), (EVENTS,))]
    assert PIPELINE[-1] is AGGREGATOR and INPUT_TOPICS == list(AGGREGATOR.inputs)
    assert topics_seen(PIPELINE) == [FRAMES, FACES, EMOTIONS, ACTIONS, EVENTS, DEADLETTER]


def test_each_stage_section_lives_with_its_stage():
    """``config.<section>`` of every declared stage is the model of the stage package's own config.py."""
    from vidsentry.config import Config

    homes = {d.name: Config.model_fields[d.section].annotation.__module__ for d in PIPELINE}
    assert homes == {d.name: d.build.__module__ + ".config" for d in PIPELINE} == {
        "face": "workers.face.config", "emotion": "workers.emotion.config", "action": "workers.action.config",
        "aggregator": "aggregator.config"}


def test_the_compose_file_runs_one_service_per_stage():
    services = yaml.safe_load((REPO / "deploy/compose/docker-compose.yml").read_text())["services"]
    commands = {name: s.get("command") for name, s in services.items() if isinstance(s.get("command"), list)}
    assert stage_roles(commands) == {d.name: d.command for d in PIPELINE}


def test_the_k8s_base_has_one_deployment_per_stage():
    base = REPO / "deploy/k8s/base"
    resources = yaml.safe_load((base / "kustomization.yaml").read_text())["resources"]
    commands = {}
    for resource in resources:
        for doc in yaml.safe_load_all((base / resource).read_text()):
            if doc and doc.get("kind") == "Deployment":
                (container,) = doc["spec"]["template"]["spec"]["containers"]
                args = container.get("args", [])
                while args and args[0].startswith("--"):  # the global options before the command
                    args = args[2:]
                commands[doc["metadata"]["name"].removeprefix("vidsentry-")] = args
    assert stage_roles(commands) == {d.name: d.command for d in PIPELINE}


def test_every_stage_has_its_cli_command():
    from vidsentry.cli import app

    root = typer.main.get_command(app)
    for decl in PIPELINE:
        command = root
        for word in decl.command:
            command = command.commands[word]
        assert command.name == decl.command[-1]
    assert sorted(root.commands["worker"].commands) == sorted(d.name for d in PIPELINE if d.command[0] == "worker")


def test_the_distributed_benchmark_watches_the_declared_groups():
    import sys

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import distributed_bench
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    assert distributed_bench.GROUP_INPUTS == group_inputs(PIPELINE)
    assert distributed_bench.POOLS == ("face", "emotion", "action")


def test_a_pipeline_must_feed_every_input():
    """The check the pipeline list runs at import can fail: a stage before its producer, a name twice."""
    with pytest.raises(ValueError, match="nothing before it publishes faces"):
        check_pipeline([AGGREGATOR, *PIPELINE[:-1]])
    with pytest.raises(ValueError, match="is taken"):
        check_pipeline([*PIPELINE, ECHO, ECHO])
    with pytest.raises(ValueError, match="unknown output kind"):
        StageDecl("x", (FRAMES,), ("nonsense",), "x", build=lambda config: None, command=("worker", "x"), summary="")


def test_adding_a_stage_is_one_more_line():
    pipeline = (*PIPELINE[:-1], ECHO, AGGREGATOR)
    check_pipeline(pipeline)
    assert group_inputs(pipeline)["echo"] == [FRAMES]
    assert topics_seen(pipeline) == topics_seen(PIPELINE)
