"""Before the producer reads a line: is the topic there (and -p's partition in it), and will the cluster take our
writes?

A typo in a topic name, a broker nobody answers on, or an ACL that refuses us is said before any input is
read, so nothing is half-sent. A topic that is being created (auto-created by the metadata request itself)
first looks unknown or leaderless, so it is asked about again, briefly.
"""

import time

from kafka_cli.core.errors import CliError
from kafka_cli.core.exit_status import Interrupted
from kafka_cli.core.words import does_not_exist, may_not, no_broker_answered
from kafka_cli.client.kafka_errors import describe_kafka_error


# How long a broker may keep saying it does not know the topic: one that creates topics on first use
# (auto.create.topics.enable) says so in its first answer while it creates it, and knows it ~0.1 s later.
UNKNOWN_TOPIC_GRACE = 3.0
# what a metadata answer says about a topic that is being created or is between leaders: ask again
TOPIC_NOT_READY = {"UNKNOWN_TOPIC_OR_PART", "_UNKNOWN_TOPIC", "LEADER_NOT_AVAILABLE", "NOT_LEADER_FOR_PARTITION",
                   "REQUEST_TIMED_OUT", "_TIMED_OUT"}


def check_topic(producer, topic, timeout, delivery, config):
    """Fail before reading any input if the topic is missing or the cluster refuses us.

    A topic being created (auto-created by the metadata request itself, or just created by someone) first
    looks unknown or leaderless: ask again, up to --timeout, but never more than UNKNOWN_TOPIC_GRACE seconds
    while the broker keeps saying it does not know the topic, so a typo is named quickly. Returns the topic's
    metadata (confluent-kafka's TopicMetadata), for check_partition."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        try:
            metadata = ask_for_metadata(producer, topic, deadline, delivery)
        except _NoAnswer:
            raise CliError(no_broker_answered(f"within --timeout {timeout:g} s", config)
                           + "; nothing was read or sent")
        found = metadata.topics.get(topic)
        error = found.error if found is not None else None
        if found is not None and error is None and found.partitions:
            ask_again_for_producer_id(producer, topic)
            return found
        name = error.name() if error is not None else "UNKNOWN_TOPIC_OR_PART"
        if "AUTHORIZATION" in name:
            raise CliError(may_not(config.get("sasl.username"), f"write to topic '{topic}'") + f"; see {config.path}")
        if "UNKNOWN_TOPIC" in name and time.monotonic() - started >= min(timeout, UNKNOWN_TOPIC_GRACE):
            bootstrap = config.get("bootstrap.servers")
            raise CliError(does_not_exist(f"topic '{topic}'", bootstrap) + f"; create it first"
                           f"{how_to_create(topic, bootstrap)}, or pick another with -t")
        if name not in TOPIC_NOT_READY:
            raise CliError(f"topic '{topic}': {error.str()}; nothing was read or sent")
        if time.monotonic() >= deadline:
            raise CliError(f"topic '{topic}' is not ready after {timeout:g} s ({name}); nothing was read or sent")
        time.sleep(0.05)


def check_partition(metadata, topic, partition):
    """-p N (None: not given) must be a partition of the topic: said before any line is read."""
    if partition is None or partition in metadata.partitions:
        return
    existing = sorted(metadata.partitions)
    has = f"partition {existing[0]} only" if len(existing) == 1 else f"partitions {existing[0]} to {existing[-1]}"
    raise CliError(f"topic '{topic}' has no partition {partition} (it has {has}); nothing was read or sent")


def ask_again_for_producer_id(producer, topic):
    """One more metadata request, so that the idempotent producer gets its producer id now, not in 500 ms.

    librdkafka asks for the id when a metadata answer arrives, or on a 500 ms timer if no broker was up.
    The first answer comes over the bootstrap connection, which librdkafka drops as soon as it learns the
    broker's id, so at that moment often no broker is up: one line then took 0.6 s instead of 0.15 s (in 2
    of 8 runs). With every known broker connected at once (enable.sparse.connections=false), this second
    answer comes from a connected broker within a millisecond or two, and the id request goes out with it."""
    from confluent_kafka import KafkaException

    try:
        producer.list_topics(topic, timeout=1.0)
    except KafkaException:
        pass  # the timer asks anyway


class _NoAnswer(Exception):
    pass


def ask_for_metadata(producer, topic, deadline, delivery):
    """The cluster's answer about `topic`, asking until a broker answers or the deadline passes."""
    from confluent_kafka import KafkaException

    while True:
        try:
            # half-second slices (one topic's metadata is small): 'cannot reach' is then said within 2 s, as the
            # consumer and the views say it (1 s slices and a probe of its own after them had made it 3.6 s)
            metadata = producer.list_topics(topic, timeout=max(0.1, min(0.5, deadline - time.monotonic())))
        except KafkaException:
            metadata = None
        try:
            producer.poll(0)
        except KafkaException as e:  # a fatal error (its id for idempotent writes refused): the callback's sentence
            raise CliError(delivery.errors.fatal or describe_kafka_error(e.args[0], delivery.errors.config)
                           or e.args[0].str()) from None
        if delivery.stop.signum:
            # Ctrl-C before anything was read: end like any Unix tool interrupted at that point, quietly
            raise Interrupted(delivery.stop.signum)
        if delivery.stopped_by:
            raise CliError(delivery.stopped_by)
        delivery.errors.check(producer, "retrying up to --timeout before reading any input", probed=metadata is None)
        if metadata is not None and metadata.brokers:
            return metadata
        if time.monotonic() >= deadline:
            raise _NoAnswer()


def how_to_create(topic, bootstrap):
    """Where a topic is made: on the project's local Kafka (loopback), the launcher's command."""
    hosts = {server.strip().rsplit(":", 1)[0].strip("[]") for server in bootstrap.split(",")}
    if hosts and hosts <= {"127.0.0.1", "localhost", "::1"}:
        return f" (on the local Kafka: python -m local_kafka create-topic {topic})"
    return " (kafka-topics.sh --create, or your cloud console)"

