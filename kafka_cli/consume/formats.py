"""Consumer output: how a batch of messages becomes their lines of bytes, in each --format.

Each format is a factory in FORMATS, built once from the run's Style into a function from a batch of messages to
their Lines; adding a format means adding a factory here and an entry in FORMATS, not touching the loop. A
format whose lines are made one message at a time (verbose, -F) wraps its one-message renderer in one_by_one.
Every format prints every message Kafka can hold: any bytes anywhere, null key or value, no headers, header
names that are not UTF-8, timestamps of any value or none.
"""

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from itertools import groupby, repeat
from operator import methodcaller

from kafka_cli.core.escaping import for_terminal, json_safe, printable

try:  # json.encoder's encode_basestring itself, without importing the json package (its decoder) at start-up
    from _json import encode_basestring as encode_json_string
except ImportError:  # an interpreter without the C accelerator
    from json.encoder import encode_basestring as encode_json_string

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
NO_TIMESTAMP = -1  # Kafka's own marker for "no timestamp", whatever the timestamp type says


@dataclass(frozen=True)
class Style:
    """How message data is shown, the same for every message of a run (decided once in main())."""

    separator: bytes = b":"  # between key and value in text
    null_marker: bytes = b""  # a null key or value in text and -F
    terminal: bool = False  # stdout is a terminal: nothing from the data may control it
    warn: object = None  # called with a sentence when a part of a message cannot be shown
    only_topic: str = None  # the one topic a run reads, when it names exactly one: no need to ask each message


class Lines:
    """A batch's output: the lines of its messages that have no error(), joined, and how many they are."""

    __slots__ = ("data", "count", "_each")

    def __init__(self, data, count, each=None):
        self.data, self.count, self._each = data, count, each  # each: the lines, when one may hold a b"\n"

    @classmethod
    def of(cls, lines):
        return cls(b"".join(lines), len(lines), lines)

    def whole_in(self, written):
        """How many lines lie whole in data[:written] (a write to stdout that stopped part way)."""
        if self._each is None:  # every line ends at its only b"\n": JSON writes the data's newlines as \n
            return self.data.count(b"\n", 0, written)
        complete = end = 0
        for line in self._each:
            end += len(line)
            if end > written:
                break
            complete += 1
        return complete


# Message.headers() raises (a SystemError) for a header name that is not UTF-8, and there is no other way to the raw
# names. A second call on that message returns a list holding a NULL, which crashes the process when touched
# (confluent-kafka 2.x): so the first failure puts this very list on the message (set_headers), and every later
# call, by any renderer or by the schema step, returns it. Told by identity, never by its contents.
_UNREADABLE = [("(header names that are not UTF-8)", None)]


def headers_of(msg):
    """`msg.headers()` (None: no headers), or _UNREADABLE, marked on the message, when its names cannot be read."""
    try:
        return msg.headers()
    except (SystemError, UnicodeError, ValueError):
        msg.set_headers(_UNREADABLE)
        return _UNREADABLE


def read_headers(msg, style):
    """The headers as a list, or None (said once) when confluent-kafka cannot read them."""
    headers = headers_of(msg)
    if headers is _UNREADABLE:
        warn_unreadable(msg, style)
        return None
    return headers or []


def place(msg):
    """Where a message is, as every warning about one names it: topic [partition] @ offset."""
    return f"{msg.topic()} [{msg.partition()}] @ {msg.offset()}"


def warn_unreadable(msg, style):
    if style.warn:
        style.warn(f"{place(msg)}: a header name is not UTF-8, which confluent-kafka cannot read; the message is "
                   "shown with its headers marked unreadable")


def json_text(data):
    """A key or value as JSON text: a string for UTF-8 bytes, {"base64": ...} for anything else, null for null;
    written out directly, since this runs for every key and value."""
    if data is None:
        return "null"
    try:
        text = encode_json_string(data.decode("utf-8"))
    except UnicodeDecodeError:
        return '{"base64":"%s"}' % base64.b64encode(data).decode("ascii")
    return json_safe(text)  # DEL, C1, the line separators and the format characters as \uXXXX


UNREADABLE_HEADERS_JSON = '{"unreadable":"a header name is not UTF-8"}'


