"""The distributed pipeline end to end on loopback: real Kafka 3.9.1 and Redis, and every role
as its own process started through the CLI (producer, face / emotion / action pools of
--workers processes each, aggregator), fed by N live-paced cameras playing the real street
video (OpenCV's vtest.avi, 768x576, 10 fps).

    .venv/bin/python benchmarks/distributed_bench.py [--workers 1 2] [--cameras 1 2] [--seconds 60]
        [--drain-timeout 240] [--out benchmarks/distributed.md]

Per scenario (workers x cameras; each on its own topic prefix and Redis prefix, one broker
and one Redis for the whole run): start the pools and the aggregator, wait until every
process answers /healthz and every consumer group has all its members assigned, start the
producer, let it publish --seconds of video (at most the file's 79.5 s), stop it, wait until every group has caught up
(at most --drain-timeout), then stop everything. Measured: frames published and analysed
per pool, producer drops, capture -> publish latency on every topic (Kafka record timestamps),
capture -> event received (a consumer of `events` in this process), capture -> alert stored
(Redis stream entry id), consumer lag, CPU and peak RSS per role (psutil every 0.5 s, with
children), Kafka's and Redis's too.

Prints a Markdown report; --out also writes it to a file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from schemas import ALL_TOPICS, decode  # noqa: E402
from schemas.topics import ACTIONS, EMOTIONS, EVENTS, FACES, FRAMES  # noqa: E402
from vidsentry.bus.kafka import KafkaBus  # noqa: E402
from vidsentry.config import KafkaConfig  # noqa: E402
from vidsentry.config.cache import cache_root  # noqa: E402
from vidsentry.devservices import KAFKA_PROJECT, LocalKafka, LocalRedis, free_port  # noqa: E402
from vidsentry.pipeline import PIPELINE  # noqa: E402
from vidsentry.samples import sample_cache  # noqa: E402
from vidsentry.stages import group_inputs  # noqa: E402

CACHE = cache_root()
POOLS = tuple(decl.name for decl in PIPELINE if decl.command[0] == "worker")
ROLES = ("producer", *POOLS, "aggregator")
SERVICES = ("kafka", "redis", "bench")
GROUP_INPUTS = group_inputs(PIPELINE)
"""Each consumer group (named after its stage) and the topics it reads."""
WATCHED = (FRAMES, FACES, ACTIONS, EMOTIONS, EVENTS)
CAMERA_FPS = 10.0
PARTITIONS = 6

RULES = """\
# Written by benchmarks/distributed_bench.py: rules that fire often, so alert latency has
# enough samples. cooldown_s 0: an incident that ended (conditions false for the
# aggregator's end_grace_s, 2 s) may be raised again at once.
timezone: UTC
rules:
  - name: bench-walking
    description: someone walks
    when: {action: walking}
    cooldown_s: 0
  - name: bench-standing
    description: someone stands
    when: {action: standing}
    cooldown_s: 0
  - name: bench-unknown-face
    description: an unknown face is in view
    when: {identity: unknown}
    cooldown_s: 0
  - name: bench-crowd
    description: three or more people in view of a camera
    scope: camera
    when: {crowd_min: 3}
    cooldown_s: 0
"""


class BenchError(RuntimeError):
    """A scenario could not run; the message says which process and shows its log."""


# ---------------------------------------------------------------- processes


@dataclass
class Proc:
    label: str
    role: str
    argv: list[str]
    log: Path
    port: int
    popen: subprocess.Popen | None = None
    started: float = 0.0
    ready: float | None = None
    exit_code: int | None = None

    def start(self, env: dict[str, str]) -> Proc:
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(self.argv, cwd=REPO, env={**env, "VIDSENTRY_METRICS__PORT": str(self.port)},
                                          stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)
        self.started = time.time()
        return self

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM to the process group (the role drains and commits), SIGKILL if it lingers."""
        if self.popen is None or self.exit_code is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, timeout_s), (signal.SIGKILL, 10.0)):
            if self.popen.poll() is not None:
                break
            try:
                os.killpg(self.popen.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.popen.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                continue
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)  # anything the role left behind in its group
        except ProcessLookupError:
            pass
        self.exit_code = self.popen.wait(timeout=10)


def vidsentry_command() -> list[str]:
    beside = Path(sys.executable).with_name("vidsentry")
    for candidate in (beside, REPO / ".venv" / "bin" / "vidsentry"):
        if candidate.exists():
            return [str(candidate)]
    found = shutil.which("vidsentry")
    if not found:
        raise BenchError("the vidsentry command is not installed: run `bash deploy/local/install.sh`")
    return [found]


def get(port: int, path: str, timeout_s: float = 3.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout_s) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    """A process's /metrics as {(sample name, sorted labels): value}; empty if it does not answer."""
    status, body = get(port, "/metrics", timeout_s=10.0)
    if status != 200:
        return {}
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


def scrape_all(procs: list[Proc]) -> dict[str, tuple[float, dict]]:
    """Every process's /metrics at once (in parallel, so the readings are close in time): {label: (time, metrics)}."""

    def one(proc: Proc) -> tuple[float, dict]:
        scraped = scrape(proc.port)
        return time.time(), scraped

    with ThreadPoolExecutor(max_workers=max(1, len(procs))) as pool:
        return dict(zip([p.label for p in procs], pool.map(one, procs)))


