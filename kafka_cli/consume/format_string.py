"""consumer.py -F/--format-string: kcat's output tokens (%t %p %o %k %s %S %K %T %h %%, with \\n \\t escapes),
compiled once into a list of parts and applied per message. Safe-terminal rules apply to the data parts."""

from kafka_cli.core.errors import ConfigError
from kafka_cli.core.escaping import for_terminal
from kafka_cli.consume.formats import read_headers
from kafka_cli.core.separators import unescape

TOKENS = {
    "t": "topic", "p": "partition", "o": "offset", "k": "key", "s": "value", "S": "value size in bytes (-1: null)",
    "K": "key size in bytes (-1: null)", "T": "timestamp in ms (-1: none)", "h": "headers as NAME=VALUE,... (NULL: no value)",
    "%": "a percent sign",
}


def _data(part, style):
    """A function showing the key or value: the null marker for null, escaped on a terminal."""
    null, shown = style.null_marker, for_terminal if style.terminal else bytes

    def show(msg):
        data = part(msg)
        return null if data is None else shown(data)
    return show


def _size(part):
    def size(msg):
        data = part(msg)
        return b"-1" if data is None else b"%d" % len(data)
    return size


def _timestamp(msg):
    ts_type, ts = msg.timestamp()
    return b"%d" % (ts if ts_type else -1)


# kcat prints a header without a value as NAME=NULL, whatever -Z or --null-marker say about keys and values
NULL_HEADER = b"NULL"


def _headers(style):
    null, shown = NULL_HEADER, for_terminal if style.terminal else bytes

    def headers(msg):
        found = read_headers(msg, style)
        if found is None:
            return b"(unreadable: a header name is not UTF-8)"
        return b",".join(shown(name.encode("utf-8")) + b"=" + (null if value is None else shown(value))
                         for name, value in found)
    return headers


def _part(token, style):
    makers = {
        "t": lambda: lambda msg: msg.topic().encode(),
        "p": lambda: lambda msg: b"%d" % msg.partition(),
        "o": lambda: lambda msg: b"%d" % msg.offset(),
        "k": lambda: _data(lambda msg: msg.key(), style),
        "s": lambda: _data(lambda msg: msg.value(), style),
        "K": lambda: _size(lambda msg: msg.key()),
        "S": lambda: _size(lambda msg: msg.value()),
        "T": lambda: _timestamp,
        "h": lambda: _headers(style),
    }
    return makers[token]()


def compile_format(template, style):
    """The parts of a -F template: bytes for literal text (escapes resolved), functions for tokens."""
    parts, literal, i = [], "", 0
    while i < len(template):
        char = template[i]
        if char != "%":
            literal += char
            i += 1
            continue
        token = template[i + 1:i + 2]
        if token not in TOKENS:
            shown = ascii("%" + token)[1:-1]  # (a control character typed after % must not reach the terminal raw)
            raise ConfigError(f"-F {template!r}: unknown token {shown} (known: "
                              + " ".join("%" + t for t in TOKENS) + ")")
        if token == "%":
            literal += "%"
        else:
            if literal:
                parts.append(unescape(literal))
            literal = ""
            parts.append(_part(token, style))
        i += 2
    if literal:
        parts.append(unescape(literal))
    return parts


def format_string(template):
    """A format factory like those in formats.FORMATS, for one -F template."""
    def factory(style):
        parts = [part if callable(part) else (lambda msg, text=part: text) for part in compile_format(template, style)]

        def custom(msg):
            return b"".join([part(msg) for part in parts])
        return custom
    return factory
