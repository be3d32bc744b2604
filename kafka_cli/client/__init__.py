"""The client room: a confluent-kafka client built from a config (a refused property named with its file and
line), librdkafka's runtime errors as sentences naming the key to fix, and the TLS probe that says which check
failed. Stands on the core and the config."""

from kafka_cli.client.build import build_client
from kafka_cli.client.kafka_errors import ClusterErrors, describe_kafka_error

__all__ = ["ClusterErrors", "build_client", "describe_kafka_error"]
