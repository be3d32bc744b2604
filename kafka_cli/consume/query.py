"""-Q's question to the cluster: per partition, the first offset at or after a time, asked of a consumer that
joins no group and fetches nothing (kcat -Q's answer)."""

import uuid

from kafka_cli.client.build import build_client
from kafka_cli.client.kafka_errors import ClusterErrors
from kafka_cli.client.watched import Watched
from kafka_cli.config.ini import file_warnings
from kafka_cli.core.errors import CliError
from kafka_cli.core.words import no_broker_answered


def offsets_for_time(config, asked, timeout, log, client_log):
    """[((topic, partition), offset or None)] for `asked` (topics, partitions, time in ms), from a consumer that
    joins no group (its group.id only satisfies librdkafka) and fetches nothing."""
    from confluent_kafka import Consumer, KafkaException

    from kafka_cli.consume.positions import WAIT, partitions_to_read, time_offsets

    for warning in file_warnings(config):
        log.warning("%s", warning)
    config.set_default("group.id", f"consumer.py-query-{uuid.uuid4().hex[:12]}")
    config.set("enable.auto.commit", "false", "-Q: no group, nothing committed")
    topics, partitions, ms = asked
    wait = timeout or WAIT
    errors = ClusterErrors(config, log)
    consumer = build_client(Consumer, config, error_cb=errors, logger=client_log)
    try:
        # the first question through Watched: a refused login ends -Q at once and a broker nobody answers on is
        # said within 2 s, as for -L, not when `wait` runs out
        chosen = partitions_to_read(Watched(consumer, errors, "still trying until --timeout"), topics, partitions,
                                    wait, config)
        try:
            found = time_offsets(consumer, chosen, ms, wait)
        except KafkaException as e:
            raise CliError(no_broker_answered(f"within {wait:g} s for the offsets of that time", config)
                           if e.args[0].name() in ("_TIMED_OUT", "_TRANSPORT")
                           else f"cannot read the offsets of that time: {e.args[0].str()}") from None
    finally:
        consumer.close()
    return [((topic, partition), found[topic, partition]) for topic, partition in chosen]
