"""The latency probes: how long one message takes from a cold process start, tool by tool.

produce    process start to exit, having sent one line and waited for its acknowledgement:
               producer.py CONFIG -t TOPIC -q     kcat -P -K:     ConsoleProducer
           Each exits only after the broker acknowledged the line, so the exit is the moment a
           shell script may rely on it; it includes the process's own teardown.
consume    process start to the first message printed on stdout, from a topic holding one line:
               consumer.py --from-beginning -n 1 (joins a group)
               kcat -G GROUP -c 1                 (joins a group: the same round trips)
               kcat -C -o beginning -c 1          (no group)
               ConsoleConsumer --from-beginning --max-messages 1 (joins a group)
reference  process start to exit of `python -c 'import confluent_kafka'` (the interpreter of
           producer.py): the part of the Python tools' start-up no Kafka work can avoid.

The start-up budget of the two Python scripts is 1.5 × the reference plus the broker's own
round trips for the same job, which are what kcat spends on it (kcat starts in a few ms):
ROUND_TRIPS names the kcat probe that stands for each script's round trips.
The probe line is the input file's first line, so it has the workload's message size.
"""

import sys
import uuid
from dataclasses import dataclass
from typing import Callable

from .tools import ROOT, console_producer, kcat_produce, producer_py

EXIT, FIRST_LINE = "exit", "first line"   # what a probe's time ends at
IMPORT_REFERENCE = "python -c 'import confluent_kafka'"


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


def _group():
    return f"bench-latency-{uuid.uuid4().hex[:12]}"


def _consumer_py(t, topic):
    return [sys.executable, str(ROOT / "consumer.py"), str(t.config), "-t", topic, "-g", _group(),
            "--from-beginning", "-n", "1", "-q"]


def _kcat_group(t, topic):
    return ["kcat", "-b", t.bootstrap, "-G", _group(), "-X", "auto.offset.reset=earliest", "-c", "1", "-q",
            "-f", "%k:%s\n", topic]


def _kcat_consume(t, topic):
    return ["kcat", "-C", "-b", t.bootstrap, "-t", topic, "-o", "beginning", "-c", "1", "-q", "-f", "%k:%s\n"]


def _console_consumer(t, topic):
    return t.java("org.apache.kafka.tools.consumer.ConsoleConsumer", "--bootstrap-server", t.bootstrap,
                  "--topic", topic, "--from-beginning", "--max-messages", "1", "--timeout-ms", "30000",
                  "--group", _group(), "--formatter-property", "print.key=true",
                  "--formatter-property", "key.separator=:")


def _import_confluent_kafka(_t, _topic):
    return [sys.executable, "-c", "import confluent_kafka"]


PROBES = [
    Probe("producer.py, one line", "produce", EXIT, producer_py, script=ROOT / "producer.py"),
    Probe("kcat -P, one line", "produce", EXIT, kcat_produce),
    Probe("ConsoleProducer, one line", "produce", EXIT, console_producer),
    Probe("consumer.py -n 1", "consume", FIRST_LINE, _consumer_py, script=ROOT / "consumer.py"),
    Probe("kcat -G -c 1 (group)", "consume", FIRST_LINE, _kcat_group),
    Probe("kcat -C -c 1 (no group)", "consume", FIRST_LINE, _kcat_consume),
    Probe("ConsoleConsumer --max-messages 1", "consume", FIRST_LINE, _console_consumer),
    Probe(IMPORT_REFERENCE, "reference", EXIT, _import_confluent_kafka),
]

# our script's probe -> the kcat probe doing the same broker work (its time stands for the round trips)
ROUND_TRIPS = {"producer.py, one line": "kcat -P, one line", "consumer.py -n 1": "kcat -G -c 1 (group)"}
BUDGET_FACTOR = 1.5   # × the import reference
