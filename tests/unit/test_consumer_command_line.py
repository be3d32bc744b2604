"""consumer.py's option values through click, for any text a user (or hypothesis) can type: each one is
either taken or refused as a usage error (exit 2, one line naming the option), never a traceback, and
nothing that reaches confluent-kafka's C code can crash it. run() is replaced: no broker is involved."""

import os

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, example, given, settings, strategies as st

from kafka_cli.cli import consumer
from kafka_cli.core.boundary import c_string_problem, topic_problem

# Any text, with what a command line can hold that st.text() never makes: bytes that are not UTF-8 (Python
# keeps them as U+DC80-U+DCFF) and, from a caller in Python, any other lone surrogate.
SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
ANY_TEXT = st.one_of(
    st.text(),
    st.lists(st.one_of(st.characters(), SURROGATES, st.sampled_from("\\x%^-@0123456789:TZdhms. "))).map("".join),
    st.binary().map(lambda data: data.decode("utf-8", "surrogateescape")),
)

# The invoke fixture is made once for all of a test's examples on purpose: it clears what it recorded each time.
ANY_INPUT = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture
def invoke(write_config, monkeypatch):
    """invoke(*args) -> (click's Result, the ConsumerOptions run() got or None)."""
    config = write_config("[default]\nbootstrap.servers=127.0.0.1:1\n[consumer]\ngroup.id=g\n")
    got = []
    monkeypatch.setattr(consumer, "run", lambda config, options, *rest: got.append(options))

    def run(*args):
        got.clear()
        result = CliRunner().invoke(consumer.main, [config, *args], prog_name="consumer.py")
        return result, (got[0] if got else None)
    return run


def check(result, options):
    """Taken (exit 0, run() called) or a usage error (exit 2, one error line), nothing else."""
    assert isinstance(result.exception, SystemExit) or result.exception is None, repr(result.exception)
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 0:
        assert options is not None
    else:
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1, result.stderr
        assert "Traceback" not in result.stderr
        assert not any("\udc80" <= c <= "\udcff" or c == "\x1b" for c in errors[0])  # nothing echoed raw


@ANY_INPUT
@given(option=st.sampled_from(["--offset", "--until"]), value=ANY_TEXT)
@example(option="--offset", value="0001-01-01").via("a time before the epoch: a traceback before")
@example(option="--offset", value="9" * 5000).via("int() refuses 4,300 digits")
@example(option="--until", value="@99999999999999999999").via("beyond int64")
@example(option="--offset", value="@²").via("isdigit() but not int()")
def test_any_position(invoke, option, value):
    result, options = invoke("-t", "orders", f"{option}={value}")
    check(result, options)
    if options is not None:
        position = options.start if option == "--offset" else options.until
        if position.kind in ("offset", "last", "time"):
            assert 0 <= position.value <= 2**63 - 1


class Refused(Exception):
    """The expected verdict: a usage error."""


ESCAPES = {"t": b"\t", "n": b"\n", "r": b"\r", "0": b"\0", "\\": b"\\"}
HEX = "0123456789abcdefABCDEF"


def check_escapes(text):
    r"""Refused for a text the README's escape rules cannot turn into bytes: a \x without two hex digits after it
    (a backslash escapes the character after it, so in \\x the x is plain), or a lone surrogate that is not one
    of a command line's undecodable bytes (U+DC80-U+DCFF)."""
    at = 0
    while at < len(text):
        if text[at] == "\\" and at + 1 < len(text):
            if text[at + 1] == "x" and not (len(text[at + 2:at + 4]) == 2 and all(c in HEX for c in text[at + 2:at + 4])):
                raise Refused
            at += 2
        else:
            at += 1
    if any("\ud800" <= c <= "\udfff" and not "\udc80" <= c <= "\udcff" for c in text):
        raise Refused


def unescaped(text):
    r"""The bytes the README's escapes make of `text`, worked out here: \t \n \r \0 \\ and \xHH are their byte, a
    backslash before anything else stays as typed, and the rest is the command line's bytes (os.fsencode)."""
    out, at = [], 0
    while at < len(text):
        char, after = text[at], text[at + 1:at + 2]
        if char == "\\" and after == "x" and all(c in HEX for c in text[at + 2:at + 4]) and len(text[at + 2:at + 4]) == 2:
            out.append(bytes([int(text[at + 2:at + 4], 16)]))
            at += 4
        elif char == "\\" and after in ESCAPES:
            out.append(ESCAPES[after])
            at += 2
        elif char == "\\" and after:
            out.append(os.fsencode(char + after))
            at += 2
        else:
            out.append(os.fsencode(char))
            at += 1
    return b"".join(out)


