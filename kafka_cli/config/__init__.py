"""The config room: the INI file (sections, line numbers, placeholders, ${ENV}, -X) and the Schema Registry
settings taken out of it before librdkafka sees the rest. Stands on the core only."""

from kafka_cli.config.ini import ClientConfig, DEFAULT_TOPIC, load_config
from kafka_cli.config.registry import RegistrySettings, without_userinfo

__all__ = ["ClientConfig", "DEFAULT_TOPIC", "RegistrySettings", "load_config", "without_userinfo"]
