"""Consumer output: how one message becomes one line of bytes, in each --format.

Each format is built once from the run's Style (a factory returning a function) and then only applied per
message; adding a format means adding a factory here and an entry in FORMATS, not touching the loop.
Every format prints every message Kafka can hold: any bytes anywhere, null key or value, no headers, header
names that are not UTF-8, timestamps of any value or none.
"""

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import repeat
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
# here each field is read for the whole batch by C-level map(), the keys (and the values) are checked in one
# pass over their joined bytes, and C fills one bytes template per message. Same bytes as format_json, message
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
    """(timestamp type, ms) -> the timestamp's JSON text as bytes. Messages written together share their
    timestamp, so a batch of 2,000 has a few distinct ones: a lookup is cheaper than formatting each."""

    def __missing__(self, timestamp):
        kind, stamp = timestamp
        text = self[timestamp] = b"%d" % stamp if kind else b"null"  # TIMESTAMP_NOT_AVAILABLE: null
        return text


_STAMPS_KEPT = 10_000  # beyond that many distinct timestamps the texts are made afresh


_QUOTED, _AS_IS, _NO_HEADERS = b'"%s"', b"%s", b"[]"  # the fields' places in json_template


def json_template(start, key, value, headers):
    """The bytes template of one line: its start (topic and partition, or their places) and the places of the
    other fields: _QUOTED (a column of JSON strings' insides), _AS_IS (of JSON texts), or the text itself when
    it is the same for the whole batch (_NO_HEADERS). The offset is a number, the timestamp a JSON text."""
    return (start + b'"offset":%d,"timestamp":%s,"key":' + key + b',"value":' + value
            + b',"headers":' + headers + b"}\n")


def line_start(topics, partitions, topic_texts):
    """(start of the template, its columns): topic and partition written into the template when the whole batch
    is of one partition (nearly always: librdkafka hands over a partition's fetched messages together).
    `topics` is the topic's name when the run reads one topic only: then no message was asked for its topic."""
    if isinstance(topics, str):
        one_topic, topic = True, topics
    else:
        one_topic, topic = topics.count(topics[0]) == len(topics), topics[0]
    if one_topic and partitions.count(partitions[0]) == len(partitions):
        return (b'{"topic":%s,"partition":%d,' % (topic_texts[topic], partitions[0])).replace(b"%", b"%%"), ()
    texts = repeat(topic_texts[topic], len(partitions)) if isinstance(topics, str) else map(topic_texts.__getitem__, topics)
    return b'{"topic":%s,"partition":%d,', (texts, partitions)


def json_strings(column):
    """(pieces, place in the template): the JSON text of each key (or value) of a batch, as bytes, or the
    insides of JSON strings (place _QUOTED), or nothing when the text is the same for all (null)."""
    if len(column[0] or b"") >= LARGE_ITEM:
        has_null = None in column
        if not has_null and _each_as_is(column):
            return (column,), _QUOTED
    else:
        try:
            blob = b" ".join(column)  # an ASCII separator: the whole is valid UTF-8 exactly when every part is
        except TypeError:  # a null among them (cheaper than column.count(None) when there is none)
            if column.count(None) == len(column):
                return (), b"null"
            has_null = True
        else:
            # one memchr() pass per byte that needs a closer look: fewer instructions than a translate()
            if not any(map(blob.__contains__, NOT_RAW_IN_JSON)) and (blob.isascii() or _is_utf8(blob)):
                return (column,), _QUOTED  # nothing to escape: the bytes are their JSON string's insides
            has_null = False
    insides = None if has_null else _escaped_together(column)
    if insides is not None:
        return (insides,), _QUOTED
    return ([json_text(data).encode("utf-8", "surrogateescape") for data in column],), _AS_IS


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


def format_json_batch(style):
    """format_json for a whole batch: the list of lines of its messages that have no error()."""
    topic_texts, stamp_texts = _TopicTexts(), _StampTexts()

    def as_json_lines(batch):
        if not batch:
            return []
        message = _Methods(batch)
        errors = list(map(message.error, batch))
        if any(errors):  # a KafkaError is always true (and errors.count(None) would raise: KafkaError == None)
            batch = [msg for msg, error in zip(batch, errors) if error is None]
            if not batch:
                return []
        headers = batch_headers(batch, message.headers, style)
        header_texts, header_place = ((list(map(headers_json, headers)),), _AS_IS) if any(headers) else ((), _NO_HEADERS)
        keys, key_place = json_strings(list(map(message.key, batch)))
        values, value_place = json_strings(list(map(message.value, batch)))
        if len(stamp_texts) > _STAMPS_KEPT:
            stamp_texts.clear()
        stamps = map(stamp_texts.__getitem__, map(message.timestamp, batch))
        topics = style.only_topic or list(map(message.topic, batch))
        start, columns = line_start(topics, list(map(message.partition, batch)), topic_texts)
        template = json_template(start, key_place, value_place, header_place)
        return list(map(template.__mod__, zip(*columns, map(message.offset, batch), stamps, *keys, *values,
                                              *header_texts)))
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
        return [render(msg) for msg in batch if msg.error() is None]
    return each


BATCH_FORMATS = {format_json: format_json_batch}  # formats with their own batch renderer


def batch_renderer(factory, style):
    """batch of messages -> list of lines (one per message without error()), for a format's factory."""
    if factory in BATCH_FORMATS:
        return BATCH_FORMATS[factory](style)
    return one_by_one(factory(style))
