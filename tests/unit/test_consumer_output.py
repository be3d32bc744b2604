"""consumer.py: the output formats and writing them to stdout."""

import base64
import errno
import json
import os
import threading

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME, TIMESTAMP_NOT_AVAILABLE
from hypothesis import assume, example, given, strategies as st

from kafka_cli.consume import loop
from kafka_cli.consume.loop import write_all
from kafka_cli.consume.formats import (FORMATS, Lines, Style, format_json, format_json_batch, format_text_batch,
                                format_verbose, format_verbose_batch, json_text)
from kafka_cli.produce.lines import LineParser, split_lines


class FakeMessage:
    """The parts of confluent_kafka.Message the formats use."""

    def __init__(self, key=b"k", value=b"v", topic="orders", partition=2, offset=41,
                 timestamp=(TIMESTAMP_CREATE_TIME, 1700000000123), headers=None, error=None):
        self._key, self._value, self._topic, self._partition = key, value, topic, partition
        self._offset, self._timestamp, self._headers, self._error = offset, timestamp, headers, error

    def key(self):
        return self._key

    def value(self):
        return self._value

    def topic(self):
        return self._topic

    def partition(self):
        return self._partition

    def offset(self):
        return self._offset

    def timestamp(self):
        return self._timestamp

    def headers(self):
        return self._headers

    def error(self):
        return self._error


def format_text(style):
    """-f text's renderer for one message: the batch renderer (formats.format_text_batch) on a batch of one."""
    render = format_text_batch(style)
    return lambda msg: render([msg]).data


def test_formats_table():
    assert FORMATS == {"text": format_text_batch, "json": format_json_batch, "verbose": format_verbose_batch}


@pytest.mark.parametrize("style", [Style(), Style(null_marker=b"-"), Style(terminal=True), Style(separator=b"\t")])
def test_text_batch_leaves_out_errors(style):
    from confluent_kafka import KafkaError

    batch = [FakeMessage(key=b"a", value=None), FakeMessage(error=KafkaError(KafkaError._PARTITION_EOF)),
             FakeMessage(key=None, value=b"b\nc")]
    lines = format_text_batch(style)(batch)
    null = style.null_marker
    assert lines.count == 2
    if style.terminal:
        assert lines.data == b"a:" + null + b"\n" + null + b":b\\nc\n"
    else:
        assert lines.data == b"a" + style.separator + null + b"\n" + null + style.separator + b"b\nc\n"
    assert lines.whole_in(len(lines.data) - 1) == 1  # the newline inside the second value is no line's end


# -- text ----------------------------------------------------------------------------------
@pytest.mark.parametrize("key, value, separator, line", [
    (b"k", b"v", b":", b"k:v\n"),
    (None, b"v", b":", b":v\n"),
    (b"k", None, b":", b"k:\n"),
    (None, None, b":", b":\n"),
    (b"", b"", b":", b":\n"),
    (b"k", b"a:b", b":", b"k:a:b\n"),
    (b"k", b"v", b"", b"kv\n"),
    (b"k", b"v", "→".encode(), "k→v\n".encode()),
    (b"\xff\x00", b"\x00\xfe", b"|", b"\xff\x00|\x00\xfe\n"),  # bytes as they are
])
def test_text(key, value, separator, line):
    assert format_text(Style(separator=separator))(FakeMessage(key=key, value=value)) == line


separators = st.sampled_from([b":", b"|", b"\t", b"\x00", b"::", "→".encode()])
maybe_bytes = st.none() | st.binary(max_size=50).map(lambda b: b.replace(b"\n", b""))


@given(separator=separators, key=maybe_bytes, value=maybe_bytes)
@example(separator=b":", key=None, value=None)
@example(separator=b":", key=b"", value=b"x:y")
def test_text_output_reads_back_through_the_producer(separator, key, value):
    assume(key is None or (key + separator).find(separator) == len(key))
    assume(value is None or not value.endswith(b"\r"))
    output = format_text(Style(separator=separator))(FakeMessage(key=key, value=value))
    lines, rest = split_lines(output)
    assert rest == b""
    assert [LineParser(separator, no_key=False).parse(line)[:2] for line in lines] == [(key or None, value or b"")]


# -- json ------------------------------------------------------------------------------------
def test_json_exact_output():
    msg = FakeMessage(key=b"k1", value='{"a": "é"}'.encode(), headers=[("source", b"import"), ("trace", None)])
    assert format_json(Style())(msg) == (
        '{"topic":"orders","partition":2,"offset":41,"timestamp":1700000000123,"key":"k1",'
        '"value":"{\\"a\\": \\"é\\"}","headers":[["source","import"],["trace",null]]}\n').encode()


def test_json_has_exactly_these_fields():
    record = json.loads(format_json(Style())(FakeMessage()))
    assert list(record) == ["topic", "partition", "offset", "timestamp", "key", "value", "headers"]