# -F's tokens for SAMPLE, as kcat prints them
SAMPLE = {"topic": "orders", "partition": 3, "offset": 7, "key": b"k", "value": b"val",
          "headers": [("h", b"x"), ("n", None)], "timestamp": (1, 1234)}
TOKEN_OUTPUT = {"t": b"orders", "p": b"3", "o": b"7", "k": b"k", "s": b"val", "K": b"1", "S": b"3", "T": b"1234",
                "h": b"h=x,n=NULL"}


def formatted(template):
    """What -F template prints for SAMPLE: the tokens' text, %% a percent sign, and the literal text between
    tokens unescaped; Refused for an unknown token."""
    out, literal, at = [], "", 0
    while at < len(template):
        if template[at] != "%":
            literal += template[at]
            at += 1
            continue
        token = template[at + 1:at + 2]
        if token == "%":
            literal += "%"
        elif token in TOKEN_OUTPUT:
            out += [unescaped(literal), TOKEN_OUTPUT[token]]
            literal = ""
        else:
            raise Refused
        at += 2
    return b"".join(out + [unescaped(literal)])


def printed(options, **message):
    from confluent_kafka import Message

    return options.render_batch([Message(**{**SAMPLE, **message})]).data


@ANY_INPUT
@given(option=st.sampled_from(["--format-string", "--key-separator", "--null-marker"]), value=ANY_TEXT)
@example(option="--format-string", value="\\xZZ").via("unescape's int('', 16): a traceback before")
@example(option="--key-separator", value="a\\x").via("the same at the end")
@example(option="--null-marker", value="\ud800").via("a lone surrogate has no bytes")
@example(option="--key-separator", value="\\t").via("kcat's tab")
@example(option="--null-marker", value="\\x00NULL\\\\\\r\\0\\q\udcff").via("every escape, and a byte that is not UTF-8")
@example(option="--format-string", value="%t|%p|%o|%k|%s|%K|%S|%T|%h|%%|\\x41\\%t\\n").via("every token")
@example(option="--format-string", value="%z").via("an unknown token")
def test_any_escapes_and_template(invoke, option, value):
    result, options = invoke("-t", "orders", f"{option}={value}")
    check(result, options)
    try:
        check_escapes(value)
        if option == "--format-string":
            expected = formatted(value) if value else b"k:val\n"  # -F '' is no template: -f text's line
        elif option == "--key-separator":
            expected = b"k" + unescaped(value) + b"val\n"
        else:
            expected = unescaped(value) + b":" + unescaped(value) + b"\n"
    except Refused:
        assert options is None and result.exit_code == 2, result.output
        return
    assert options is not None, result.output
    # the bytes each option makes, in what the consumer prints: a separator between key and value, a marker for a
    # null key and value, a template for every field
    assert printed(options, **({"key": None, "value": None} if option == "--null-marker" else {})) == expected


@ANY_INPUT
@given(topics=st.lists(ANY_TEXT, min_size=1, max_size=3), pattern=st.booleans())
@example(topics=["t\udcff"], pattern=False).via("SIGSEGV in librdkafka before")
@example(topics=["(" * 1000], pattern=True).via("RecursionError from re")
@example(topics=["a{99999999999}"], pattern=True).via("OverflowError from re")
def test_any_topic(invoke, topics, pattern):
    topics = ["^" + name if pattern else name for name in topics]
    result, options = invoke(*[f"--topic={name}" for name in topics])
    check(result, options)
    if options is not None:  # only what librdkafka can take got through
        for name in options.topics:
            assert (c_string_problem(name) if name.startswith("^") else topic_problem(name)) is None


@ANY_INPUT
@given(group=ANY_TEXT)
@example(group="g\udcff").via("SIGABRT in librdkafka before")
@example(group="g\x00h").via("a NUL would cut it short")
def test_any_group(invoke, group):
    result, options = invoke("-t", "orders", f"--group={group}")
    check(result, options)
    if options is not None:
        assert c_string_problem(options.group) is None


