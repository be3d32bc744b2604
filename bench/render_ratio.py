#!/usr/bin/env python3
"""How fast `consumer.py -f json` reads a topic to its end compared with `-f text`, at 10 B and 100 B values.

    python bench/render_ratio.py [-n 1000000] [-r 5] [--sizes 10,100] [--also DIR ...]

Starts its own local Kafka (local_kafka, in a temporary directory, on free ports: it never touches a broker
that `python -m local_kafka start` or the tests run), writes N messages of each size to a one-partition topic
with confluent-kafka directly (keys k0000-k4999, values of exactly 10 or 100 bytes), then times
`consumer.py CFG -t TOPIC -o beginning -e -f text` and `-f json` with stdout on /dev/null, the two formats
one after the other in each round so that a load change on the machine hits both alike. It prints each
round and the median time of each format and the median json/text rate ratio per size (a ratio of 0.8 means
json reads at 80 % of text's rate). --also DIR times another copy of the project (a `git archive` of an older
commit, say) in the same rounds, so a before/after comparison sees the same broker and the same load.
The broker and its directory are removed at the end, also after a failure or Ctrl-C.
"""

import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_kafka import LocalKafka, create_topic  # noqa: E402



def fill(kafka, size, count):
    """A new one-partition topic holding `count` messages whose values are `size` bytes long."""
    from confluent_kafka import Producer

    topic = f"ratio-{size}-{uuid.uuid4().hex[:8]}"
    create_topic(kafka.admin(), topic, 1)
    producer = Producer({**kafka.client_settings("plaintext"), "linger.ms": 50, "batch.size": 1_000_000,
                         "queue.buffering.max.messages": 1_000_000, "compression.type": "none"})
    for seq in range(count):
        value = (b"%010d" % seq).ljust(size, b"x")
        while True:
            try:
                producer.produce(topic, key=b"k%04d" % (seq % 5000), value=value)
                break
            except BufferError:
                producer.poll(0.1)
    if producer.flush(120):
        raise SystemExit(f"could not write {count:,} messages to {topic}")
    return topic


def timed(root, config, topic, fmt):
    """(wall seconds, CPU seconds) for consumer.py in `root` to print the whole topic to /dev/null. The CPU time
    (user + system, librdkafka's threads included) is what the rounds compare best on a machine whose other
    work varies: the wall time also holds the time the process waited for a core."""
    command = [sys.executable, str(Path(root) / "consumer.py"), str(config), "-q", "-t", topic,
               "-o", "beginning", "-e", "-f", fmt]
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    with open("/dev/null", "wb") as sink:
        result = subprocess.run(command, stdout=sink, stderr=subprocess.PIPE, timeout=600)
    seconds, after = time.monotonic() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {result.stderr.decode(errors='replace')}")
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(roots, config, topics, count, rounds):
    """{(root, size, format): [(wall, CPU) seconds of each round]}, text and json one after the other."""
    times = {}
    for number in range(1, rounds + 1):
        for size, topic in topics.items():
            for root in roots:
                for fmt in ("text", "json"):
                    wall, cpu = timed(root, config, topic, fmt)
                    times.setdefault((root, size, fmt), []).append((wall, cpu))
                    print(f"round {number} {size:>3} B {fmt:<4} {root}: {wall:.2f} s, CPU {cpu:.2f} s "
                          f"({count / wall:,.0f} msg/s)", flush=True)
    return times


def report(times, roots, count, rounds, sizes):
    print(f"\n{count:,} messages a run, {rounds} rounds: median seconds; json/text rate ratio (text's time over "
          "json's, the median of the rounds' ratios) by wall time and by CPU time")
    for root in roots:
        for size in sizes:
            text, json = times[root, size, "text"], times[root, size, "json"]
            ratios = [[t[i] / j[i] for t, j in zip(text, json)] for i in (0, 1)]
            print(f"{root}  {size:>3} B: text {statistics.median(t[0] for t in text):.2f} s "
                  f"(CPU {statistics.median(t[1] for t in text):.2f}), json {statistics.median(j[0] for j in json):.2f} s "
                  f"(CPU {statistics.median(j[1] for j in json):.2f}); ratio wall {statistics.median(ratios[0]):.2f}, "
                  f"CPU {statistics.median(ratios[1]):.2f} (rounds, wall: {', '.join(f'{r:.2f}' for r in ratios[0])})")


@click.command()
@click.option("-n", "--messages", default=1_000_000, show_default=True, help="Messages of each size.")
@click.option("-r", "--rounds", default=5, show_default=True, help="Rounds; each times every format once.")
@click.option("--sizes", default="10,100", show_default=True, help="Value sizes in bytes, comma-separated.")
@click.option("--also", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Another copy of the project to time in the same rounds (repeatable).")
def main(messages, rounds, sizes, also):
    kafka = LocalKafka()
    try:
        kafka.start()
        sizes = [int(size) for size in sizes.split(",")]
        topics = {size: fill(kafka, size, messages) for size in sizes}
        roots = [str(ROOT), *also]
        report(measure(roots, kafka.plaintext_config, topics, messages, rounds), roots, messages, rounds, sizes)
    finally:
        kafka.stop()


if __name__ == "__main__":
    main()
