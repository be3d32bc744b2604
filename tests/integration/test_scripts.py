"""producer.py and consumer.py as processes against the real broker: every test over PLAINTEXT, and the ones
marked OVER_SASL_SSL over SASL_SSL too (see there for which and why)."""

import collections
import json
import os
import pty
import signal
import subprocess
import sys
import threading
import time

import pytest

from .scripts import (ROOT, consume, json_records, lines_of, murmur2_partition, no_traceback, produce,
                      run_script, start_consumer)
from .test_faults import extra, read_topic

TUTORIAL = [f"{i}:message {i}" for i in range(1, 9)]


@pytest.fixture(params=["plaintext"])
def listener(request):
    """PLAINTEXT for every test of this module; OVER_SASL_SSL adds SASL_SSL to the tests that carry it."""
    return request.param


# The scripts have no code of their own for TLS or SASL: librdkafka does both, below every request. So SASL_SSL
# is run for the tests that, between them, send every kind of request the scripts make, each on the kind of
# connection it goes over, and end in each way that closes those connections:
#   tutorial round trip  - producer: bootstrap, metadata, producer id (idempotence), produce, acks; consumer:
#                          FindCoordinator and a second, coordinator connection (join, sync, heartbeat), fetch
#                          from the leaders, commit; both scripts' normal ending
#   at least once        - committed offsets read back by a new process (OffsetFetch), -n (commit on close), -e
#                          (ListOffsets for the end of every partition)
#   100,000 lines        - large batches and fetches: many TLS records per request, in both directions
#   missing topic        - a broker error answered on an authenticated connection, named by both scripts
#   SIGINT (consumer)    - Ctrl-C: commit, leave the group and close the TLS connections mid-session
#   SIGTERM (producer)   - flush what was read and close, stopped from outside while it waits for input
# The rest (formats, keys, separators, partitioner, headers, group sharing, -X, terminals) make the same
# requests as these over the same connections, so a second listener would test nothing new.
OVER_SASL_SSL = pytest.mark.parametrize("listener", ["plaintext", "sasl_ssl"])


def wait_for_assignment(kafka, group, members=1, seconds=30):
    """Until `members` members of the group hold partitions (so consumers started first see everything)."""
    admin = kafka.admin()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            description = admin.describe_consumer_groups([group])[group].result(5)
            if sum(1 for m in description.members if m.assignment.topic_partitions) >= members:
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise AssertionError(f"group {group} got no assignment within {seconds} s")


@OVER_SASL_SSL
def test_tutorial_round_trip_in_two_processes(kafka, config_file, topic, group):
    """Terminal 1 runs the consumer and leaves it running; terminal 2 pipes the eight lines in; once the eight
    are printed, Ctrl-C in terminal 1 (--timeout 5 ends it anyway if they never come)."""
    # unbuffered: what readline() has not returned stays in the pipe for communicate()
    reader = start_consumer(config_file, topic, "-g", group, "--timeout", "5", bufsize=0)
    try:
        wait_for_assignment(kafka, group)
        produced = produce(config_file, topic, TUTORIAL)
        printed = b""
        for _ in TUTORIAL:
            printed += reader.stdout.readline()  # b"" once it has ended
        if reader.poll() is None:
            reader.send_signal(signal.SIGINT)
        out, err = reader.communicate(timeout=60)
        out = printed + out
    finally:
        reader.kill()
    assert produced.returncode == 0, produced.stderr
    assert produced.stderr.decode().startswith("producer.py: 8 delivered to " + topic + ", 0 failed (")
    assert reader.returncode == 0, err
    assert sorted(lines_of(out)) == sorted(TUTORIAL)
    # messages with the same key keep their order; here each key appears once
    assert b"Traceback" not in err


def test_default_topic_is_topic_0(kafka, config_file, group):
    produced = run_script("producer.py", config_file, input=b"k:default-topic\n")
    assert produced.returncode == 0, produced.stderr
    out = run_script("consumer.py", config_file, "-g", group, "-e", "-f", "json")
    assert out.returncode == 0
    assert {"topic_0"} == {r["topic"] for r in json_records(out.stdout)}
    assert "default-topic" in [r["value"] for r in json_records(out.stdout)]


def test_topic_from_environment(kafka, config_file, topic, group):
    env = {**os.environ, "KAFKA_TOPIC": topic}
    assert run_script("producer.py", config_file, input=b"a:from-env\n", env=env).returncode == 0
    out = run_script("consumer.py", config_file, "-g", group, "-e", env=env)
    assert lines_of(out.stdout) == ["a:from-env"]