def metric(scraped: dict, name: str, **labels: str) -> float:
    """Sum of the samples called ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, lbl), v in scraped.items() if n == name and want <= set(lbl))


# ---------------------------------------------------------------- observers


class ResourceSampler(threading.Thread):
    """CPU seconds and RSS of each watched process and its children, every ``interval_s``;
    ``mark`` takes a snapshot at a named moment so CPU can be split by phase."""

    def __init__(self, interval_s: float = 0.5) -> None:
        super().__init__(name="resources", daemon=True)
        self.interval_s = interval_s
        self.watched: dict[str, tuple[str, psutil.Process, bool]] = {}
        self.cpu: dict[str, dict[int, float]] = defaultdict(dict)
        self.peak_rss: dict[str, float] = defaultdict(float)
        self.role_peak_rss: dict[str, float] = defaultdict(float)
        self.marks: dict[str, tuple[float, dict[str, float], float]] = {}
        self.samples = 0
        self._lock = threading.Lock()
        self._stop_event = threading.Event()

    def watch(self, label: str, role: str, pid: int, with_children: bool = True) -> None:
        with self._lock:
            self.watched[label] = (role, psutil.Process(pid), with_children)

    def run(self) -> None:
        while not self._stop_event.wait(self.interval_s):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)

    def sample(self) -> None:
        with self._lock:
            role_rss: dict[str, float] = defaultdict(float)
            for label, (role, proc, with_children) in self.watched.items():
                tree = [proc]
                try:
                    tree += proc.children(recursive=True) if with_children else []
                except psutil.Error:
                    pass
                rss = 0.0
                for member in tree:
                    try:
                        with member.oneshot():
                            times = member.cpu_times()
                            rss += member.memory_info().rss
                    except psutil.Error:
                        continue  # exited: its last CPU reading stays counted
                    self.cpu[label][member.pid] = times.user + times.system
                self.peak_rss[label] = max(self.peak_rss[label], rss)
                role_rss[role] += rss
            for role, rss in role_rss.items():
                self.role_peak_rss[role] = max(self.role_peak_rss[role], rss)
            self.samples += 1

    def cpu_now(self) -> dict[str, float]:
        return {label: sum(per_pid.values()) for label, per_pid in self.cpu.items()}

    def mark(self, name: str) -> None:
        self.sample()
        with self._lock:
            self.marks[name] = (time.time(), self.cpu_now(), system_busy_s())

    def between(self, start: str, end: str) -> tuple[float, dict[str, float], float]:
        """(wall seconds, CPU seconds per label, machine-wide busy CPU seconds) between two marks."""
        t0, cpu0, busy0 = self.marks[start]
        t1, cpu1, busy1 = self.marks[end]
        return t1 - t0, {label: cpu1.get(label, 0.0) - cpu0.get(label, 0.0) for label in cpu1}, busy1 - busy0


def system_busy_s() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


class BusWatcher(threading.Thread):
    """Reads frames and every stage's output as a consumer group of its own: per record, the
    publishing stage's send time (the Kafka record timestamp) minus the capture time it carries;
    for `events` also the time it reached this process minus the event's ``ts``."""

    def __init__(self, config: KafkaConfig) -> None:
        super().__init__(name="bus-watcher", daemon=True)
        self.subscriber = KafkaBus(config).subscriber(f"bench-watch-{uuid.uuid4().hex[:6]}", WATCHED)
        self.publish_latency: dict[str, list[tuple[float, float]]] = {topic: [] for topic in WATCHED}
        self.event_latency: list[tuple[float, float]] = []
        """(capture time, latency in seconds) per record."""
        self.counts: Counter[str] = Counter()
        self.per_camera: Counter[str] = Counter()
        self.capture_span: dict[str, list[float]] = {}
        self.errors: Counter[str] = Counter()
        self.assigned = threading.Event()
        self._stop_event = threading.Event()

    def run(self) -> None:
        try:
            while not self._stop_event.is_set():
                records = self.subscriber.poll(500, 0.2)
                received = time.time()
                if not self.assigned.is_set() and self.subscriber.assignment():
                    self.assigned.set()
                for record in records:
                    self.counts[record.topic] += 1
                    try:
                        message = decode(record.value)
                    except Exception as exc:  # noqa: BLE001 (counted and reported)
                        self.errors[type(exc).__name__] += 1
                        continue
                    captured = message.ts if record.topic == EVENTS else message.ts_capture
                    self.publish_latency[record.topic].append((captured, record.timestamp_ms / 1000 - captured))
                    if record.topic == EVENTS:
                        self.event_latency.append((captured, received - captured))
                    elif record.topic == FRAMES:
                        self.per_camera[message.camera] += 1
                        span = self.capture_span.setdefault(message.camera, [captured, captured])
                        span[0], span[1] = min(span[0], captured), max(span[1], captured)
        finally:
            self.subscriber.close()

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=15)


# ---------------------------------------------------------------- Kafka groups


