"""consumer.py as a process, for what a user types: option values that librdkafka's C code would crash on, -e
against a broker that is not there, and -F's %h beside kcat's own output."""

import os
import socket
import subprocess
import sys
import time

import pytest
from confluent_kafka import Producer

from .scripts import ROOT, consume, kcat_path, no_traceback


def run_consumer(config, *args, timeout=60):
    """consumer.py with raw bytes on its command line (subprocess passes bytes arguments as they are)."""
    command = [sys.executable.encode(), str(ROOT / "consumer.py").encode(), str(config).encode(), *args]
    return subprocess.run(command, capture_output=True, timeout=timeout, cwd=ROOT)


@pytest.mark.parametrize("args, option, fault", [
    ([b"-t", b"t\xff"], b"'-t' / '--topic'", b"the topic is not valid UTF-8 (byte \\xff at position 1)"),
    ([b"-t", b"^t\xff.*"], b"'-t' / '--topic'", b"the topic pattern is not valid UTF-8 (byte \\xff at position 2)"),
    ([b"-t", b"^(t"], b"'-t' / '--topic'", b"the topic pattern is not a regular expression: missing ), "),
    ([b"-g", b"g\xff"], b"'-g' / '--group'", b"the group id is not valid UTF-8 (byte \\xff at position 1)"),
    ([b"-F", b"%k\\xZZ"], b"'-F' / '--format-string'", b"\\x at position 2 must be followed by two hex digits"),
    ([b"-K", b"\\x"], b"'-K' / '--key-separator'", b"\\x at position 0 must be followed by two hex digits"),
])
def test_values_librdkafka_would_crash_on_are_usage_errors(kafka, topic, group, args, option, fault):
    """Before the checks, -t $'t\\xff' ended in SIGSEGV and -g $'g\\xff' in SIGABRT inside librdkafka."""
    if b"-g" not in args:
        args = [b"-g", group.encode(), *args]
    if b"-t" not in args:
        args = [b"-t", topic.encode(), *args]
    result = run_consumer(kafka.plaintext_config, *args, b"-e")
    assert result.returncode == 2, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith(b"Error: Invalid value for " + option + b": ") and fault in last, result.stderr
    assert b"\xff" not in result.stderr and result.stdout == b"" and no_traceback(result)


@pytest.mark.parametrize("args, message", [
    ([b"-o", b"0001-01-01"], b"Error: -o '0001-01-01': that time is before 1970-01-01T00:00:00Z"),
    ([b"-o", b"9" * 30], b"the offset is out of range (0 to 9,223,372,036,854,775,807)"),
    ([b"--until", b"@" + b"9" * 19], b"the time in ms since the epoch 9999999999999999999 is out of range"),
])
def test_values_out_of_range_are_usage_errors(kafka, topic, args, message):
    result = run_consumer(kafka.plaintext_config, b"-t", topic.encode(), *args, b"-e")
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1 and no_traceback(result)


def closed_port():
    """A loopback port nothing listens on (bound, then closed: the kernel hands it out only after a while)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Without --timeout the bound is EXIT_AT_END_WAIT (30 s): the same path, held to that constant by a unit test
# (tests/unit/test_consumer_command_line.py) rather than waited out here for 30 s.
@pytest.mark.parametrize("bound", [[b"--timeout", b"3"]], ids=["timeout"])
def test_exit_at_end_ends_when_the_broker_never_answers(tmp_path, bound):
    config = tmp_path / "nobody.ini"
    config.write_text(f"[default]\nbootstrap.servers=127.0.0.1:{closed_port()}\n[consumer]\ngroup.id=g\n")
    started = time.monotonic()
    result = run_consumer(config, b"-t", b"orders", b"-e", *bound, timeout=90)
    took = time.monotonic() - started
    err = result.stderr.decode()
    seconds = 3 if bound else 30
    assert result.returncode == 1, err
    assert seconds <= took < seconds + 15, took
    assert err.count("cannot reach the broker") == 1  # said once while waiting
    assert err.splitlines()[-1].startswith(f"Error: -e: no broker answered for {seconds} s (")
    assert "check bootstrap.servers (127.0.0.1:" in err.splitlines()[-1] and no_traceback(result)


@pytest.mark.parametrize("direct", [[b"-p", b"0"], [b"-o", b"-10"], [b"--until", b"100"]], ids=["-p", "-o", "--until"])
def test_direct_reading_ends_at_timeout_when_the_broker_never_answers(tmp_path, direct):
    """-p, -o and --until look the partitions and offsets up before reading: --timeout bounds that wait too (it was
    30 s whatever --timeout said; found by test_boundary's consumer arguments)."""
    config = tmp_path / "nobody.ini"
    port = closed_port()
    config.write_text(f"[default]\nbootstrap.servers=127.0.0.1:{port}\n[consumer]\ngroup.id=g\n")
    started = time.monotonic()
    result = run_consumer(config, b"-t", b"orders", *direct, b"--timeout", b"2", timeout=90)
    took = time.monotonic() - started
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert took < 2 + 15, took
    assert err.splitlines()[-1] == ("Error: no broker answered within 2 s for the partitions of topic 'orders': "
                                    f"check bootstrap.servers (127.0.0.1:{port}) in {config}"), err
    assert no_traceback(result)


def test_exit_at_end_still_reads_everything_from_a_live_broker(kafka, topic, group):
    writer = Producer(kafka.client_settings("plaintext"))
    for i in range(5):
        writer.produce(topic, key=b"k%d" % i, value=b"v%d" % i)
    assert writer.flush(30) == 0
    result = consume(kafka.plaintext_config, topic, "-g", group, "-e", "--timeout", "20")
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.splitlines()) == [b"k%d:v%d" % (i, i) for i in range(5)]


def test_format_string_headers_as_kcat_prints_them(kafka, make_topic):
    """-F '%h' against kcat -f '%h', byte for byte: a null header value, an empty one, no headers at all."""
    topic = make_topic(1)
    writer = Producer(kafka.client_settings("plaintext"))
    writer.produce(topic, key=b"k1", value=b"v1", headers=[("a", b"1"), ("nul", None), ("empty", b"")])
    writer.produce(topic, key=b"k2", value=b"v2")
    writer.produce(topic, key=None, value=None, headers=[("only", None)])
    assert writer.flush(30) == 0
    template = "%k|%s|%h\\n"
    ours = consume(kafka.plaintext_config, topic, "-o", "beginning", "-e", "-F", template)
    assert ours.returncode == 0, ours.stderr
    theirs = subprocess.run([kcat_path(), "-C", "-b", kafka.plaintext_bootstrap, "-t", topic, "-o", "beginning", "-e",
                             "-q", "-f", template.replace("\\n", "\n")], capture_output=True, timeout=60,
                            env={**os.environ, "LC_ALL": "C"})
    assert theirs.returncode == 0, theirs.stderr
    assert ours.stdout == theirs.stdout
    assert ours.stdout == b"k1|v1|a=1,nul=NULL,empty=\nk2|v2|\n||only=NULL\n"
