"""Nothing we are handed can crash us: hypothesis feeds every input channel of the two scripts, run as
processes the way a user runs them (arguments, environment, config file, stdin as text and as JSON, and
messages another client wrote for the consumer), and checks what must hold whatever came in:

- the process never dies by a signal it was not sent, and never prints a Python traceback;
- it exits 0, 1 or 2, as the README says;
- the producer's buckets add up: every line read is delivered, failed, not confirmed or skipped, and what a
  direct read of the topic finds is what was delivered;
- the consumer prints every message another client wrote, exactly: what each format must print is worked
  out in the test from the README's rules and compared byte for byte (-f json round-trips the bytes);
- no secret from the config file ever appears in any output.

A crash in confluent-kafka's C code (a segfault on a byte that is not UTF-8, an abort on an assertion) shows
here as a negative return code. BOUNDARY_EXAMPLES sets how many examples each test runs (default 15: about
a second each, most of it Python starting).
"""

import base64
import json
import os
import re
import socket
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from confluent_kafka import Producer
from hypothesis import HealthCheck, given, settings, strategies as st

from local_kafka.broker import SilentLogger

from .test_producer_json import messages_of

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("BOUNDARY_EXAMPLES", "15"))
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                           HealthCheck.data_too_large])
SECRET = "Hunter2-s3cret-XYZ"
SUMMARY = re.compile(rb"([\d,]+) delivered to \S+, ([\d,]+) failed(?:, ([\d,]+) not confirmed)?")
SKIPPED = re.compile(rb"; ([\d,]+) lines? skipped")

# What a hostile but fair user types: bytes that are not UTF-8, NUL-free (a command line cannot hold NUL),
# surrogate-looking escapes, bidi controls, huge numbers, and the plain values the options expect.
HOSTILE = st.sampled_from([b"\xff", b"t\xff", b"\xed\xa0\x80", "\u202e".encode(), b"\\x", b"\\xZZ", b"%", b"%h",
                           b"-1", b"9" * 30, b"-" + b"9" * 30, b"0001-01-01", b"9999-12-31T23:59:59Z", b"",
                           b"=", b"a=b", b"^(", b"topic_0", b"beginning",
                           b"end", b"-10", b"s@1700000000000", b"1e400", b"nan"])
ARG = HOSTILE | st.binary(max_size=12).map(lambda b: b.replace(b"\0", b""))
# -X is where a user types the password, and mistypes it: never echoed, whatever the typo
PROPERTY = ARG | st.sampled_from([b"sasl.password:" + SECRET.encode(), b"sasl.password " + SECRET.encode(),
                                  b"sasl.password=" + SECRET.encode() + b"\xff", b"ssl.key.password" + SECRET.encode()])


def option_values(flags):
    return st.lists(flags.flatmap(lambda flag: st.tuples(st.just(flag), PROPERTY if flag == "-X" else ARG)),
                    min_size=1, max_size=3)


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path, bootstrap, extra=""):
    """A config in config.ini.example's shape; the password is SECRET, which no output may show."""
    path.write_text(f"[default]\nbootstrap.servers={bootstrap}\nsasl.password={SECRET}\n{extra}")
    path.chmod(0o600)
    return path


def run(script, config, args, stdin=b"", env=None, timeout=60):
    result = subprocess.run([sys.executable, str(ROOT / script), str(config), *args], input=stdin,
                            capture_output=True, timeout=timeout, cwd=ROOT, env=env)
    holds_for_any_input(result)
    return result


def holds_for_any_input(result):
    output = result.stdout + result.stderr
    assert result.returncode >= 0, f"killed by signal {-result.returncode}: {result.stderr[-2000:]!r}"
    assert result.returncode in (0, 1, 2), result.stderr[-2000:]
    assert b"Traceback" not in output, result.stderr[-3000:]
    assert SECRET.encode() not in output, "the password was printed"


