"""producer.py: splitting stdin into lines and lines into key and value."""

import logging
import os

import pytest
from hypothesis import assume, example, given, strategies as st

from kafka_cli.cli import producer
from kafka_cli.produce import loop as produce_loop
from kafka_cli.produce.delivery import Delivery, StopSignals
from kafka_cli.produce.lines import BOM, BadLine, InputLines, LineParser, TooLong, split_lines


def key_value(parser, line):
    """(key, value) the parser makes of a line, or None for a bad line."""
    try:
        return parser.parse(line)[:2]
    except BadLine:
        return None


# -- split_lines ----------------------------------------------------------------------------
@pytest.mark.parametrize("block, lines, rest", [
    (b"", [], b""),
    (b"no newline", [], b"no newline"),
    (b"a:1\nb:2\n", [b"a:1", b"b:2"], b""),
    (b"a:1\nb:2", [b"a:1"], b"b:2"),
    (b"a:1\r\nb:2\r\n", [b"a:1", b"b:2"], b""),
    (b"\n\n\r\n", [b"", b"", b""], b""),
    (b"a\r\r\n", [b"a\r"], b""),          # only the \r of \r\n goes
    (b"a\rb\n", [b"a\rb"], b""),          # a lone \r is data
    (b" a:1 \t\n", [b" a:1 \t"], b""),    # nothing else is trimmed
    (b"a:1\nb:2\r", [b"a:1"], b"b:2\r"),  # the \n may come with the next block
    (b"\x00\xff:\xfe\n", [b"\x00\xff:\xfe"], b""),
])
def test_split_lines(block, lines, rest):
    assert split_lines(block) == (lines, rest)


def feed(reader, block):
    """InputLines.feed_chunk (end_chunk for b"", the end of input) as a list of lines, as the read loop splits them."""
    chunk, too_long = reader.feed_chunk(block) if block else reader.end_chunk()
    return split_lines(chunk)[0], too_long


def read_loop(blocks, limit=10**9, separator=b":"):
    """What read_and_produce does with the blocks os.read returns: InputLines carries the unfinished rest.
    A line too long to send comes as its TooLong."""
    out, reader = [], InputLines(limit, separator)
    for block in list(blocks) + [b""]:  # b"" is end of input
        lines, too_long = feed(reader, block)
        assert len(reader.rest) <= reader.cap  # memory: never more than one sendable line is kept
        out += ([too_long] if too_long else []) + lines
    return out


def lines_of(data):
    """The lines of a whole stream, written independently of split_lines (a BOM at the start is no data)."""
    if data.startswith(BOM):
        data = data[len(BOM):]
    pieces = data.split(b"\n")
    if pieces[-1] == b"":
        pieces.pop()
    return [p[:-1] if p.endswith(b"\r") else p for p in pieces]


def cut(data, points):
    bounds = sorted({p % (len(data) + 1) for p in points} | {0, len(data)})
    return [data[a:b] for a, b in zip(bounds, bounds[1:]) if b > a]


stream = st.lists(st.sampled_from([b"\n", b"\r", b"\r\n", b":", b"k", b"v", b"\x00", b"\xff", b"long value " * 3,
                                   BOM, BOM[:2]]),
                  max_size=60).map(b"".join) | st.binary(max_size=300)


@given(data=stream, points=st.lists(st.integers(min_value=0), max_size=20))
@example(data=b"a\r\nb", points=[2])       # \r and \n in different blocks
@example(data=b"a\r", points=[])           # \r at the very end
@example(data=b"\n", points=[])
@example(data=BOM + b"k:v\n", points=[1, 2])  # a BOM cut over blocks
@example(data=b"\xef\xbb", points=[1])        # a BOM's start and no more: data
@example(data=b"k:v\n" + BOM + b"x:y\n", points=[])  # only at the very start is it no data
def test_blocks_give_the_same_lines_as_the_whole_stream(data, points):
    blocks = cut(data, points)
    assert b"".join(blocks) == data
    assert read_loop(blocks) == read_loop([data] if data else []) == lines_of(data)


# -- the real read loop, with os.read serving chosen blocks --------------------------------------
class FakeProducer:
    def __init__(self, full_first=0):
        self.sent = []
        self.full = full_first  # raise BufferError this many times first

    def produce(self, topic, value, key=None, headers=None, partition=-1, timestamp=0):
        if self.full:
            self.full -= 1
            raise BufferError("queue full")
        self.sent.append((topic, key, value, headers))

    def poll(self, timeout=0):
        return 0

    def __len__(self):
        return 0


class NoClusterErrors:
    """Stands in for the client's error callback object (kafka_cli.client.kafka_errors.ClusterErrors): nothing goes wrong."""

    fatal = None

    def check(self, *args):
        pass


class NoProgress:
    def update(self, count):
        pass

    def clear(self):
        pass


