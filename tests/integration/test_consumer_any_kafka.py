"""consumer.py against what any Kafka can hold or do, not only what producer.py writes: topics created after
the consumer started, messages written by kcat and by confluent-kafka directly (header names that are not
UTF-8, terminal escape sequences, timestamps of any value, null and empty and 1 MB values), offsets with gaps
from a transactional writer on a topic with the broker's own timestamps (LogAppendTime), a terminal on stdout,
and a closed stdout."""

import base64
import os
import pty
import subprocess
import sys
import uuid

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import NewTopic

from local_kafka import create_topic

from .scripts import ROOT, consume, json_records, kcat_path, lines_of, no_traceback, start_consumer

LONG_MAX = str(2 ** 63 - 1)


def new_name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def producer(kafka, **extra):
    return Producer({**kafka.client_settings("plaintext"), **extra})


def kcat_produce(kafka, topic, value, *args):
    """One message written by kcat (no trailing delimiter, so the value is exactly `value`)."""
    settings = dict(kafka.client_settings("plaintext"))
    command = [kcat_path(), "-P", "-b", settings.pop("bootstrap.servers"), "-t", topic]
    for key, setting in settings.items():
        command += ["-X", f"{key}={setting}"]
    result = subprocess.run(command + list(args), input=value, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr


def read_stderr_until(process, text):
    """stderr lines up to and including the first one that holds `text` (fails if the process ends first)."""
    lines = []
    for line in process.stderr:
        lines.append(line.decode())
        if text in lines[-1]:
            return lines
    raise AssertionError(f"the consumer ended without saying {text!r}: {''.join(lines)}")


# -- a. topics that do not exist yet --------------------------------------------------------------------
@pytest.mark.parametrize("subscribe", ["name", "pattern"])
def test_waits_for_a_topic_created_later_and_reads_it_from_the_start(kafka, group, subscribe):
    topic = new_name("later")
    wanted = topic if subscribe == "name" else f"^{topic[:-2]}.*"
    reader = start_consumer(kafka.plaintext_config, wanted, "-g", group, "-n", "3")
    try:
        said = read_stderr_until(reader, "yet on")
        create_topic(kafka.admin(), topic, 2)
        writer = producer(kafka)
        for i in range(3):
            writer.produce(topic, value=f"v{i}".encode(), key=f"k{i}".encode())
        assert writer.flush(30) == 0
        out, err = reader.communicate(timeout=120)
    finally:
        reader.kill()
    stderr = "".join(said) + err.decode()
    assert reader.returncode == 0, stderr
    assert sorted(lines_of(out)) == ["k0:v0", "k1:v1", "k2:v2"]
    expected = f"topic '{topic}' does not exist yet" if subscribe == "name" else f"no topic matching '{wanted}' exists yet"
    assert stderr.count(expected) == 1 and stderr.count("yet on") == 1
    assert "waiting for it to be created (Ctrl-C or --timeout end the wait)" in stderr
    assert "Traceback" not in stderr


def test_missing_topic_with_exit_at_end_fails_at_once(kafka, group):
    topic = new_name("never")
    result = consume(kafka.plaintext_config, topic, "-g", group, "-e")
    assert result.returncode == 1
    assert f"Error: topic '{topic}' does not exist on " in result.stderr.decode()
    assert "yet" not in result.stderr.decode() and result.stdout == b"" and no_traceback(result)


def test_missing_topic_ends_with_timeout_as_an_error(kafka, group):
    topic = new_name("never")
    result = consume(kafka.plaintext_config, topic, "-g", group, "--timeout", "4")
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert err.count(f"topic '{topic}' does not exist yet") == 1
    assert f"Error: topic '{topic}' does not exist (waited --timeout 4 s)" in err


# -- b. poison messages -------------------------------------------------------------------------------------
TIMESTAMPS = [1, -1, 253402300799999, 253402300800000, 253402300800000 * 1000, -62135596800001, -(2 ** 63 - 1)]
ONE_MB = bytes(range(256)) * 4096
UNREADABLE = 2  # messages whose header names confluent-kafka cannot read


@pytest.fixture
def poison_topic(kafka):
    """A topic that takes any timestamp and 1 MB messages, filled with what producer.py never writes.
    Returns the topic and the messages as (key, value, timestamp or None, headers or None)."""
    topic = new_name("poison")
    admin = kafka.admin()
    admin.create_topics([NewTopic(topic, 1, 1, config={
        "message.timestamp.after.max.ms": LONG_MAX, "message.timestamp.before.max.ms": LONG_MAX,
        "max.message.bytes": "2000000"})])[topic].result(30)
    expected = []
    kcat_produce(kafka, topic, b"v\x1b[2J\x07", "-k", b"k\xff", "-H", b"\xff\xfe=v", "-H", b"ok=1")
    expected.append((b"k\xff", b"v\x1b[2J\x07", None, None))
    kcat_produce(kafka, topic, b"\x00|" + "\u202e\x9b".encode(), "-K", "|", "-H", b"\x80=\x80")  # key NUL
    expected.append((b"\x00", "\u202e\x9b".encode(), None, None))
    kcat_produce(kafka, topic, b"\xff\x00\x9b", "-H", b"a\x1bb=\xff\x01")  # no key
    expected.append((None, b"\xff\x00\x9b", None, [("a\x1bb", b"\xff\x01")]))
    writer = producer(kafka, **{"message.max.bytes": 2000000})
    for i, ts in enumerate(TIMESTAMPS):
        writer.produce(topic, key=f"ts{i}".encode(), value=str(ts).encode(), timestamp=ts)
        expected.append((f"ts{i}".encode(), str(ts).encode(), ts, None))
    for key, value, headers in [(None, None, None), (b"", b"", [("h", None), ("", b"")]), (b"big", ONE_MB, None),
                                (b"nl", b"a\nb\r\n", [("\u2028", "\u202e".encode())])]:
        writer.produce(topic, key=key, value=value, headers=headers)
        expected.append((key, value, None, headers))
    assert writer.flush(30) == 0
    return topic, expected


@pytest.mark.parametrize("output_format", ["text", "json", "verbose"])
def test_poison_messages_never_stop_a_group(kafka, poison_topic, group, output_format):
    topic, expected = poison_topic
    first = consume(kafka.plaintext_config, topic, "-g", group, "-e", "-f", output_format)
    err = first.stderr.decode()
    assert first.returncode == 0, err
    assert no_traceback(first)
    warnings = [line for line in err.splitlines() if "a header name is not UTF-8" in line]
    if output_format == "text":
        assert warnings == []  # text shows no headers, so it never needs them
    else:
        assert [w.split(": a header")[0] for w in warnings] == [f"consumer.py: {topic} [0] @ {i}" for i in range(UNREADABLE)]
    check_output[output_format](first.stdout, expected)
    second = consume(kafka.plaintext_config, topic, "-g", group, "-e", "-f", output_format)
    assert (second.returncode, second.stdout) == (0, b""), second.stderr  # the offsets were stored past the poison
    assert no_traceback(second)


def check_text(stdout, expected):
    assert stdout == b"".join((k or b"") + b":" + (v or b"") + b"\n" for k, v, _, _ in expected)  # byte-exact


def as_json_value(data):
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode()}