def test_key_separator_first_occurrence_no_key_and_empty_lines(kafka, config_file, topic, group):
    assert produce(config_file, topic, b"k:v:w\n\n\r\nx:y\r\n").returncode == 0
    assert produce(config_file, topic, b"whole line: with colon\n", "--no-key").returncode == 0
    assert produce(config_file, topic, b"a|b:c\n", "-K", "|").returncode == 0
    records = json_records(consume(config_file, topic, "-g", group, "-e", "-f", "json").stdout)
    assert sorted((str(r["key"]), r["value"]) for r in records) == sorted(
        [("k", "v:w"), ("x", "y"), ("None", "whole line: with colon"), ("a", "b:c")])


def test_line_without_separator_stops_and_exits_1(kafka, config_file, topic, group):
    result = produce(config_file, topic, ["1:one", "2:two", "no separator here", "3:three"])
    assert result.returncode == 1
    err = result.stderr.decode()
    assert "line 3: no key separator ':' in 'no separator here'" in err
    assert "2 delivered to" in err and "stopped reading at line 3" in err
    assert sorted(lines_of(consume(config_file, topic, "-g", group, "-e").stdout)) == ["1:one", "2:two"]


def test_skip_bad_lines_reports_each_and_goes_on(kafka, config_file, topic, group):
    result = produce(config_file, topic, ["1:one", "bad", "2:two", "worse", "3:three"], "--skip-bad-lines")
    assert result.returncode == 0
    err = result.stderr.decode()
    assert "line 2: no key separator" in err and "line 4: no key separator" in err
    assert "3 delivered" in err
    assert len(lines_of(consume(config_file, topic, "-g", group, "-e").stdout)) == 3


def test_headers_reach_the_consumer(kafka, config_file, topic, group):
    assert produce(config_file, topic, ["k:v"], "-H", "source=test", "-H", "trace=a=b").returncode == 0
    record, = json_records(consume(config_file, topic, "-g", group, "-e", "-f", "json").stdout)
    assert record["headers"] == [["source", "test"], ["trace", "a=b"]]
    verbose = consume(config_file, topic, "-g", group + "v", "-e", "-f", "verbose").stdout.decode()
    assert "headers: source=test, trace=a=b" in verbose


def test_json_format_keeps_binary_and_null_unambiguous(kafka, config_file, topic, group):
    assert produce(config_file, topic, b"\xff\xfe:\x00binary\n:no key\n").returncode == 0
    records = json_records(consume(config_file, topic, "-g", group, "-e", "-f", "json").stdout)
    by_value = {str(r["value"]): r for r in records}
    assert by_value["no key"]["key"] is None
    binary = next(r for r in records if isinstance(r["key"], dict))
    assert binary["key"] == {"base64": "//4="} and binary["value"] == "\x00binary"
    assert set(binary) == {"topic", "partition", "offset", "timestamp", "key", "value", "headers"}


def test_verbose_format_shows_partition_offset_and_time(kafka, config_file, make_topic, group):
    topic = make_topic(1)
    assert produce(config_file, topic, ["7:message 7"]).returncode == 0
    line, = lines_of(consume(config_file, topic, "-g", group, "-e", "-f", "verbose").stdout)
    assert line.startswith(f"{topic} [0] @ 0  20")
    assert line.endswith("Z  key=7  value=message 7")


def test_keys_land_on_the_partition_java_would_choose(kafka, config_file, make_topic, group):
    topic = make_topic(6)
    keys = [f"user-{i}" for i in range(60)]
    assert produce(config_file, topic, [f"{k}:x" for k in keys]).returncode == 0
    records = json_records(consume(config_file, topic, "-g", group, "-e", "-f", "json").stdout)
    placed = {r["key"]: r["partition"] for r in records}
    assert placed == {k: murmur2_partition(k.encode(), 6) for k in keys}


@OVER_SASL_SSL
def test_at_least_once_across_restarts(kafka, config_file, topic, group):
    lines = [f"{i}:value {i}" for i in range(500)]
    assert produce(config_file, topic, lines).returncode == 0
    first = consume(config_file, topic, "-g", group, "-n", "120")
    assert first.returncode == 0
    assert len(lines_of(first.stdout)) == 120
    second = consume(config_file, topic, "-g", group, "-e")
    assert second.returncode == 0
    printed = lines_of(first.stdout) + lines_of(second.stdout)
    assert sorted(printed) == sorted(lines)  # nothing skipped, nothing twice
    third = consume(config_file, topic, "-g", group, "-e")
    assert third.stdout == b""


