"""Consumer output: how one message becomes one line of bytes, in each --format.

Each format is built once from the options (a factory returning a function) and then only applied per
message; adding a format means adding a factory here and an entry in FORMATS, not touching the loop.
"""

import base64
from datetime import datetime, timezone
from json.encoder import encode_basestring as encode_json_string


def format_text(separator):
    newline = b"\n"

    def text(msg):
        return (msg.key() or b"") + separator + (msg.value() or b"") + newline
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
        return encode_json_string(data.decode("utf-8"))
    except UnicodeDecodeError:
        return '{"base64":"%s"}' % base64.b64encode(data).decode("ascii")


def format_json(separator):
    topics = {}  # topic name -> its JSON text

    def as_json(msg):
        topic = msg.topic()
        if topic not in topics:
            topics[topic] = encode_json_string(topic)
        ts_type, ts = msg.timestamp()
        headers = msg.headers()
        header_text = ("[" + ",".join("[%s,%s]" % (encode_json_string(name), json_text(value))
                                      for name, value in headers) + "]") if headers else "[]"
        line = '{"topic":%s,"partition":%d,"offset":%d,"timestamp":%s,"key":%s,"value":%s,"headers":%s}\n' % (
            topics[topic], msg.partition(), msg.offset(), ts if ts_type else "null",
            json_text(msg.key()), json_text(msg.value()), header_text)
        return line.encode("utf-8", "surrogateescape")
    return as_json


def for_people(data):
    """One line of text for any bytes: backslashes doubled first, so an escape is never ambiguous."""
    if data is None:
        return "null"
    return (data.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")
            .replace("\n", "\\n").replace("\r", "\\r").replace("\x1b", "\\x1b"))


def format_verbose(separator):
    def verbose(msg):
        ts_type, ts = msg.timestamp()
        when = (datetime.fromtimestamp(ts / 1000, timezone.utc).isoformat(timespec="milliseconds")
                .replace("+00:00", "Z") if ts_type else "-")
        line = (f"{msg.topic()} [{msg.partition()}] @ {msg.offset()}  {when}  "
                f"key={for_people(msg.key())}  value={for_people(msg.value())}")
        headers = msg.headers()
        if headers:
            line += "  headers: " + ", ".join(f"{for_people(name.encode('utf-8', 'surrogateescape'))}={for_people(value)}"
                                         for name, value in headers)
        return (line + "\n").encode("utf-8", "backslashreplace")
    return verbose


FORMATS = {"text": format_text, "json": format_json, "verbose": format_verbose}