@pytest.mark.parametrize("args, message", [
    (["-t", "t\udcff"], "Error: Invalid value for '-t' / '--topic': the topic is not valid UTF-8 (byte \\xff at position 1)"),
    (["-t", "ok", "-t", "a b"], "Error: Invalid value for '-t' / '--topic': the 2nd topic may hold only ASCII letters"),
    (["-t", "^(a"], "Error: Invalid value for '-t' / '--topic': the topic pattern is not a regular expression: "
                    "missing ), unterminated subpattern at position 1"),
    (["-t", "^" + "(" * 1000 + ")" * 1000], "its groups are nested too deeply"),
    (["-g", "g\udcff"], "Error: Invalid value for '-g' / '--group': the group id is not valid UTF-8 (byte \\xff"),
    (["-F", "%k\\xZZ"], "Error: Invalid value for '-F' / '--format-string': \\x at position 2 must be followed by "
                        "two hex digits (\\xHH), or write \\\\x"),
    (["-K", "\\x"], "Error: Invalid value for '-K' / '--key-separator': \\x at position 0 must be followed"),
    (["--null-marker", "\ud800"], "Error: Invalid value for '--null-marker': holds a lone surrogate \\ud800"),
    (["-p", "2147483648"], "Error: Invalid value for '-p' / '--partition': 2147483648 is not in the range"),
    (["--timeout", "nan"], "Error: Invalid value for '--timeout': must be a number of seconds, not nan"),
])
def test_refusals_name_the_option_and_the_fault(invoke, args, message):
    result, options = invoke(*args)
    assert (result.exit_code, options) == (2, None), result.output
    assert message in result.stderr


def test_values_that_look_odd_but_are_fine(invoke):
    result, options = invoke("-t", "^[[:alpha:]]+$", "-K", "\\\\x\\x41\\t", "-F", "%k\\\\xZZ\\n", "-g", "grüße")
    assert result.exit_code == 0 and result.stderr == "", result.output  # no FutureWarning from re either
    assert options.topics == ("^[[:alpha:]]+$",) and options.group == "grüße"


def test_help_says_how_long_exit_at_end_waits():
    result = CliRunner().invoke(consumer.main, ["--help"], prog_name="consumer.py", terminal_width=200)
    text = " ".join(result.output.split())
    assert ("Exit when every assigned partition is at its end. Exit 1 when no broker answers for --timeout "
            "seconds (30 without it), assigned partitions or not.") in text


@pytest.fixture
def invoke_until_client(write_config, monkeypatch):
    """invoke(*args) -> click's Result, with run() going as far as building the client, which ends the run
    (exit 0) with the properties it would have handed to librdkafka in `handed`."""
    config = write_config("[default]\nbootstrap.servers=127.0.0.1:1\n[consumer]\ngroup.id=g\n")
    handed = []

    def build_client(kind, config, **callbacks):
        handed.append(config.as_dict())
        raise SystemExit(0)
    from kafka_cli.consume import loop

    monkeypatch.setattr(loop, "build_client", build_client)

    def run(*args):
        handed.clear()
        return CliRunner().invoke(consumer.main, [config, "-t", "orders", *args], prog_name="consumer.py"), handed
    return run


@ANY_INPUT
@given(name=st.sampled_from(["group.id", "client.id", "client.rack"]) | ANY_TEXT, value=ANY_TEXT)
@example(name="group.id", value="g\udcff").via("SIGABRT in librdkafka before")
@example(name="client.id", value="c\udcff").via("SystemError from confluent-kafka before")
def test_any_property_value(invoke_until_client, name, value):
    result, handed = invoke_until_client(f"-X{name}={value}")
    check(result, handed or None)
    for properties in handed:
        assert all(c_string_problem(text) is None for item in properties.items() for text in item)


def test_a_property_librdkafka_would_crash_on_names_where_it_was_set(invoke_until_client):
    result, handed = invoke_until_client("-X", "group.id=g\udcff")
    assert (result.exit_code, handed) == (2, [])
    assert result.stderr.splitlines()[-1] == "Error: -X group.id: the value is not valid UTF-8 (byte \\xff at position 1)"


def test_exit_at_end_gives_up_on_a_silent_broker_after_30_s_without_timeout(monkeypatch):
    """-e without --timeout: the wait for a broker that never answers is EXIT_AT_END_WAIT, 30 s (the process
    test runs the same path with --timeout 3)."""
    from types import SimpleNamespace

    from kafka_cli.consume import loop as command

    assert command.EXIT_AT_END_WAIT == 30
    now = [1000.0]
    monkeypatch.setattr(command.time, "monotonic", lambda: now[0])
    state = SimpleNamespace(errors=SimpleNamespace(trouble=("Connection refused", 1000.0)))
    config = SimpleNamespace(get=lambda name: "127.0.0.1:1", path="c.ini")
    now[0] = 1029.9
    assert command.cannot_finish(state, None, config) is None
    now[0] = 1030.0
    assert command.cannot_finish(state, None, config) == (
        "-e: no broker answered for 30 s (Connection refused): check bootstrap.servers (127.0.0.1:1) in c.ini")
    assert command.cannot_finish(state, 3.0, config).startswith("-e: no broker answered for 3 s")