# -- arguments and environment: an unreachable broker, so only the checks before the client run ------------------
PRODUCER_FLAGS = st.sampled_from(["-t", "-H", "-X", "-K", "--null-value", "--timeout"])
CONSUMER_FLAGS = st.sampled_from(["-t", "-g", "-o", "--until", "-F", "-K", "--null-marker", "-p", "-X", "-n"])


@pytest.fixture(scope="module")
def unreachable(tmp_path_factory):
    # security.protocol stays PLAINTEXT: the password is in the file only to be kept out of every output
    return write_config(tmp_path_factory.mktemp("boundary") / "config.ini", f"127.0.0.1:{closed_port()}")


@SETTINGS
@given(options=option_values(PRODUCER_FLAGS))
def test_producer_arguments(unreachable, options):
    args = [part for flag, value in options for part in (flag.encode(), value)]
    run("producer.py", unreachable, [*args, b"--timeout", b"0.5"], stdin=b"k:v\n")


@SETTINGS
@given(options=option_values(CONSUMER_FLAGS))
def test_consumer_arguments(unreachable, options):
    args = [part for flag, value in options for part in (flag.encode(), value)]
    run("consumer.py", unreachable, [*args, b"--timeout", b"0.5"])


@SETTINGS
@given(topic=ARG, client_id=ARG)
def test_environment(tmp_path_factory, topic, client_id):
    """KAFKA_TOPIC, and a ${VAR} in the config file, holding any bytes."""
    config = write_config(tmp_path_factory.mktemp("env") / "config.ini", f"127.0.0.1:{closed_port()}",
                          "client.id=${BOUNDARY_CLIENT_ID}\n")
    env = {**os.environb, b"KAFKA_TOPIC": topic, b"BOUNDARY_CLIENT_ID": client_id}
    for script in ("producer.py", "consumer.py"):
        run(script, config, [b"--timeout", b"0.5"], stdin=b"k:v\n", env=env)


CONFIG_LINE = (st.sampled_from([b"[default]", b"[defualt]", b"[consumer]", b"[producer]", b"[x", b"bootstrap.servers=",
                                b"bootstrap.servers=<BOOTSTRAP SERVER>", b"sasl.username=<API KEY>",
                                b"sasl.password:" + SECRET.encode(), b"sasl.password=${NOPE_" + SECRET.encode() + b"}",
                                b"group.id=\xff", b"acks=\xc3\x28", b"message.max.bytes=0x100000",
                                b"message.max.bytes=2e6", b"socket.timeout.ms=-1", b"\xef\xbb\xbf", b"a=b=c"])
               | st.binary(max_size=30))


@SETTINGS
@given(lines=st.lists(CONFIG_LINE, max_size=6))
def test_config_file(tmp_path_factory, lines):
    path = tmp_path_factory.mktemp("cfg") / "config.ini"
    path.write_bytes(b"\n".join([b"[default]", f"bootstrap.servers=127.0.0.1:{closed_port()}".encode(), *lines]))
    path.chmod(0o600)
    for script in ("producer.py", "consumer.py"):
        run(script, path, [b"--timeout", b"0.5"], stdin=b"k:v\n")