def check_json(stdout, expected):
    records = json_records(stdout)
    assert [(r["key"], r["value"]) for r in records] == [(as_json_value(k), as_json_value(v)) for k, v, _, _ in expected]
    assert [r["headers"] for r in records[:UNREADABLE]] == [{"unreadable": "a header name is not UTF-8"}] * UNREADABLE
    for record, (_, _, ts, headers) in zip(records[UNREADABLE:], expected[UNREADABLE:]):
        assert record["headers"] == [[name, as_json_value(value)] for name, value in headers or []]
        if ts is not None:
            assert record["timestamp"] == ts
    assert b"\x1b" not in stdout and "\u202e".encode() not in stdout and b"\\u202e" in stdout


def check_verbose(stdout, expected):
    lines = stdout.split(b"\n")[:-1]
    assert len(lines) == len(expected)
    text = stdout.decode("utf-8")  # printable text on any UTF-8 terminal
    assert "key=k\\xff  value=v\\x1b[2J\\x07  headers: (unreadable: a header name is not UTF-8)" in text
    assert "key=\\x00  value=\\u202e\\u009b  headers: (unreadable" in text
    assert "key=null  value=\\xff\\x00\\x9b  headers: a\\x1bb=\\xff\\x01" in text
    shown = {ts: line for ts, line in zip(TIMESTAMPS, lines[3:])}
    assert b"  1970-01-01T00:00:00.001Z  " in shown[1]
    assert b"  -  " in shown[-1]
    assert b"  9999-12-31T23:59:59.999Z  " in shown[253402300799999]
    for ts in TIMESTAMPS[3:]:
        assert f"  {ts} ms  ".encode() in shown[ts]
    assert b"key=null  value=null\n" in stdout and b"key=  value=  headers: h=null, =\n" in stdout
    assert b"key=nl  value=a\\nb\\r\\n  headers: \\u2028=\\u202e\n" in stdout
    assert len(max(lines, key=len)) > len(ONE_MB)


