"""The first contact with the cluster (issue 28), with the scripts as processes against the real broker: -L, --lag
and the direct consumer say a refused login at once (they waited out --timeout), and a broker nobody answers
on within seconds, long before --timeout; a config copied from the local Kafka that no longer fits it says so
and how to copy it again; the consumer says what it reads where a person watches stderr (a terminal, or -v)
and nothing more into a pipe; and `consumer.py | head -1` on a quiet topic ends once head has its line.

Timings: each wait has --timeout 30 and the sentence must come within SAID_WITHIN (10 s, for a busy machine;
it comes in about 2 s), so a sentence that waited for --timeout fails."""

import os
import pty
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import pytest
from confluent_kafka import Producer

from .scripts import ROOT, no_traceback, run_script

SAID_WITHIN = 10.0


def closed_port():
    """A loopback port nothing listens on (bound, then closed: the kernel hands it out only after a while)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_of(path, tmp_path, name, **changed):
    """The launcher's config file at `path`, copied as a user does (its first line kept), with `changed`
    properties (dots as underscores) set to other values."""
    text = path.read_text()
    for key, value in changed.items():
        key = key.replace("_", ".")
        text, found = re.subn(rf"(?m)^{re.escape(key)}=.*$", f"{key}={value}", text)
        assert found == 1, key
    copy = tmp_path / name
    copy.write_text(text)
    copy.chmod(0o600)
    return copy


class Watching:
    """A script running with its stderr read as it comes, each line with the seconds since the start."""

    def __init__(self, *args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL):
        self.started = time.monotonic()
        self.proc = subprocess.Popen([sys.executable, *map(str, args)], stdout=stdout, stderr=stderr, cwd=ROOT)
        self.lines = []
        if stderr is subprocess.PIPE:
            self.reader = threading.Thread(target=self._read, daemon=True)
            self.reader.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append((time.monotonic() - self.started, line.decode(errors="replace").rstrip("\n")))

    def first(self, words, within):
        """(seconds, line) of the first stderr line holding `words`, waiting up to `within` s; None if none."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = next(((at, line) for at, line in self.lines if words in line), None)
            if found:
                return found
            time.sleep(0.05)
        return None

    def stop(self):
        """SIGINT (Ctrl-C), and the exit status."""
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(30)
        if self.proc.stderr is not None:
            self.reader.join(10)
        return code

    def stderr(self):
        return "\n".join(line for _, line in self.lines)


VIEWS = {"-L": ["-L"], "--lag": ["--lag", "-g", "g-first-contact"], "-p 0": ["-t", "topic_0", "-p", "0"],
         "-o -1": ["-t", "topic_0", "-o", "-1"], "-Q": ["-t", "topic_0", "-Q", "-o", "15m"]}


# -- a refused login -----------------------------------------------------------------------------------------
@pytest.mark.local_broker_only  # the launcher's SASL_SSL config and its users
@pytest.mark.parametrize("view", VIEWS, ids=list(VIEWS))
def test_a_refused_login_ends_the_run_at_once(kafka, tmp_path, view):
    """-L and --lag waited out --timeout (30 s) before they said it; -p/-o too, and then called it 'no broker
    answered'. The config is the launcher's, so the sentence adds how to copy it again."""
    config = copy_of(kafka.sasl_ssl_config, tmp_path, "copied.ini", sasl_password="Wr0ng-password")
    started = time.monotonic()
    result = run_script("consumer.py", config, *VIEWS[view], "--timeout", "30", timeout=60)
    took = time.monotonic() - started
    last = result.stderr.decode().splitlines()[-1]
    assert result.returncode == 1 and took < SAID_WITHIN, (took, result.stderr)
    assert last == (f"Error: authentication failed for user 'alice': check sasl.username and sasl.password in "
                    f"{config}; this config was written by the local Kafka in {kafka.workdir}, which makes new "
                    f"passwords at every start: run `LOCAL_KAFKA_STATE={kafka.workdir} python -m local_kafka "
                    f"status`, or copy the config again: cp \"$(LOCAL_KAFKA_STATE={kafka.workdir} python -m "
                    f"local_kafka config sasl_ssl)\" {config}")
    assert b"Wr0ng-password" not in result.stderr and no_traceback(result)


# -- nobody listening ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("view", VIEWS, ids=list(VIEWS))
def test_a_broker_nobody_answers_on_is_said_long_before_the_timeout(tmp_path, view):
    """A config of the user's own (not the launcher's): the sentence consume and produce say, once, and the
    run goes on trying until --timeout (here ended by Ctrl-C)."""
    port = closed_port()
    config = tmp_path / "mine.ini"
    config.write_text(f"[default]\nbootstrap.servers=127.0.0.1:{port}\n")
    running = Watching(ROOT / "consumer.py", config, *VIEWS[view], "--timeout", "30")
    try:
        said = running.first("cannot reach the broker", SAID_WITHIN)
        time.sleep(1)  # said once, not once a slice
    finally:
        code = running.stop()
    assert said is not None, running.stderr()
    assert said[1].startswith(f"consumer.py: cannot reach the broker (127.0.0.1:{port}/bootstrap: Connect to ")
    assert said[1].endswith(f"): still trying until --timeout; check bootstrap.servers=127.0.0.1:{port} "
                            f"({config} line 2 [default])")
    assert running.stderr().count("cannot reach") == 1, running.stderr()
    # -L and --lag end by their Ctrl-C handler (130); -Q has nothing to flush or say and keeps Ctrl-C's default,
    # the process ended by the signal itself, as a shell sees 130 too
    ended = {"-L": 130, "--lag": 130, "-Q": -signal.SIGINT}.get(view, 0)
    assert code == ended and "Traceback" not in running.stderr()


