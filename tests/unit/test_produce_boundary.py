"""What -f json and -H hand to produce() never crashes confluent-kafka's C code: for any JSON record and any
bytes hypothesis finds, JsonRecords.parse refuses the line (BadRecord) exactly when the README's -f json rules
(worked out again here, in expected_arguments) call it bad, and otherwise returns the arguments those rules give;
a real Producer (librdkafka's mock cluster, no network) takes them, refusing only a partition the topic does not
have. parse_headers (-H) the same, for any bytes on a command line.

A crash here would kill the test process itself: that is the failure this test exists to show."""

import base64
import binascii
import json
import os
from types import SimpleNamespace

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from hypothesis import HealthCheck, example, given, settings, strategies as st

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


INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1


class Refused(Exception):
    """The expected verdict on a line: it is a bad line."""


def expected_bytes(field):
    """A key, value or header value as the README's -f json rules read it: a string is its UTF-8 bytes,
    {"base64": "..."} the bytes it holds, null null; anything else (or a string with a lone surrogate, or base64
    that is not) makes the line bad. Worked out here, not by the code under test."""
    if field is None:
        return None
    if isinstance(field, str):
        try:
            return field.encode("utf-8")
        except UnicodeEncodeError:
            raise Refused
    if isinstance(field, dict) and list(field) == ["base64"] and isinstance(field["base64"], str):
        try:
            return base64.b64decode(field["base64"], validate=True)
        except (binascii.Error, ValueError):
            raise Refused
    raise Refused


def expected_number(field, highest):
    if field is None:
        return None
    if isinstance(field, bool) or not isinstance(field, int) or not 0 <= field <= highest:
        raise Refused
    return field


def expected_headers(field):
    if field is None:
        return None
    if not isinstance(field, list):
        raise Refused
    headers = []
    for item in field:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)) or "\0" in item[0]:
            raise Refused
        try:
            item[0].encode("utf-8")
        except UnicodeEncodeError:
            raise Refused
        headers.append((item[0], expected_bytes(item[1])))
    return headers or None


def expected_arguments(line, keep):
    """What JsonRecords(keep, keep).parse(line) must return, or Refused for a bad line."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        raise Refused
    if not isinstance(record, dict):
        raise Refused
    key, value = (expected_bytes(record.get(f"{side}_raw", record.get(side))) for side in ("key", "value"))
    headers = expected_headers(record.get("headers"))
    partition = expected_number(record.get("partition"), INT32_MAX)
    timestamp = expected_number(record.get("timestamp"), INT64_MAX)
    return (key, value, headers, partition if keep and partition is not None else -1,
            timestamp if keep and timestamp else 0)


def parsed_as_expected(line, keep):
    """parse(line)'s arguments, checked against expected_arguments; None for a line both call bad."""
    try:
        expected = expected_arguments(line, keep)
    except Refused:
        with pytest.raises(BadRecord):
            JsonRecords(keep, keep).parse(line)
        return None
    args = JsonRecords(keep, keep).parse(line)
    assert args == expected, line
    return args


@pytest.fixture(scope="module")
def producer():
    p = Producer({"test.mock.num.brokers": 1, "log_level": 0, "queue.buffering.max.messages": 10_000_000})
    partitions = len(p.list_topics("t", timeout=10).topics["t"].partitions)  # the mock cluster makes "t"
    assert partitions > 0
    yield SimpleNamespace(client=p, partitions=partitions)
    p.purge()
    p.flush(1)


def produce_or_refuse(producer, args):
    """The client takes every argument parse() lets through; the one refusal allowed is a partition the topic
    does not have (then the line fails with that reason), any other KafkaException is a failure here."""
    key, value, headers, partition, timestamp = args
    client = producer.client
    if partition >= producer.partitions:
        with pytest.raises(KafkaException) as refused:
            client.produce("t", value=value, key=key, headers=headers, partition=partition, timestamp=timestamp)
        assert refused.value.args[0].code() == KafkaError._UNKNOWN_PARTITION, refused.value
    else:
        client.produce("t", value=value, key=key, headers=headers, partition=partition, timestamp=timestamp)
    client.poll(0)


GOOD_RECORD = {"key": "k", "value": {"base64": "AP8="}, "headers": [["h", None], ["i", "v"]], "partition": 0,
               "timestamp": 1700000000000}


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(record=RECORD, keep=st.booleans())
@example(record=GOOD_RECORD, keep=True).via("every field, each good")
@example(record={}, keep=False).via("no field at all: an empty message")
@example(record={**GOOD_RECORD, "partition": INT32_MAX}, keep=True).via("a partition the topic does not have")
def test_any_json_record_is_refused_or_produced(producer, record, keep):
    args = parsed_as_expected(json.dumps(record).encode(), keep)
    if args is not None:
        produce_or_refuse(producer, args)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=st.binary(max_size=200))
@example(line=json.dumps(GOOD_RECORD).encode()).via("a good record among the bytes")
@example(line=b'{"key":null,"value":"\xc3\xa9"}').via("UTF-8 in the line itself")
@example(line=b'{"key":"\xff"}').via("a byte that is not UTF-8")
def test_any_bytes_are_refused_or_produced(producer, line):
    args = parsed_as_expected(line, True)
    if args is not None:
        produce_or_refuse(producer, args)


def expected_header_option(raw):
    """-H NAME=VALUE from a command line's bytes: NAME non-empty UTF-8 without NUL, VALUE any bytes; else refused."""
    headers = []
    for item in raw:
        name, sep, value = item.partition(b"=")
        if not sep or not name or b"\0" in name:
            raise Refused
        try:
            headers.append((name.decode("utf-8"), value))
        except UnicodeDecodeError:
            raise Refused
    return headers


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.lists(st.binary(max_size=20), max_size=3))
@example(raw=[b"source=import", b"blob=\xff\x00=", b"empty="]).via("good ones: any bytes in the value")
@example(raw=[b"n\xffame=v"]).via("a name that is not UTF-8")
def test_any_header_option_is_refused_or_produced(producer, raw):
    """-H from a command line: any bytes, as Python hands them over (surrogateescape)."""
    try:
        expected = expected_header_option(raw)
    except Refused:
        with pytest.raises(ConfigError):
            parse_headers([os.fsdecode(item) for item in raw])
        return
    headers = parse_headers([os.fsdecode(item) for item in raw])
    assert headers == expected
    produce_or_refuse(producer, (b"k", b"v", headers or None, -1, 0))
