"""Consumer output: how one message becomes one line of bytes, in each --format.

Each format is built once from the run's Style (a factory returning a function) and then only applied per
message; adding a format means adding a factory here and an entry in FORMATS, not touching the loop.
Every format prints every message Kafka can hold: any bytes anywhere, null key or value, no headers, header
names that are not UTF-8, timestamps of any value or none.
"""

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from itertools import groupby, repeat
from operator import methodcaller

from .escaping import NOT_RAW_IN_JSON, RAW_IN_JSON, for_terminal, json_safe, json_safe_but_del, printable

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


def read_headers(msg, style):
    """The headers as a list, or None when confluent-kafka cannot read them (a name that is not UTF-8:
    Message.headers() raises, and there is no other way to the raw names)."""
    try:
        return msg.headers() or []
    except (SystemError, UnicodeError, ValueError):
        warn_unreadable(msg, style)
        return None


def warn_unreadable(msg, style):
    if style.warn:
        style.warn(f"{msg.topic()} [{msg.partition()}] @ {msg.offset()}: a header name is not UTF-8, which "
                   "confluent-kafka cannot read; the message is shown with its headers marked unreadable")


def format_text(style):
    separator, null, newline = style.separator, style.null_marker, b"\n"
    if style.terminal:
        def text_on_terminal(msg):
            key, value = msg.key(), msg.value()
            return ((null if key is None else for_terminal(key)) + separator
                    + (null if value is None else for_terminal(value)) + newline)
        return text_on_terminal

    def text(msg):
        key, value = msg.key(), msg.value()
        return (null if key is None else key) + separator + (null if value is None else value) + newline
    return text


def json_bytes(data):
    """A JSON string for UTF-8 bytes, {"base64": ...} for anything else, null for null."""
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def json_text(data):
    """json_bytes(data) as JSON text, written out directly: this runs for every key and value."""
    if data is None:
        return "null"
    try:
        text = encode_json_string(data.decode("utf-8"))
    except UnicodeDecodeError:
        return '{"base64":"%s"}' % base64.b64encode(data).decode("ascii")
    # DEL, and the UTF-8 lead bytes of U+0080-U+009F (C2) and U+2028-U+2069 (E2): three memchr scans of
    # the bytes skip the character search for nearly all data, accented text included.
    if b"\xc2" in data or b"\xe2" in data or b"\x7f" in data:
        return json_safe(text)
    return text


UNREADABLE_HEADERS_JSON = '{"unreadable":"a header name is not UTF-8"}'


def format_json(style):
    topics = {}  # topic name -> its JSON text

    def as_json(msg):
        topic = msg.topic()
        if topic not in topics:
            topics[topic] = encode_json_string(topic)
        ts_type, ts = msg.timestamp()
        header_text = "[]"
        try:  # not read_headers(): this runs for every message, and most have no headers
            headers = msg.headers()
        except (SystemError, UnicodeError, ValueError):
            warn_unreadable(msg, style)
            headers, header_text = None, UNREADABLE_HEADERS_JSON
        if headers:
            header_text = "[" + ",".join("[%s,%s]" % (json_safe(encode_json_string(name)), json_text(value))
                                         for name, value in headers) + "]"
        line = '{"topic":%s,"partition":%d,"offset":%d,"timestamp":%s,"key":%s,"value":%s,"headers":%s}\n' % (
            topics[topic], msg.partition(), msg.offset(), ts if ts_type else "null",
            json_text(msg.key()), json_text(msg.value()), header_text)
        return line.encode("utf-8", "surrogateescape")
    return as_json


# -- json, a batch at a time ----------------------------------------------------------------------------
# The loop hands the renderer up to 2000 messages at once. format_json costs about 2 us of Python per message;
# here each field is read for the whole batch by C-level map(), the keys (and the values) are checked for bytes
# to escape over their joined bytes, and the batch's output is one bytes.join() over the pieces of all its
# lines, laid out by slice assignment. No call formats anything per message (a bytes % costs more than the rest
# of a line): offsets come from a table of texts (a run of consecutive ones) and timestamps from a cache, one
# lookup per run of equal ones (messages written together share theirs). Same bytes as format_json, message
# for message (tests/unit/test_json_batch.py holds it to that on generated batches).
_UNREADABLE = object()  # in a batch's headers column: that message's header names could not be read


