"""producer.py -f json: the lines consumer.py -f json writes, parsed back into exactly the message they show."""

import base64
import json

import pytest
from hypothesis import given, strategies as st

from kafka_cli.consume.formats import format_json
from kafka_cli.produce.json_input import BadRecord, JsonRecords
from kafka_cli.produce.lines import LineParser

from .test_producer_lines import FakeProducer, cut, run_loop

KEEP = JsonRecords(keep_partition=True, keep_timestamp=True)


class Message:
    """What format_json reads from a confluent_kafka Message."""

    def __init__(self, key, value, headers, partition, timestamp):
        self._fields = (key, value, headers, partition, timestamp)

    def topic(self):
        return "src"

    def key(self):
        return self._fields[0]

    def value(self):
        return self._fields[1]

    def headers(self):
        return self._fields[2]

    def partition(self):
        return self._fields[3]

    def offset(self):
        return 42

    def timestamp(self):
        return (1, self._fields[4]) if self._fields[4] else (0, -1)


nullable_bytes = st.none() | st.binary(max_size=40) | st.text(max_size=20).map(lambda t: t.encode("utf-8", "replace"))
# (a header name holding NUL, which a Java client can write, cannot be produced through librdkafka's C strings:
# such a line is refused with its reason, tested below, so the round trip is for the other names)
header_names = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=10)


@given(key=nullable_bytes, value=nullable_bytes, partition=st.integers(0, 1000),
       timestamp=st.integers(1, 2**53), headers=st.lists(st.tuples(header_names, nullable_bytes), max_size=4))
def test_what_consumer_writes_parses_back_to_the_same_message(key, value, partition, timestamp, headers):
    line = format_json(b":")(Message(key, value, headers or None, partition, timestamp)).rstrip(b"\n")
    assert KEEP.parse(line) == (key, value, headers or None, partition, timestamp)


def test_partition_and_timestamp_can_be_left_to_the_producer():
    line = b'{"partition": 3, "timestamp": 1700000000000, "key": "k", "value": "v"}'
    assert JsonRecords(False, True).parse(line) == (b"k", b"v", None, -1, 1700000000000)
    assert JsonRecords(True, False).parse(line) == (b"k", b"v", None, 3, 0)
    assert KEEP.parse(b'{"timestamp": null, "partition": null}') == (None, None, None, -1, 0)


@pytest.mark.parametrize("line, says", [
    (b"not json", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'"text"', "not a JSON object"),
    (b'{"key": 5}', "key must be a string"),
    (b'{"value": {"base64": "!!"}}', "value: {\"base64\": ...} does not hold valid base64"),
    (b'{"value": {"base64": "AA==", "x": 1}}', "value must be a string"),
    (b'{"value": "\\ud800"}', "not valid Unicode"),
    (b'{"partition": -1}', "partition: -1 is out of range (0 to 2,147,483,647)"),
    (b'{"partition": 2147483648}', "partition: 2147483648 is out of range (0 to 2,147,483,647)"),
    (b'{"timestamp": 9223372036854775808}', "timestamp: 9223372036854775808 is out of range"),
    (b'{"headers": [["\\ud800", "v"]]}', "header name '\\ud800' holds a lone surrogate"),
    (b'{"headers": [["a\\u0000b", "v"]]}', "header name 'a\\x00b' holds a NUL character"),
    (b'{"partition": true}', "partition must be a whole number"),
    (b'{"timestamp": 1.5}', "timestamp must be a whole number"),
    (b'{"headers": {"a": "b"}}', "headers must be a list"),
    (b'{"headers": [["a"]]}', "each header must be a [name, value] pair"),
    (b'{"headers": [[1, "v"]]}', "each header must be a [name, value] pair"),
    (b'{"headers": [["a", 1]]}', "header 'a' must be a string"),
    (b"[" * 100000, "not valid JSON"),
])
def test_bad_records_say_what_is_wrong(line, says):
    with pytest.raises(BadRecord) as caught:
        KEEP.parse(line)
    assert says in str(caught.value)