def run_loop(blocks, records, skip_bad_lines=False, fake=None, max_bytes=1_000_000):
    """produce_loop.read_and_produce over `blocks` (what each os.read returns), with a fake producer;
    returns ((sent, bad line), the fake, the skipped lines, the Delivery)."""
    fake = FakeProducer() if fake is None else fake  # (a FakeProducer is falsy: len() == 0)
    read_fd, write_fd = os.pipe()
    queue = list(blocks)
    real_read = os.read

    def fake_read(fd, size):
        if fd != read_fd:
            return real_read(fd, size)
        assert size == produce_loop.READ_BLOCK
        return queue.pop(0) if queue else b""

    class Stdin:
        def fileno(self):
            return read_fd

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(produce_loop.os, "read", fake_read)
        mp.setattr(produce_loop, "wait_readable", lambda *args: True)
        try:
            delivery = Delivery(NoClusterErrors(), max_bytes, StopSignals())
            options = producer.ProducerOptions(topic="t", records=records, skip_bad_lines=skip_bad_lines,
                                               timeout=1.0, progress=NoProgress(), stdin=Stdin())
            sent, bad, skipped = produce_loop.read_and_produce(fake, options, delivery,
                                                               logging.getLogger("test.producer"))
        finally:
            os.close(read_fd)
            os.close(write_fd)
    return (sent, bad), fake, skipped, delivery


def run_read_and_produce(blocks, parser, skip_bad_lines=False, fake=None, max_bytes=1_000_000):
    """run_loop for text lines: ((sent, bad line), [(key, value)] produced, skipped)."""
    result, fake, skipped, run_read_and_produce.delivery = run_loop(blocks, parser, skip_bad_lines, fake, max_bytes)
    return result, [(key, value) for _, key, value, _ in fake.sent], skipped


@given(data=stream, points=st.lists(st.integers(min_value=0), max_size=20))
def test_read_and_produce_sends_every_nonempty_line_whatever_the_blocks(data, points):
    (sent, bad), messages, _ = run_read_and_produce(cut(data, points), LineParser(b":", True))
    expected = [line for line in lines_of(data) if line]
    assert messages == [(None, line) for line in expected]
    assert (sent, bad) == (len(expected), None)


def test_read_and_produce_stops_at_a_line_without_separator():
    (sent, bad), messages, _ = run_read_and_produce([b"a:1\n\nb:", b"2\nnosep\nc:3\n"], LineParser(b":", False))
    assert messages == [(b"a", b"1"), (b"b", b"2")]
    assert (sent, bad) == (2, 4)  # line 4: the empty line 2 still counts as a line


def test_read_and_produce_skips_lines_without_separator_when_asked():
    (sent, bad), messages, skipped = run_read_and_produce([b"a:1\nx\r\nb:2\ny"], LineParser(b":", False),
                                                          skip_bad_lines=True)
    assert messages == [(b"a", b"1"), (b"b", b"2")]
    assert (sent, bad, skipped) == (2, None, [2, 4])


def test_read_and_produce_retries_when_the_queue_is_full():
    fake = FakeProducer(full_first=3)
    (sent, bad), messages, _ = run_read_and_produce([b"a:1\nb:2\n"], LineParser(b":", False), fake=fake)
    assert messages == [(b"a", b"1"), (b"b", b"2")]
    assert (sent, bad) == (2, None)
    assert fake.full == 0


@pytest.mark.parametrize("block", [b"a:1\n", b"a:1\r\n"])  # the fast path, and line by line
def test_read_and_produce_passes_headers(block):
    fake = FakeProducer()
    run_read_and_produce([block], LineParser(b":", False, headers=[("h", b"v")]), fake=fake)
    assert fake.sent == [("t", b"a", b"1", [("h", b"v")])]


# -- LineParser ---------------------------------------------------------------------------------
@pytest.mark.parametrize("separator, line, parsed", [
    (b":", b"k:v", (b"k", b"v")),
    (b":", b"k:v:w", (b"k", b"v:w")),          # first occurrence only
    (b":", b"k:", (b"k", b"")),
    (b":", b":v", (None, b"v")),               # empty key: no key
    (b":", b":", (None, b"")),
    (b":", b"::v", (None, b":v")),
    (b":", b"no separator", None),
    (b":", b"k|v", None),
    (b"|", b"k|v:w", (b"k", b"v:w")),
    (b"::", b"k::v::w", (b"k", b"v::w")),
    (b"::", b"k:v", None),
    (b"::", b"a:::v", (b"a", b":v")),          # the first "::" starts right after "a"
    ("→".encode(), "ключ→значение→".encode(), ("ключ".encode(), "значение→".encode())),
    ("→".encode(), "k\u2192".encode()[:-1] + b"v", None),  # part of the separator's bytes is no separator
    (b"\t", b"k\tv\tw", (b"k", b"v\tw")),
    (b":", b"\xff\x00:\x00\xfe", (b"\xff\x00", b"\x00\xfe")),
])
def test_line_parser(separator, line, parsed):
    assert key_value(LineParser(separator, no_key=False), line) == parsed