class _Methods:
    """The messages' methods, to map over a batch: confluent-kafka's Message's own (a C call each, which would
    raise TypeError for any other type: no need to check the whole batch), else called by name (test doubles)."""

    def __init__(self, batch):
        kind = type(batch[0])
        self.kind = kind if kind.__module__ == "confluent_kafka.cimpl" else None

    def __getattr__(self, name):
        return getattr(self.kind, name) if self.kind else methodcaller(name)


class _TopicTexts(dict):
    """topic name -> its JSON string as bytes, made on first sight."""

    def __missing__(self, topic):
        text = self[topic] = encode_json_string(topic).encode("utf-8", "surrogateescape")
        return text


class _StampTexts(dict):
    """(timestamp type, ms) -> the timestamp's JSON text and the piece of the line after it (`after`), as bytes.
    Messages written together share their timestamp, so a batch of 2,000 has a few distinct ones: a lookup is
    cheaper than formatting each."""

    def __init__(self, after):
        super().__init__()
        self.after = after

    def __missing__(self, timestamp):
        kind, stamp = timestamp
        text = self[timestamp] = (b"%d" % stamp if kind else b"null") + self.after  # NOT_AVAILABLE: null
        return text


_STAMPS_KEPT = 10_000  # beyond that many distinct timestamps the texts are made afresh
_AFTER_OFFSET = b',"timestamp":'
_OFFSET_TEXT = b"%d" + _AFTER_OFFSET
# From this many consecutive offsets of one partition on, their texts come from the tables below: fewer would
# not pay for making the tables (a -n 1 run never does)
_TABLE_FROM = 64


@lru_cache(maxsize=None)
def _offset_tables():
    """The texts of 0-999 with what follows an offset: bare (offsets below 1000), and padded to three digits
    (behind the thousands, which a run's start carries)."""
    return ([b"%d" % units + _AFTER_OFFSET for units in range(1000)],
            [b"%03d" % units + _AFTER_OFFSET for units in range(1000)])


def json_strings(column):
    """(texts, quote): the JSON text of each key (or value) of a batch as bytes, or the insides of JSON strings
    (quote b'"'), or None when every one is null."""
    if len(column[0] or b"") >= LARGE_ITEM:
        has_null = None in column
        if not has_null and _each_as_is(column):
            return column, b'"'
    else:
        try:
            blob = b" ".join(column)  # an ASCII separator: the whole is valid UTF-8 exactly when every part is
        except TypeError:  # a null among them (cheaper than column.count(None) when there is none)
            if column.count(None) == len(column):
                return None, b""
            has_null = True
        else:
            # one memchr() pass per byte that needs a closer look: fewer instructions than a translate()
            if not any(map(blob.__contains__, NOT_RAW_IN_JSON)) and (blob.isascii() or _is_utf8(blob)):
                return column, b'"'  # nothing to escape: the bytes are their JSON string's insides
            has_null = False
    insides = None if has_null else _escaped_together(column)
    if insides is not None:
        return insides, b'"'
    return [json_text(data).encode("utf-8", "surrogateescape") for data in column], b""


# From this size of the first item on, a batch's items are looked at one by one: joining 2,000 items of 10 KB
# would copy 20 MB only to look at them, and 37 memchr() passes over 20 MB no longer run from the cache (a
# translate() deleting every byte that stands for itself is one pass). Below it, one look at all of them
# joined saves a call per item.
LARGE_ITEM = 1024
_RAW_DELETED = methodcaller("translate", None, RAW_IN_JSON)


def _each_as_is(column):
    """True when every item (bytes) is valid UTF-8 and holds nothing to escape in a JSON string."""
    return not any(map(_RAW_DELETED, column)) and (all(map(bytes.isascii, column)) or all(map(_is_utf8, column)))


