"""Load and bookkeeping for the cluster's failover tests (test_failover.py) and soak run (test_soak.py):
producer.py and consumer.py as processes, lines fed to the producer at a steady pace, the topic read back,
and the counts every scenario reports (lines in and out, duplicates, per-key order violations).

Lines are `kN:SEQ`: line i of a run is `k<i % keys>:<i // keys>`, so SEQ counts up per key and a reader can
tell a lost, repeated or reordered line from the line alone.
"""

import collections
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid

from confluent_kafka import Consumer, KafkaException, TopicPartition

from local_kafka import create_topic
from local_kafka.broker import SilentLogger

from .scripts import ROOT

QUIET = SilentLogger()
# only the two leading numbers; the line may go on (", N not confirmed", a first failure)
SUMMARY = re.compile(r"([\d,]+) delivered to \S+, ([\d,]+) failed(?:, ([\d,]+) not confirmed)?")
# what producer.py says once when the cluster refuses writes for too few in-sync replicas
NOT_ENOUGH_REPLICAS_SAID = "fewer in-sync replicas than the topic's min.insync.replicas"
# and when it cannot get a producer id for idempotence (the controllers have no majority)
NO_PRODUCER_ID_SAID = "has not given this producer an id for idempotent writes"

# Writes `count` lines in chunks, pausing between them, so that a fault surely lands while lines are still
# coming. A separate process: 300,000 lines from a thread of the test would compete with its other threads.
FEEDER = """
import sys, time
count, keys, chunk, pause = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
out = sys.stdout.buffer
for start in range(0, count, chunk):
    out.write("".join(f"k{i % keys}:{i // keys}\\n" for i in range(start, min(count, start + chunk))).encode())
    out.flush()
    time.sleep(pause)
"""


def line(i, keys):
    return f"k{i % keys}:{i // keys}"


def expected_lines(count, keys, start=0):
    return [line(i, keys) for i in range(start, count)]


class Script:
    """producer.py or consumer.py as a process; threads gather its stdout lines and stderr."""

    def __init__(self, script, config, *args, stdin=subprocess.DEVNULL):
        self.proc = subprocess.Popen([sys.executable, str(ROOT / script), str(config), *map(str, args)], cwd=ROOT,
                                     stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out, self.err = bytearray(), bytearray()
        self.lock = threading.Lock()
        self.ended = None  # monotonic time of its exit, stamped by a thread that waits for it
        self.threads = [threading.Thread(target=self._gather, args=(s, b), daemon=True)
                        for s, b in ((self.proc.stdout, self.out), (self.proc.stderr, self.err))]
        self.threads.append(threading.Thread(target=self._stamp_end, daemon=True))
        for t in self.threads:
            t.start()

    def _stamp_end(self):
        self.proc.wait()
        self.ended = time.monotonic()

    def _gather(self, stream, buffer):
        for chunk in iter(lambda: os.read(stream.fileno(), 65536), b""):
            with self.lock:
                buffer.extend(chunk)

    def lines(self):
        with self.lock:
            data = bytes(self.out)
        return data[:data.rfind(b"\n") + 1].decode().splitlines()

    def stderr(self):
        with self.lock:
            return bytes(self.err).decode(errors="replace")

    def finish(self, timeout):
        """Its exit code; killed (so negative) if it has not ended within `timeout`."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            for t in self.threads:
                t.join(10)
        return self.proc.returncode


class PacedFeed:
    """Writes lines into a process's stdin, `chunk` lines every `pause` seconds, from a thread, until stop():
    the steady input of a producer that runs while faults come and go. `count` is what was written whole."""

    def __init__(self, stdin, keys, chunk, pause):
        self.stdin, self.keys, self.chunk, self.pause = stdin, keys, chunk, pause
        self.count = 0
        self.broken = None  # the producer closed its end (it died): the test fails on its exit code
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            data = "".join(line(i, self.keys) + "\n" for i in range(self.count, self.count + self.chunk)).encode()
            try:
                self.stdin.write(data)
                self.stdin.flush()
            except (BrokenPipeError, ValueError) as e:
                self.broken = e
                return
            self.count += self.chunk
            self._stop.wait(self.pause)

    def stop(self):
        """Stop writing and close the producer's stdin (its end of input); the number of lines written."""
        self._stop.set()
        self._thread.join(30)
        try:
            self.stdin.close()
        except BrokenPipeError:
            pass
        return self.count


def write_lines(stdin, start, stop, keys):
    stdin.write("".join(line(i, keys) + "\n" for i in range(start, stop)).encode())
    stdin.flush()


def summary(stderr):
    """(delivered, failed, not confirmed) from producer.py's one summary line."""
    found = SUMMARY.findall(stderr)
    assert len(found) == 1, f"expected one summary line in: {stderr[-2000:]}"
    return tuple(int(n.replace(",", "")) if n else 0 for n in found[0])


def stored(consumer, topic, partitions):
    """{partition: high watermark}."""
    return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}