@pytest.mark.parametrize("line", [b"k:v", b"no separator", b":", b"\xff"])
def test_line_parser_no_key_takes_the_whole_line(line):
    assert LineParser(b":", no_key=True).parse(line) == (None, line, None, -1, 0)


separators = st.sampled_from([b":", b"|", b",", b"\t", b"\x00", b"\xff", b"::", b"=>", "→".encode(), b"--sep--"])
no_newline = st.binary(max_size=50).map(lambda b: b.replace(b"\n", b""))


@given(separator=separators, key=no_newline, value=no_newline)
@example(separator=b":", key=b"", value=b"")
@example(separator=b"::", key=b"a", value=b"::")
def test_key_and_value_survive_joining_and_parsing(separator, key, value):
    # The key must not hold the separator; with a multi-byte one, nor end in a prefix that makes one.
    assume((key + separator).find(separator) == len(key))
    assert key_value(LineParser(separator, no_key=False), key + separator + value) == (key or None, value)


@given(separator=separators, key=no_newline, value=no_newline)
def test_key_and_value_survive_a_line_through_split_lines(separator, key, value):
    assume((key + separator).find(separator) == len(key))
    assume(not value.endswith(b"\r"))  # \r\n is a line ending: a value's own final \r is lost
    lines, rest = split_lines(key + separator + value + b"\n")
    assert rest == b""
    assert [key_value(LineParser(separator, no_key=False), line) for line in lines] == [(key or None, value)]


@given(data=stream, points=st.lists(st.integers(min_value=0), max_size=20))
def test_read_and_produce_splits_each_line_as_line_parser_does(data, points):
    """The hot loop inlines LineParser.parse; both must give the same (key, value) for every line."""
    parser = LineParser(b":", False)
    _, messages, skipped = run_read_and_produce(cut(data, points), parser, skip_bad_lines=True)
    parsed = [key_value(parser, line) for line in lines_of(data) if line]
    assert messages == [p for p in parsed if p is not None]
    assert len(skipped) == parsed.count(None)


# -- InputLines: bounded memory for lines too long to send ---------------------------------------------------
@given(data=stream, points=st.lists(st.integers(min_value=0), max_size=20), limit=st.integers(1, 40),
       separator=st.sampled_from([b":", b"::", None]))
@example(data=b"k:" + b"x" * 100 + b"\r\nnext:1\n", points=[10, 50], limit=20, separator=b":")
def test_too_long_lines_are_counted_not_kept(data, points, limit, separator):
    """Every line comes whole, or (if it outgrew the limit while unfinished) as a TooLong of the same size."""
    got = read_loop(cut(data, points), limit, separator)
    expected = lines_of(data)
    assert len(got) == len(expected)
    for item, line in zip(got, expected):
        if isinstance(item, TooLong):
            assert item.line_size == len(line) and len(line) > limit
            key, found, value = line.partition(separator) if separator else (b"", b"", line)
            assert item.value_size == (len(value) if found else len(line))
        else:
            assert item == line


def test_a_huge_line_without_newline_is_skipped_in_linear_time_and_bounded_memory():
    reader = InputLines(1000, b":")
    block = b"\0" * 65536
    for _ in range(4096):  # 256 MiB through, never more than the limit kept
        assert feed(reader, block) == ([], None)
        assert len(reader.rest) <= reader.cap
    lines, too_long = feed(reader, b"tail\nk:v\n")
    assert lines == [b"k:v"] and too_long.line_size == 4096 * 65536 + 4 and too_long.value_size == too_long.line_size
    assert feed(reader, b"") == ([], None)


def test_read_and_produce_reports_a_too_long_line_with_its_number_and_goes_on():
    fake = FakeProducer()
    (sent, bad), messages, _ = run_read_and_produce([b"a:1\nb:" + b"x" * 1200, b"x" * 200 + b"\r\nc:3\n"],
                                                    LineParser(b":", False), fake=fake, max_bytes=1000)
    assert messages == [(b"a", b"1"), (b"c", b"3")]
    assert (sent, bad) == (3, None)
    assert run_read_and_produce.delivery.failed == 1
    assert run_read_and_produce.delivery.first_reason.startswith(
        "line 2: message of 1,400 bytes is larger than the limit of 1,000 bytes (message.max.bytes)")


@given(data=stream, points=st.lists(st.integers(min_value=0), max_size=20),
       nulls=st.sampled_from([frozenset([b""]), frozenset([b"v"]), frozenset([b"", b"k:v"])]))
def test_read_and_produce_sends_null_values_as_line_parser_does(data, points, nulls):
    parser = LineParser(b":", False, nulls)
    _, messages, _ = run_read_and_produce(cut(data, points), parser, skip_bad_lines=True)
    assert messages == [p for p in (key_value(parser, line) for line in lines_of(data) if line) if p is not None]
