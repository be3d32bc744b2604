"""consumer.py -o/--until values, --null-marker and -F templates, without a broker."""

from datetime import datetime

import pytest
from click.testing import CliRunner
from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_NOT_AVAILABLE

from kafka_cli.cli import consumer
from kafka_cli.core.errors import ConfigError
from kafka_cli.consume.format_string import format_string
from kafka_cli.consume.formats import Style
from kafka_cli.consume.positions import Position, Until, parse_position

from .test_consumer_output import FakeMessage

NOW = 1_800_000_000_000


@pytest.mark.parametrize("text, position", [
    ("beginning", Position("beginning", 0)), ("END", Position("end", 0)), ("stored", Position("stored", 0)),
    ("0", Position("offset", 0)), ("1200", Position("offset", 1200)), ("-3", Position("last", 3)),
    ("@1700000000123", Position("time", 1700000000123)), ("@0", Position("time", 0)),
    ("9223372036854775807", Position("offset", 2**63 - 1)), ("-9223372036854775807", Position("last", 2**63 - 1)),
    ("0" * 5000 + "7", Position("offset", 7)), ("@9223372036854775807", Position("time", 2**63 - 1)),
    ("2026-11-24T14:00:00Z", Position("time", 1795528800000)),
    ("2026-11-24T14:00:00.250+01:00", Position("time", 1795525200250)),
    ("30s", Position("time", NOW - 30_000)), ("15m", Position("time", NOW - 900_000)),
    ("2h", Position("time", NOW - 7_200_000)), ("1d", Position("time", NOW - 86_400_000)),
    ("1.5h", Position("time", NOW - 5_400_000)), ("500ms", Position("time", NOW - 500)),
])
def test_offset_values(text, position):
    parsed = parse_position(text, now_ms=NOW)
    assert (parsed.kind, parsed.value) == (position.kind, position.value)


def test_iso_time_without_a_zone_is_local_time():
    expected = round(datetime(2026, 11, 24, 14, 0).astimezone().timestamp() * 1000)
    assert parse_position("2026-11-24T14:00:00").value == expected


@pytest.mark.parametrize("text, option", [
    ("bogus", "-o"), ("-x", "-o"), ("12q", "-o"), ("2026-13-45T99:00", "-o"), ("", "-o"),
    ("-3", "--until"), ("beginning", "--until"), ("stored", "--until"),
])
def test_bad_values_are_usage_errors(text, option):
    with pytest.raises(ConfigError, match="expected"):
        parse_position(text, option)


@pytest.mark.parametrize("text, option, message", [
    ("@-5", "-o", "-o '@-5': that time is before 1970-01-01T00:00:00Z, where Kafka's timestamps begin"),
    ("0001-01-01", "-o", "-o '0001-01-01': that time is before 1970-01-01T00:00:00Z"),
    ("1969-12-31T23:59:59Z", "--until", "--until '1969-12-31T23:59:59Z': that time is before 1970"),
    ("9999-12-31T23:59:59-14:00", "-o", "the time in ms since the epoch is out of range (0 to 9,223,372,036,854,775,807)"),
    ("99999999999999d", "-o", "that time is before 1970"),
    ("9" * 400 + "h", "--until", "that time is before 1970"),
    ("9223372036854775808", "-o", "the offset 9223372036854775808 is out of range (0 to 9,223,372,036,854,775,807)"),
    ("-9223372036854775808", "-o", "the count 9223372036854775808 is out of range"),
    ("9" * 5000, "--until", "the offset is out of range"),
    ("@" + "9" * 5000, "-o", "the time in ms since the epoch is out of range"),
    ("@²", "-o", "expected beginning"), ("²s", "-o", "expected beginning"), ("٣", "--until", "expected an offset"),
])
def test_values_beyond_what_kafka_takes_are_usage_errors(text, option, message):
    """Offsets and times go to librdkafka as int64, and a negative time is a command to Kafka's ListOffsets
    (-1 latest, -2 earliest): before these checks, each of these ended in a traceback (exit 1) or was sent."""
    with pytest.raises(ConfigError) as caught:
        parse_position(text, option, now_ms=NOW)
    assert message in caught.value.message and "\n" not in caught.value.message
    assert len(caught.value.message) < 200  # a long value is cut


class Partition:
    def __init__(self, topic, partition, offset):
        self.topic, self.partition, self.offset = topic, partition, offset