check_output = {"text": check_text, "json": check_json, "verbose": check_verbose}


# -- c. a terminal on stdout ------------------------------------------------------------------------------------
EVIL = b"\x1b[2J\x07\x9b" + "\x9b\u202e".encode()  # clear screen, bell, CSI as a byte and as U+009B, RLO
EVIL_UTF8 = "\x1b[2J\x07\x9b\u202e".encode()  # the same as valid UTF-8: JSON shows it as a string, not base64
ESCAPED = {"text": [b"k\\x1b[2J\\x07\\x9b\\u009b\\u202e:v\\x1b[2J\\x07\\u009b\\u202e"],
           "json": [b'"value":"v\\u001b[2J\\u0007\\u009b\\u202e"', b'[["h\\u202e","\\u001b[2J\\u0007\\u009b\\u202e"]]'],
           "verbose": [b"key=k\\x1b[2J\\x07\\x9b\\u009b\\u202e  value=v\\x1b[2J\\x07\\u009b\\u202e  "
                       b"headers: h\\u202e=\\x1b[2J\\x07\\u009b\\u202e"]}


def read_terminal(command):
    """Run `command` with stdout on a pseudo-terminal; all it wrote there, and its stderr."""
    primary, secondary = pty.openpty()
    process = subprocess.Popen(command, stdout=secondary, stderr=subprocess.PIPE, cwd=ROOT)
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not data:
            break
        chunks.append(data)
    err = process.stderr.read()
    process.wait(60)
    os.close(primary)
    return process.returncode, b"".join(chunks), err


@pytest.mark.parametrize("output_format", ["text", "json", "verbose"])
def test_nothing_from_the_data_controls_the_terminal(kafka, make_topic, group, output_format):
    topic = make_topic(1)
    writer = producer(kafka)
    writer.produce(topic, key=b"k" + EVIL, value=b"v" + EVIL_UTF8, headers=[("h" + "\u202e", EVIL_UTF8)])
    assert writer.flush(30) == 0
    code, shown, err = read_terminal([sys.executable, str(ROOT / "consumer.py"), str(kafka.plaintext_config),
                                      "-t", topic, "-g", group, "-e", "-f", output_format])
    assert code == 0, err
    for raw in (b"\x1b", b"\x07", b"\x9b", "\u202e".encode()):
        assert raw not in shown
    for escaped in ESCAPED[output_format]:
        assert escaped in shown


def test_text_to_a_pipe_stays_byte_exact(kafka, make_topic, group):
    topic = make_topic(1)
    writer = producer(kafka)
    writer.produce(topic, key=b"k" + EVIL, value=b"v" + EVIL)
    assert writer.flush(30) == 0
    assert consume(kafka.plaintext_config, topic, "-g", group, "-e").stdout == b"k" + EVIL + b":v" + EVIL + b"\n"


# -- d. stdout closed -----------------------------------------------------------------------------------------
def test_closed_stdout_is_refused_and_nothing_is_committed(kafka, make_topic, group):
    topic = make_topic(1)
    writer = producer(kafka)
    writer.produce(topic, key=b"k", value=b"v")
    assert writer.flush(30) == 0
    command = f"'{sys.executable}' consumer.py '{kafka.plaintext_config}' -t {topic} -g {group} -e >&-"
    closed = subprocess.run(["bash", "-c", command], capture_output=True, cwd=ROOT, timeout=120)
    assert closed.returncode == 1
    assert closed.stderr == b"Error: stdout is closed: there is nowhere to print the messages " \
                            b"(use > FILE or > /dev/null)\n"
    assert lines_of(consume(kafka.plaintext_config, topic, "-g", group, "-e").stdout) == ["k:v"]