class GroupProbe:
    """Consumer-group membership and lag, read from the broker (not from the processes)."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.prefix = prefix
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-admin")
        self.ends = KafkaConsumer(bootstrap_servers=bootstrap, client_id="bench-ends", group_id=None)
        self.partitions = {topic: [TopicPartition(prefix + topic, p) for p in range(PARTITIONS)] for topic in ALL_TOPICS}
        for topic in ALL_TOPICS:
            self.ends.partitions_for_topic(prefix + topic)  # load the metadata (leaders) before asking for offsets

    def members_assigned(self) -> dict[str, int]:
        """Per group, how many members hold partitions of this scenario's topics (0 while rebalancing)."""
        assigned = {}
        for info in self.admin.describe_consumer_groups(list(GROUP_INPUTS)):
            if info.state != "Stable":
                assigned[info.group] = 0
                continue
            assigned[info.group] = sum(
                1 for m in info.members
                if m.member_assignment and any(tp.topic.startswith(self.prefix) for tp in m.member_assignment.partitions()))
        return assigned

    def end_offsets(self, topics: list[str]) -> dict[TopicPartition, int]:
        wanted = [tp for t in topics for tp in self.partitions[t]]
        for attempt in range(10):
            try:
                return self.ends.end_offsets(wanted)
            except KeyError:  # kafka-python skips a partition whose leader it does not know yet
                for topic in topics:
                    self.ends.partitions_for_topic(self.prefix + topic)
                time.sleep(0.2 * (attempt + 1))
        return self.ends.end_offsets(wanted)

    def lag(self) -> dict[str, int]:
        """Records not yet committed, per group, summed over its input topics."""
        lags = {}
        for group, topics in GROUP_INPUTS.items():
            tps = [tp for t in topics for tp in self.partitions[t]]
            ends = self.end_offsets(topics)
            committed = self.admin.list_consumer_group_offsets(group, partitions=tps)
            lags[group] = sum(max(0, ends[tp] - max(0, committed[tp].offset if tp in committed else 0)) for tp in tps)
        return lags

    def topic_sizes(self) -> dict[str, int]:
        return {t: sum(self.end_offsets([t]).values()) for t in WATCHED}

    def close(self) -> None:
        self.admin.close()
        self.ends.close()


# ---------------------------------------------------------------- one scenario


@dataclass
class Scenario:
    workers: int
    cameras: int
    name: str = ""
    stream_s: float = 0.0
    ready_s: float = 0.0
    drain_s: float = 0.0
    drained: bool = False
    procs: list[Proc] = field(default_factory=list)
    published_stream: float = 0.0
    consumed_stream: dict[str, float] = field(default_factory=dict)
    rate_stream: dict[str, float] = field(default_factory=dict)
    """Per process: messages consumed between the scrapes at the start and end of streaming, per second."""
    consumed_total: dict[str, float] = field(default_factory=dict)
    batch: dict[str, tuple[float, float]] = field(default_factory=dict)
    producer: dict[str, float] = field(default_factory=dict)
    published_per_camera: dict[str, int] = field(default_factory=dict)
    lag_at_stop: dict[str, int] = field(default_factory=dict)
    lag_series: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    camera_fps: dict[str, float] = field(default_factory=dict)
    lag_at_end: dict[str, int] = field(default_factory=dict)
    publish_latency: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    event_latency: list[tuple[float, float]] = field(default_factory=list)
    alert_latency: list[tuple[float, float]] = field(default_factory=list)
    """(capture time, latency in seconds) per record / event / alert."""
    alerts: Counter = field(default_factory=Counter)
    cpu_stream: dict[str, float] = field(default_factory=dict)
    cpu_total: dict[str, float] = field(default_factory=dict)
    busy_stream: float = 0.0
    peak_rss: dict[str, float] = field(default_factory=dict)
    role_peak_rss: dict[str, float] = field(default_factory=dict)
    deadletters: float = 0.0
    log_problems: Counter = field(default_factory=Counter)
    decode_errors: int = 0
    exit_codes: dict[str, int | None] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.name = f"{self.workers} worker{'s' if self.workers > 1 else ''}/pool, {self.cameras} camera{'s' if self.cameras > 1 else ''}"

    @property
    def input_fps(self) -> float:
        """Frames per second the cameras delivered: frames on the bus over their capture-time span, summed."""
        return sum(self.camera_fps.values())

    def lag_growth(self, group: str) -> float:
        """Backlog growth while streaming, msgs/s: slope of a line through the lag samples."""
        if len(self.lag_series) < 3:
            return float("nan")
        times = [t for t, _ in self.lag_series]
        return float(np.polyfit(times, [lags[group] for _, lags in self.lag_series], 1)[0])