def _is_utf8(blob):
    try:
        blob.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _escaped_together(column):
    """The insides of each item's JSON string, escaped in one call over all of them joined by DEL (which the
    JSON encoder keeps as it is); None when an item holds a DEL itself or is not UTF-8."""
    blob = b"\x7f".join(column)
    if blob.count(b"\x7f") != len(column) - 1:
        return None
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return None
    insides = json_safe_but_del(encode_json_string(text)).encode("utf-8").split(b"\x7f")
    insides[0] = insides[0][1:]  # the quotes around the whole (one after the other: a batch of one has both)
    insides[-1] = insides[-1][:-1]
    return insides


def batch_headers(batch, headers, style):
    """Each message's headers (a list or None), _UNREADABLE for one whose header names cannot be read."""
    result = []
    messages = iter(batch)
    while True:
        try:
            result.extend(map(headers, messages))  # stops at a message whose headers() raises
            return result
        except (SystemError, UnicodeError, ValueError):
            warn_unreadable(batch[len(result)], style)  # headers() is not called twice: a second call returns []
            result.append(_UNREADABLE)


def headers_json(headers):
    """The headers' JSON text as bytes."""
    if headers is _UNREADABLE:
        return UNREADABLE_HEADERS_JSON.encode()
    if not headers:
        return b"[]"
    return ("[" + ",".join("[%s,%s]" % (json_safe(encode_json_string(name)), json_text(value))
                           for name, value in headers) + "]").encode("utf-8", "surrogateescape")


def after_timestamp(keys, key_quote, values, value_quote, header_texts):
    """The pieces of each line after its timestamp: constants (bytes, adjacent ones merged) and columns (lists
    of n texts). The first is always a constant."""
    pieces = [b',"key":']

    def constant(text):
        if isinstance(pieces[-1], bytes):
            pieces[-1] += text
        else:
            pieces.append(text)

    for texts, quote, after in ((keys, key_quote, b',"value":'), (values, value_quote, b',"headers":')):
        if texts is None:
            constant(b"null" + after)
        else:
            constant(quote)
            pieces.append(texts)
            constant(quote + after)
    if header_texts is None:
        constant(b"[]}\n")
    else:
        pieces.append(header_texts)
        constant(b"}\n")
    return pieces


def partition_runs(topics, partitions):
    """(topic, partition, first index, end index) of each run of one partition's messages in a batch (librdkafka
    hands over a partition's fetched messages together: nearly always one or two runs). `topics` is the topic's
    name when the run reads one topic only (no message was asked for its topic), else each message's."""
    n = len(partitions)
    if not isinstance(topics, str) and topics.count(topics[0]) == n:
        topics = topics[0]
    if isinstance(topics, str):
        if partitions.count(partitions[0]) == n:
            return [(topics, partitions[0], 0, n)]
        keyed = groupby(partitions)
    else:
        keyed = groupby(zip(topics, partitions))
    runs, first = [], 0
    for key, run in keyed:
        end = first + len(list(run))
        runs.append((topics, key, first, end) if isinstance(topics, str) else (*key, first, end))
        first = end
    return runs


def lay_out_run(out, width, first, lead, offsets):
    """Put each line's lead (what comes before its offset, behind the end of the line before it) and its offset
    with what follows into `out` (width pieces a line) for one partition's run of messages from index `first`."""
    count = len(offsets)
    at = width * first
    low = offsets[0]
    # Consecutive offsets (checked one by one, not assumed: compaction and transaction markers leave gaps) take
    # their texts from the tables, a thousand at most at a time, the thousands written once into the lead.
    if count >= _TABLE_FROM and low >= 0 and offsets == list(range(low, low + count)):
        bare, padded = _offset_tables()
        done = 0
        while done < count:
            thousands, units = divmod(low + done, 1000)
            step = min(count - done, 1000 - units)
            begin, end = at + width * done, at + width * (done + step)
            out[begin:end:width] = repeat(lead + b"%d" % thousands if thousands else lead, step)
            out[begin + 1:end:width] = (padded if thousands else bare)[units:units + step]
            done += step
    else:
        end = at + width * count
        out[at:end:width] = repeat(lead, count)
        out[at + 1:end:width] = map(_OFFSET_TEXT.__mod__, offsets)


