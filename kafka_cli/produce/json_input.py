"""Producer input for -f json: each line one of the objects `consumer.py -f json` writes, turned back into
the fields of a message (key, value, headers, partition, timestamp), with bytes restored exactly.

    {"topic": ..., "partition": 0, "offset": 7, "timestamp": 1700000000000, "key": "k",
     "value": {"base64": "AAEC"}, "headers": [["name", "value"], ["other", null]]}

key, value and header values: a string (its UTF-8 bytes), {"base64": "..."} (any bytes), or null.
A "key_raw" / "value_raw" (consumer.py's stored bytes of a schema'd key or value) is taken instead of "key" / "value".
"topic" and "offset" are ignored: the producer writes to its -t topic and the broker assigns offsets.
"""

import base64
import binascii
import json

from kafka_cli.core.boundary import INT32_MAX, INT64_MAX, c_string_problem, int_problem
from kafka_cli.core.words import one_line
from kafka_cli.produce.lines import BadLine, InputLines

# base64 makes 4 bytes of 3 and JSON escapes a control byte as 6: no record of a message within
# message.max.bytes is longer than this many times the limit (plus room for the other fields)
JSON_EXPANSION = 6


class BadRecord(BadLine):
    """A line that is not such an object; the message says what is wrong with it."""


def _bytes(what, data):
    if data is None:
        return None
    if isinstance(data, str):
        try:
            return data.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate escape such as "\ud800" is no UTF-8 text
            raise BadRecord(f"{what} is a string that is not valid Unicode (use {{\"base64\": ...}})")
    if isinstance(data, dict) and len(data) == 1 and isinstance(data.get("base64"), str):
        try:
            return base64.b64decode(data["base64"], validate=True)
        except (binascii.Error, ValueError):
            raise BadRecord(f"{what}: {{\"base64\": ...}} does not hold valid base64")
    raise BadRecord(f"{what} must be a string, {{\"base64\": \"...\"}} or null")


def _whole_number(what, data, highest):
    """A whole number in 0..highest (what produce() can hand to librdkafka's C int), or None."""
    if data is None:
        return None
    if isinstance(data, bool) or not isinstance(data, int):
        raise BadRecord(f"{what} must be a whole number, or null")
    problem = int_problem(data, 0, highest)
    if problem is not None:
        raise BadRecord(f"{what}: {problem}")
    return data


def _headers(data):
    if data is None:
        return None
    if not isinstance(data, list):
        raise BadRecord("headers must be a list of [name, value] pairs")
    headers = []
    for item in data:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
            raise BadRecord("each header must be a [name, value] pair with a string name")
        # the name goes to librdkafka as a C string: a NUL would cut it short, a lone surrogate crash it
        problem = c_string_problem(item[0])
        if problem is not None:
            raise BadRecord(f"header name {one_line(ascii(item[0]), 60)} {problem}")
        headers.append((item[0], _bytes(f"header {item[0]!r}", item[1])))
    return headers or None


def stored(record, side):
    """The key or value as stored: consumer.py -f json shows a schema'd one decoded, with the stored bytes in
    "<side>_raw" ({"base64": ...}); those are what a copy writes back, byte for byte."""
    return record[f"{side}_raw"] if f"{side}_raw" in record else record.get(side)


class JsonRecords:
    """-f json input: lines to produce() arguments, with the face of lines.LineParser (no fast path: json.loads
    costs more than a call). `keep_partition` / `keep_timestamp` say whether a record's own partition and
    timestamp are used (else the partitioner picks, and the broker's clock stamps); `headers` (-H) are added to
    each record's own."""

    bad = "not a JSON record"
    what = "JSON record"
    hint = "--skip-bad-lines to go on"
    prompt = "type one JSON record per line"

    def __init__(self, keep_partition, keep_timestamp, headers=None):
        self.keep_partition = keep_partition
        self.keep_timestamp = keep_timestamp
        self.headers = headers

    def reader(self, max_bytes):
        return InputLines(JSON_EXPANSION * max_bytes + 65536, None)

    def plain(self, chunk):
        return None

    def parse(self, line):
        """(key, value, headers, partition, timestamp) for produce(): partition -1 and timestamp 0 mean unset.
        BadRecord says what is wrong, and how the line starts."""
        try:
            key, value, headers, partition, timestamp = self.fields(line)
        except BadRecord as bad:
            raise BadRecord(f"{bad}: {one_line(line.decode(errors='replace'), 40)!r}") from None
        if self.headers:
            headers = (headers or []) + self.headers
        return (key, value, headers, partition if self.keep_partition and partition is not None else -1,
                timestamp if self.keep_timestamp and timestamp else 0)

    @staticmethod
    def fields(line):
        """The record's own (key, value, headers, partition, timestamp), checked; BadRecord if it is none."""
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as e:  # (UnicodeDecodeError is a ValueError)
            raise BadRecord(f"not valid JSON ({e})" if isinstance(e, ValueError) else "not valid JSON")
        if not isinstance(record, dict):
            raise BadRecord("not a JSON object")
        return (_bytes("key", stored(record, "key")), _bytes("value", stored(record, "value")),
                _headers(record.get("headers")), _whole_number("partition", record.get("partition"), INT32_MAX),
                _whole_number("timestamp", record.get("timestamp"), INT64_MAX))