def child_env(config_file: Path) -> dict[str, str]:
    """This environment without VIDSENTRY_* overrides (they would beat the scenario's config),
    except the model cache location."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDSENTRY_") or k == "VIDSENTRY_MODELS__CACHE_DIR"}
    env.update({"VIDSENTRY_CONFIG": str(config_file), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"})
    return env


def run_scenario(scenario: Scenario, args: argparse.Namespace, kafka: LocalKafka, redis_server: LocalRedis,
                 video: Path, state: Path, launched: list[Proc]) -> Scenario:
    import redis

    tag = f"w{scenario.workers}c{scenario.cameras}-{uuid.uuid4().hex[:6]}"
    folder = state / tag
    folder.mkdir(parents=True)
    prefix = f"bench-{tag}-"
    redis_prefix = f"bench-{tag}"
    rules = folder / "rules.yaml"
    rules.write_text(RULES)
    config_file = folder / "vidsentry.yaml"
    config_file.write_text(yaml.safe_dump({
        "bus": {"kind": "kafka", "kafka": {"bootstrap_servers": kafka.bootstrap_servers, "topic_prefix": prefix,
                                           "partitions": PARTITIONS}},
        "redis": {"url": redis_server.url},
        "metrics": {"host": "127.0.0.1"},
        "face": {"gallery_redis_prefix": f"{redis_prefix}:gallery"},
        "aggregator": {"rules": str(rules), "redis_prefix": redis_prefix},
    }))
    cameras_file = folder / "cameras.yaml"
    cameras_file.write_text(yaml.safe_dump({"cameras": [
        {"id": f"cam{i + 1}", "source": str(video), "fps": CAMERA_FPS, "max_side": 768, "realtime": True}
        for i in range(scenario.cameras)]}))
    kafka_config = KafkaConfig(bootstrap_servers=kafka.bootstrap_servers, topic_prefix=prefix, partitions=PARTITIONS)
    KafkaBus(kafka_config).create_topics(ALL_TOPICS, PARTITIONS)
    env = child_env(config_file)
    cli = [*vidsentry_command(), "--config", str(config_file)]

    sampler = ResourceSampler()
    sampler.watch("kafka", "kafka", kafka.process.pid)
    sampler.watch("redis", "redis", redis_server.process.pid)
    sampler.watch("bench", "bench", os.getpid(), with_children=False)  # its children are the roles and servers
    sampler.start()
    sampler.mark("start")
    watcher = BusWatcher(kafka_config)
    watcher.start()
    probe = GroupProbe(kafka.bootstrap_servers, prefix)

    def launch(label: str, role: str, argv: list[str]) -> Proc:
        proc = Proc(label, role, argv, folder / f"{label}.log", free_port())
        launched.append(proc)
        proc.start(env)
        sampler.watch(label, role, proc.popen.pid)
        scenario.procs.append(proc)
        return proc

    try:
        t0 = time.time()
        for pool in POOLS:
            for i in range(scenario.workers):
                launch(f"{pool}-{i + 1}", pool, [*cli, "worker", pool])
        launch("aggregator", "aggregator", [*cli, "aggregator"])
        wait_ready(scenario.procs, probe, watcher, scenario.workers, args.ready_timeout)
        scenario.ready_s = time.time() - t0
        print(f"[{scenario.name}] all roles ready after {scenario.ready_s:.0f} s; streaming {args.seconds:.0f} s",
              file=sys.stderr)

        consumers = list(scenario.procs)
        producer = launch("producer", "producer", [*cli, "producer", "--cameras", str(cameras_file)])
        wait_ready([producer], None, None, 0, args.ready_timeout)
        while metric(scrape(producer.port), "vidsentry_producer_frames_total", outcome="published") == 0:
            check_alive([producer])
            time.sleep(0.05)
        sampler.mark("stream_start")
        stream_start = time.time()
        before = scrape_all(consumers)
        next_lag = stream_start
        while time.time() - stream_start < args.seconds and producer.alive():
            check_alive(consumers)
            if time.time() >= next_lag:
                scenario.lag_series.append((time.time() - stream_start, probe.lag()))
                next_lag += 2.0
            time.sleep(0.2)
        scraped = scrape_all([producer, *consumers])
        sampler.mark("stream_stop")
        stop_at, last = scraped.pop(producer.label)
        after = scraped
        scenario.stream_s = stop_at - stream_start
        scenario.published_stream = metric(last, "vidsentry_producer_frames_total", outcome="published")
        ended_by_itself = not producer.alive()  # --seconds longer than the video
        producer.stop()
        scenario.lag_at_stop = probe.lag()
        scenario.producer = {outcome: metric(last, "vidsentry_producer_frames_total", outcome=outcome)
                             for outcome in ("captured", "sampled_out", "published", "dropped", "unreadable")}
        scenario.producer.update(final_producer_counts(producer.tail(20000)))
        if ended_by_itself:
            scenario.published_stream = scenario.producer.get("final_published", 0.0)
        print(f"[{scenario.name}] producer stopped; lag {scenario.lag_at_stop}; draining", file=sys.stderr)

        drain_start = time.time()
        while True:
            lags = probe.lag()
            sizes = probe.topic_sizes()
            if not any(lags.values()) and all(watcher.counts[t] >= sizes[t] for t in WATCHED):
                scenario.drained = True
                break
            if time.time() - drain_start > args.drain_timeout:
                break
            check_alive(consumers)
            time.sleep(1.0)
        scenario.drain_s = time.time() - drain_start
        scenario.lag_at_end = probe.lag()
        sampler.mark("end")
        final = {label: scraped for label, (_, scraped) in scrape_all(consumers).items()}

        for proc in consumers:
            stage = proc.role
            (t0, first), (t1, second) = before[proc.label], after[proc.label]
            scenario.consumed_stream[proc.label] = consumed(second, stage) - consumed(first, stage)
            scenario.rate_stream[proc.label] = scenario.consumed_stream[proc.label] / (t1 - t0)
            scenario.consumed_total[proc.label] = consumed(final[proc.label], stage)
            count = metric(final[proc.label], "vidsentry_batch_size_count", stage=stage)
            size = metric(final[proc.label], "vidsentry_batch_size_sum", stage=stage)
            seconds = metric(final[proc.label], "vidsentry_stage_seconds_sum", stage=stage)
            scenario.batch[proc.label] = (size / count if count else 0.0, seconds / count * 1000 if count else 0.0)
            scenario.deadletters += metric(final[proc.label], "vidsentry_deadlettered_total")
    finally:
        for proc in reversed(scenario.procs):
            proc.stop()
            scenario.exit_codes[proc.label] = proc.exit_code
        watcher.stop()
        sampler.stop()
        probe.close()

    for proc in scenario.procs:
        for line in proc.tail(10**8).splitlines():
            if " ERROR " in line or " WARNING " in line:
                message = re.sub(r"<BrokerConnection.*?\]>", "<connection>", line.split(" ", 2)[-1])
                message = re.sub(r"\d+", "N", message)[:160]
                scenario.log_problems[(proc.role, message)] += 1
    scenario.published_per_camera = dict(sorted(watcher.per_camera.items()))
    scenario.camera_fps = {camera: (scenario.published_per_camera[camera] - 1) / (last - first)
                           for camera, (first, last) in watcher.capture_span.items() if last > first}
    scenario.publish_latency = watcher.publish_latency
    scenario.event_latency = watcher.event_latency
    scenario.decode_errors = sum(watcher.errors.values())
    _, scenario.cpu_stream, scenario.busy_stream = sampler.between("stream_start", "stream_stop")
    _, scenario.cpu_total, _ = sampler.between("start", "end")
    scenario.peak_rss = dict(sampler.peak_rss)
    scenario.role_peak_rss = dict(sampler.role_peak_rss)

    client = redis.Redis.from_url(redis_server.url)
    for entry_id, fields in client.xrange(f"{redis_prefix}:alerts"):
        stored_ms = int(entry_id.split(b"-")[0])
        captured = float(fields[b"ts"])
        scenario.alert_latency.append((captured, stored_ms / 1000 - captured))
        scenario.alerts[(fields[b"rule"].decode(), fields[b"status"].decode())] += 1
    client.close()
    return scenario


def consumed(scraped: dict, stage: str) -> float:
    if stage == "producer":
        return metric(scraped, "vidsentry_producer_frames_total", outcome="published")
    return metric(scraped, "vidsentry_messages_total", stage=stage)


def final_producer_counts(log: str) -> dict[str, float]:
    """The producer's last words per camera: `camera X: finished, N captured, N published, N dropped`."""
    totals: Counter[str] = Counter()
    for captured, published, dropped in re.findall(r"camera \S+: \w+, (\d+) captured, (\d+) published, (\d+) dropped", log):
        totals["final_captured"] += int(captured)
        totals["final_published"] += int(published)
        totals["final_dropped"] += int(dropped)
    return dict(totals)


