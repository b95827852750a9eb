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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vidsentry.devtls import TlsFiles

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
    """``password`` is the default user's (``requirepass``); ``users`` are extra ACL users with
    every right (name -> password); ``tls`` serves TLS only, with the port in ``url``."""

    def __init__(self, state_dir: Path, port: int | None = None, password: str | None = None,
                 users: Mapping[str, str] | None = None, tls: TlsFiles | None = None) -> None:
        super().__init__("redis", Path(state_dir))
        self.port = port or free_port()
        self.password = password
        self.users = dict(users or {})
        self.tls = tls

    @property
    def url(self) -> str:
        """Without credentials: a client gives them as settings."""
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 20.0) -> LocalRedis:
        binary = shutil.which("redis-server")
        if not binary:
            raise ServiceError("redis-server not found: install it with `apt-get install -y redis-server` (Debian)")
        data = self.state_dir / "redis-data"
        data.mkdir(parents=True, exist_ok=True)
        self._spawn([binary, *self._secure_options(), "--bind", "127.0.0.1", "--dir", str(data),
                     "--save", "", "--appendonly", "yes", "--protected-mode", "yes"], "redis.log")
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=1, **self._client_credentials())
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

    def _secure_options(self) -> list[str]:
        """The port options, and a config file (not argv, which ``ps`` shows) with the passwords."""
        ports = ["--port", str(self.port)]
        if self.tls:
            ports = ["--port", "0", "--tls-port", str(self.port), "--tls-cert-file", str(self.tls.server_cert),
                     "--tls-key-file", str(self.tls.server_key), "--tls-ca-cert-file", str(self.tls.ca),
                     "--tls-auth-clients", "no"]
        if not self.password and not self.users:
            return ports
        lines = [f"requirepass {self.password}"] if self.password else []
        lines += [f"user {name} on >{password} ~* &* +@all" for name, password in self.users.items()]
        conf = self.state_dir / "redis-auth.conf"
        conf.touch(mode=0o600)
        conf.write_text("\n".join(lines) + "\n")
        return [str(conf), *ports]

    def _client_credentials(self) -> dict[str, object]:
        options: dict[str, object] = {"ssl_ca_certs": str(self.tls.ca)} if self.tls else {}
        if self.password:
            options["password"] = self.password
        elif self.users:
            options["username"], options["password"] = next(iter(self.users.items()))
        return options


class LocalKafka(LocalServer):
    """``scram_users`` (name -> password) adds a SASL_PLAINTEXT listener on ``sasl_port`` with
    SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN for them; ``tls`` adds an SSL listener on ``ssl_port``
    that requires a client certificate signed by ``tls.ca``. The PLAINTEXT listener on ``port``
    stays (brokers and ``wait_for_broker`` use it)."""

    def __init__(self, state_dir: Path, port: int | None = None, controller_port: int | None = None,
                 scram_users: Mapping[str, str] | None = None, tls: TlsFiles | None = None) -> None:
        super().__init__("kafka", Path(state_dir))
        self.port = port or free_port()
        self.controller_port = controller_port or free_port()
        self.scram_users = dict(scram_users or {})
        self.tls = tls
        self.sasl_port = free_port() if self.scram_users else None
        self.ssl_port = free_port() if tls else None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def sasl_bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.sasl_port}"

    @property
    def ssl_bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.ssl_port}"

    def start(self, timeout_s: float = 90.0) -> LocalKafka:
        classpath = f"{ensure_kafka_jars()}/*"
        java = shutil.which("java")
        if not java:
            raise ServiceError("java not found: Kafka needs a Java 17 runtime (`apt-get install -y openjdk-17-jre-headless`)")
        data = self.state_dir / "kafka-data"
        props = self.state_dir / "server.properties"
        props.parent.mkdir(parents=True, exist_ok=True)
        props.touch(mode=0o600)
        props.write_text(_kafka_properties(self.port, self.controller_port, data) + _secure_kafka_properties(self))
        if not (data / "meta.properties").exists():
            scram = [f"--add-scram=SCRAM-SHA-{bits}=[name={name},password={password}]"
                     for name, password in self.scram_users.items() for bits in (256, 512)]
            subprocess.run([java, "-cp", classpath, "-Dlog4j.configuration=file:" + str(KAFKA_PROJECT / "log4j.properties"),
                            "kafka.tools.StorageTool", "format", "-t", uuid.uuid4().hex[:22].ljust(22, "A"),
                            "-c", str(props), *scram], check=True, capture_output=True)
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


def _secure_kafka_properties(kafka: LocalKafka) -> str:
    """The SASL and SSL listeners, appended after ``_kafka_properties`` (a later key wins)."""
    listeners = {"PLAINTEXT": ("PLAINTEXT", kafka.port)}
    lines = []
    if kafka.scram_users:
        listeners["SASL"] = ("SASL_PLAINTEXT", kafka.sasl_port)
        plain_users = " ".join(f'user_{name}="{password}"' for name, password in kafka.scram_users.items())
        lines += [
            "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN",
            "listener.name.sasl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "listener.name.sasl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
            f"listener.name.sasl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required {plain_users};",
        ]
    if kafka.tls:
        listeners["SSL"] = ("SSL", kafka.ssl_port)
        lines += [
            "listener.name.ssl.ssl.keystore.type=PEM",
            f"listener.name.ssl.ssl.keystore.location={kafka.tls.server_keystore}",
            f"listener.name.ssl.ssl.key.password={kafka.tls.key_password}",
            "listener.name.ssl.ssl.truststore.type=PEM",
            f"listener.name.ssl.ssl.truststore.location={kafka.tls.ca}",
            "listener.name.ssl.ssl.client.auth=required",
        ]
    if len(listeners) == 1:
        return ""
    bound = ",".join(f"{name}://127.0.0.1:{port}" for name, (_, port) in listeners.items())
    protocols = ",".join(f"{name}:{protocol}" for name, (protocol, _) in listeners.items())
    return "\n".join([
        f"listeners={bound},CONTROLLER://127.0.0.1:{kafka.controller_port}",
        f"advertised.listeners={bound}",
        f"listener.security.protocol.map={protocols},CONTROLLER:PLAINTEXT",
        *lines,
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