def test_json_nulls_and_no_headers():
    record = json.loads(format_json(Style())(FakeMessage(key=None, value=None, headers=None)))
    assert (record["key"], record["value"], record["headers"]) == (None, None, [])


@pytest.mark.parametrize("timestamp, expected", [
    ((TIMESTAMP_CREATE_TIME, 1700000000123), 1700000000123),
    ((TIMESTAMP_LOG_APPEND_TIME, 5), 5),
    ((TIMESTAMP_NOT_AVAILABLE, -1), None),
])
def test_json_timestamp(timestamp, expected):
    assert json.loads(format_json(Style())(FakeMessage(timestamp=timestamp)))["timestamp"] == expected


@pytest.mark.parametrize("data, expected", [
    (None, None),
    (b"", ""),
    (b"plain", "plain"),
    ("é€😀".encode(), "é€😀"),
    (b"\x00", "\x00"),
    (b"\xff", {"base64": "/w=="}),
    (b"ok\xc3", {"base64": "b2vD"}),         # truncated UTF-8 sequence
    (b"\xed\xa0\x80", {"base64": "7aCA"}),   # an encoded surrogate is not UTF-8
    (b"\xc0\x80", {"base64": "wIA="}),       # overlong NUL
])
def test_json_text(data, expected):
    assert json.loads(json_text(data)) == expected


def decode(field):
    if field is None:
        return None
    if isinstance(field, dict):
        assert list(field) == ["base64"]
        return base64.b64decode(field["base64"], validate=True)
    return field.encode("utf-8")


any_bytes = st.none() | st.binary(max_size=100) | st.text(max_size=30).map(lambda s: s.encode("utf-8", "surrogatepass"))
header_names = st.text(max_size=10).filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s))


@given(key=any_bytes, value=any_bytes,
       headers=st.none() | st.lists(st.tuples(header_names, any_bytes), max_size=4))
@example(key=b"\x00", value=b"\xff\xfe\x00", headers=[("h", b"\x00\xff")])
@example(key=b"\n", value="\r\n\u2028\x85".encode(), headers=[("\n", b"\n")])
def test_json_decodes_back_to_the_same_bytes(key, value, headers):
    output = format_json(Style())(FakeMessage(key=key, value=value, headers=headers))
    assert output.endswith(b"\n") and output.count(b"\n") == 1  # one line per message
    record = json.loads(output.decode("utf-8"))  # strict UTF-8
    assert decode(record["key"]) == key
    assert decode(record["value"]) == value
    assert [(name, decode(v)) for name, v in record["headers"]] == list(headers or [])


# -- verbose -----------------------------------------------------------------------------------
def test_verbose_exact_output():
    msg = FakeMessage(key=b"k1", value=b"line 1\nline 2\r\n", headers=[("source", b"import"), ("trace", None)])
    assert format_verbose(Style())(msg) == (
        b"orders [2] @ 41  2023-11-14T22:13:20.123Z  key=k1  value=line 1\\nline 2\\r\\n"
        b"  headers: source=import, trace=null\n")


def test_verbose_without_timestamp_key_value_or_headers():
    msg = FakeMessage(key=None, value=None, timestamp=(TIMESTAMP_NOT_AVAILABLE, -1), headers=[])
    assert format_verbose(Style())(msg) == b"orders [2] @ 41  -  key=null  value=null\n"


def test_verbose_escapes_backslash_and_shows_bad_bytes():
    line = format_verbose(Style())(FakeMessage(key=b"a\\b", value="é".encode() + b"\xff"))
    assert b"  key=a\\\\b  value=\xc3\xa9\\" in line  # a\\b, then é as UTF-8 and an escape for the bad byte
    assert line.endswith(b"xff\n")
    assert b"\xff" not in line


def test_verbose_tells_a_bad_byte_from_its_escape():
    render = format_verbose(Style())
    assert render(FakeMessage(value=b"\xff")) != render(FakeMessage(value=b"\\xff"))
    assert render(FakeMessage(value=b"\xff")).endswith(b"value=\\xff\n")


@given(key=any_bytes, value=any_bytes, headers=st.none() | st.lists(st.tuples(st.just("h"), any_bytes), max_size=3))
@example(key=b"\r", value=b"a\nb\r\nc", headers=[("h", b"\n")])
def test_verbose_is_one_line_per_message(key, value, headers):
    line = format_verbose(Style())(FakeMessage(key=key, value=value, headers=headers))
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert b"\r" not in line
    line.decode("utf-8")  # printable on any UTF-8 terminal


def test_verbose_header_name_with_newline_stays_on_one_line():
    line = format_verbose(Style())(FakeMessage(headers=[("evil\nname", b"v")]))
    assert line.count(b"\n") == 1


