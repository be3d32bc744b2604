"""Start and stop a real local Apache Kafka for the demo, the tests and the benchmark."""

from .broker import DEFAULT_TOPIC, KAFKA_VERSION, KafkaCluster, LauncherError, LocalKafka, create_topic

__all__ = ["DEFAULT_TOPIC", "KAFKA_VERSION", "KafkaCluster", "LauncherError", "LocalKafka", "create_topic"]