def test_a_stale_copy_of_the_local_kafkas_config_says_how_to_copy_it_again(kafka, tmp_path, monkeypatch):
    """The launcher's PLAINTEXT config, copied, with the port of an earlier start: nothing listens there."""
    monkeypatch.delenv("LOCAL_KAFKA_STATE", raising=False)  # (the scripts' own environment: the default dir)
    port = closed_port()
    config = copy_of(kafka.plaintext_config, tmp_path, "config.ini", bootstrap_servers=f"127.0.0.1:{port}")
    state_dir = os.path.join(tempfile.gettempdir(), f"local-kafka-{os.getuid()}")
    running = Watching(ROOT / "consumer.py", config, "-L", "--timeout", "30")
    try:
        said = running.first("nothing listens", SAID_WITHIN)
    finally:
        running.stop()
    assert said is not None, running.stderr()
    assert said[1] == (f"consumer.py: nothing listens on 127.0.0.1:{port} (bootstrap.servers, {config} line 3 "
                       f"[default]): still trying until --timeout; this config was written by the local Kafka in "
                       f"{state_dir}, which is stopped or was restarted on other ports: run `python -m local_kafka "
                       f"status`, or copy the config again: cp \"$(python -m local_kafka config plaintext)\" {config}")


# -- what the consumer reads ---------------------------------------------------------------------------------
def test_the_consumer_says_what_it_reads_with_v(kafka, make_topic, group):
    topic = make_topic(3)
    result = run_script("consumer.py", kafka.plaintext_config, "-t", topic, "-g", group, "-e", "-v", timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr.decode().splitlines()[0] == (
        f"consumer.py: reading {topic} (3 partitions) as group {group} from the group's committed offsets, else the "
        "start (auto.offset.reset=earliest); ends at the end of every partition (-e), or Ctrl-C")


def test_the_consumer_says_what_it_reads_on_a_terminal_and_nothing_into_a_pipe(kafka, make_topic, group):
    topic = make_topic(1)
    quiet = run_script("consumer.py", kafka.plaintext_config, "-t", topic, "-g", group, "-e", timeout=60)
    assert quiet.returncode == 0 and quiet.stderr == b"", quiet.stderr
    leader, follower = pty.openpty()
    try:
        running = Watching(ROOT / "consumer.py", kafka.plaintext_config, "-t", topic, "-g", group, "-e",
                           stderr=follower)
        os.close(follower)
        code = running.proc.wait(60)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # (EIO: the terminal's other side is closed and read to its end)
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
    assert code == 0, seen
    assert seen.decode().replace("\r\n", "\n") == (
        f"consumer.py: reading {topic} (1 partition) as group {group} from the group's committed offsets, else the "
        "start (auto.offset.reset=earliest); ends at the end of every partition (-e), or Ctrl-C\n")


# -- the reader of the pipe gone -----------------------------------------------------------------------------
@pytest.mark.parametrize("how", [["-g", "GROUP"], ["-o", "beginning"]], ids=["-g", "-o beginning"])
def test_head_1_on_a_quiet_topic_ends_the_consumer(kafka, make_topic, group, how):
    """`consumer.py | head -1`, a real pipeline: head takes its line and exits; the consumer, with nothing more
    to write, used to notice only at its next write, which on a quiet topic never came."""
    topic = make_topic(1)
    writer = Producer(kafka.client_settings("plaintext"))
    for i in range(3):
        writer.produce(topic, key=b"k%d" % i, value=b"v%d" % i)
    assert writer.flush(30) == 0
    args = [group if a == "GROUP" else a for a in how]
    consumer = subprocess.Popen([sys.executable, str(ROOT / "consumer.py"), str(kafka.plaintext_config), "-t", topic,
                                 *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    head = subprocess.Popen(["head", "-1"], stdin=consumer.stdout, stdout=subprocess.PIPE)
    consumer.stdout.close()  # head holds the only read end now, as in a shell's pipeline
    first, _ = head.communicate(timeout=60)
    try:
        code = consumer.wait(SAID_WITHIN)
    except subprocess.TimeoutExpired:
        consumer.kill()
        consumer.wait()
        pytest.fail("the consumer did not end after head -1 closed the pipe")
    err = consumer.stderr.read()
    assert first == b"k0:v0\n" and code == 0 and err == b"", err