# -- write_all ------------------------------------------------------------------------------------
def test_write_all_to_a_pipe():
    read_fd, write_fd = os.pipe()
    try:
        assert write_all(write_fd, Lines.of([b"a:1\n", b"b:2\n", b"c:3\n"])) == (3, None)
        os.close(write_fd)
        with os.fdopen(read_fd, "rb") as f:
            assert f.read() == b"a:1\nb:2\nc:3\n"
    finally:
        for fd in (read_fd, write_fd):
            try:
                os.close(fd)
            except OSError:
                pass


def test_write_all_more_than_a_pipe_holds():
    chunks = [bytes([65 + i % 26]) * 1000 + b"\n" for i in range(3000)]  # 3 MB through a 64 KiB pipe
    read_fd, write_fd = os.pipe()
    received = []
    reader = threading.Thread(target=lambda: received.append(b"".join(iter(lambda: os.read(read_fd, 65536), b""))))
    reader.start()
    try:
        assert write_all(write_fd, Lines.of(chunks)) == (3000, None)
    finally:
        os.close(write_fd)
        reader.join()
        os.close(read_fd)
    assert received == [b"".join(chunks)]


def test_write_all_to_a_pipe_whose_reader_is_gone():
    read_fd, write_fd = os.pipe()
    os.close(read_fd)
    try:
        complete, error = write_all(write_fd, Lines.of([b"a:1\n", b"b:2\n"]))
    finally:
        os.close(write_fd)
    assert complete == 0
    assert isinstance(error, BrokenPipeError)
    assert error.errno == errno.EPIPE


def test_write_all_nothing():
    read_fd, write_fd = os.pipe()
    os.close(read_fd)  # nothing is written, so no EPIPE
    try:
        assert write_all(write_fd, Lines.of([])) == (0, None)
    finally:
        os.close(write_fd)


class ShortWrites:
    """os.write for fd 99 that writes the given numbers of bytes, then fails with ENOSPC."""

    FD = 99

    def __init__(self, sizes):
        self.sizes = list(sizes)
        self.data = b""

    def __call__(self, fd, data):
        assert fd == self.FD
        if not self.sizes:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = min(self.sizes.pop(0), len(data))
        self.data += bytes(data[:n])
        return n


@pytest.mark.parametrize("sizes, complete", [
    ([], 0),
    ([3], 0),            # part of the first message
    ([4], 1),            # exactly the first
    ([6], 1),            # the first and half of the second
    ([2, 2, 2, 1], 1),   # several short writes
    ([2, 2, 2, 2], 2),   # ending exactly on a message boundary
    ([11], 2),           # all but the last byte
])
def test_write_all_counts_only_complete_messages(monkeypatch, sizes, complete):
    fake = ShortWrites(sizes)
    monkeypatch.setattr(loop.os, "write", fake)
    count, error = write_all(ShortWrites.FD, Lines.of([b"aaa\n", b"bbb\n", b"ccc\n"]))
    assert count == complete
    assert isinstance(error, OSError) and error.errno == errno.ENOSPC
    assert fake.data == b"aaa\nbbb\nccc\n"[:sum(sizes)]


def test_write_all_when_the_last_write_completes(monkeypatch):
    monkeypatch.setattr(loop.os, "write", ShortWrites([5, 5, 2]))
    assert write_all(ShortWrites.FD, Lines.of([b"aaa\n", b"bbb\n", b"ccc\n"])) == (3, None)


@given(chunks=st.lists(st.binary(min_size=1, max_size=20), max_size=10),
       sizes=st.lists(st.integers(min_value=1, max_value=40), max_size=10))
def test_write_all_complete_count_property(chunks, sizes):
    fake = ShortWrites(sizes)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loop.os, "write", fake)
        count, error = write_all(ShortWrites.FD, Lines.of(chunks))
    written = len(fake.data)
    ends = [sum(len(c) for c in chunks[:i + 1]) for i in range(len(chunks))]
    assert fake.data == b"".join(chunks)[:written]
    if written == len(b"".join(chunks)):
        assert (count, error) == (len(chunks), None)
    else:
        assert count == sum(1 for end in ends if end <= written)
        assert error.errno == errno.ENOSPC


@pytest.mark.parametrize("sizes, complete", [([], 0), ([3], 0), ([4], 1), ([2, 2, 2, 1], 1), ([8], 2), ([11], 2)])
def test_write_all_counts_complete_json_lines(monkeypatch, sizes, complete):
    """A batch rendered as one piece (-f json): its lines are counted by their one newline each."""
    fake = ShortWrites(sizes)
    monkeypatch.setattr(loop.os, "write", fake)
    count, error = write_all(ShortWrites.FD, Lines(b"{1}\n{2}\n{3}\n", 3))
    assert count == complete
    assert isinstance(error, OSError) and error.errno == errno.ENOSPC
