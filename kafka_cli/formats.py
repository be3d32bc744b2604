"""Consumer output: how one message becomes one line of bytes, in each --format.

Each format is built once from the run's Style (a factory returning a function) and then only applied per
message; adding a format means adding a factory here and an entry in FORMATS, not touching the loop.
Every format prints every message Kafka can hold: any bytes anywhere, null key or value, no headers, header
names that are not UTF-8, timestamps of any value or none.
"""

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from json.encoder import encode_basestring as encode_json_string

from .escaping import for_terminal, json_safe, printable

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
NO_TIMESTAMP = -1  # Kafka's own marker for "no timestamp", whatever the timestamp type says


@dataclass(frozen=True)
class Style:
    """How message data is shown, the same for every message of a run (decided once in main())."""

    separator: bytes = b":"  # between key and value in text
    null_marker: bytes = b""  # a null key or value in text and -F
    terminal: bool = False  # stdout is a terminal: nothing from the data may control it
    warn: object = None  # called with a sentence when a part of a message cannot be shown


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
