"""Failover on the three-node cluster: producer.py and consumer.py run as processes, as a user runs them,
while the leader of the busiest partition is SIGKILLed (and restarted) or paused.

Every scenario reads the topic back with a plain confluent-kafka consumer and counts lines in and out,
duplicates and per-key order violations (lines are `kN:SEQ`, SEQ counting up per key), and appends a
row to $FAULTS_REPORT when set (see faults_report.py).
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

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition

from local_kafka import create_topic
from local_kafka.broker import SilentLogger

from .faults_report import record
from .scripts import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.local_broker_only]
QUIET = SilentLogger()
# only the two leading numbers; later versions may add more to the line (", N not confirmed")
SUMMARY = re.compile(r"([\d,]+) delivered to \S+, ([\d,]+) failed")

# Writes `count` lines `k<i % keys>:<i // keys>` in chunks, pausing between them, so that a fault
# surely lands while lines are still coming.
FEEDER = """
import sys, time
count, keys, chunk, pause = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
out = sys.stdout.buffer
for start in range(0, count, chunk):
    out.write("".join(f"k{i % keys}:{i // keys}\\n" for i in range(start, min(count, start + chunk))).encode())
    out.flush()
    time.sleep(pause)
"""


def expected_lines(count, keys):
    return [f"k{i % keys}:{i // keys}" for i in range(count)]


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


def summary(stderr):
    found = SUMMARY.findall(stderr)
    assert len(found) == 1, f"expected one summary line in: {stderr[-2000:]}"
    return tuple(int(n.replace(",", "")) for n in found[0])


def stored(consumer, topic, partitions):
    """{partition: high watermark}."""
    return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}


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
    """How many times a key's sequence number does not follow the one before it, in reading order."""
    last, bad = {}, 0
    for line in lines:
        key, _, seq = line.partition(":")
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
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.1)
    return value


def test_leader_killed_mid_produce_and_restarted_every_line_once_in_order(kafka_cluster):
    count, keys = 300_000, 600
    topic = new_topic(kafka_cluster, 6)
    partitions = range(6)
    feeder = subprocess.Popen([sys.executable, "-c", FEEDER, str(count), str(keys), "10000", "0.2"],
                              stdout=subprocess.PIPE)
    producer = Script("producer.py", kafka_cluster.plaintext_config, "-t", topic, "--timeout", "60",
                      stdin=feeder.stdout)
    feeder.stdout.close()
    watcher = Consumer({"bootstrap.servers": kafka_cluster.plaintext_bootstrap, "group.id": "failover-watch",
                        "logger": QUIET})
    victim = None
    try:
        def stored_so_far():
            try:
                sizes = stored(watcher, topic, partitions)
            except KafkaException:  # a new topic: a broker may not know it yet
                return None
            return sizes if sum(sizes.values()) >= 60_000 else None

        sizes = wait_for(stored_so_far, 60, f"60,000 lines stored (producer: {producer.stderr()[-500:]})")
        busiest = max(sizes, key=sizes.get)
        victim = kafka_cluster.leader_of(topic, busiest)
        kafka_cluster.kill(victim)
        killed = time.monotonic()
        time.sleep(10)
        kafka_cluster.restart(victim)
        back = time.monotonic()
        exit_code = producer.finish(timeout=180)
        done = producer.ended or time.monotonic()
    finally:
        watcher.close()
        feeder.kill()
        feeder.wait()
        producer.finish(1)
        if victim is not None and not kafka_cluster.node(victim).running():
            kafka_cluster.restart(victim)
    kafka_cluster.wait_full_isr(topic, timeout=120)
    by_partition = read_back(kafka_cluster.plaintext_bootstrap, topic, partitions)
    got = [line for lines in by_partition.values() for line in lines]
    expected = expected_lines(count, keys)
    dupes = duplicates(got)
    missing = len(set(expected) - set(got))
    disorder = sum(order_violations(lines) for lines in by_partition.values())
    err = producer.stderr()
    record("3 nodes: leader of the busiest partition SIGKILLed mid-produce, restarted 10 s later",
           injected=f"kill -9 node {victim} (leader of partition {busiest}) after {sum(sizes.values()):,} of "
                    f"{count:,} lines were stored; restart on its data/ports 10 s later (back after "
                    f"{back - killed:.1f} s)",
           lines_in=count, lines_out=len(got), duplicates=dupes, missing=missing, order_violations=disorder,
           exit_code=exit_code, recovery_s=round(done - killed, 1), restarted_node_back_s=round(back - killed, 1),
           producer_done_before_restart=done < back,
           outcome="exactly once, in order" if not (dupes or missing or disorder or exit_code) else "FAILED")
    assert exit_code == 0, err
    assert "Traceback" not in err
    assert summary(err) == (count, 0)
    assert collections.Counter(got) == collections.Counter(expected), f"{missing} missing, {dupes} duplicates"
    assert disorder == 0


