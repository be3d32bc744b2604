#!/usr/bin/env python3
"""Where producer.py's time goes, in instructions: callgrind counts them repeatably on a busy machine.

    LOCAL_KAFKA_STATE=/tmp/mine python -m local_kafka start
    python bench/profile_produce.py BOOTSTRAP CONFIG_INI [-n LINES]

Runs under `valgrind --tool=callgrind` (all threads counted), on the bench's input (bench.workload.inputs)
and fresh 6-partition topics:
  kcat -P -K:                      the yardstick
  producer.py CONFIG -q            the command as the bench runs it
  floor                            the least any confluent-kafka client can do per line: produce(topic,
                                   value, key) called from C (map) on pre-split lists, one poll(0) a block,
                                   flush; the same producer settings as producer.py
  floor, no on_delivery            the same without the callback (counts would be blind to failures)
and each with no input (start-up only). Prints instructions per line, start-up taken off, and the ratio to
kcat. Wall time on a shared 2-core machine with the broker on it swings 2x between runs; instruction counts
move by well under 1%.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.workload.inputs import Workload, write_input  # noqa: E402

FLOOR = r'''
import gc, os, sys
from collections import deque
from itertools import repeat
from confluent_kafka import Producer
bootstrap, topic, callback = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
conf = {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True, "partitioner": "murmur2_random",
        "linger.ms": 20, "batch.num.messages": 10000, "delivery.report.only.error": True}
failed = []
if callback:
    conf["on_delivery"] = lambda err, msg: err is not None and failed.append(err)
p = Producer(conf)
gc.disable()
rest = b""
while True:
    block = os.read(0, 1 << 20)
    if not block:
        break
    block = rest + block
    cut = block.rfind(b"\n") + 1
    block, rest = block[:cut], block[cut:]
    parts = block.replace(b"\n", b":").split(b":")
    parts.pop()
    keys, values = parts[0::2], parts[1::2]
    pending = iter(values)
    calls = map(p.produce, repeat(topic), pending, keys)
    while True:
        try:
            deque(calls, 0)
            break
        except BufferError:
            i = len(values) - pending.__length_hint__() - 1
            while True:
                p.poll(0.01)
                try:
                    p.produce(topic, values[i], keys[i])
                    break
                except BufferError:
                    pass
    p.poll(0)
sys.exit(1 if p.flush(60) or failed else 0)
'''


def instructions(argv, stdin_path):
    with tempfile.TemporaryDirectory() as tmp, open(stdin_path, "rb") as stdin:
        done = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg"] + argv,
                              stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    match = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if not match:
        raise SystemExit(f"no count from callgrind for {argv}: {done.stderr[-500:]}")
    return int(match.group(1).replace(",", ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bootstrap")
    parser.add_argument("config")
    parser.add_argument("-n", "--lines", type=int, default=200_000)
    args = parser.parse_args()
    from confluent_kafka.admin import AdminClient, NewTopic
    admin = AdminClient({"bootstrap.servers": args.bootstrap})

    def topic():
        name = f"profile-{uuid.uuid4().hex[:8]}"
        admin.create_topics([NewTopic(name, 6, 1)])[name].result()
        return name

    with tempfile.TemporaryDirectory() as tmp:
        data, floor = Path(tmp) / "in.txt", Path(tmp) / "floor.py"
        write_input(data, Workload(args.lines, 6))
        floor.write_text(FLOOR)
        tools = {
            "kcat -P -K:": lambda t: ["kcat", "-P", "-b", args.bootstrap, "-t", t, "-K:"],
            "producer.py": lambda t: [sys.executable, str(ROOT / "producer.py"), args.config, "-t", t, "-q"],
            "floor (produce() from C)": lambda t: [sys.executable, str(floor), args.bootstrap, t, "1"],
            "floor, no on_delivery": lambda t: [sys.executable, str(floor), args.bootstrap, t, "0"],
        }
        per_line = {}
        for name, argv in tools.items():
            start = instructions(argv(topic()), os.devnull)
            total = instructions(argv(topic()), data)
            per_line[name] = (total - start) / args.lines
            print(f"{name:<28} start-up {start / 1e6:8,.0f} M   whole run {total / 1e6:8,.0f} M   "
                  f"per line {per_line[name]:7,.0f}   x kcat {per_line[name] / per_line['kcat -P -K:']:.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
