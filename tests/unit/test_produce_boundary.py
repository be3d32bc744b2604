"""What -f json and -H hand to produce() never crashes confluent-kafka's C code: for any JSON record and any
bytes hypothesis finds, JsonRecords.parse either refuses the line (BadRecord) or returns arguments that a
real Producer (librdkafka's mock cluster, no network) takes, or refuses with a KafkaException.

A crash here would kill the test process itself: that is the failure this test exists to show."""

import json
import os

import pytest
from confluent_kafka import KafkaException, Producer
from hypothesis import HealthCheck, given, settings, strategies as st

from kafka_cli.core.errors import ConfigError
from kafka_cli.produce.json_input import BadRecord, JsonRecords
from kafka_cli.cli.options import parse_headers

SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text()
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                    max_leaves=8)
FIELD = JSON | st.fixed_dictionaries({"base64": st.text()}) | st.integers(min_value=-2**64, max_value=2**64)
HEADERS = st.lists(st.lists(FIELD, min_size=0, max_size=3), max_size=4) | FIELD
RECORD = st.fixed_dictionaries({}, optional={"key": FIELD, "value": FIELD, "headers": HEADERS,
                                             "partition": FIELD, "timestamp": FIELD, "topic": FIELD})


@pytest.fixture(scope="module")
def producer():
    p = Producer({"test.mock.num.brokers": 1, "log_level": 0, "queue.buffering.max.messages": 10_000_000})
    yield p
    p.purge()
    p.flush(1)


def produce_or_refuse(producer, args):
    key, value, headers, partition, timestamp = args
    try:
        producer.produce("t", value=value, key=key, headers=headers, partition=partition, timestamp=timestamp)
    except KafkaException:
        pass  # refused by the client (an unknown partition, say): a bad line, not a crash
    producer.poll(0)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(record=RECORD, keep=st.booleans())
def test_any_json_record_is_refused_or_produced(producer, record, keep):
    line = json.dumps(record).encode()
    try:
        args = JsonRecords(keep, keep).parse(line)
    except BadRecord:
        return
    produce_or_refuse(producer, args)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=st.binary(max_size=200))
def test_any_bytes_are_refused_or_produced(producer, line):
    try:
        args = JsonRecords(True, True).parse(line)
    except BadRecord:
        return
    produce_or_refuse(producer, args)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.lists(st.binary(max_size=20), max_size=3))
def test_any_header_option_is_refused_or_produced(producer, raw):
    """-H from a command line: any bytes, as Python hands them over (surrogateescape)."""
    try:
        headers = parse_headers([os.fsdecode(item) for item in raw])
    except ConfigError:
        return
    produce_or_refuse(producer, (b"k", b"v", headers or None, -1, 0))
