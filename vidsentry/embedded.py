"""`vidsentry run`: producers, the three worker pools and the aggregator in one process on
the in-memory bus — the same stage code as a deployment — plus the outputs a person
looks at: events.jsonl, alerts.jsonl (or Redis), annotated videos, snapshots, report.html.

Each stage runs on its own thread (the models release the GIL in native code, so two
cores are both used); the bus's bounded partitions give backpressure between them.
Lifecycle: start (every stage subscribes, then loads its models on its own thread, all at
once), run (files read as fast as possible start at once, each stage consuming as soon as its
own models are ready, the frames waiting on the bus for it; cameras paced in real time start
once every stage is ready), drain (the sources ended or Ctrl-C: every stage catches up),
stop. A stage whose models fail to load fails the run with its message.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from prometheus_client import REGISTRY

from producers.producer import Producer, paced_like_a_camera
from schemas import ALL_TOPICS
from vidsentry.bus.memory import InMemoryBus
from vidsentry.config import Config
from vidsentry.config.cameras import CameraConfig, CamerasFile
from vidsentry.lazy_stage import LazyStage, StageLoadError
from vidsentry.pipeline import AGGREGATOR, PIPELINE
from vidsentry.privacy import BLUR_MODES
from vidsentry.redact import redact_data, redact_url
from vidsentry.report.annotate import AnnotateError, annotate_file
from vidsentry.report.recorder import Recorder
from vidsentry.runtime import StageRunner
from vidsentry.stages import StageDecl, topics_seen

if TYPE_CHECKING:
    from vidsentry.console.app import Console

log = logging.getLogger(__name__)


class RunError(RuntimeError):
    """The run could not produce results (every source failed, bad options...)."""


@dataclass
class RunOptions:
    sources: list[str]
    out: Path
    realtime: bool = False
    fps: float = 10.0
    max_side: int = 768
    blur_faces: str = "none"
    """none, all, or unknown: faces blurred in the annotated video and alert snapshots
    (unknown: everyone not identified as a known person)."""
    gallery: Path | None = None
    rules: Path | None = None
    progress: bool = True


@dataclass
class RunResult:
    out: Path
    frames: int
    alerts: int
    persons: int
    wall_s: float
    failures: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False


StageFactory = Callable[[Config], tuple[object, list[str], type | None]]


def default_stages(config: Config, pipeline: Sequence[StageDecl] = PIPELINE) -> list[tuple[object, list[str], type | None]]:
    """Every stage of the pipeline but the aggregator (the run builds that one with its outputs),
    not yet loaded: the run loads them in parallel (``LazyStage.load``)."""
    return [(LazyStage(decl.name, partial(decl.build, config)), list(decl.inputs), decl.expect)
            for decl in pipeline if decl is not AGGREGATOR]


def cameras_for(sources: list[str], options: RunOptions) -> list[CameraConfig]:
    cameras, used = [], set()
    for source in sources:
        stem = f"webcam{source}" if source.isdigit() else _source_stem(source)
        base = "".join(c if c.isalnum() or c in "._-" else "-" for c in stem)[:40] or "camera"
        name, n = base, 2
        while name in used:
            name, n = f"{base}-{n}", n + 1
        used.add(name)
        cameras.append(CameraConfig(id=name, source=source, fps=options.fps, max_side=options.max_side,
                                    realtime=options.realtime))
    return cameras


def _source_stem(source: str) -> str:
    """A file's stem; for a URL its path's stem, else its host: never its user-info (a password
    would end up in camera ids, which are metrics labels and appear in every output)."""
    if "://" not in source:
        return Path(source).stem
    try:
        parts = urlsplit(source)
        return Path(parts.path).stem or (parts.hostname or "")
    except ValueError:
        return ""


class EmbeddedRun:
    def __init__(self, options: RunOptions, config: Config, stages: StageFactory | None = None,
                 console: Console | None = None, pipeline: Sequence[StageDecl] = PIPELINE) -> None:
        """``console``: an operator console to attach to this run's bus (``run --console``).
        ``stages``: builds the stages before the aggregator (default: those of ``pipeline``)."""
        self.options = options
        self.config = config
        self.console = console
        self.pipeline = pipeline
        self.stage_factory = stages or (lambda config: default_stages(config, pipeline))
        self.stop_event = threading.Event()
        self.cameras = cameras_for(options.sources, options)
        if options.blur_faces not in BLUR_MODES:
            raise RunError(f"--blur-faces {options.blur_faces!r}: one of {', '.join(BLUR_MODES)}")
        self.skipped_outputs: list[str] = []
        self.load_errors: list[str] = []
        self.models_settled = threading.Semaphore(0)
        """Released once per stage whose models have loaded or failed."""
        self.models_loaded_at: float | None = None

    def run(self) -> RunResult:
        options, config = self.options, self.config
        out = options.out
        self.expected_frames = self._check_sources()
        staging = out.with_name(out.name + ".partial")
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir(parents=True)
        self._prepare_gallery(staging)
        loading = time.monotonic()
        bus = InMemoryBus(partitions=1, max_backlog=config.bus.memory.max_backlog, publish_timeout_s=0.5)
        bus.create_topics(ALL_TOPICS)
        if self.console is not None:
            self.console.attach(bus)
        recorder = Recorder(staging / "events.jsonl", measure_latency=any(map(paced_like_a_camera, self.cameras)),
                            marks_path=staging / "marks.jsonl")
        if options.blur_faces != "none":
            config.aggregator.blur_snapshots = options.blur_faces
        aggregator = AGGREGATOR.build(config, alerts_file=None if config.redis.url else staging / "alerts.jsonl",
                                      camera_ids=[c.id for c in self.cameras])
        stage_specs = self.stage_factory(config) + [(aggregator, list(AGGREGATOR.inputs), AGGREGATOR.expect)]
        runners = [StageRunner(stage, bus, topics, config.runtime, expect=expect).start()
                   for stage, topics, expect in stage_specs]
        recorder_runner = StageRunner(recorder, bus, topics_seen(self.pipeline),
                                      config.runtime.model_copy(update={"batch_size": 64})).start()
        timings_before = _stage_seconds([r.stage.name for r in runners])
        without_pose_before = _frames_without_pose([c.id for c in self.cameras])
        threads = [threading.Thread(target=self._serve, args=(r,), name=f"stage-{r.stage.name}", daemon=True)
                   for r in runners + [recorder_runner]]
        for thread in threads:
            thread.start()
        if any(map(paced_like_a_camera, self.cameras)):
            self._wait_for_models(runners)
        started = time.monotonic()
        cpu_before = _cpu_seconds()
        no_spool = CamerasFile(cameras=self.cameras).producer.model_copy(update={"spool_max_bytes": 0})  # the in-memory bus cannot go away
        states = self.console.camera_states if self.console is not None else None  # the console's camera grid
        producer = Producer(self.cameras, no_spool, bus, state_writer=states).start()
        producer_thread = threading.Thread(target=producer.run, name="producer", daemon=True)
        producer_thread.start()
        restore = _stop_on_ctrl_c(self.stop_event, producer.stop_event)
        try:
            interrupted = self._watch(producer_thread, runners + [recorder_runner], recorder, aggregator)
        finally:
            restore()
        producer.stop_event.set()
        producer_thread.join(timeout=30)
        for runner in runners + [recorder_runner]:
            runner.stop_event.set()
        for thread in threads:
            thread.join(timeout=30)
        if self.console is not None:
            self._drain_console()
        aggregator.close()
        recorder.close()
        if self.load_errors:
            shutil.rmtree(staging)
            raise RunError("; ".join(self.load_errors))
        recorder.settle_persons({pid: person.to_json() for pid, person in aggregator.persons.items()})
        wall = time.monotonic() - started
        cpu_s = _cpu_seconds() - cpu_before
        stage_load_s = {r.stage.name: round(r.stage.load_s, 2) for r in runners
                        if isinstance(r.stage, LazyStage) and r.stage.load_s is not None}
        load_s = max(self.models_loaded_at or started, started) - loading
        since_start = _process_started_at()

        failures = producer.failures()
        cameras = producer.status()["cameras"]
        analysed = sum(recorder.frames_seen.values())
        if analysed == 0:
            shutil.rmtree(staging)
            reasons = "; ".join(failures.values()) or "no frame was read"
            raise RunError(f"nothing to report: {reasons}")
        alerts = self._alerts(staging, aggregator)
        videos = self._annotate(staging, recorder, alerts)
        timings = _timings(runners, timings_before)
        run_info = {
            "summary": f"{len(self.cameras)} source(s), {analysed} frames analysed, {len(recorder.persons)} people, "
                       f"{len(alerts)} alert records" + (" (stopped early)" if interrupted else ""),
            "sources": [{"source": redact_url(c.source), "camera": c.id, "frames": recorder.frames_seen.get(c.id, 0)} for c in self.cameras],
            "frames": analysed, "wall_s": wall, "fps": analysed / wall if wall else 0.0, "model_load_s": load_s,
            "stage_load_s": stage_load_s,
            "first_output_s": {kind: round(at - since_start, 2) for kind, at in recorder.first_seen.items()},
            "dropped": sum(c["dropped"] for c in cameras.values()),
            "frames_without_pose": {reason: count - without_pose_before[reason] for reason, count
                                    in _frames_without_pose([c.id for c in self.cameras]).items()},
            "cpu_s": round(cpu_s, 2), "cpu_cores_used": round(cpu_s / wall, 2) if wall else 0.0,
            "peak_rss_mb": round(_peak_rss_mb(), 1),
        }
        latency = _latency(recorder, alerts) if recorder.measure_latency else None
        from vidsentry.report.html import write_report  # matplotlib: ~0.7 s of start-up spared until the report

        write_report(staging / "report.html", recorder, alerts, timings, {**run_info, "photos": self._photo_names()}, videos)
        (staging / "summary.json").write_text(json.dumps(redact_data({
            **run_info, "failures": failures, "timings": timings, "persons": len(recorder.persons), "alerts": len(alerts),
            "interrupted": interrupted, "cameras": cameras, "latency_s": latency,
            "skipped": self._skipped(cameras, aggregator)}), indent=2) + "\n")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
        return RunResult(out, analysed, len(alerts), len(recorder.persons), wall, failures, interrupted)

    def _serve(self, runner: StageRunner) -> None:
        """A stage's thread: its models first (if not yet loaded), then its loop. A failed load
        leaves the group (the bus stops keeping frames for it) and stops the run."""
        if isinstance(runner.stage, LazyStage):
            try:
                runner.stage.load()
            except StageLoadError as exc:
                log.error("%s", exc, exc_info=exc.__cause__)
                self.load_errors.append(str(exc))
                runner.close()
                self.stop_event.set()
                return
            finally:
                self.models_loaded_at = max(self.models_loaded_at or 0.0, time.monotonic())
                self.models_settled.release()
        runner.run()

    def _wait_for_models(self, runners: list[StageRunner]) -> None:
        """Cameras paced in real time are opened once every stage can take their frames: what they
        captured while a model loaded would only be dropped or answered stale (a file read as fast
        as possible starts at once instead, its frames waiting on the bus for the slower stages)."""
        for _ in [r for r in runners if isinstance(r.stage, LazyStage)]:
            while not self.models_settled.acquire(timeout=0.25):
                if self.stop_event.is_set():
                    return
            if self.load_errors:
                return

    def _check_sources(self) -> int | None:
        """Fail before loading any model if no source can even be opened; returns the number of
        frames the files will give at the analysed rate (None when a live source makes it open-ended)."""
        from producers.sources import SourceError, open_source

        errors, expected, live = [], 0, False
        for camera in self.cameras:
            source = open_source(camera.id, camera.source, camera.fps, max_pixels=camera.max_pixels)
            if source.live:
                live = True
                continue
            try:
                source.open()
                if source.read() is None:
                    errors.append(f"camera {camera.id}: no frames ({redact_url(camera.source)})")
                    continue
                total = getattr(source, "expected_frames", 0) or len(getattr(source, "files", []))
                ratio = min(1.0, camera.fps / source.fps) if source.fps else 1.0
                expected += int(total * ratio)
            except SourceError as exc:
                errors.append(str(exc))
            finally:
                source.close()
        if len(errors) == len(self.cameras):
            raise RunError("nothing to analyse: " + "; ".join(errors))
        return None if live else expected

    def _photo_names(self) -> dict[str, list[str]]:
        """Each image-folder camera's file names in frame order, for the report's table of photos."""
        from producers.sources import IMAGE_SUFFIXES, image_files

        names = {}
        for camera in self.cameras:
            path = Path(camera.source)
            if "://" not in camera.source and (path.is_dir() or (path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES)):
                names[camera.id] = [p.name for p in image_files(path)]
        return names

    def _prepare_gallery(self, staging: Path) -> None:
        gallery = self.options.gallery
        if gallery is None:
            return
        face = self.config.face
        if gallery.is_file():
            face.gallery_store, face.gallery_path = "file", gallery
            return
        from workers.face.enrol import enrol_folder
        from workers.face.errors import EnrolmentError

        face.gallery_store, face.gallery_path = "file", staging / "gallery.json"
        try:
            enrolled, refused = enrol_folder(gallery, face, self.config.models)
        except EnrolmentError as exc:
            raise RunError(str(exc)) from None
        for error in refused:
            log.warning("gallery: skipped %s", error)
        log.info("gallery: enrolled %s", ", ".join(enrolled) or "nobody")

    def _watch(self, producer_thread: threading.Thread, runners: list[StageRunner], recorder: Recorder, aggregator) -> bool:
        """Progress until the sources end (or Ctrl-C), then until the stages have caught up."""
        from tqdm import tqdm

        self.frame_kinds = [kind for kind, stage in (("faces", "face"), ("actions", "action"))
                            if any(r.stage.name == stage for r in runners)] or ["frame"]
        with tqdm(total=self.expected_frames, unit="frame", disable=not self.options.progress, dynamic_ncols=True) as bar:
            while producer_thread.is_alive() and not self.stop_event.is_set():
                time.sleep(0.25)
                self._tick(bar, recorder, aggregator)
            interrupted = self.stop_event.is_set()
            if self.load_errors:
                return interrupted
            self._drain(runners, 5 if interrupted else 600, lambda: self._tick(bar, recorder, aggregator))
            self._tick(bar, recorder, aggregator)
        return interrupted

    def _tick(self, bar, recorder: Recorder, aggregator) -> None:
        """Frames every frame stage has finished (the slowest one sets the pace)."""
        done = min(recorder.messages_by_kind[kind] for kind in self.frame_kinds)
        bar.update(done - bar.n)
        bar.set_postfix(faces=recorder.faces_seen, people=len(aggregator.persons), alerts=len(aggregator.alerts_emitted),
                        refresh=False)

    @staticmethod
    def _drain(runners: list[StageRunner], deadline_s: float, tick: Callable[[], None]) -> None:
        """Wait until every stage has consumed everything upstream (quiet for a moment)."""
        deadline = time.monotonic() + deadline_s
        quiet_since = None
        while time.monotonic() < deadline:
            tick()
            busy = any(r.in_batch or sum(r._subscriber.lag().values()) for r in runners if r._subscriber is not None)
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 0.3:
                return
            time.sleep(0.1)
        log.warning("run: stages still had work when the drain time ran out")

    def _drain_console(self, deadline_s: float = 60.0) -> None:
        """Let the console take the last frames and faces (its unknown people) before it leaves the bus."""
        deadline = time.monotonic() + deadline_s
        while not self.console.caught_up() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.console.detach()

    def _alerts(self, staging: Path, aggregator) -> list[dict]:
        path = staging / "alerts.jsonl"
        if path.exists():
            alerts = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            for alert in alerts:  # a snapshot deleted by the retention limit is no longer shown
                if alert.get("snapshot") and not (staging / alert["snapshot"]).is_file():
                    alert["snapshot"] = None
            return alerts
        return [a.to_json() for a in aggregator.alerts_emitted]

    def _annotate(self, staging: Path, recorder: Recorder, alerts: list[dict]) -> dict[str, str]:
        videos = {}
        for camera in self.cameras:
            source = Path(camera.source)
            if not source.is_file() or camera.id not in recorder.first_frame:
                continue
            import cv2

            fps = cv2.VideoCapture(str(source)).get(cv2.CAP_PROP_FPS) or 25.0
            seq, ts = recorder.first_frame[camera.id]
            target = staging / f"{camera.id}.annotated.mp4"
            try:
                annotate_file(source, target, recorder.marks.get(camera.id, {}), recorder.frame_sizes[camera.id][0],
                              ts - seq / fps, alerts, self.options.blur_faces, camera.max_pixels)
            except AnnotateError as exc:
                log.warning("camera %s: %s", camera.id, exc)
                self.skipped_outputs.append(f"camera {camera.id}: {exc}")
                target.unlink(missing_ok=True)
                continue
            videos[camera.id] = target.name
        return videos

    def _skipped(self, cameras: dict[str, dict], aggregator) -> dict:
        """Outputs the run could not write or inputs it passed over, counted rather than hidden."""
        from aggregator.alerts import FileAlertSink

        snapshots = next((s.snapshots for s in aggregator.sinks if isinstance(s, FileAlertSink)), None)
        return {"images": sum(c.get("skipped_images", 0) for c in cameras.values()),
                "annotated_videos": len(self.skipped_outputs),
                "snapshots": snapshots.failed if snapshots else 0,
                "snapshots_deleted_by_retention": snapshots.pruned if snapshots else 0,
                "reasons": self.skipped_outputs + (snapshots.failures if snapshots else [])}


def _stop_on_ctrl_c(*stops: threading.Event) -> Callable[[], None]:
    """Ctrl-C (and SIGTERM) ask the run to stop cleanly; returns a function restoring the old handlers."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    def stop(*_: object) -> None:
        log.warning("run: stopping early; finishing what is in flight and writing the outputs")
        for event in stops:
            event.set()

    for sig in previous:
        signal.signal(sig, stop)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

    return restore


