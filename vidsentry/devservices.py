"""Start and stop a real Apache Kafka broker (KRaft) and a real Redis on free loopback ports.

Used by the test suite and by ``vidsentry dev up|down`` for local runs. Kafka's jars come
from Maven Central through ``deploy/local/kafka/pom.xml`` (cached in ~/.m2); Redis is the
Debian ``redis-server``. Each server runs in its own process group so ``stop`` takes it
down whole, and its pid is written to the state folder so ``dev down`` can find it later.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

KAFKA_PROJECT = Path(__file__).resolve().parents[1] / "deploy" / "local" / "kafka"


class ServiceError(RuntimeError):
    """A local server could not be set up or started; the message says what to install or run."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LocalServer:
    name: str
    state_dir: Path
    process: subprocess.Popen | None = None

    @property
    def pid_file(self) -> Path:
        return self.state_dir / f"{self.name}.pid"

    def _spawn(self, argv: list[str], log_name: str) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        stale = _read_pid(self.pid_file)
        if stale is not None:
            _kill_group(stale, 15.0)
        log = open(self.state_dir / log_name, "ab")
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        log.close()
        self.pid_file.write_text(str(self.process.pid))

    def stop(self, timeout_s: float = 10.0) -> None:
        pid = self.process.pid if self.process else _read_pid(self.pid_file)
        if pid is not None:
            _kill_group(pid, timeout_s)
        if self.process:
            self.process.wait(timeout=5)
        self.pid_file.unlink(missing_ok=True)

    def kill(self) -> None:
        """Hard stop (SIGKILL), as a crash would; fault tests use it."""
        if self.process:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def _check_alive(self) -> None:
        if self.process and self.process.poll() is not None:
            tail = (self.state_dir / f"{self.name}.log").read_text(errors="replace")[-2000:]
            raise ServiceError(f"{self.name} exited with code {self.process.returncode}:\n{tail}")


class LocalRedis(LocalServer):
    def __init__(self, state_dir: Path, port: int | None = None) -> None:
        super().__init__("redis", Path(state_dir))
        self.port = port or free_port()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 20.0) -> LocalRedis:
        binary = shutil.which("redis-server")
        if not binary:
            raise ServiceError("redis-server not found: install it with `apt-get install -y redis-server` (Debian)")
        data = self.state_dir / "redis-data"
        data.mkdir(parents=True, exist_ok=True)
        self._spawn([binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(data),
                     "--save", "", "--appendonly", "yes", "--protected-mode", "yes"], "redis.log")
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + timeout_s
        while True:
            self._check_alive()
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise ServiceError(f"redis did not answer on port {self.port} within {timeout_s}s") from None
                time.sleep(0.1)


class LocalKafka(LocalServer):
    def __init__(self, state_dir: Path, port: int | None = None, controller_port: int | None = None) -> None:
        super().__init__("kafka", Path(state_dir))
        self.port = port or free_port()
        self.controller_port = controller_port or free_port()

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90.0) -> LocalKafka:
        classpath = f"{ensure_kafka_jars()}/*"
        java = shutil.which("java")
        if not java:
            raise ServiceError("java not found: Kafka needs a Java 17 runtime (`apt-get install -y openjdk-17-jre-headless`)")
        data = self.state_dir / "kafka-data"
        props = self.state_dir / "server.properties"
        props.parent.mkdir(parents=True, exist_ok=True)
        props.write_text(_kafka_properties(self.port, self.controller_port, data))
        if not (data / "meta.properties").exists():
            subprocess.run([java, "-cp", classpath, "-Dlog4j.configuration=file:" + str(KAFKA_PROJECT / "log4j.properties"),
                            "kafka.tools.StorageTool", "format", "-t", uuid.uuid4().hex[:22].ljust(22, "A"),
                            "-c", str(props)], check=True, capture_output=True)
        self._spawn([java, "-Xms256m", "-Xmx768m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
                     f"-Dlog4j.configuration=file:{KAFKA_PROJECT / 'log4j.properties'}",
                     "-cp", classpath, "kafka.Kafka", str(props)], "kafka.log")
        from vidsentry.bus.kafka import wait_for_broker

        deadline = time.monotonic() + timeout_s
        while not _port_open(self.port):
            self._check_alive()
            if time.monotonic() > deadline:
                raise ServiceError(f"kafka did not listen on port {self.port} within {timeout_s}s; see {self.state_dir}/kafka.log")
            time.sleep(0.2)
        wait_for_broker(self.bootstrap_servers, timeout_s=max(5.0, deadline - time.monotonic()))
        return self


def ensure_kafka_jars() -> Path:
    """Resolve Apache Kafka's jars with Maven into deploy/local/kafka/lib (once; ~/.m2 caches them)."""
    lib = KAFKA_PROJECT / "lib"
    if lib.is_dir() and any(lib.glob("kafka_2.13-*.jar")):
        return lib
    if not (KAFKA_PROJECT / "pom.xml").exists():
        raise ServiceError(f"{KAFKA_PROJECT}/pom.xml not found: local Kafka runs from a source checkout of vidsentry")
    mvn = shutil.which("mvn")
    if not mvn:
        raise ServiceError("mvn not found: install Maven (`apt-get install -y maven`) to fetch Kafka's jars")
    result = subprocess.run([mvn, "-q", "-B", "dependency:copy-dependencies", "-DoutputDirectory=lib", "-DincludeScope=runtime"],
                            cwd=KAFKA_PROJECT, capture_output=True, text=True)
    if result.returncode != 0:
        raise ServiceError(f"fetching Kafka's jars with Maven failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return lib


def _kafka_properties(port: int, controller_port: int, data: Path) -> str:
    return "\n".join([
        "process.roles=broker,controller",
        "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name=PLAINTEXT",
        f"log.dirs={data}",
        "num.partitions=1",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=4",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "auto.create.topics.enable=false",
        "message.max.bytes=8388608",
        "log.retention.hours=24",
        "",
    ])


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _kill_group(pid: int, timeout_s: float) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