def check_alive(procs: list[Proc]) -> None:
    for proc in procs:
        if not proc.alive():
            raise BenchError(f"{proc.label} exited with code {proc.popen.returncode if proc.popen else None}:\n{proc.tail()}")


def wait_ready(procs: list[Proc], probe: GroupProbe | None, watcher: BusWatcher | None, workers: int,
               timeout_s: float) -> None:
    """Every process answers /healthz with 200 (its models are loaded and it is connected);
    then every consumer group has all its members holding partitions, and so has the watcher."""
    deadline = time.time() + timeout_s
    pending = list(procs)
    while pending:
        check_alive(pending)
        for proc in list(pending):
            if get(proc.port, "/healthz")[0] == 200:
                proc.ready = time.time()
                pending.remove(proc)
        if time.time() > deadline:
            raise BenchError("not ready in time: " + ", ".join(p.label for p in pending) + "\n" + pending[0].tail())
        time.sleep(0.25)
    if probe is None:
        return
    want = {group: (1 if group == "aggregator" else workers) for group in GROUP_INPUTS}
    while True:
        check_alive(procs)
        have = probe.members_assigned()
        if all(have.get(g, 0) >= n for g, n in want.items()) and watcher.assigned.is_set():
            return
        if time.time() > deadline:
            raise BenchError(f"consumer groups not assigned in time: want {want}, have {have}")
        time.sleep(0.5)


# ---------------------------------------------------------------- report


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def triple(samples: list[tuple[float, float]]) -> str:
    """p50 / p95 / p99 of the latencies in (capture time, latency) samples."""
    if not samples:
        return "n/a"
    values = [latency for _, latency in samples]
    return " / ".join(f"{pct(values, q):.2f}" for q in (50, 95, 99))


def trend(samples: list[tuple[float, float]], window_s: float = 10.0) -> str:
    """Median latency of what was captured in the first vs the last ``window_s`` of the capture span."""
    if not samples:
        return "n/a"
    first = min(c for c, _ in samples)
    last = max(c for c, _ in samples)
    early = [v for c, v in samples if c <= first + window_s]
    late = [v for c, v in samples if c >= last - window_s]
    return f"{pct(early, 50):.2f} → {pct(late, 50):.2f}"


def role_labels(scenario: Scenario, role: str) -> list[str]:
    if role in SERVICES:
        return [role]
    return [p.label for p in scenario.procs if p.role == role]


def role_cpu_percent(scenario: Scenario, role: str) -> float:
    return sum(scenario.cpu_stream.get(label, 0.0) for label in role_labels(scenario, role)) / scenario.stream_s * 100