def test_from_beginning_rereads_a_group_that_already_read(kafka, config_file, topic, group):
    assert produce(config_file, topic, TUTORIAL).returncode == 0
    assert len(lines_of(consume(config_file, topic, "-g", group, "-e").stdout)) == 8
    assert consume(config_file, topic, "-g", group, "-e").stdout == b""
    again = consume(config_file, topic, "-g", group, "-e", "--reset")
    assert sorted(lines_of(again.stdout)) == sorted(TUTORIAL)


def test_generated_group_is_announced(kafka, tmp_path, config_file, topic):
    no_group = tmp_path / "no-group.ini"
    no_group.write_text(config_file.read_text().replace("group.id=local-demo\n", ""))
    no_group.chmod(0o600)
    assert produce(config_file, topic, TUTORIAL).returncode == 0
    result = consume(no_group, topic, "-e")
    assert result.returncode == 0
    assert "no group.id in" in result.stderr.decode() and "using the new group consumer.py-" in result.stderr.decode()
    assert len(lines_of(result.stdout)) == 8


def test_max_messages_and_idle_timeout(kafka, config_file, topic, group):
    assert produce(config_file, topic, TUTORIAL).returncode == 0
    assert len(lines_of(consume(config_file, topic, "-g", group, "-n", "3").stdout)) == 3
    began = time.monotonic()
    rest = consume(config_file, topic, "-g", group, "--timeout", "3")
    assert rest.returncode == 0 and len(lines_of(rest.stdout)) == 5
    assert time.monotonic() - began < 30


def test_several_topics(kafka, config_file, make_topic, group):
    a, b = make_topic(1), make_topic(2)
    assert produce(config_file, a, ["a:1"]).returncode == 0
    assert produce(config_file, b, ["b:2"]).returncode == 0
    out = run_script("consumer.py", config_file, "-t", a, "-t", b, "-g", group, "-e")
    assert sorted(lines_of(out.stdout)) == ["a:1", "b:2"]


@OVER_SASL_SSL
def test_missing_topic_is_named(kafka, config_file, group):
    produced = produce(config_file, "no-such-topic", ["k:v"])
    assert produced.returncode == 1
    assert "topic 'no-such-topic' does not exist" in produced.stderr.decode()
    consumed = consume(config_file, "no-such-topic", "-g", group, "-e")
    assert consumed.returncode == 1
    assert "topic 'no-such-topic' does not exist" in consumed.stderr.decode()
    assert no_traceback(produced) and no_traceback(consumed)


def test_a_group_of_three_shares_the_partitions(kafka, config_file, make_topic, group):
    topic = make_topic(6)
    readers = [start_consumer(config_file, topic, "-g", group, "-f", "json", "-X", "heartbeat.interval.ms=1000")
               for _ in range(3)]
    outputs = [[] for _ in readers]
    threads = [threading.Thread(target=lambda r=r, out=out: out.extend(r.stdout), daemon=True)
               for r, out in zip(readers, outputs)]
    for t in threads:
        t.start()
    try:
        wait_for_assignment(kafka, group, members=3, seconds=60)
        lines = [f"{i}:m{i}" for i in range(3000)]
        assert produce(config_file, topic, lines).returncode == 0
        deadline = time.monotonic() + 60
        while sum(map(len, outputs)) < 3000 and time.monotonic() < deadline:
            time.sleep(0.2)
        for r in readers:
            r.send_signal(signal.SIGINT)
        codes = [r.wait(30) for r in readers]
    finally:
        for r in readers:
            r.kill()
    for t in threads:
        t.join(10)
    assert codes == [0, 0, 0]
    per_reader = [[json.loads(line) for line in out] for out in outputs]
    values = [f'{rec["key"]}:{rec["value"]}' for recs in per_reader for rec in recs]
    assert collections.Counter(values) == collections.Counter(lines)  # together every message, once
    partitions = [{rec["partition"] for rec in recs} for recs in per_reader]
    assert sorted(len(p) for p in partitions) == [2, 2, 2]  # six partitions, two each
    assert set().union(*partitions) == set(range(6))