def format_json(style):
    """One message as -f json's line. The reference for format_json_batch, which the consumer runs (the tests
    hold the two to the same bytes); also what tests compare -f json's records with."""
    topics = {}  # topic name -> its JSON text

    def as_json(msg):
        topic = msg.topic()
        if topic not in topics:
            topics[topic] = encode_json_string(topic)
        ts_type, ts = msg.timestamp()
        headers = headers_of(msg)  # not read_headers(): an empty list and None both mean no headers here
        if headers is _UNREADABLE:
            warn_unreadable(msg, style)
        line = '{"topic":%s,"partition":%d,"offset":%d,"timestamp":%s,"key":%s,"value":%s,"headers":%s}\n' % (
            topics[topic], msg.partition(), msg.offset(), ts if ts_type else "null",
            json_text(msg.key()), json_text(msg.value()), headers_json(headers))
        return line.encode("utf-8", "surrogateescape")
    return as_json


# -- the batch renderers ---------------------------------------------------------------------------------
# The loop hands a renderer up to 2,000 messages at once (the Lines of those without error()). Python's cost is
# per call, so the renderers make as few calls per message as they can.
def format_text_batch(style):
    """-f text: KEY<separator>VALUE lines; a null key or value shows the null marker; on a terminal the data
    is escaped (escaping.for_terminal), to a pipe or a file it is written byte for byte."""
    separator = style.separator
    if not style.terminal and not style.null_marker:  # the default, so the hot path: one expression a message
        def plain(batch):
            return Lines.of([(msg.key() or b"") + separator + (msg.value() or b"") + b"\n"
                             for msg in batch if msg.error() is None])
        return plain
    null, show = style.null_marker, for_terminal if style.terminal else bytes

    def as_text(data):
        return null if data is None else show(data)

    def marked(batch):
        return Lines.of([as_text(msg.key()) + separator + as_text(msg.value()) + b"\n"
                         for msg in batch if msg.error() is None])
    return marked


# -f json. format_json costs about 2 us of Python a message. Here each field of a batch is read for all its
# messages by a C-level map(), and the output is one bytes.join() over a list holding the pieces of every line,
# `width` pieces a line, each piece put into its place in all the lines at once by a strided slice assignment:
#   line start (topic, partition, the thousands of the offset) | offset | timestamp | key, value, headers, end
# No number is formatted per message, because turning an int into text costs more than the rest of a line: the
# messages of one partition come in runs of consecutive offsets, whose texts are the thousands (once per block
# of a thousand, in the line start) and a slice of a table of the texts of 0-999 (offsets with gaps are
# formatted one by one); a timestamp's text is made once, and looked up once per run of equal ones (messages
# written together share theirs). A column of keys (or values) that is all plain printable ASCII, as nearly
# every key and most values are, is its own JSON strings' insides: one translate() over the joined column
# tells (one per item from LARGE_ITEM on); any other column is written item by item by json_text. The bytes
# are format_json's, message for message (tests/unit/test_json_batch.py holds them to that).
_PLAIN_IN_JSON = bytes(byte for byte in range(0x20, 0x7F) if byte not in b'"\\')  # stand for themselves
_AFTER_OFFSET = b',"timestamp":'
_OFFSET_TEXT = b"%d" + _AFTER_OFFSET


@lru_cache(maxsize=None)
def _offset_tables():
    """The texts of 0-999 with what follows an offset: bare (below 1000) and padded to three digits (after
    the thousands)."""
    return ([b"%d" % units + _AFTER_OFFSET for units in range(1000)],
            [b"%03d" % units + _AFTER_OFFSET for units in range(1000)])


class _Methods:
    """The messages' methods, to map over a batch: confluent-kafka's Message's own (a C call each, which would
    raise TypeError for any other type: no need to check the whole batch), else called by name (test doubles)."""

    def __init__(self, batch):
        kind = type(batch[0])
        self.kind = kind if kind.__module__ == "confluent_kafka.cimpl" else None

    def __getattr__(self, name):
        return getattr(self.kind, name) if self.kind else methodcaller(name)


class _Texts(dict):
    """A cache of texts: key -> make(key), made on first sight; emptied when it grows past `limit` entries."""

    def __init__(self, make, limit=10_000):
        super().__init__()
        self.make, self.limit = make, limit

    def __missing__(self, key):
        if len(self) >= self.limit:
            self.clear()
        text = self[key] = self.make(key)
        return text


