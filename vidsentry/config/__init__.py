from vidsentry.config.loader import ConfigError, load_config
from vidsentry.config.models import (
    BusConfig,
    Config,
    KafkaConfig,
    MemoryBusConfig,
    MetricsConfig,
    ModelsConfig,
    RedisConfig,
    RuntimeConfig,
)

__all__ = [
    "BusConfig", "Config", "ConfigError", "KafkaConfig", "MemoryBusConfig", "MetricsConfig", "ModelsConfig",
    "RedisConfig", "RuntimeConfig", "load_config",
]