@OVER_SASL_SSL
def test_hundred_thousand_lines_nothing_lost_or_doubled(kafka, config_file, make_topic, group):
    topic = make_topic(4)
    lines = [f"key-{i % 1000}:value number {i}" for i in range(100_000)]
    produced = produce(config_file, topic, lines)
    assert produced.returncode == 0, produced.stderr
    assert "100,000 delivered" in produced.stderr.decode()
    out = consume(config_file, topic, "-g", group, "-e", "-q")
    assert out.returncode == 0
    assert collections.Counter(lines_of(out.stdout)) == collections.Counter(lines)


def test_property_overrides_the_file(kafka, config_file, topic, group):
    result = produce(config_file, topic, ["k:v"], "-X", "acks=0", "-X", "enable.idempotence=false")
    assert result.returncode == 0
    bad = produce(config_file, topic, ["k:v"], "-X", "acks=sometimes")
    assert bad.returncode == 2
    assert "-X acks" in bad.stderr.decode()


@OVER_SASL_SSL
def test_sigint_stops_the_consumer_cleanly_and_commits(kafka, config_file, topic, group):
    assert produce(config_file, topic, TUTORIAL).returncode == 0
    reader = start_consumer(config_file, topic, "-g", group)
    printed = [reader.stdout.readline().decode().rstrip("\n") for _ in TUTORIAL]
    reader.send_signal(signal.SIGINT)
    err = reader.stderr.read()
    assert reader.wait(30) == 0, err
    assert b"Traceback" not in err
    assert sorted(printed) == sorted(TUTORIAL)
    assert consume(config_file, topic, "-g", group, "-e").stdout == b""


@OVER_SASL_SSL
def test_sigterm_while_waiting_for_input_delivers_what_was_read(kafka, config_file, topic, group):
    writer = subprocess.Popen([sys.executable, str(ROOT / "producer.py"), str(config_file), "-t", topic],
                              stdin=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    writer.stdin.write(b"1:one\n2:two\n")
    writer.stdin.flush()
    # both lines stored: the producer now only waits for more input on stdin, which stays open
    deadline = time.monotonic() + 60
    while len(read_topic(kafka.plaintext_bootstrap, topic, extra(kafka))) < 2:
        assert time.monotonic() < deadline and writer.poll() is None, "the two lines never arrived"
        time.sleep(0.1)
    writer.send_signal(signal.SIGTERM)
    err = writer.stderr.read().decode()
    writer.wait(30)
    writer.stdin.close()
    assert writer.returncode == 128 + signal.SIGTERM
    assert "2 delivered" in err and "stopped by SIGTERM" in err
    assert sorted(lines_of(consume(config_file, topic, "-g", group, "-e").stdout)) == ["1:one", "2:two"]


def test_on_a_terminal_each_line_is_sent_as_typed(kafka, config_file, topic, group):
    primary, secondary = pty.openpty()
    writer = subprocess.Popen([sys.executable, str(ROOT / "producer.py"), str(config_file), "-t", topic],
                              stdin=secondary, stderr=subprocess.PIPE, cwd=ROOT)
    os.close(secondary)
    try:
        os.write(primary, b"typed:first\n")
        # the consumer sees the line while the producer still waits for more input
        out = consume(config_file, topic, "-g", group, "-n", "1", "--timeout", "20")
        assert lines_of(out.stdout) == ["typed:first"]
        assert writer.poll() is None
        os.write(primary, b"\x04")  # Ctrl-D
        err = writer.stderr.read().decode()
        assert writer.wait(30) == 0
    finally:
        writer.kill()
        os.close(primary)
    assert "type key:value lines; Ctrl-D to finish" in err
    assert "1 delivered" in err


def test_progress_line_only_when_a_person_watches(kafka, config_file, topic, group, tmp_path):
    slow_input = ("import sys, time\nfor i in range(30):\n    sys.stdout.write(f'{i}:v\\n'); sys.stdout.flush();"
                  " time.sleep(0.05)\n")
    primary, secondary = pty.openpty()
    feeder = subprocess.Popen([sys.executable, "-c", slow_input], stdout=subprocess.PIPE)
    writer = subprocess.Popen([sys.executable, str(ROOT / "producer.py"), str(config_file), "-t", topic],
                              stdin=feeder.stdout, stderr=secondary, cwd=ROOT)
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    writer.wait(30)
    feeder.wait(30)
    os.close(primary)
    err = b"".join(chunks).decode()
    assert "\r" in err and " lines  " in err and "/s" in err
    piped = produce(config_file, topic, [f"{i}:v" for i in range(30)])
    assert b"\r" not in piped.stderr  # never in pipes or logs