def test_base64_values_are_any_bytes():
    data = bytes(range(256))
    line = json.dumps({"value": {"base64": base64.b64encode(data).decode()}, "key": None}).encode()
    assert KEEP.parse(line) == (None, data, None, -1, 0)


# -- the JSON read loop, with a fake producer ------------------------------------------------------------
class JsonFakeProducer(FakeProducer):
    def produce(self, topic, value=None, key=None, headers=None, partition=-1, timestamp=0):
        super().produce(topic, value, key, headers)
        self.sent[-1] = (key, value, headers, partition, timestamp)


def run_json(blocks, skip_bad_lines=False, headers=None):
    """The one read loop over JSON records: ((sent, bad line), [(key, value, headers, partition, timestamp)], skipped)."""
    result, fake, skipped, _ = run_loop(blocks, JsonRecords(True, True, headers), skip_bad_lines, JsonFakeProducer())
    return result, fake.sent, skipped


@given(points=st.lists(st.integers(min_value=0), max_size=10))
def test_json_loop_sends_each_record_whatever_the_blocks(points):
    data = (b'{"key":"a","value":"1","partition":2,"timestamp":5}\n\n'
            b'{"key":null,"value":{"base64":"/w=="},"headers":[["h","v"]]}\r\n{"value":null}')
    (sent, bad), messages, _ = run_json(cut(data, points))
    assert (sent, bad) == (3, None)
    assert messages == [(b"a", b"1", None, 2, 5), (None, b"\xff", [("h", b"v")], -1, 0), (None, None, None, -1, 0)]


def test_json_loop_stops_at_a_bad_line_or_skips_it():
    data = [b'{"key":"a"}\nnope\n{"key":"b"}\n']
    (sent, bad), messages, _ = run_json(data)
    assert (sent, bad) == (1, 2) and [m[0] for m in messages] == [b"a"]
    (sent, bad), messages, skipped = run_json(data, skip_bad_lines=True)
    assert (sent, bad, skipped) == (2, None, [2]) and [m[0] for m in messages] == [b"a", b"b"]


def test_json_loop_adds_the_command_line_headers():
    _, messages, _ = run_json([b'{"headers":[["own","1"]]}\n{}\n'], headers=[("cli", b"2")])
    assert [m[2] for m in messages] == [[("own", b"1"), ("cli", b"2")], [("cli", b"2")]]


# -- null markers in text mode -----------------------------------------------------------------------------
@pytest.mark.parametrize("nulls, line, parsed", [
    (frozenset([b""]), b"k:", (b"k", None)),
    (frozenset([b""]), b"k:v", (b"k", b"v")),
    (frozenset([b"NULL"]), b"k:NULL", (b"k", None)),
    (frozenset([b"NULL"]), b"k:NULLx", (b"k", b"NULLx")),
    (frozenset([b"NULL"]), b"k:", (b"k", b"")),
    (frozenset([b"NULL", b""]), b":", (None, None)),
])
def test_null_markers(nulls, line, parsed):
    assert LineParser(b":", False, nulls).parse(line)[:2] == parsed


def test_raw_bytes_of_a_decoded_key_and_value_are_what_is_written():
    """consumer.py -f json nests a schema'd value decoded and keeps the stored bytes in value_raw: a copy
    writes those, not the decoded object."""
    from kafka_cli.produce.json_input import JsonRecords

    line = ('{"key":{"id":1},"key_schema_id":3,"key_raw":{"base64":"AAAAAAMC"},"value":{"name":"n0"},'
            '"value_schema_id":1,"value_raw":{"base64":"AAAAAAEEbjA="},"headers":[]}')
    key, value, headers, partition, timestamp = JsonRecords(False, False).parse(line)
    assert (key, value) == (b"\x00\x00\x00\x00\x03\x02", b"\x00\x00\x00\x00\x01\x04n0")