def _line_start(topic_and_partition):
    topic, partition = topic_and_partition
    return b'{"topic":%s,"partition":%d,"offset":' % (
        encode_json_string(topic).encode("utf-8", "surrogateescape"), partition)


def _timestamp_text(timestamp):
    kind, stamp = timestamp
    return b"%d" % stamp if kind else b"null"  # TIMESTAMP_NOT_AVAILABLE: null


def json_strings(column):
    """(texts, quote) for the keys (or values) of a batch: the insides of their JSON strings as they are, with
    quote b'"', when every one is plain printable ASCII; else each one's JSON text (quote b""); None when
    every one is null."""
    try:
        if _all_plain(column):
            return column, b'"'
    except TypeError:  # a null among them: join() and bytes.translate refuse None (cheaper than looking first)
        if column.count(None) == len(column):
            return None, b""
    return [json_text(data).encode("utf-8", "surrogateescape") for data in column], b""


# From this size of the first item on, the items are looked at one by one: joining 2,000 values of 10 KiB
# would copy 20 MB only to look at them. Below it, one look at all of them joined saves a call per item.
LARGE_ITEM = 1024


def _all_plain(column):
    """True when every item is plain printable ASCII: nothing left once the plain bytes are deleted."""
    if len(column[0]) < LARGE_ITEM:
        return not b"".join(column).translate(None, _PLAIN_IN_JSON)
    return not any(map(bytes.translate, column, repeat(None), repeat(_PLAIN_IN_JSON)))


def batch_headers(batch, headers, style):
    """Each message's headers (a list or None), _UNREADABLE for one whose header names cannot be read."""
    result = []
    messages = iter(batch)
    while True:
        try:
            result.extend(map(headers, messages))  # stops at a message whose headers() raises
            break
        except (SystemError, UnicodeError, ValueError):
            batch[len(result)].set_headers(_UNREADABLE)  # (headers_of says why)
            result.append(_UNREADABLE)
    if _UNREADABLE in result:  # at C speed; the marks put here and those the schema step put before
        for msg, found in zip(batch, result):
            if found is _UNREADABLE:
                warn_unreadable(msg, style)
    return result


def headers_json(headers):
    """The headers' JSON text: [[name, value], ...], or the mark for headers that could not be read."""
    if headers is _UNREADABLE:
        return UNREADABLE_HEADERS_JSON
    if not headers:
        return "[]"
    return "[" + ",".join("[%s,%s]" % (json_safe(encode_json_string(name)), json_text(value))
                          for name, value in headers) + "]"


def after_timestamp(batch, message, style):
    """The pieces of each line after its timestamp: constants (bytes; adjacent ones merged) and columns (lists
    of one text per line)."""
    pieces = [b',"key":']

    def constant(text):
        if isinstance(pieces[-1], bytes):
            pieces[-1] += text
        else:
            pieces.append(text)

    for method, after in ((message.key, b',"value":'), (message.value, b',"headers":')):
        texts, quote = json_strings(list(map(method, batch)))
        if texts is None:
            constant(b"null" + after)
        else:
            constant(quote)
            pieces.append(texts)
            constant(quote + after)
    headers = batch_headers(batch, message.headers, style)
    if any(headers):
        pieces.append([headers_json(h).encode("utf-8", "surrogateescape") for h in headers])
        constant(b"}\n")
    else:
        constant(b"[]}\n")
    return pieces


def partition_runs(topics, partitions):
    """(topic, partition, first index, end index) of each run of one partition's messages in a batch (librdkafka
    hands a partition's messages over together: nearly always one run or a few). `topics` is the name of the
    one topic a run reads (Style.only_topic: no message was asked), else each message's."""
    n = len(partitions)
    if isinstance(topics, str) or topics.count(topics[0]) == n:
        topic = topics if isinstance(topics, str) else topics[0]
        if partitions.count(partitions[0]) == n:
            return [(topic, partitions[0], 0, n)]
        topics = repeat(topic)
    runs, first = [], 0
    for (topic, partition), run in groupby(zip(topics, partitions)):
        end = first + len(list(run))
        runs.append((topic, partition, first, end))
        first = end
    return runs


_STAMP_RUNS = 32  # runs of one timestamp looked up at most per batch; the rest one message at a time


