"""The checks a value passes before it reaches confluent-kafka's C code.

confluent-kafka hands strings to librdkafka as C strings: a NUL ends them early (a header name "a\\0b" is
sent as "a"), and a str that is not valid UTF-8 (a lone surrogate from JSON's "\\ud800", or a byte of a
non-UTF-8 command line that Python keeps as "\\udcff") makes the C layer crash or abort, and the process
takes every queued line with it. Numbers it parses as C ints overflow into a traceback. So each value is
checked here first, and the caller turns the returned reason into a bad option (exit 2) or a bad line.

Each function returns None for a good value, or a short reason that names what is wrong (never the value
itself: it may be a secret).
"""

import re
import warnings

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
# Kafka's own rule for topic names (org.apache.kafka.common.internals.Topic): 1-249 of these characters.
TOPIC_NAME = re.compile(r"[A-Za-z0-9._-]{1,249}\Z")


def c_string_problem(text):
    """Why `text` (a str) cannot go to librdkafka as a C string, or None."""
    if "\x00" in text:
        return f"holds a NUL character (at position {text.index(chr(0))})"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        bad = text[e.start]
        if "\udc80" <= bad <= "\udcff":  # a byte that was not UTF-8, as Python keeps it from argv or environ
            return f"is not valid UTF-8 (byte \\x{ord(bad) - 0xDC00:02x} at position {e.start})"
        return f"holds a lone surrogate \\u{ord(bad):04x} at position {e.start}, which is not valid UTF-8"
    return None


def topic_problem(name):
    """Why `name` is not a topic name Kafka accepts, or None."""
    problem = c_string_problem(name)
    if problem is not None:
        return problem
    if name in (".", ".."):
        return "'.' and '..' are not topic names"
    if not TOPIC_NAME.match(name):
        if len(name) > 249:
            return f"is {len(name)} characters long; Kafka allows at most 249"
        if not name:
            return "is empty"
        return "may hold only ASCII letters, digits, '.', '_' and '-' (Kafka's rule for topic names)"
    return None


def compile_pattern(pattern):
    """A -t ^pattern as a Python regular expression (re.error, RecursionError or OverflowError when it is none)."""
    with warnings.catch_warnings():  # "[[:alpha:]]" is a POSIX class to librdkafka, a FutureWarning to re
        warnings.simplefilter("ignore")
        return re.compile(pattern)


def pattern_problem(pattern):
    """Why a ^pattern cannot go to librdkafka, or None. It subscribes to every matching topic, so any characters
    may be in it, but it must be a C string and a regular expression (one librdkafka's own engine refuses, a
    look-ahead or a named group, is refused only when subscribing)."""
    problem = c_string_problem(pattern)
    if problem is not None:
        return problem
    try:
        compile_pattern(pattern)
    except re.error as e:
        return f"is not a regular expression: {e.msg}" + (f" at position {e.pos}" if e.pos is not None else "")
    except RecursionError:
        return "is not a regular expression Python can read: its groups are nested too deeply"
    except OverflowError:
        return "is not a regular expression Python can read: a repeat count is too large"
    return None


def topic_selector_problem(value):
    """Why a -t value (a topic name, or a ^pattern) cannot go to librdkafka, or None. The reason reads after
    "the topic": "pattern is not a regular expression: ...", "is empty"."""
    if value.startswith("^"):
        problem = pattern_problem(value)
        return None if problem is None else f"pattern {problem}"
    return topic_problem(value)


def group_problem(group):
    """Why `group` (a consumer group id: -g, or group.id in the file) cannot go to librdkafka, or None. Kafka
    allows any characters in a group id, but it must be a C string (a NUL or a byte that is not UTF-8 makes
    librdkafka abort the process), and it must not be empty: an empty id names no group (librdkafka joins none,
    and the AdminClient refuses to describe one)."""
    if not group:
        return "is empty"
    return c_string_problem(group)


def int_problem(value, low, high):
    """Why `value` (an int, not a bool) is out of [low, high], or None."""
    if value < low or value > high:
        return f"{value} is out of range ({low} to {high:,})"
    return None


_C_INTEGER = re.compile(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)?")


def librdkafka_int(text):
    """An integer property's value as librdkafka reads it (strtol with base 0: 0x hex, a leading 0 octal,
    whitespace before, anything after the digits ignored; no digits is 0), so that the tool never refuses
    or misreads a spelling the client itself accepted (-X message.max.bytes=0x100000)."""
    sign, digits = _C_INTEGER.match(text).groups()
    if not digits:
        return 0
    value = int(digits, 16) if digits[:2].lower() == "0x" else int(digits, 8) if digits[0] == "0" else int(digits)
    return -value if sign == "-" else value