def pool_fps(scenario: Scenario, role: str) -> float:
    return sum(scenario.rate_stream.get(label, 0.0) for label in role_labels(scenario, role))


def scenario_section(s: Scenario) -> list[str]:
    mb = 1 / 2**20
    published = sum(s.published_per_camera.values())
    lines = [f"## {s.name}", "",
             f"{s.cameras} camera(s) x {CAMERA_FPS:.0f} fps: {s.input_fps:.2f} frames/s in (frames on the bus over their "
             f"capture-time span). Streamed for {s.stream_s:.1f} s once every role was ready ({s.ready_s:.0f} s after the "
             f"pools and the aggregator were launched together); {s.published_stream:.0f} frames published in that "
             f"window, {published} in all with those sent until SIGTERM took effect and the ones it flushed ("
             + ", ".join(f"{cam} {n}" for cam, n in s.published_per_camera.items()) + "). "
             f"Drain after the producer stopped: {s.drain_s:.1f} s"
             + (" (every group caught up)." if s.drained else f" (cut off by --drain-timeout; lag left: {s.lag_at_end})."),
             "",
             "| process | role | start → ready (s) | consumed while streaming | fps while streaming | consumed in all "
             "| mean batch (msgs) | mean batch (ms) | ms per msg | CPU s (scenario) | CPU % while streaming | peak RSS (MB) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for p in sorted(s.procs, key=lambda p: (ROLES.index(p.role), p.label)):
        ready = f"{p.ready - p.started:.1f}" if p.ready else "n/a"
        if p.role == "producer":
            streamed = f"{s.published_stream:.0f} published"
            fps = f"{s.input_fps:.2f}"
            total = batch_n = batch_ms = per_msg = "n/a"
        else:
            streamed = f"{s.consumed_stream[p.label]:.0f}"
            fps = f"{s.rate_stream[p.label]:.2f}"
            total = f"{s.consumed_total[p.label]:.0f}"
            size, ms = s.batch[p.label]
            batch_n, batch_ms, per_msg = f"{size:.1f}", f"{ms:.0f}", f"{ms / size:.0f}" if size else "n/a"
        lines.append(f"| {p.label} | {p.role} | {ready} | {streamed} | {fps} | {total} | {batch_n} | {batch_ms} | {per_msg} "
                     f"| {s.cpu_total.get(p.label, 0):.1f} | {s.cpu_stream.get(p.label, 0) / s.stream_s * 100:.0f} "
                     f"| {s.peak_rss.get(p.label, 0) * mb:.0f} |")
    for name in SERVICES:
        what = {"kafka": "Kafka broker (JVM)", "redis": "redis-server", "bench": "this script (watcher, probes)"}[name]
        lines.append(f"| {name} | {what} | | | | | | | | {s.cpu_total.get(name, 0):.1f} "
                     f"| {s.cpu_stream.get(name, 0) / s.stream_s * 100:.0f} | {s.peak_rss.get(name, 0) * mb:.0f} |")
    ours = sum(s.cpu_stream.values())
    lines += ["", f"While streaming, everything above used {ours / s.stream_s * 100:.0f}% CPU "
              f"(100% = one core; the machine has {os.cpu_count()}); the whole machine was busy "
              f"{s.busy_stream / s.stream_s * 100:.0f}%, so other work took about "
              f"{max(0.0, s.busy_stream - ours) / s.stream_s * 100:.0f}%.", ""]

    lines += ["| consumer group | input (msgs/s) | analysed while streaming (msgs/s) | backlog growth while streaming "
              "(msgs/s) | most lag while streaming | lag at producer stop | lag at end | verdict |",
              "|---|---:|---:|---:|---:|---:|---:|---|"]
    for group in GROUP_INPUTS:
        most = max((lags[group] for _, lags in s.lag_series), default=0)
        lines.append(f"| {group} | {group_input(s, group):.2f} | {pool_fps(s, group):.2f} | {s.lag_growth(group):+.2f} "
                     f"| {most} | {s.lag_at_stop.get(group, 0)} | {s.lag_at_end.get(group, 0)} | {verdict(s, group)} |")
    lines += ["", "Input: face and action read `frames`; emotion reads the face pool's output (one `faces` message per "
              "frame); the aggregator reads faces + emotions + actions. Lag: records the group has not committed, read "
              f"from the broker every 2 s while streaming ({len(s.lag_series)} samples); backlog growth is the slope "
              "of a line through them. A group falls behind when its backlog grows by more than 5% of its input "
              "(and at least 0.5 msgs/s).", ""]

    p = s.producer
    lines += [f"Producer counters (its /metrics just before SIGTERM): captured {p.get('captured', 0):.0f}, "
              f"published {p.get('published', 0):.0f}, sampled_out {p.get('sampled_out', 0):.0f}, "
              f"dropped {p.get('dropped', 0):.0f}, unreadable {p.get('unreadable', 0):.0f}; its final log line: "
              f"published {p.get('final_published', 0):.0f}, dropped {p.get('final_dropped', 0):.0f}. "
              f"Dead-lettered by the stages: {s.deadletters:.0f}.", ""]

    lines += ["Latency in seconds (p50 of the first vs the last 10 s of captures shows a backlog growing):", "",
              "| from capture to | p50 / p95 / p99 (s) | p50 first 10 s → last 10 s (s) | n |", "|---|---|---|---:|"]
    stage_of = {FRAMES: "producer", FACES: "face pool", ACTIONS: "action pool", EMOTIONS: "emotion pool",
                EVENTS: "aggregator"}
    for topic in WATCHED:
        values = s.publish_latency.get(topic, [])
        lines.append(f"| published on `{topic}` by the {stage_of[topic]} (Kafka record timestamp) | {triple(values)} "
                     f"| {trend(values)} | {len(values)} |")
    lines.append(f"| **event received** by a consumer of `events` | **{triple(s.event_latency)}** | {trend(s.event_latency)} "
                 f"| {len(s.event_latency)} |")
    lines.append(f"| **alert stored** in the Redis stream (entry id) | **{triple(s.alert_latency)}** | {trend(s.alert_latency)} "
                 f"| {len(s.alert_latency)} |")
    by_rule = Counter()
    for (rule, _status), n in s.alerts.items():
        by_rule[rule] += n
    lines += ["", f"Alerts: {sum(s.alerts.values())} stream entries — "
              + ", ".join(f"{rule} {n} ("
                          + ", ".join(f"{status} {m}" for (r, status), m in sorted(s.alerts.items()) if r == rule) + ")"
                          for rule, n in by_rule.most_common())
              + ".", ""]
    if s.log_problems:
        lines += ["Warnings and errors in the processes' logs (digits shown as N):", "",
                  "| role | log line | times |", "|---|---|---:|"]
        lines += [f"| {role} | `{message.replace('|', '/')}` | {n} |" for (role, message), n in s.log_problems.most_common(8)]
        lines.append("")
    if s.decode_errors:
        lines += [f"The watcher could not decode {s.decode_errors} records.", ""]
    odd = {label: code for label, code in s.exit_codes.items() if code not in (0, None)}
    if odd:
        lines += [f"Exit codes other than 0 after SIGTERM: {odd}.", ""]
    return lines


def summary(scenarios: list[Scenario]) -> list[str]:
    mb = 1 / 2**20
    lines = ["## Summary", "",
             "| scenario | fps in | fps analysed face / emotion / action / aggregator (msgs) | event latency p50 / p95 / p99 (s) "
             "| alert latency p50 / p95 / p99 (s) | alerts | producer drops | CPU % while streaming: "
             "producer / face / emotion / action / aggregator / kafka / redis | peak RSS MB: "
             "producer / face / emotion / action / aggregator / kafka / redis |",
             "|---|---:|---|---|---|---:|---:|---|---|"]
    for s in scenarios:
        fps = " / ".join(f"{pool_fps(s, r):.1f}" for r in (*POOLS, "aggregator"))
        drops = s.producer.get("final_dropped", s.producer.get("dropped", 0)) + s.producer.get("sampled_out", 0)
        roles = (*ROLES, "kafka", "redis")
        cpu = " / ".join(f"{role_cpu_percent(s, r):.0f}" for r in roles)
        rss = " / ".join(f"{s.role_peak_rss.get(r, 0) * mb:.0f}" for r in roles)
        lines.append(f"| {s.name} | {s.input_fps:.1f} | {fps} | {triple(s.event_latency)} | {triple(s.alert_latency)} "
                     f"| {sum(s.alerts.values())} | {drops:.0f} | {cpu} | {rss} |")
    lines += ["", "fps analysed: messages a pool consumed while the producer ran, per second (face and action read "
              "frames, emotion reads the face pool's output, the aggregator all three). Drops: the producer's dropped "
              "+ sampled_out frames. CPU: 100% = one core; a pool's CPU and RSS are the sum over its processes "
              "(RSS: the highest sum seen in one sample).", ""]
    behind = []
    for s in scenarios:
        late = [f"{group} analysed {pool_fps(s, group):.1f} of {group_input(s, group):.1f} msgs/s, its backlog grew "
                f"{s.lag_growth(group):.1f} msgs/s to {s.lag_at_stop.get(group, 0)} at the producer's stop"
                for group in GROUP_INPUTS if verdict(s, group).startswith("falls behind")]
        others = max(0.0, s.busy_stream - sum(s.cpu_stream.values())) / s.stream_s * 100
        behind.append(f"- {s.name}: " + ("; ".join(late) if late else "every group kept up")
                      + (f"; drained {s.drain_s:.0f} s after the producer stopped" if s.drained
                         else f"; not drained after {s.drain_s:.0f} s, lag left {s.lag_at_end}")
                      + f". Other work on the machine used about {others:.0f}% CPU while it streamed.")
    return lines + ["Which stage fell behind its input while streaming (backlog growth from the broker's lag):", "",
                    *behind, ""]


def group_input(s: Scenario, group: str) -> float:
    """Messages per second arriving for a group: frames for face and action, the upstream pools' output otherwise."""
    if group in ("face", "action"):
        return s.input_fps
    if group == "emotion":
        return pool_fps(s, "face")
    return pool_fps(s, "face") + pool_fps(s, "emotion") + pool_fps(s, "action")


def verdict(s: Scenario, group: str) -> str:
    growth = s.lag_growth(group)
    if growth != growth:  # nan: too few lag samples
        return "n/a (run longer)"
    if growth > max(0.5, 0.05 * group_input(s, group)):
        return f"falls behind (+{growth:.1f} msgs/s)"
    return "keeps up"


def machine_facts(args: argparse.Namespace, load_before: tuple[float, float, float], kafka_jar: str) -> list[str]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or platform.machine())
    redis_version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout.split()[2]
    redis_version = "Redis " + redis_version.removeprefix("v=")
    command = " ".join([".venv/bin/python", "benchmarks/distributed_bench.py", *sys.argv[1:]])
    return [
        "# Distributed pipeline end to end on loopback", "",
        f"`{command}` on {platform.node()} ({os.cpu_count()} cores, {model}, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB), Python {platform.python_version()}, "
        f"{dt.datetime.now().strftime('%Y-%m-%d %H:%M')}. Load average before the run: "
        + " / ".join(f"{v:.2f}" for v in load_before) + " (1/5/15 min); after: "
        + " / ".join(f"{v:.2f}" for v in os.getloadavg()) + ".", "",
        f"Servers: Apache Kafka {kafka_jar} (KRaft, one broker, `vidsentry.devservices.LocalKafka`) and {redis_version}, "
        "both on loopback, shared by the scenarios (each scenario has its own topic prefix and Redis key prefix; "
        f"{PARTITIONS} partitions per topic). Every role is a separate process started with the CLI "
        "(`vidsentry worker face|emotion|action`, `vidsentry aggregator`, `vidsentry producer --cameras FILE`), "
        "configuration defaults otherwise (runtime.batch_size 16, poll_timeout_s 0.2, gzip, linger_ms 5).", "",
        f"Input: vtest.avi (OpenCV sample, 768x576, 10 fps, 795 frames, pedestrians) as N cameras with the same file "
        f"and different ids, `realtime: true` (paced like a live camera), fps {CAMERA_FPS:.0f}, max_side 768. "
        "Frames are keyed by camera, so one camera's frames go to one partition and a second worker in a pool only "
        "helps with 2+ cameras.", "",
        "Rules (written by the script, `cooldown_s: 0` so incidents re-raise as soon as they end; an incident ends "
        "when its conditions have been false for the aggregator's end_grace_s, 2 s):", "", "```yaml",
        *[line for line in RULES.splitlines() if not line.startswith("#")], "```", "",
        "How it is measured: the pools and the aggregator start together; ready = the process answers /healthz 200 "
        "(models loaded, bus connected; start → ready is its load time) and then every consumer group has all its "
        f"members holding partitions. Then the producer starts; {args.seconds:.0f} s after its first published frame "
        "it gets SIGTERM, and the script waits until every group has committed everything "
        f"(at most {args.drain_timeout:.0f} s). Latency to a topic: the publishing stage's Kafka record timestamp "
        "minus the capture time in the message. Event latency: time a consumer in this script received the event "
        "minus its `ts` (the capture time of the person's latest observation). Alert latency: the millisecond part "
        "of the Redis stream entry id (when Redis stored it) minus the alert's `ts` (capture time of the frame that "
        "triggered it), over every entry (raised, escalated, ended). CPU and RSS: psutil every 0.5 s, each process "
        "with its children. Percentiles: numpy.", "",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="processes per pool (face, emotion, action)")
    parser.add_argument("--cameras", type=int, nargs="+", default=[1, 2], help="cameras playing the sample video")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds of video per scenario (the file has 79.5)")
    parser.add_argument("--drain-timeout", type=float, default=240.0, help="most seconds to wait for the groups to catch up")
    parser.add_argument("--ready-timeout", type=float, default=600.0, help="most seconds to wait for the roles to be ready")
    parser.add_argument("--state-dir", type=Path, help="keep the servers' data and every process's log here (default: a temp dir)")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    args = parser.parse_args()

    def interrupted(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, interrupted)
    video = sample_cache(CACHE).require("vtest")
    load_before = os.getloadavg()
    kafka_jar = next((p.stem.split("-", 1)[1] for p in (KAFKA_PROJECT / "lib").glob("kafka_2.13-*.jar")), "3.9.1")
    temp = None if args.state_dir else tempfile.TemporaryDirectory(prefix="vidsentry-distbench-")
    state = args.state_dir or Path(temp.name)
    state.mkdir(parents=True, exist_ok=True)
    launched: list[Proc] = []
    scenarios: list[Scenario] = []
    failure: str | None = None
    kafka = LocalKafka(state / "kafka")
    redis_server = LocalRedis(state / "redis")
    try:
        kafka.start()
        redis_server.start()
        for workers in args.workers:
            for cameras in args.cameras:
                scenario = Scenario(workers, cameras)
                print(f"[{scenario.name}] starting", file=sys.stderr)
                scenarios.append(run_scenario(scenario, args, kafka, redis_server, video, state, launched))
    except BenchError as exc:
        failure = f"{scenario.name}: {exc}"
        print(f"error: {failure}", file=sys.stderr)
    finally:
        for proc in launched:
            proc.stop(timeout_s=10)
        kafka.stop(timeout_s=10)
        redis_server.stop(timeout_s=5)
        if temp is not None:
            temp.cleanup()

    lines = machine_facts(args, load_before, kafka_jar)
    lines += summary(scenarios)
    for done in scenarios:
        lines += scenario_section(done)
    if failure:
        lines += ["## Failed", "", "```", *failure.splitlines()[-40:], "```", ""]
    text = "\n".join(lines).rstrip() + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    if failure:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