_STAMP_RUNS = 32  # runs of one timestamp taken at most per batch; the rest is looked up message by message


def lay_out_timestamps(out, width, texts, timestamps):
    """Put each message's timestamp text (with what follows it) into `out`, at 2 of each line's width pieces.
    Messages written together share their timestamp and come one after the other: one lookup a run of equal
    ones instead of one (a tuple hashed and compared) for each message."""
    done = 0
    for runs, (timestamp, run) in enumerate(groupby(timestamps)):
        if runs == _STAMP_RUNS:  # timestamps that change often (slow writers, many producers)
            out[2 + width * done::width] = map(texts.__getitem__, timestamps[done:])
            return
        end = done + len(list(run))
        out[2 + width * done:2 + width * end:width] = repeat(texts[timestamp], end - done)
        done = end


def format_json_batch(style):
    """format_json for a whole batch: the Lines of its messages that have no error()."""
    topic_texts, stamp_texts, starts = _TopicTexts(), {}, {}

    def start_of(topic, partition):
        start = starts.get((topic, partition))
        if start is None:
            start = starts[topic, partition] = b'{"topic":%s,"partition":%d,"offset":' % (topic_texts[topic], partition)
        return start

    def as_json_lines(batch):
        if not batch:
            return Lines(b"", 0)
        message = _Methods(batch)
        errors = list(map(message.error, batch))
        if any(errors):  # a KafkaError is always true (and errors.count(None) would raise: KafkaError == None)
            batch = [msg for msg, error in zip(batch, errors) if error is None]
            if not batch:
                return Lines(b"", 0)
        n = len(batch)
        headers = batch_headers(batch, message.headers, style)
        keys, key_quote = json_strings(list(map(message.key, batch)))
        values, value_quote = json_strings(list(map(message.value, batch)))
        pieces = after_timestamp(keys, key_quote, values, value_quote,
                                 list(map(headers_json, headers)) if any(headers) else None)
        # no column after the timestamp (null keys and values, no headers): the line ends in its timestamp's text
        after_stamp, rest, line_end = pieces[0], pieces[1:-1], pieces[-1] if len(pieces) > 1 else b""
        stamps = stamp_texts.get(after_stamp)
        if stamps is None or len(stamps) > _STAMPS_KEPT:
            stamps = stamp_texts[after_stamp] = _StampTexts(after_stamp)
        # Each line's pieces: its lead (the end of the line before it, then the start of its own up to the
        # offset), offset, timestamp, and the rest up to its end; the last line's end is the last piece.
        width = 3 + len(rest)
        out = [line_end] * (width * n + 1)
        lay_out_timestamps(out, width, stamps, list(map(message.timestamp, batch)))
        for place, piece in enumerate(rest, 3):
            out[place::width] = repeat(piece, n) if isinstance(piece, bytes) else piece
        offsets = list(map(message.offset, batch))
        topics = style.only_topic or list(map(message.topic, batch))
        for topic, partition, first, end in partition_runs(topics, list(map(message.partition, batch))):
            lay_out_run(out, width, first, line_end + start_of(topic, partition), offsets[first:end])
        out[0] = out[0][len(line_end):]
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


FORMATS = {"text": format_text, "json": format_json, "verbose": format_verbose}


def one_by_one(render):
    """A batch renderer from a one-message renderer."""
    def each(batch):
        return Lines.of([render(msg) for msg in batch if msg.error() is None])
    return each


BATCH_FORMATS = {format_json: format_json_batch}  # formats with their own batch renderer


def batch_renderer(factory, style):
    """batch of messages -> their Lines (one per message without error()), for a format's factory."""
    if factory in BATCH_FORMATS:
        return BATCH_FORMATS[factory](style)
    return one_by_one(factory(style))
