"""producer.py against what the outside world does to it, as processes: a closed SSH session (SIGHUP) after the
last line, a signal while the Schema Registry keeps it waiting before any line is read, and records whose
timestamps the topic refuses (which takes the good records of their batch down with them).
"""

import fcntl
import json
import signal
import socket
import subprocess
import termios
import threading
import time
import uuid

import pytest
from confluent_kafka.admin import NewTopic

from .test_faults import Running, _closed_port, command, partitions_of, read_topic
from .schema.conftest import schema_config, schema_registry  # noqa: F401 (fixtures)
from .test_producer_honest import counts, wait_until


def pipe_unread(pipe):
    """Bytes written to `pipe` that its reader has not read yet (Linux answers FIONREAD on the write end too)."""
    return int.from_bytes(fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0" * 4), "little")


# -- a closed SSH session ------------------------------------------------------------------------------------
def test_sighup_right_after_the_last_line_delivers_every_line_and_exits_129(kafka, topic):
    """SIGHUP, as a closed SSH session or terminal sends it, the moment the producer has read the last of 5,000
    lines (most still queued): handled like SIGTERM, every line delivered, the summary, exit 128+1."""
    writer = Running(command("producer.py", kafka.plaintext_config, "-t", topic), stdin=subprocess.PIPE)
    try:
        writer.proc.stdin.write("".join(f"k{i}:v{i}\n" for i in range(5000)).encode())
        writer.proc.stdin.flush()
        # the signal as soon as the producer has read the last byte (stdin stays open: no end of input)
        wait_until(lambda: pipe_unread(writer.proc.stdin) == 0, "the producer read every line")
        writer.proc.send_signal(signal.SIGHUP)
        code = writer.finish(timeout=60)
    finally:
        writer.finish(1)
    err = writer.stderr()
    assert "Traceback" not in err, err
    assert code == 128 + signal.SIGHUP, err
    assert counts(err) == (5000, 0, 0) and "stopped by SIGHUP" in err, err
    stored = read_topic(kafka.plaintext_bootstrap, topic)
    assert sorted(stored) == sorted((f"k{i}", f"v{i}") for i in range(5000))


# -- a signal while the Schema Registry is asked ---------------------------------------------------------------
class SilentRegistry:
    """A TCP port that takes every connection and its request, and never answers: a registry that hangs."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = self.server.getsockname()[1]
        self.asked = threading.Event()
        self.held = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.held.append(conn)
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn):
        try:
            while conn.recv(65536):
                self.asked.set()
        except OSError:
            pass

    def close(self):
        self.server.close()
        for conn in self.held:
            conn.close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_signal_while_the_registry_keeps_the_producer_waiting_ends_it_at_once_with_128_plus_n(tmp_path, sig):
    """The schema is registered before any line is read; the registry takes the request and never answers (its
    calls time out after 10 s, retried once). A signal then ends the run within 2 s with 128+N, quietly: nothing
    was read."""
    registry = SilentRegistry()
    config = tmp_path / "config.ini"
    config.write_text(f"[default]\nbootstrap.servers=127.0.0.1:{_closed_port()}\n"
                      f"schema.registry.url=http://127.0.0.1:{registry.port}\n")
    schema = tmp_path / "value.avsc"
    schema.write_text('{"type": "record", "name": "V", "fields": [{"name": "n", "type": "long"}]}')
    writer = Running(command("producer.py", config, "-t", "t", "--value-format", "avro", "--value-schema", schema),
                     stdin=subprocess.PIPE)
    try:
        assert registry.asked.wait(30), writer.stderr()
        began = time.monotonic()
        writer.proc.send_signal(sig)
        code = writer.finish(timeout=30)
        took = time.monotonic() - began
    finally:
        writer.finish(1)
        registry.close()
    err = writer.stderr()
    assert code == 128 + sig, err
    assert took < 2, f"{took:.1f} s"
    assert "Traceback" not in err and "Error" not in err and "delivered" not in err, err


# -- key/value JSON that JSON cannot hold, against the real registry --------------------------------------------
SCHEMAS = {
    "avro": ('{"type": "record", "name": "R", "fields": [{"name": "s", "type": "string", "default": ""}, '
             '{"name": "d", "type": "double", "default": 0}]}', "r.avsc"),
    "jsonschema": ('{"type": "object", "properties": {"s": {"type": "string"}, "d": {"type": "number"}}}', "r.json"),
    "protobuf": ('syntax = "proto3";\nmessage R { string s = 1; double d = 2; }\n', "r.proto"),
}
UNFIT_VALUES = ['{"s": "\\ud800"}', '{"\\udc00": "x"}', '{"d": NaN}', '{"d": Infinity}', '{"d": 1e400}',
                "[" * 5000 + "]" * 5000]


@pytest.mark.parametrize("fmt", sorted(SCHEMAS))
def test_json_that_json_cannot_hold_is_a_numbered_bad_line_and_the_run_goes_on(kafka, make_topic, schema_config,
                                                                              tmp_path, fmt):
    """7 good lines, then lone surrogates (in a value, in a key), NaN, Infinity, 1e400 and JSON nested past
    Python's parser, then a good line, with --skip-bad-lines: each bad one named with its line number, the 8 good
    ones delivered, the summary, exit 0 (it was a UnicodeEncodeError traceback after 7 delivered lines)."""
    from .scripts import produce

    topic = make_topic(1)
    text, name = SCHEMAS[fmt]
    schema = tmp_path / name
    schema.write_text(text)
    good = [f'k{i}\t{{"s": "ok {i}", "d": {i}.5}}' for i in range(7)]
    lines = good + [f"bad\t{value}" for value in UNFIT_VALUES] + ['last\t{"s": "after", "d": 2}']
    result = produce(schema_config, topic, lines, "-K", r"\t", "--value-format", fmt, "--value-schema", schema,
                     "--skip-bad-lines", timeout=120)
    err = result.stderr.decode(errors="replace")
    assert "Traceback" not in err, err
    assert result.returncode == 0, err
    for number in range(8, 8 + len(UNFIT_VALUES)):
        assert f"line {number}: the value " in err, err
    assert "line 8: the value is not JSON (a lone surrogate \\ud800, which no UTF-8 text can hold)" in err
    assert "line 10: the value is not JSON (NaN is not a JSON number)" in err
    assert "line 12: the value is not JSON (1e400 is beyond the range of a double)" in err
    assert counts(err) == (8, 0, 0), err
    assert f"{len(UNFIT_VALUES)} lines skipped" in err, err
    assert stored_count(kafka.plaintext_bootstrap, topic) == 8


def stored_count(bootstrap, topic):
    """How many messages partition 0 of `topic` holds (they are binary: not read as text)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"count-{uuid.uuid4().hex[:8]}"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
    finally:
        consumer.close()
    return high - low


# -- timestamps the topic refuses ---------------------------------------------------------------------------------
def json_lines(*stamps):
    """-f json records k1:v1, k2:v2... with these timestamps (None: no timestamp, the time of sending)."""
    return [json.dumps({"key": f"k{i}", "value": f"v{i}", **({"timestamp": ts} if ts is not None else {})})
            for i, ts in enumerate(stamps, 1)]


def test_a_future_timestamp_names_its_line_the_limit_and_the_good_lines_that_failed_with_it(kafka, make_topic):
    """3 good records and one stamped 2100-01-01 (Kafka 4 refuses more than 1 h ahead): it was only 'Broker:
    Invalid timestamp' for all 4."""
    from .scripts import produce

    topic = make_topic(1)
    now = int(time.time() * 1000)
    result = produce(kafka.plaintext_config, topic, json_lines(now, None, now, 4_102_444_800_000), "-f", "json")
    err = result.stderr.decode()
    assert "Traceback" not in err and result.returncode == 1, err
    # one batch usually holds all four, but a busy machine can send the first line on its own: then it is stored
    delivered, failed, unconfirmed = counts(err)
    assert unconfirmed == 0 and delivered + failed == 4 and failed >= 1, err
    assert ("first failure: Broker: Invalid timestamp: line 4 has timestamp 4102444800000 (2100-01-01T00:00:00Z), "
            in err), err
    assert ("ahead of the clock, beyond message.timestamp.after.max.ms=3600000 (60 min; the topic's setting); the "
            "broker refuses the whole batch such a line is in: 1 line out of range, "
            f"{failed - 1} line{'s' if failed - 1 != 1 else ''} with good timestamps failed with it") in err, err
    assert stored_count(kafka.plaintext_bootstrap, topic) == delivered


def test_past_timestamps_name_the_first_such_line_and_before_max_ms(kafka):
    """A topic that keeps no record older than a day: two lines of 2000 among two good ones (the broker then
    answers with per-record errors, not one error for the batch)."""
    from .scripts import produce

    topic = f"t-before-{uuid.uuid4().hex[:8]}"
    admin = kafka.admin()
    admin.create_topics([NewTopic(topic, 1, 1, config={"message.timestamp.before.max.ms": "86400000"})])[topic] \
        .result(30)
    partitions_of(admin, topic)
    now = int(time.time() * 1000)
    result = produce(kafka.plaintext_config, topic, json_lines(now, 946_684_800_000, None, 946_684_800_001),
                     "-f", "json")
    err = result.stderr.decode()
    assert "Traceback" not in err and result.returncode == 1, err
    delivered, failed, unconfirmed = counts(err)  # as above: the first line may go in a batch of its own
    assert unconfirmed == 0 and delivered + failed == 4 and failed >= 2, err
    assert "first failure: Broker: Invalid timestamp: line 2 has timestamp 946684800000 (2000-01-01T00:00:00Z)" in err
    assert ("behind the clock, beyond message.timestamp.before.max.ms=86400000 (24 h; the topic's setting); the "
            "broker refuses the whole batch such a line is in: 2 lines out of range, "
            f"{failed - 2} line{'s' if failed - 2 != 1 else ''} with good timestamps failed with them") in err, err


def test_a_copy_of_old_records_into_a_topic_that_takes_them_is_delivered(kafka, make_topic):
    """Old timestamps make the producer read the topic's limits once (to know which lines to watch): a topic
    without a before.max.ms takes them all, as before."""
    from .scripts import produce

    topic = make_topic(1)
    result = produce(kafka.plaintext_config, topic, json_lines(*range(1_600_000_000_000, 1_600_000_003_000)),
                     "-f", "json")
    err = result.stderr.decode()
    assert result.returncode == 0 and counts(err) == (3000, 0, 0), err
    assert stored_count(kafka.plaintext_bootstrap, topic) == 3000