def lay_out_timestamps(out, width, timestamps, texts):
    """Each line's timestamp text, third of its `width` pieces in `out`: looked up once per run of equal ones
    (messages written together share theirs and come one after the other), or, when they keep changing, once
    per message."""
    done = 0
    for number, (stamp, run) in enumerate(groupby(timestamps)):
        if number == _STAMP_RUNS:
            out[2 + width * done::width] = map(texts.__getitem__, timestamps[done:])
            return
        end = done + len(list(run))
        out[2 + width * done:2 + width * end:width] = repeat(texts[stamp], end - done)
        done = end


def lay_out_offsets(out, width, first, start, offsets):
    """Each line's start and its offset (with what follows it), for one partition's run of messages from line
    `first` on. Consecutive offsets (checked, not assumed: compaction and transaction markers leave gaps) take
    their texts from the tables, a block of a thousand at a time, its thousands written into the line start."""
    at, count, low = width * first, len(offsets), offsets[0]
    if low < 0 or offsets != list(range(low, low + count)):
        out[at:at + width * count:width] = repeat(start, count)
        out[at + 1:at + width * count:width] = map(_OFFSET_TEXT.__mod__, offsets)
        return
    bare, padded = _offset_tables()
    done = 0
    while done < count:
        thousands, units = divmod(low + done, 1000)
        step = min(count - done, 1000 - units)
        begin, end = at + width * done, at + width * (done + step)
        out[begin:end:width] = repeat(start + b"%d" % thousands if thousands else start, step)
        out[begin + 1:end:width] = (padded if thousands else bare)[units:units + step]
        done += step


def format_json_batch(style):
    """-f json: the Lines of a batch's messages that have no error(), as format_json writes them."""
    starts, stamps = _Texts(_line_start), _Texts(_timestamp_text)

    def as_json_lines(batch):
        if batch and any(map(_Methods(batch).error, batch)):  # a KafkaError is always true
            batch = [msg for msg in batch if msg.error() is None]
        if not batch:
            return Lines(b"", 0)
        message, n = _Methods(batch), len(batch)
        rest = after_timestamp(batch, message, style)
        width = 3 + len(rest)  # line start, offset, timestamp, the rest
        out = [None] * (width * n)
        lay_out_timestamps(out, width, list(map(message.timestamp, batch)), stamps)
        for place, piece in enumerate(rest, 3):
            out[place::width] = repeat(piece, n) if isinstance(piece, bytes) else piece
        offsets = list(map(message.offset, batch))
        topics = style.only_topic or list(map(message.topic, batch))
        for topic, partition, first, end in partition_runs(topics, list(map(message.partition, batch))):
            lay_out_offsets(out, width, first, starts[topic, partition], offsets[first:end])
        return Lines(b"".join(out), n)
    return as_json_lines


def for_people(data):
    """One line of printable text for any bytes: backslashes doubled first, so an escape is never ambiguous."""
    if data is None:
        return "null"
    return printable(data)


def timestamp_for_people(msg):
    """ISO 8601 in UTC; '-' for none; the raw milliseconds when outside what a date can show."""
    ts_type, ts = msg.timestamp()
    if not ts_type or ts == NO_TIMESTAMP:
        return "-"
    try:
        return (EPOCH + timedelta(milliseconds=ts)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except OverflowError:  # before year 1 or after 9999: Kafka takes any 64-bit value
        return f"{ts} ms"


def headers_for_people(headers):
    if headers is None:
        return "  headers: (unreadable: a header name is not UTF-8)"
    if not headers:
        return ""
    return "  headers: " + ", ".join(f"{for_people(name.encode('utf-8', 'surrogateescape'))}={for_people(value)}"
                                     for name, value in headers)


def format_verbose(style):
    def verbose(msg):
        line = (f"{msg.topic()} [{msg.partition()}] @ {msg.offset()}  {timestamp_for_people(msg)}  "
                f"key={for_people(msg.key())}  value={for_people(msg.value())}"
                + headers_for_people(read_headers(msg, style)))
        return (line + "\n").encode("utf-8", "backslashreplace")
    return verbose


def one_by_one(render):
    """A batch renderer from a one-message renderer: for the formats whose lines are made one at a time."""
    def each(batch):
        return Lines.of([render(msg) for msg in batch if msg.error() is None])
    return each


def format_verbose_batch(style):
    return one_by_one(format_verbose(style))


# -f NAME -> a factory: Style -> (batch of messages -> their Lines)
FORMATS = {"text": format_text_batch, "json": format_json_batch, "verbose": format_verbose_batch}