def test_until_offsets_stop_each_partition_before_its_end():
    until = Until({("t", 0): 3, ("t", 1): 1}, None)
    batch = [FakeMessage(topic="t", partition=p, offset=o) for p, o in [(0, 1), (1, 0), (0, 2), (1, 1), (0, 3)]]
    assert [(m.partition(), m.offset()) for m in until.take(batch)] == [(0, 1), (1, 0), (0, 2)]
    assert until.done == {("t", 0), ("t", 1)}


def test_until_time_without_a_known_offset_stops_at_the_first_later_timestamp():
    until = Until({}, 1000)
    batch = [FakeMessage(topic="t", partition=0, offset=o, timestamp=(TIMESTAMP_CREATE_TIME, ts))
             for o, ts in [(5, 998), (6, 999), (7, 1000), (8, 10)]]
    assert [m.offset() for m in until.take(batch)] == [5, 6]
    assert until.done == {("t", 0)}


def test_until_partitions_already_past_their_end():
    until = Until({("t", 0): 5, ("t", 1): 9}, None)
    until.finish_early([Partition("t", 0, 5), Partition("t", 1, 2)])
    assert until.done == {("t", 0)}


# -- -F -----------------------------------------------------------------------------------------
def render(template, msg, **style):
    return format_string(template)(Style(**style))(msg)


def test_format_string_tokens():
    msg = FakeMessage(key=b"k1", value=b"hello", topic="orders", partition=2, offset=41,
                      timestamp=(TIMESTAMP_CREATE_TIME, 1700000000123), headers=[("a", b"1"), ("b", None)])
    assert render(r"%t|%p|%o|%k|%s|%S|%K|%T|%h|100%%\t%%k\n", msg) == (
        b"orders|2|41|k1|hello|5|2|1700000000123|a=1,b=NULL|100%\t%k\n")


def test_format_string_nulls_and_no_timestamp():
    msg = FakeMessage(key=None, value=None, timestamp=(TIMESTAMP_NOT_AVAILABLE, -1), headers=None)
    assert render(r"%k/%s/%K/%S/%T/%h\n", msg) == b"//-1/-1/-1/\n"
    # a header without a value is NAME=NULL as kcat prints it, whatever the null marker for keys and values
    assert render(r"%k/%s/%h", FakeMessage(key=None, value=None, headers=[("h", None), ("e", b"")]),
                  null_marker=b"-") == b"-/-/h=NULL,e="
    assert render(r"%h", FakeMessage(headers=[("h", None)])) == b"h=NULL"


def test_format_string_is_byte_exact_to_a_pipe_and_escaped_on_a_terminal():
    msg = FakeMessage(key=b"\x1b[2J", value=b"\xff\x9b" + "\u202e".encode(), headers=[("\u202e", b"\x07")])
    assert render("%k %s %h", msg) == b"\x1b[2J \xff\x9b" + "\u202e \u202e=\x07".encode()
    assert render("%k %s %h", msg, terminal=True) == b"\\x1b[2J \\xff\\x9b\\u202e \\u202e=\\x07"


@pytest.mark.parametrize("template", ["%x", "abc%", "%k %q"])
def test_format_string_unknown_token(template):
    with pytest.raises(ConfigError, match="unknown token"):
        format_string(template)(Style())


# -- the command line ------------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    (["-o", "soon"], "-o 'soon': expected beginning, end, stored"),
    (["--until", "-5"], "--until '-5': expected an offset N"),
    (["-t", "^orders.*", "-p", "0"], "-p, -o and --until need topic names, not a ^pattern"),
    (["--from-beginning", "-o", "5"], "--from-beginning and -o both say where to start"),
    (["-F", "%z"], "unknown token %z"),
])
def test_option_errors(write_config, args, message):
    config = write_config("[default]\nbootstrap.servers=127.0.0.1:1\n[consumer]\ngroup.id=g\n")
    result = CliRunner().invoke(consumer.main, [config, *args], prog_name="consumer.py")
    assert result.exit_code == 2, result.output
    assert message in result.stderr


def test_help_documents_the_escapes_and_tokens():
    result = CliRunner().invoke(consumer.main, ["--help"], prog_name="consumer.py", terminal_width=200)
    text = " ".join(result.output.split())
    assert (r"Escapes: \t tab, \n newline, \xHH any byte (kcat's), and ours: \r, \0 NUL, \\ a backslash "
            r"(-K '\t' is a tab)") in text
    for token in ("%t topic", "%k key", "%s value", "%S value size", "%T timestamp in ms", "%h headers", "%% a percent"):
        assert token in text