# -- stdin against the real broker: the buckets add up, and the topic holds what was delivered ----------------
def nonempty_lines(data):
    """The lines producer.py reads from `data`, written independently of kafka_cli.produce.lines: split at \\n, a \\r
    before it dropped, a UTF-8 BOM at the very start is no data, empty lines skipped."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    pieces = (p[:-1] if p.endswith(b"\r") else p for p in data.split(b"\n"))
    return [p for p in pieces if p]


def buckets(result):
    found = SUMMARY.findall(result.stderr)
    assert len(found) == 1, result.stderr[-2000:]
    delivered, failed, unconfirmed = (int(n.replace(b",", b"") or 0) for n in found[0])
    skipped = SKIPPED.search(result.stderr)
    return delivered, failed, unconfirmed, int(skipped.group(1).replace(b",", b"")) if skipped else 0


def stored_for(kafka, topic, run_id):
    messages = [m for ms in messages_of(kafka, topic).values() for m in ms]
    return [(key, value) for key, value, headers, _ in messages if headers and ("run", run_id) in headers]


TEXT_LINE = (st.sampled_from([b"k:v", b"no separator", b":empty key", b"k:", b"k:NULL", b"\xff\xfe:\x00\x01",
                              b"k:\xe2\x80\xae", b"\r", b"", "\ufeff".encode() + b"k:v", b"a:b:c"])
             | st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")))


@SETTINGS
@given(lines=st.lists(TEXT_LINE, max_size=12), crlf=st.booleans(), last_newline=st.booleans())
def test_text_lines_end_in_exactly_one_bucket(kafka, make_topic, lines, crlf, last_newline):
    topic = make_topic(1)
    run_id = uuid.uuid4().hex.encode()
    data = (b"\r\n" if crlf else b"\n").join(lines) + (b"\n" if last_newline and lines else b"")
    result = run("producer.py", kafka.plaintext_config,
                 [b"-t", topic.encode(), b"--skip-bad-lines", b"--null-value", b"NULL", b"-H", b"run=" + run_id],
                 stdin=data)
    delivered, failed, unconfirmed, skipped = buckets(result)
    read = nonempty_lines(data)
    assert delivered + failed + unconfirmed + skipped == len(read), (read, result.stderr)
    assert skipped == sum(1 for line in read if b":" not in line)
    stored = stored_for(kafka, topic, run_id)
    assert delivered <= len(stored) <= delivered + unconfirmed
    expected = []
    for line in read:
        key, found, value = line.partition(b":")
        if found:
            expected.append((key or None, None if value == b"NULL" else value))
    assert stored == expected[:len(stored)] and failed == 0 and unconfirmed == 0, result.stderr
    assert result.returncode == 0


JSON_FIELD = (st.none() | st.text(max_size=10) | st.integers(min_value=-2**64, max_value=2**64)
              | st.binary(max_size=10).map(lambda b: {"base64": base64.b64encode(b).decode()})
              | st.sampled_from(["\ud800", {"base64": "!!"}, [], {}]))
JSON_RECORD = st.fixed_dictionaries({}, optional={
    "key": JSON_FIELD, "value": JSON_FIELD, "partition": st.sampled_from([0, 1, -1, 2**31, None, "0"]),
    "timestamp": st.sampled_from([1700000000000, 0, -1, 2**63, None, 1.5]),
    "headers": st.lists(st.tuples(st.sampled_from(["h", "a\x00b", "\ud800", "\u202e", ""]), JSON_FIELD).map(list),
                        max_size=3)})
JSON_LINE = JSON_RECORD.map(lambda r: json.dumps(r).encode()) | st.binary(max_size=30).map(lambda b: b.replace(b"\n", b""))


@SETTINGS
@given(lines=st.lists(JSON_LINE, max_size=10))
def test_json_lines_end_in_exactly_one_bucket(kafka, make_topic, lines):
    topic = make_topic(1)
    run_id = uuid.uuid4().hex.encode()
    data = b"".join(line + b"\n" for line in lines)
    result = run("producer.py", kafka.plaintext_config,
                 [b"-t", topic.encode(), b"-f", b"json", b"--skip-bad-lines", b"-H", b"run=" + run_id], stdin=data)
    delivered, failed, unconfirmed, skipped = buckets(result)
    assert delivered + failed + unconfirmed + skipped == len(nonempty_lines(data)), result.stderr
    stored = stored_for(kafka, topic, run_id)
    assert delivered <= len(stored) <= delivered + unconfirmed, result.stderr
    assert result.returncode == (0 if failed + unconfirmed == 0 else 1), result.stderr


# -- messages another client wrote: the consumer prints every one, in every format --------------------------
ANY_BYTES = st.none() | st.binary(max_size=30) | st.sampled_from(["\u202e\u200b".encode(), b"\x1b[2J", b"\r\x00"])
HEADER_NAME = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=8)


@SETTINGS
@given(messages=st.lists(st.tuples(ANY_BYTES, ANY_BYTES, st.lists(st.tuples(HEADER_NAME, ANY_BYTES), max_size=3)),
                         min_size=1, max_size=8),
       output=st.sampled_from([[b"-f", b"json"], [b"-f", b"text"], [b"-f", b"verbose"],
                               [b"-F", b"%t %p %o %k %s %h %T\\n"]]))
def test_consumer_prints_every_message_another_client_wrote(kafka, make_topic, messages, output):
    topic = make_topic(1)
    writer = Producer({"bootstrap.servers": kafka.plaintext_bootstrap, "logger": SilentLogger()})
    for offset, (key, value, headers) in enumerate(messages):
        writer.produce(topic, key=key, value=value, headers=headers or None, timestamp=STAMP + offset)
    assert writer.flush(30) == 0
    result = run("consumer.py", kafka.plaintext_config, [b"-t", topic.encode(), b"-e", b"-o", b"beginning", *output])
    assert result.returncode == 0, result.stderr
    if output == [b"-f", b"json"]:
        printed = [json.loads(line) for line in result.stdout.splitlines()]
        assert [(r["topic"], r["partition"], r["offset"], r["timestamp"], field(r["key"]), field(r["value"]),
                 [(name, field(shown)) for name, shown in r["headers"]]) for r in printed] == \
            [(topic, 0, offset, STAMP + offset, *message) for offset, message in enumerate(messages)]
    else:
        show = {b"text": as_text, b"verbose": as_verbose}.get(output[1], as_format_string)
        assert result.stdout == b"".join(show(topic, offset, STAMP + offset, *message)
                                         for offset, message in enumerate(messages))


# What each format prints, worked out here from the README's rules (not by kafka_cli): stdout is a pipe, so
# text and -F write the bytes as they are, a null as nothing (the default --null-marker); verbose is for people.
STAMP = 1_700_000_000_000  # the messages' timestamps, from here up: the output holds no "now"


def as_text(topic, offset, timestamp, key, value, headers):
    return (key or b"") + b":" + (value or b"") + b"\n"


def as_format_string(topic, offset, timestamp, key, value, headers):  # -F '%t %p %o %k %s %h %T\n'
    shown_headers = b",".join(name.encode() + b"=" + (b"NULL" if data is None else data) for name, data in headers)
    return b"%s 0 %d %s %s %s %d\n" % (topic.encode(), offset, key or b"", value or b"", shown_headers, timestamp)


SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def for_people(data):
    """verbose's key, value or header: backslashes doubled, a byte that is not UTF-8 as \\xHH, and every character
    that is not printable escaped (\\t \\n \\r, \\xHH below U+0080, \\uXXXX, \\UXXXXXXXX); null as null."""
    if data is None:
        return "null"
    text = data.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")
    return "".join(char if char.isprintable() else SHORT_ESCAPES.get(char) or (
        "\\x%02x" % ord(char) if ord(char) < 0x80 else "\\u%04x" % ord(char) if ord(char) <= 0xFFFF
        else "\\U%08x" % ord(char)) for char in text)


def as_verbose(topic, offset, timestamp, key, value, headers):
    when = datetime.fromtimestamp(timestamp / 1000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    line = f"{topic} [0] @ {offset}  {when}  key={for_people(key)}  value={for_people(value)}"
    if headers:
        line += "  headers: " + ", ".join(f"{for_people(name.encode())}={for_people(data)}" for name, data in headers)
    return (line + "\n").encode()


def field(shown):
    """A key or value as consumer.py -f json shows it, back to bytes."""
    if shown is None or isinstance(shown, str):
        return shown if shown is None else shown.encode()
    return base64.b64decode(shown["base64"])