def stored_total(bootstrap, topic, partitions):
    """Lines stored in `topic` so far, or None while the cluster cannot say (a broker just went away)."""
    watcher = Consumer({"bootstrap.servers": bootstrap, "group.id": "failover-watch", "logger": QUIET})
    try:
        return sum(stored(watcher, topic, partitions).values())
    except KafkaException:
        return None
    finally:
        watcher.close()


def read_back(bootstrap, topic, partitions, timeout=120):
    """Every line in `topic`, partition by partition in offset order, read to the high watermarks."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"failover-reader-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False, "logger": QUIET})
    try:
        ends = {p: end for p, end in stored(consumer, topic, partitions).items() if end > 0}
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        lines = {p: [] for p in ends}
        deadline = time.monotonic() + timeout
        while any(len(lines[p]) < ends[p] for p in ends):
            assert time.monotonic() < deadline, f"reading {topic} back stuck at {({p: len(v) for p, v in lines.items()})}"
            for msg in consumer.consume(10000, 1.0):
                if msg.error() is None and msg.offset() < ends[msg.partition()]:
                    lines[msg.partition()].append(f"{msg.key().decode()}:{msg.value().decode()}")
        return lines
    finally:
        consumer.close()


def order_violations(lines):
    """How many times a key's sequence number does not follow the one before it, in reading order
    (a repeat counts too: it goes back)."""
    last, bad = {}, 0
    for text in lines:
        key, _, seq = text.partition(":")
        if int(seq) != last.get(key, -1) + 1:
            bad += 1
        last[key] = int(seq)
    return bad


def duplicates(lines):
    return sum(n - 1 for n in collections.Counter(lines).values() if n > 1)


def new_topic(cluster, partitions):
    name = f"failover-{uuid.uuid4().hex[:10]}"
    create_topic(cluster.admin(), name, partitions, replication_factor=3)
    cluster.wait_full_isr(name, timeout=60)
    return name


def wait_for(condition, timeout, what):
    """Poll `condition` until it returns something true (returned); fail naming `what` if it never does.
    The deadline is a guard against a hang, never the thing tested."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.1)
    return value


def restore(cluster, topics):
    """Every node running again, every replica of topic_0, `topics` and the group offsets in sync: the next test's
    cluster (the session's, shared by every cluster test)."""
    for node_id, node in cluster.nodes.items():
        node.resume()  # a no-op unless paused
        if not node.running():
            cluster.restart(node_id)
    for topic in ("topic_0", *topics, "__consumer_offsets"):
        cluster.wait_full_isr(topic, timeout=120)


class Group:
    """`n` consumer.py -g GROUP processes on one topic, and what they printed."""

    def __init__(self, config, topic, group, n):
        self.members = [Script("consumer.py", config, "-t", topic, "-g", group) for _ in range(n)]

    def printed(self):
        return [text for member in self.members for text in member.lines()]

    def stderr(self):
        return "\n".join(member.stderr()[-500:] for member in self.members)

    def wait_printed(self, expected, timeout):
        missing = set(expected)

        def all_printed():
            missing.difference_update(self.printed())
            return not missing

        wait_for(all_printed, timeout, lambda_text(lambda: f"the group printing every line ({len(missing):,} still "
                                                           f"missing; stderr: {self.stderr()})"))

    def stop(self, timeout=60):
        """SIGINT (the normal way to stop: it commits), then the exit codes."""
        for member in self.members:
            if member.proc.poll() is None:
                member.proc.send_signal(signal.SIGINT)
        return [member.finish(timeout) for member in self.members]

    def duplicates_between_members(self):
        """Lines printed by more than one member (a partition that moved), and lines one member printed twice."""
        across = within = 0
        owners = collections.defaultdict(list)
        for index, member in enumerate(self.members):
            counts = collections.Counter(member.lines())
            within += sum(n - 1 for n in counts.values() if n > 1)
            for text in counts:
                owners[text].append(index)
        across = sum(len(who) - 1 for who in owners.values() if len(who) > 1)
        return across, within


class lambda_text:
    """A failure message built only when it is shown (the group's output can be large)."""

    def __init__(self, make):
        self.make = make

    def __str__(self):
        return self.make()
