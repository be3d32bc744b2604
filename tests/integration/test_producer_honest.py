"""producer.py's honest ending, as processes against a real broker: every line read is delivered, failed, or
not confirmed (in flight when the wait ended), the summary and exit status say which, and signals never
turn an undelivered line into a success or lose it.

The tests that freeze the broker (SIGSTOP) borrow the session's through `own_kafka` (test_faults), which
resumes it and waits until it is whole before the next test.
"""

import fcntl
import re
import signal
import struct
import subprocess
import termios
import time
import uuid

import pytest
from confluent_kafka.admin import NewTopic

from .faults_report import record
from .test_faults import (Running, _closed_port, command, new_topic, own_kafka, partitions_of,  # noqa: F401
                          read_topic)

COUNTS = re.compile(r"([\d,]+) delivered to \S+, ([\d,]+) failed(?:, ([\d,]+) not confirmed)?")


def counts(stderr):
    """(delivered, failed, not confirmed) from the one summary line."""
    found = COUNTS.findall(stderr)
    assert len(found) == 1, stderr[-2000:]
    return tuple(int(n.replace(",", "") or 0) for n in found[0])


def started_producer(config, topic, *args):
    """producer.py reading a pipe the test holds open."""
    return Running(command("producer.py", config, "-t", topic, *args), stdin=subprocess.PIPE)


def wait_until(condition, what, timeout=60, every=0.05):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(every)