def test_leader_paused_for_20_s_producer_and_consumer_both_recover(kafka_cluster):
    count, keys = 60_000, 300
    topic = new_topic(kafka_cluster, 3)
    partitions = range(3)
    group = f"g-failover-{uuid.uuid4().hex[:8]}"
    consumer = Script("consumer.py", kafka_cluster.plaintext_config, "-t", topic, "-g", group)
    # 60,000 lines over ~30 s: the pause falls inside the stream, at both ends
    feeder = subprocess.Popen([sys.executable, "-c", FEEDER, str(count), str(keys), "1000", "0.5"],
                              stdout=subprocess.PIPE)
    producer = Script("producer.py", kafka_cluster.plaintext_config, "-t", topic, "--timeout", "60",
                      stdin=feeder.stdout)
    feeder.stdout.close()
    victim = None
    try:
        wait_for(lambda: len(consumer.lines()) >= 5_000, 60,
                 f"consumer.py printing 5,000 lines (stderr: {consumer.stderr()[-500:]})")
        seen_before = len(consumer.lines())
        victim = kafka_cluster.leader_of(topic, 0)
        coordinator = kafka_cluster.coordinator_of(group)
        kafka_cluster.pause(victim)
        paused = time.monotonic()
        time.sleep(20)
        kafka_cluster.resume(victim)
        resumed = time.monotonic()
        producer_exit = producer.finish(timeout=180)
        produced = producer.ended or time.monotonic()
        wait_for(lambda: set(consumer.lines()) >= set(expected_lines(count, keys)), 180,
                 f"consumer.py printing every line (it has {len(set(consumer.lines())):,}; "
                 f"stderr: {consumer.stderr()[-500:]})")
        caught_up = time.monotonic()
        consumer.proc.send_signal(signal.SIGINT)
        consumer_exit = consumer.finish(timeout=60)
    finally:
        if victim is not None:
            kafka_cluster.resume(victim)
        feeder.kill()
        feeder.wait()
        producer.finish(1)
        consumer.finish(1)
    kafka_cluster.wait_full_isr(topic, timeout=120)
    by_partition = read_back(kafka_cluster.plaintext_bootstrap, topic, partitions)
    stored_lines = [line for lines in by_partition.values() for line in lines]
    printed = consumer.lines()
    expected = expected_lines(count, keys)
    disorder = sum(order_violations(lines) for lines in by_partition.values())
    err = producer.stderr()
    record("3 nodes: leader SIGSTOPped for 20 s while producer.py and consumer.py -g run",
           injected=f"SIGSTOP node {victim} (leader of partition 0; group coordinator: node {coordinator}) "
                    f"after the consumer printed {seen_before:,} lines, SIGCONT 20 s later",
           lines_in=count, lines_out=len(stored_lines), duplicates=duplicates(stored_lines),
           printed=len(printed), printed_duplicates=duplicates(printed), order_violations=disorder,
           exit_code=producer_exit, consumer_exit=consumer_exit, pause_s=round(resumed - paused, 1),
           recovery_s=round(caught_up - resumed, 1), producer_done_after_resume_s=round(produced - resumed, 1),
           outcome="both recovered, stored exactly once" if not (producer_exit or consumer_exit or disorder
                                                                 or duplicates(stored_lines)) else "FAILED")
    assert producer_exit == 0, err
    assert "Traceback" not in err and "Traceback" not in consumer.stderr()
    assert summary(err) == (count, 0)
    assert collections.Counter(stored_lines) == collections.Counter(expected)
    assert disorder == 0
    assert consumer_exit == 0, consumer.stderr()
    assert set(printed) == set(expected)  # duplicates are allowed (at-least-once) and counted in the report
