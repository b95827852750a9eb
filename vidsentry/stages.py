"""What a stage declares about itself, so the pipeline's shape is written in one place.

Each stage package exports one ``StageDecl`` (``workers.face.STAGE``...); the application's
``vidsentry.pipeline.PIPELINE`` lists them. The CLI roles, the embedded runner and its
recorder, the benchmarks and the deployment files' roles are all read from that list.
docs/ARCHITECTURE.md, "Stages and topics".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from schemas.topics import DEADLETTER, FRAMES, TOPIC_OF_KIND

if TYPE_CHECKING:
    from vidsentry.config import Config
    from vidsentry.runtime import Stage


@dataclass(frozen=True)
class StageDecl:
    name: str
    """The stage's name: its consumer group, its ``stage`` metrics label, its role."""
    inputs: tuple[str, ...]
    """The topics it consumes."""
    outputs: tuple[str, ...]
    """The message kinds it publishes (keys of ``schemas.topics.TOPIC_OF_KIND``)."""
    section: str
    """Its section of the configuration (``config.<section>``)."""
    build: Callable[..., Stage]
    """``build(config, **injected)``: the stage from the whole Config; keyword arguments
    replace what it would otherwise open itself (a gallery, the alert file...)."""
    command: tuple[str, ...]
    """The CLI command that serves it as a process, e.g. ("worker", "face")."""
    summary: str
    """One line for the CLI help."""
    expect: type | None = None
    """The message class every input must decode to (None: any kind, dispatched by the stage)."""
    checks: Callable[[Any], Mapping[str, Callable[[], object]]] | None = None
    """The built stage's dependencies for /readyz."""

    def __post_init__(self) -> None:
        unknown = [k for k in self.outputs if k not in TOPIC_OF_KIND]
        if unknown:
            raise ValueError(f"stage {self.name}: unknown output kind(s) {', '.join(unknown)}")

    @property
    def output_topics(self) -> tuple[str, ...]:
        return tuple(TOPIC_OF_KIND[kind] for kind in self.outputs)

    def serve(self, config: Config) -> None:
        """Run the stage as a process until SIGTERM/SIGINT."""
        from vidsentry.role import serve_stage

        stage = self.build(config)
        try:
            serve_stage(stage, config, list(self.inputs), expect=self.expect,
                        checks=self.checks(stage) if self.checks else None)
        finally:
            close = getattr(stage, "close", None)
            if close is not None:
                close()


def check_pipeline(stages: Iterable[StageDecl]) -> None:
    """Names and commands are unique, and every input is produced upstream (or is ``frames``)."""
    produced, names, commands = {FRAMES}, set(), set()
    for decl in stages:
        if decl.name in names or decl.command in commands:
            raise ValueError(f"stage {decl.name}: its name or command {' '.join(decl.command)} is taken")
        missing = [t for t in decl.inputs if t not in produced]
        if missing:
            raise ValueError(f"stage {decl.name}: nothing before it publishes {', '.join(missing)}")
        names.add(decl.name)
        commands.add(decl.command)
        produced.update(decl.output_topics)


def topics_seen(stages: Iterable[StageDecl]) -> list[str]:
    """Every topic a pipeline reads or writes, in pipeline order, then the dead-letter topic."""
    topics = [FRAMES]
    for decl in stages:
        topics += [t for t in (*decl.inputs, *decl.output_topics) if t not in topics]
    return topics + ([DEADLETTER] if DEADLETTER not in topics else [])


def group_inputs(stages: Iterable[StageDecl]) -> dict[str, list[str]]:
    """Each consumer group (named after its stage) and the topics it reads."""
    return {decl.name: list(decl.inputs) for decl in stages}
