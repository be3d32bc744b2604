"""The metadata views against a broker with many partitions: `consumer.py -L` beside `kcat -L`, and
`consumer.py --lag` beside Kafka's kafka-consumer-groups --describe (the Java ConsumerGroupCommand from the
launcher's cached jars), on one local Kafka holding 500 topics x 6 partitions and a group with a committed
offset on each of those 3,000 partitions. Prints the timings (wall clock of each whole process, start-up
included, median and range of a few runs); asserts nothing about them.

    python bench/views.py [--topics 500] [--partitions 6] [--runs 5]

Starts its own local Kafka (one node) in a temporary directory and stops it at the end.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python bench/views.py` puts bench/ first on the path, not the project

from local_kafka import LocalKafka  # noqa: E402
from local_kafka.broker import check_java, classpath  # noqa: E402

GROUP = "bench-views-group"
PREFIX = "bench-views-"


def create_topics(admin, count, partitions):
    """`count` topics of `partitions` partitions, in batches of 100 (one CreateTopics request each)."""
    from confluent_kafka.admin import NewTopic

    names = [f"{PREFIX}{i:04d}" for i in range(count)]
    for start in range(0, count, 100):
        futures = admin.create_topics([NewTopic(n, num_partitions=partitions, replication_factor=1)
                                       for n in names[start:start + 100]], operation_timeout=60)
        for future in futures.values():
            future.result(120)
    return names


def fill_and_commit(bootstrap, names, partitions):
    """Two messages in every partition, then the group's committed offset 1 on each: a lag of 1 everywhere.
    The offsets are committed directly (no group join): the group exists with its offsets, as after a run."""
    from confluent_kafka import Consumer, Producer, TopicPartition

    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50})
    for name in names:
        for p in range(partitions):
            producer.produce(name, b"v", partition=p)
            producer.produce(name, b"v", partition=p)
        producer.poll(0)
    assert producer.flush(120) == 0, "not every message was delivered"
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP, "enable.auto.commit": False})
    consumer.commit(offsets=[TopicPartition(n, p, 1) for n in names for p in range(partitions)], asynchronous=False)
    consumer.close()


def timed(cmd, runs, expect_in_output):
    """Wall-clock seconds of `runs` runs of `cmd`; each must exit 0 and print `expect_in_output`."""
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
        times.append(time.perf_counter() - began)
        if proc.returncode != 0 or expect_in_output not in proc.stdout:
            raise SystemExit(f"{' '.join(cmd[:3])}...: exit {proc.returncode}, stderr: {proc.stderr[-500:]}")
    return times


def line(name, times):
    return (f"  {name:<44} median {statistics.median(times):6.2f} s   min {min(times):5.2f}   "
            f"max {max(times):5.2f}   ({len(times)} runs)")


def measure(kafka, names, runs):
    config = str(kafka.plaintext_config)
    python = [sys.executable, str(ROOT / "consumer.py"), config]
    java = [check_java(), "-cp", classpath(), "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
            "--bootstrap-server", kafka.plaintext_bootstrap]
    rows = [("consumer.py -L", timed(python + ["-L"], runs, names[-1]))]
    rows.append(("consumer.py -L -f json", timed(python + ["-L", "-f", "json"], runs, names[-1])))
    if shutil.which("kcat"):
        rows.append(("kcat -L", timed(["kcat", "-L", "-b", kafka.plaintext_bootstrap], runs, names[-1])))
    else:
        print("  kcat not found (apt-get install kcat): left out", file=sys.stderr)
    rows.append((f"consumer.py --lag -g {GROUP}", timed(python + ["--lag", "-g", GROUP], runs, names[-1])))
    rows.append(("consumer.py --lag -f json", timed(python + ["--lag", "-g", GROUP, "-f", "json"], runs, names[-1])))
    rows.append(("kafka-consumer-groups --describe (Java)",
                 timed(java + ["--describe", "--group", GROUP], runs, names[-1])))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--topics", type=int, default=500)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-views-")) / "kafka"
    kafka = LocalKafka(workdir=workdir)
    try:
        kafka.start()
        began = time.monotonic()
        names = create_topics(kafka.admin(), args.topics, args.partitions)
        fill_and_commit(kafka.plaintext_bootstrap, names, args.partitions)
        print(f"{args.topics} topics x {args.partitions} partitions = {args.topics * args.partitions:,} partitions, "
              f"group {GROUP} with an offset committed on each (set up in {time.monotonic() - began:.0f} s); "
              f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        for name, times in measure(kafka, names, args.runs):
            print(line(name, times))
    finally:
        kafka.stop()
        shutil.rmtree(workdir.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