# -- e. offsets with gaps, the broker's own timestamps ------------------------------------------------------
def test_json_shows_the_offsets_and_timestamps_the_broker_holds(kafka, group):
    """-f json takes the texts of consecutive offsets from a table and a timestamp's text once per run of equal
    ones. A transactional writer leaves gaps in the offsets (commit and abort markers, aborted messages), and a
    topic with LogAppendTime carries the broker's timestamps, not the writer's: every line must show what a
    direct confluent-kafka read of the same topic sees."""
    from confluent_kafka import Consumer, TopicPartition

    topic = new_name("gaps")
    admin = kafka.admin()
    admin.create_topics([NewTopic(topic, 2, 1, config={"message.timestamp.type": "LogAppendTime"})])[topic].result(30)
    writer = producer(kafka, **{"transactional.id": new_name("tx"), "linger.ms": 5})
    writer.init_transactions(30)
    for count, commit in ((1100, True), (150, False), (700, True)):  # runs across a thousand, one aborted
        writer.begin_transaction()
        for i in range(count):
            writer.produce(topic, key=b"k%d" % i, value=b"v%d" % i, partition=i % 2)
        (writer.commit_transaction if commit else writer.abort_transaction)(30)
    reader = Consumer({**kafka.client_settings("plaintext"), "group.id": new_name("direct"),
                       "enable.partition.eof": True, "isolation.level": "read_committed"})
    reader.assign([TopicPartition(topic, p, 0) for p in (0, 1)])
    expected, at_end = {}, set()
    try:
        while len(at_end) < 2:
            msg = reader.poll(10)
            assert msg is not None, "the direct read stalled"
            if msg.error():
                at_end.add(msg.partition())
                continue
            kind, stamp = msg.timestamp()
            assert kind == 2  # TIMESTAMP_LOG_APPEND_TIME
            expected[msg.partition(), msg.offset()] = (stamp, msg.key().decode(), msg.value().decode())
    finally:
        reader.close()
    assert len(expected) == 1800
    for partition in (0, 1):  # the markers and the aborted messages left gaps
        offsets = sorted(offset for p, offset in expected if p == partition)
        assert offsets[-1] - offsets[0] + 1 > len(offsets)

    result = consume(kafka.plaintext_config, topic, "-g", group, "-e", "-f", "json")
    assert result.returncode == 0, result.stderr.decode()
    records = json_records(result.stdout)
    assert len(records) == 1800
    assert {(r["partition"], r["offset"]): (r["timestamp"], r["key"], r["value"]) for r in records} == expected


# -- f. characters a terminal shows as nothing ---------------------------------------------------------------
INVISIBLE = "\u200e\u200f\u061c\u200b\u200c\u200d\ufeff\u202a\u2066\u206a\U000e0041"  # LRM RLM ALM ZWSP ... TAG A
TERMINAL_SHOWS = {"text": ["us\\u200e\\u200f\\u061c\\u200b\\u200c\\u200d\\ufeff\\u202a\\u2066\\u206a\\U000e0041er:v"],
                  "json": ['"key":"us\\u200e\\u200f\\u061c\\u200b\\u200c\\u200d\\ufeff\\u202a\\u2066\\u206a\\udb40\\udc41er"'],
                  "verbose": ["key=us\\u200e\\u200f\\u061c\\u200b\\u200c\\u200d\\ufeff\\u202a\\u2066\\u206a\\U000e0041er"],
                  "-F": ["us\\u200e\\u200f\\u061c\\u200b\\u200c\\u200d\\ufeff\\u202a\\u2066\\u206a\\U000e0041er "
                         "h\\u200b=\\ufeff"]}


@pytest.mark.parametrize("output_format", ["text", "json", "verbose", "-F"])
def test_two_keys_that_differ_by_invisible_characters_look_different_on_a_terminal(kafka, make_topic, group,
                                                                                      output_format):
    topic = make_topic(1)
    writer = producer(kafka)
    writer.produce(topic, key=b"user", value=b"v")
    writer.produce(topic, key=f"us{INVISIBLE}er".encode(), value=b"v", headers=[("h\u200b", "\ufeff".encode())])
    assert writer.flush(30) == 0
    chosen = ["-F", "%k %h\\n"] if output_format == "-F" else ["-f", output_format]
    code, shown, err = read_terminal([sys.executable, str(ROOT / "consumer.py"), str(kafka.plaintext_config),
                                      "-t", topic, "-g", group, "-e", *chosen])
    assert code == 0, err
    text = shown.decode("utf-8")
    assert not any(char in text for char in INVISIBLE)
    for escaped in TERMINAL_SHOWS[output_format]:
        assert escaped in text, text


def test_json_to_a_pipe_escapes_invisible_characters_and_keeps_the_data(kafka, make_topic, group):
    topic = make_topic(1)
    writer = producer(kafka)
    writer.produce(topic, key=f"us{INVISIBLE}er".encode(), value=INVISIBLE.encode(), headers=[(INVISIBLE, b"x")])
    assert writer.flush(30) == 0
    result = consume(kafka.plaintext_config, topic, "-g", group, "-e", "-f", "json")
    assert result.returncode == 0, result.stderr
    assert result.stdout.isascii()  # every one of them as \uXXXX
    [record] = json_records(result.stdout)
    assert (record["key"], record["value"], record["headers"]) == (f"us{INVISIBLE}er", INVISIBLE, [[INVISIBLE, "x"]])
    text = consume(kafka.plaintext_config, topic, "-g", group + "-text", "-e")  # text to a pipe: as it is
    assert text.stdout == f"us{INVISIBLE}er:{INVISIBLE}\n".encode()