def unread(pipe):
    """How many bytes written to `pipe` (our end of the producer's stdin) it has not read yet."""
    return struct.unpack("i", fcntl.ioctl(pipe.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


def read_all_of_its_stdin(writer):
    """Until the producer has read everything written to its stdin so far (the pipe is empty)."""
    wait_until(lambda: not unread(writer.proc.stdin) or writer.proc.poll() is not None, "the producer read its stdin",
               every=0.001)
    assert writer.proc.poll() is None, writer.stderr()


# librdkafka's debug line (debug=msg, shown with -vv) for a produce request it sends: its messages are in flight
IN_FLIGHT = re.compile(r"Produce MessageSet with (\d+) message")


def sent_to_the_broker(writer):
    """How many messages the producer has put into produce requests so far."""
    return sum(int(n) for n in IN_FLIGHT.findall(writer.stderr()))



@pytest.mark.slow
@pytest.mark.local_broker_only
@pytest.mark.parametrize("ending", ["timeout", "sigint", "second-signal"])
def test_frozen_broker_lines_are_not_confirmed_and_arrive_after_sigcont(own_kafka, ending):
    """A first line delivered; then two lines sent to a broker frozen by SIGSTOP: no acknowledgement can come, so both are 'not confirmed'
    (never 'failed': the broker may have them), exit 1, also when a signal stopped the run. After SIGCONT the
    broker stores both: not confirmed was the truth."""
    topic = new_topic(own_kafka, 1)
    # the wait for acknowledgements ends at --timeout: after a first SIGINT too (6 s); a second stop signal ends it
    # at once (20 s, never reached)
    timeout = {"timeout": "3", "sigint": "6", "second-signal": "20"}[ending]
    # -vv with debug=msg: librdkafka says when it sends a produce request, so the signals come once both lines
    # are in flight (sent to the frozen broker), not after a guessed second
    writer = started_producer(own_kafka.plaintext_config, topic, "--timeout", timeout, "-vv", "-X", "debug=msg")
    try:
        writer.proc.stdin.write(b"warm:up\n")
        writer.proc.stdin.flush()
        wait_until(lambda: len(read_topic(own_kafka.plaintext_bootstrap, topic)) == 1, "the first line stored")
        own_kafka.pause()
        frozen = time.monotonic()
        writer.proc.stdin.write(b"a:1\nb:2\n")
        writer.proc.stdin.close()  # end of input: the producer now waits for the two acknowledgements
        wait_until(lambda: sent_to_the_broker(writer) >= 3, "both lines sent to the frozen broker", every=0.01)
        if ending != "timeout":
            writer.proc.send_signal(signal.SIGINT)  # the first: deliver what was read, up to --timeout
        if ending == "second-signal":
            # the second: stop waiting now. Sent at once, so it is a SIGTERM: two SIGINTs sent before Python ran
            # the handler for the first arrive as one, two signals of different kinds never do, and SIGINT's
            # handler runs first (Python runs them in signal number order), so the run is still 'stopped by
            # SIGINT'; the producer counts its three stop signals together
            writer.proc.send_signal(signal.SIGTERM)
        code = writer.finish(timeout=60)
        ended = time.monotonic() - frozen
    finally:
        own_kafka.resume()
        writer.finish(1)
    stored = read_topic(own_kafka.plaintext_bootstrap, topic)
    err = writer.stderr()
    delivered, failed, unconfirmed = counts(err)
    record(f"producer.py: broker frozen (SIGSTOP) with 2 lines in flight, ended by "
           + {"timeout": "--timeout 3", "sigint": "SIGINT, then --timeout 6",
              "second-signal": "SIGINT, then at once a second stop signal (SIGTERM)"}[ending],
           injected="SIGSTOP the broker after a first line was stored, then feed 2 lines and close stdin; "
                    "SIGCONT after the producer ended",
           lines_in=3, lines_out=len(stored), duplicates=len(stored) - len(set(stored)), exit_code=code,
           recovery_s=round(ended, 1),
           outcome=f"summary {delivered} delivered, {failed} failed, {unconfirmed} not confirmed; after SIGCONT "
                   f"the topic holds {len(stored)} of 3")
    assert "Traceback" not in err
    assert (delivered, failed, unconfirmed) == (1, 0, 2), err  # the warm-up line, then the two
    assert code == 1, err
    assert ("stopped by SIGINT" in err) == (ending != "timeout"), err
    if ending == "second-signal":
        assert "a second SIGINT ended the wait" in err, err
    assert sorted(stored) == [("a", "1"), ("b", "2"), ("warm", "up")]


def test_failed_deliveries_then_sigint_exit_1_not_130(kafka, tmp_path):
    """The broker refuses a message (larger than the topic's max.message.bytes); a SIGINT then stops the run.
    128+N would say 'all delivered, then stopped': it must be 1."""
    topic = f"t-small-{uuid.uuid4().hex[:8]}"
    admin = kafka.admin()
    admin.create_topics([NewTopic(topic, 1, 1, config={"max.message.bytes": "2000"})])[topic].result(30)
    partitions_of(admin, topic)
    writer = started_producer(kafka.plaintext_config, topic)
    try:
        writer.proc.stdin.write(b"a:fits\n")
        writer.proc.stdin.flush()
        wait_until(lambda: len(read_topic(kafka.plaintext_bootstrap, topic)) == 1, "the first line stored")
        writer.proc.stdin.write(b"b:" + b"x" * 5000 + b"\n")  # under the client's limit, over the topic's
        writer.proc.stdin.flush()
        read_all_of_its_stdin(writer)
        writer.proc.send_signal(signal.SIGINT)  # at once: the broker's refusal comes after it
        code = writer.finish(timeout=60)
    finally:
        writer.finish(1)
    err = writer.stderr()
    assert "Traceback" not in err
    assert counts(err) == (1, 1, 0), err
    assert "first failure:" in err and "stopped by SIGINT" in err, err
    assert code == 1, err
    assert read_topic(kafka.plaintext_bootstrap, topic) == [("a", "fits")]


def test_all_delivered_then_sigint_exits_130(kafka, topic):
    writer = started_producer(kafka.plaintext_config, topic)
    try:
        writer.proc.stdin.write(b"a:1\nb:2\nc:no newline yet")
        writer.proc.stdin.flush()
        wait_until(lambda: len(read_topic(kafka.plaintext_bootstrap, topic)) == 2, "both lines stored")
        read_all_of_its_stdin(writer)  # the unfinished third line too
        writer.proc.send_signal(signal.SIGINT)
        code = writer.finish(timeout=60)
    finally:
        writer.finish(1)
    err = writer.stderr()
    assert counts(err) == (2, 0, 0), err
    assert "stopped by SIGINT" in err and code == 130, err
    # the start of a line is not a line: dropped, and said so
    assert "line 3: its first 16 bytes came without a newline before the stop: not sent" in err, err


def test_sigint_while_connecting_exits_130_quietly(tmp_path):
    """Ctrl-C while the producer still looks for a broker (none answers): nothing was read, so it ends like any
    interrupted Unix tool: status 130, no error, no summary."""
    config = tmp_path / "unreachable.ini"
    # a config of the user's own: one the launcher wrote would get the stale-copy sentence ('nothing listens on')
    config.write_text(f"[default]\nbootstrap.servers=127.0.0.1:{_closed_port()}\n")
    writer = Running(command("producer.py", config, "-t", "any", "--timeout", "60"), stdin=subprocess.PIPE)
    try:
        # it says it cannot reach the broker once that lasts (1.5 s): by then it is surely connecting
        wait_until(lambda: "cannot reach the broker" in writer.stderr(), "the 'cannot reach' warning")
        began = time.monotonic()
        writer.proc.send_signal(signal.SIGINT)
        code = writer.finish(timeout=30)
        took = time.monotonic() - began
    finally:
        writer.finish(1)
    err = writer.stderr()
    record("producer.py: SIGINT while no broker answers yet", injected="bootstrap.servers = a closed port, "
           "--timeout 60; SIGINT once the 'cannot reach' warning is out", lines_in=0, lines_out=0, exit_code=code,
           recovery_s=round(took, 1), outcome="quiet: " + ("no error line" if "Error" not in err else err[-200:]))
    assert code == 130, err
    assert "Traceback" not in err and "Error" not in err and "no broker answered" not in err, err
    assert "delivered" not in err, err


def test_timeout_zero_is_refused_with_a_reason(kafka, topic):
    result = subprocess.run(command("producer.py", kafka.plaintext_config, "-t", topic, "--timeout", "0"),
                            input=b"k:v\n", capture_output=True, timeout=60)
    err = result.stderr.decode()
    assert result.returncode == 2, err
    assert "--timeout" in err and "is not in the range x>0" in err and "no broker answered" not in err, err
    assert read_topic(kafka.plaintext_bootstrap, topic) == []


def test_missing_topic_is_named_without_waiting_out_the_timeout(kafka):
    """A broker that does not create topics (the session's) keeps saying 'unknown topic': named as missing after
    the short grace, not after --timeout 60 ('not ready after 60 s' would be the other ending)."""
    began = time.monotonic()
    result = subprocess.run(command("producer.py", kafka.plaintext_config, "-t", f"missing-{uuid.uuid4().hex[:8]}",
                                    "--timeout", "60"), input=b"k:v\n", capture_output=True, timeout=120)
    took = time.monotonic() - began
    err = result.stderr.decode()
    record("producer.py -t MISSING on a broker that does not auto-create (--timeout 60)",
           injected="auto.create.topics.enable=false", lines_in=1, lines_out=0, exit_code=result.returncode,
           recovery_s=round(took, 1), outcome=err.strip().splitlines()[-1][:150])
    assert result.returncode == 1, err
    assert "does not exist" in err and "not ready" not in err, err