def _frames_without_pose(cameras: list[str]) -> dict[str, int]:
    """Frames the action stage answered from its last pose pass, by reason (rate, stale, no_motion)."""
    return {reason: int(sum(REGISTRY.get_sample_value("vidsentry_action_frames_without_pose_total",
                                                      {"camera": camera, "reason": reason}) or 0 for camera in cameras))
            for reason in ("rate", "stale", "no_motion")}


_IMPORTED_AT = time.time()


def _process_started_at() -> float:
    """When this process started (epoch seconds; Linux: from /proc, to 10 ms), so that the first
    outputs are timed as a user would time them; elsewhere, when this module was imported."""
    import os

    try:
        started_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime_s = float(Path("/proc/uptime").read_text().split()[0])
        return time.time() - (uptime_s - started_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return _IMPORTED_AT


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports kilobytes)."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _latency(recorder: Recorder, alerts: list[dict]) -> dict[str, dict]:
    """Capture-to-output seconds: each stage's messages and the events as the recorder saw
    them on the bus, and raised alerts as the aggregator emitted them."""
    import numpy as np

    samples = dict(recorder.latencies)
    samples["alert"] = [a["emitted"] - a["ts"] for a in alerts if a.get("status") == "raised" and a.get("emitted")]
    return {kind: {"n": len(values), **{f"p{q}": round(float(np.percentile(values, q)), 4) for q in (50, 95, 99)},
                   "max": round(max(values), 4)}
            for kind, values in samples.items() if values}


def _stage_seconds(names: list[str]) -> dict[str, tuple[float, float]]:
    return {n: (REGISTRY.get_sample_value("vidsentry_stage_seconds_sum", {"stage": n}) or 0.0,
                REGISTRY.get_sample_value("vidsentry_stage_seconds_count", {"stage": n}) or 0.0) for n in names}


def _timings(runners: list[StageRunner], before: dict[str, tuple[float, float]]) -> dict[str, dict]:
    after = _stage_seconds([r.stage.name for r in runners])
    timings = {}
    for runner in runners:
        name = runner.stage.name
        seconds = after[name][0] - before[name][0]
        batches = int(after[name][1] - before[name][1])
        messages = runner.records_done
        timings[name] = {"batches": batches, "seconds": seconds, "ms_per_batch": 1000 * seconds / batches if batches else 0.0,
                         "messages": messages, "ms_per_message": 1000 * seconds / messages if messages else 0.0}
    return timings
