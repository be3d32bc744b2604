"""The click options both scripts take, and the parsing of option values they share
(separators with kcat's escapes, -H NAME=VALUE headers)."""

import os
import re

import click

from .boundary import c_string_problem
from .errors import ConfigError

_ESCAPES = {"t": b"\t", "n": b"\n", "r": b"\r", "0": b"\0", "\\": b"\\"}
_ESCAPE = re.compile(rb"\\(x[0-9A-Fa-f]{2}|.)", re.S)


def unescape(text, option="-K"):
    r"""A separator as bytes, with kcat's escapes: \t \n \xHH, and ours: \r \0 \\ mean the character.
    Any other backslash stays as it is, so a plain '\' or a Windows path still means itself; what
    escapes_problem refuses is a ConfigError naming `option`."""
    problem = escapes_problem(os.fsdecode(text))
    if problem is not None:
        raise ConfigError(f"{option} {ascii(os.fsdecode(text))}: {problem}")

    def replace(match):
        code = match.group(1)
        if code[:1] == b"x":
            return bytes([int(code[1:], 16)])
        return _ESCAPES.get(code.decode("latin-1"), match.group(0))

    return _ESCAPE.sub(replace, os.fsencode(text))


# unescape's reading of a backslash (as _ESCAPE), on text: \xHH, or the one character after it
_BACKSLASH = re.compile(r"\\(x[0-9A-Fa-f]{2}|.)", re.S)


def escapes_problem(text):
    r"""Why unescape cannot turn `text` (-K, --null-marker, -F) into bytes, or None. A \x must be
    followed by two hex digits (kcat's \xHH): unescape would fail on "\xZZ" with a traceback. A lone
    surrogate has no bytes at all; a command line never holds one (its bytes that are not UTF-8 arrive as
    U+DC80-U+DCFF, which turn back into those bytes), but a caller from Python can pass one."""
    for match in _BACKSLASH.finditer(text):
        if match.group(1) == "x":
            return f"\\x at position {match.start()} must be followed by two hex digits (\\xHH), or write \\\\x"
    for at, char in enumerate(text):
        if "\ud800" <= char < "\udc80" or "\udd00" <= char <= "\udfff":
            return f"holds a lone surrogate \\u{ord(char):04x} at position {at}, which has no bytes"
    return None


def parse_headers(items):
    headers = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            shown = item if len(item) <= 60 else item[:60] + "..."
            raise ConfigError(f"-H {shown!r}: expected NAME=VALUE")
        # the name goes to librdkafka as a C string (the value as bytes: any byte is fine there)
        problem = c_string_problem(name)
        if problem is not None:
            raise ConfigError(f"-H {ascii(name)[1:-1][:60]}=...: the header name {problem}")
        headers.append((name, os.fsencode(value)))
    return headers


class ConfigPath(click.Path):
    """CONFIG_FILE: an existing file; when it is missing, the error says how a newcomer makes one."""

    def __init__(self):
        super().__init__(exists=True, dir_okay=False)

    def convert(self, value, param, ctx):
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as e:
            if os.path.lexists(value):
                raise
            example = "config.ini.example"
            if not os.path.exists(example):
                example = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), example)
            e.message += f" Make it from the example and fill it in: cp {example} {value}"
            raise


def common_options(f):
    """CONFIG_FILE, -X, -q, -v: what both scripts take."""
    decorators = [
        click.argument("config_file", type=ConfigPath()),
        click.option("-X", "--property", "properties", multiple=True, metavar="KEY=VALUE",
                     help="Any librdkafka property; overrides the config file. Repeatable."),
        click.option("-q", "--quiet", is_flag=True, help="Print errors only."),
        click.option("-v", "--verbose", count=True,
                     help="More status on stderr; -vv adds librdkafka's debug log."),
    ]
    for decorator in reversed(decorators):
        f = decorator(f)
    return f


def debug_for_verbosity(config, verbosity):
    if verbosity >= 2:
        config.set_default("debug", "broker,topic,msg,protocol,security")


# -h as well as --help, as kcat and most Unix tools take it
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


def version_option(prog):
    """--version: the script's version and the Kafka client it runs on (imported only when asked)."""
    def show(ctx, param, value):
        if not value or ctx.resilient_parsing:
            return
        import confluent_kafka

        from . import __version__

        click.echo(f"{prog} {__version__} (confluent-kafka {confluent_kafka.__version__}, "
                   f"librdkafka {confluent_kafka.libversion()[0]})")
        ctx.exit()

    return click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=show,
                        help="Print the version of this script, confluent-kafka and librdkafka, and exit.")
