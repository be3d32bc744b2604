"""The latency probes: how long one message takes from a cold process start, tool by tool.

produce    process start to exit, having sent one line and waited for its delivery report:
               producer.py CONFIG -t TOPIC -q         kcat -P -K:
           Both exit only after the broker acknowledged the line, so the exit is the moment a
           shell script may rely on it; it includes the process's own teardown.
consume    process start to the first message printed on stdout, from a topic holding one line:
               consumer.py --from-beginning -n 1       kcat -C -o beginning -c 1
reference  process start to exit of `python -c 'import confluent_kafka'` (the interpreter of
           producer.py): the part of the Python tools' start-up no Kafka work can avoid.

The probe line is the input file's first line, so it has the workload's message size.
"""

import sys
import uuid
from dataclasses import dataclass
from typing import Callable

from .tools import ROOT, kcat_produce

EXIT, FIRST_LINE = "exit", "first line"   # what a probe's time ends at


@dataclass(frozen=True)
class Probe:
    name: str
    kind: str                               # "produce", "consume" or "reference"
    timed_until: str                        # EXIT or FIRST_LINE
    argv: Callable                          # (target, topic) -> command line
    script: object = None                   # must exist, else the sample FAILS without starting

    @property
    def slug(self):
        return "latency-" + "".join(c if c.isalnum() else "-" for c in self.name.lower())


def _producer_py(t, topic):
    return [sys.executable, str(ROOT / "producer.py"), str(t.config), "-t", topic, "-q"]


def _consumer_py(t, topic):
    return [sys.executable, str(ROOT / "consumer.py"), str(t.config), "-t", topic,
            "-g", f"bench-latency-{uuid.uuid4().hex[:12]}", "--from-beginning", "-n", "1", "-q"]


def _kcat_consume(t, topic):
    return ["kcat", "-C", "-b", t.bootstrap, "-t", topic, "-o", "beginning", "-c", "1", "-q", "-f", "%k:%s\n"]


def _import_confluent_kafka(_t, _topic):
    return [sys.executable, "-c", "import confluent_kafka"]


PROBES = [
    Probe("producer.py, one line", "produce", EXIT, _producer_py, script=ROOT / "producer.py"),
    Probe("kcat -P, one line", "produce", EXIT, kcat_produce),
    Probe("consumer.py -n 1", "consume", FIRST_LINE, _consumer_py, script=ROOT / "consumer.py"),
    Probe("kcat -C -c 1", "consume", FIRST_LINE, _kcat_consume),
    Probe("python -c 'import confluent_kafka'", "reference", EXIT, _import_confluent_kafka),
]
