"""Soak run: steady load on the three-node cluster (producer.py fed ~1,000 lines a second, two consumer.py -g
reading) while one node at a time is SIGKILLed and restarted, or SIGSTOPped and resumed, at moments drawn
from a seed. Nothing may be lost, the topic must keep every key's order (and hold each line once: the
producer is idempotent), and the group must print every line at least once.

    SOAK_SECONDS=600 SOAK_SEED=4711 .venv/bin/python -m pytest -s tests/integration/test_soak.py    (make soak)

SOAK_SECONDS (default 20, the run in the test suite: two faults or so) is how long new faults keep coming; SOAK_SEED (default:
a fresh one) replays the same nodes, faults, hold times and gaps. The seed and the totals are printed at
the end (pytest -s shows them) and go to $FAULTS_REPORT as one row.
"""

import collections
import os
import random
import subprocess
import sys
import threading
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition

from .cluster_load import (QUIET, Group, PacedFeed, Script, duplicates, expected_lines, new_topic, order_violations,
                           read_back, restore, summary, wait_for)
from .faults_report import record

pytestmark = [pytest.mark.slow, pytest.mark.local_broker_only]

SECONDS = float(os.environ.get("SOAK_SECONDS") or 20)
SEED = int(os.environ.get("SOAK_SEED") or random.SystemRandom().randrange(1_000_000))
PARTITIONS = 6


class StallWatch:
    """Samples the topic's high watermarks every second from a thread and keeps, per partition, the longest
    time it did not grow: how long writers were held up, as a user of that partition would feel it."""

    def __init__(self, bootstrap, topic):
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"soak-watch-{uuid.uuid4().hex[:8]}",
                                  "logger": QUIET})
        self.topic = topic
        self.longest = 0.0
        self._last = {}  # partition -> (high watermark, since when)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(1.0):
            for p in range(PARTITIONS):
                try:
                    high = self.consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=2)[1]
                except KafkaException:
                    continue  # its leader is away: the stall goes on
                now = time.monotonic()
                seen, since = self._last.get(p, (None, now))
                if high != seen:
                    self._last[p] = (high, now)
                else:
                    self.longest = max(self.longest, now - since)

    def stop(self):
        self._stop.set()
        self._thread.join(30)
        self.consumer.close()
        return round(self.longest, 1)


def inject(cluster, rng, topics):
    """One fault on one node, drawn from `rng`: kill -9 then restart, or SIGSTOP then SIGCONT, after 2-12 s.
    Returns once every replica is back in sync, so a fault never meets another one's leftovers."""
    node_id = rng.choice(sorted(cluster.nodes))
    kind = rng.choice(("kill", "pause"))
    hold = round(rng.uniform(2, 12), 1)
    (cluster.kill if kind == "kill" else cluster.pause)(node_id)
    time.sleep(hold)
    restored = time.monotonic()
    (cluster.restart if kind == "kill" else cluster.resume)(node_id)
    for topic in (*topics, "__consumer_offsets"):
        cluster.wait_full_isr(topic, timeout=180)
    return {"kind": kind, "node": node_id, "hold_s": hold, "recovery_s": round(time.monotonic() - restored, 1)}


def test_soak_random_kills_and_pauses_of_one_node_nothing_lost_order_kept(kafka_cluster):
    rng = random.Random(SEED)
    keys = 500
    topic = new_topic(kafka_cluster, PARTITIONS)
    group = f"g-soak-{uuid.uuid4().hex[:8]}"
    config, bootstrap = kafka_cluster.plaintext_config, kafka_cluster.plaintext_bootstrap
    readers = Group(config, topic, group, 2)
    producer = Script("producer.py", config, "-t", topic, "--timeout", "180", stdin=subprocess.PIPE)
    feed = PacedFeed(producer.proc.stdin, keys, chunk=200, pause=0.2)
    watch = StallWatch(bootstrap, topic)
    faults = []
    started = time.monotonic()
    try:
        wait_for(lambda: len(readers.printed()) >= 1_000, 120,
                 f"the group printing 1,000 lines (stderr: {readers.stderr()})")
        end = time.monotonic() + SECONDS
        while time.monotonic() < end:
            faults.append(inject(kafka_cluster, rng, [topic]))
            time.sleep(round(rng.uniform(1, 5), 1))  # load without a fault between two faults
        count = feed.stop()
        exit_code = producer.finish(timeout=240)
        expected = expected_lines(count, keys)
        readers.wait_printed(expected, 240)
        consumer_exits = readers.stop()
    finally:
        feed.stop()
        producer.finish(1)
        readers.stop(1)
        longest_stall = watch.stop()
        restore(kafka_cluster, [topic])
    by_partition = read_back(bootstrap, topic, range(PARTITIONS))
    got = [text for lines in by_partition.values() for text in lines]
    disorder = sum(order_violations(lines) for lines in by_partition.values())
    missing = len(set(expected) - set(got))
    printed = readers.printed()
    kinds = collections.Counter(f["kind"] for f in faults)
    max_recovery = max((f["recovery_s"] for f in faults), default=0.0)
    totals = {"seed": SEED, "seconds": round(time.monotonic() - started), "lines_in": count, "lines_out": len(got),
              "missing": missing, "duplicates": duplicates(got), "order_violations": disorder,
              "printed": len(printed), "printed_duplicates": duplicates(printed),
              "faults": len(faults), "kills": kinds["kill"], "pauses": kinds["pause"],
              "max_recovery_s": max_recovery, "longest_partition_stall_s": longest_stall,
              "exit_code": exit_code, "consumer_exits": consumer_exits}
    print(f"\nSOAK totals (SOAK_SECONDS={SECONDS:g} SOAK_SEED={SEED}):", file=sys.stderr)
    for name, value in totals.items():
        print(f"  {name:27} {value:,}" if isinstance(value, int) else f"  {name:27} {value}", file=sys.stderr)
    for f in faults:
        print(f"  fault: {f['kind']} node {f['node']} for {f['hold_s']} s, full ISR {f['recovery_s']} s after "
              f"restoring", file=sys.stderr)
    ok = not (missing or disorder or exit_code or any(consumer_exits)) and set(printed) >= set(expected)
    record(f"3 nodes: soak, {SECONDS:g} s of random faults (seed {SEED}), one node at a time, under steady load",
           injected=f"{kinds['kill']} kill -9 + restart, {kinds['pause']} SIGSTOP + SIGCONT, 2-12 s each: "
                    + (", ".join(f"{f['kind']} {f['node']} {f['hold_s']} s" for f in faults) if len(faults) <= 10
                       else "each one listed in the printed totals"),
           recovery_s=max_recovery, **{k: v for k, v in totals.items() if k != "max_recovery_s"},
           outcome=(f"nothing lost, in order; longest partition stall {longest_stall} s; the group printed "
                    f"{duplicates(printed):,} twice") if ok else "FAILED")
    err = producer.stderr()
    assert faults, "no fault was injected"
    assert exit_code == 0, err[-2000:]
    assert summary(err) == (count, 0, 0)
    assert missing == 0, f"{missing:,} lines lost (seed {SEED})"
    assert disorder == 0, f"{disorder} per-key order violations (seed {SEED})"
    assert duplicates(got) == 0, f"seed {SEED}"
    assert consumer_exits == [0, 0], readers.stderr()
    assert set(printed) == set(expected)
    assert "Traceback" not in err and "Traceback" not in readers.stderr()
