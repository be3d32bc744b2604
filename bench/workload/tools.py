"""The tool table: every client the throughput benchmark runs, with its command line.

produce   each tool reads the whole input file on its stdin and sends it to a fresh topic:
              producer.py CONFIG -t TOPIC -q
              kcat -P -K:
              ConsoleProducer  (parse.key=true, key.separator=:)
          plus Kafka's Java perf tool ProducerPerformance, which sends N generated records of
          the same size with acks=all and 1 MiB batches (librdkafka's batch size; the Java
          client's default is 16 KiB).
consume   each tool reads a pre-filled topic from its beginning to its end and writes one
          line per message:
              consumer.py -f text  and  consumer.py -f json   (--from-beginning -e)
              kcat -C -e -f '%k:%s\\n'
              ConsoleConsumer --from-beginning --max-messages N  (print.key, key.separator=:)
          plus Kafka's Java perf tool ConsumerPerformance, reading N records.

Every tool runs with its default settings otherwise; nothing is tuned. The two perf tools
are no ceiling: on this project's machine kcat produces faster than ProducerPerformance.
They also print a rate of their own, timed inside the JVM once it is up; the parsers below
read it, and their record count, which must be exactly N.
"""

import re
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from .inputs import Workload

ROOT = Path(__file__).resolve().parents[2]
JAVA_PERF_TOOL = "Kafka Java perf tool"   # in the names of the rows that used to say "ceiling"


@dataclass(frozen=True)
class Target:
    """What a command line needs to know: the broker, the client config, the JVM, the workload."""
    bootstrap: str
    config: Path                 # INI file for producer.py / consumer.py
    java_prefix: tuple           # java, heap, logging, classpath
    workload: Workload

    def java(self, main_class, *args):
        return [*self.java_prefix, main_class, *args]


# -- what the Java perf tools print -------------------------------------------
def producer_performance_rate(stdout):
    """(records/s, records sent) from ProducerPerformance's final line (the one with percentiles)."""
    for line in reversed(stdout.splitlines()):
        match = re.match(r"(\d+) records sent, ([\d.]+) records/sec .*50th", line)
        if match:
            return float(match.group(2)), int(match.group(1))
    return None, None


def consumer_performance_rate(stdout):
    """(nMsg.sec, data.consumed.in.nMsg) from ConsumerPerformance's CSV header and data line."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    for i, line in enumerate(lines[:-1]):
        if line.startswith("start.time"):
            row = dict(zip([h.strip() for h in line.split(",")], [v.strip() for v in lines[i + 1].split(",")]))
            try:
                return float(row["nMsg.sec"]), int(row["data.consumed.in.nMsg"])
            except (KeyError, ValueError):
                return None, None
    return None, None


# -- the tools -------------------------------------------------------------------
@dataclass(frozen=True)
class Tool:
    name: str                                  # as shown in the table
    benchmark: str                             # "produce" or "consume"
    argv: Callable[[Target, str], list]        # (target, topic) -> command line
    reads_input: bool = False                  # the input file on stdin
    output: Optional[str] = None               # consume: "text" or "json" lines on stdout
    reported_rate: Optional[Callable] = None   # Java perf tools: stdout -> (rate, count)
    script: Optional[Path] = None              # must exist, else the run FAILS without starting

    @property
    def self_timed(self):
        """A Java perf tool, which also reports a rate it timed itself."""
        return self.reported_rate is not None

    @property
    def slug(self):
        return re.sub(r"[^a-z0-9]+", "-", f"{self.benchmark}-{self.name}".lower()).strip("-")


def producer_py(t, topic):
    """producer.py reading stdin into `topic`: the bulk tool, the one-line probe and the end-to-end producer."""
    return [sys.executable, str(ROOT / "producer.py"), str(t.config), "-t", topic, "-q"]


def _consumer_py(fmt):
    # a fresh group per run: no stored offsets, and no rebalance with a previous run's group
    return lambda t, topic: [sys.executable, str(ROOT / "consumer.py"), str(t.config), "-t", topic,
                             "-g", f"bench-{uuid.uuid4().hex[:12]}", "--from-beginning", "-e", "-q", "-f", fmt]


def console_producer(t, topic):
    return t.java("org.apache.kafka.tools.ConsoleProducer", "--bootstrap-server", t.bootstrap, "--topic", topic,
                  "--reader-property", "parse.key=true", "--reader-property", "key.separator=:")


def _producer_performance(t, topic):
    return t.java("org.apache.kafka.tools.ProducerPerformance", "--topic", topic,
                  "--num-records", str(t.workload.messages), "--record-size", str(t.workload.message_bytes),
                  "--throughput", "-1", "--command-property", f"bootstrap.servers={t.bootstrap}", "acks=all",
                  # batches as large as librdkafka's (the Java default is 16 KiB)
                  "batch.size=1048576", "linger.ms=20")


def _kcat_consume(t, topic):
    return ["kcat", "-C", "-b", t.bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k:%s\n"]


def _console_consumer(t, topic):
    return t.java("org.apache.kafka.tools.consumer.ConsoleConsumer", "--bootstrap-server", t.bootstrap,
                  "--topic", topic, "--from-beginning", "--max-messages", str(t.workload.messages),
                  "--timeout-ms", "30000", "--formatter-property", "print.key=true",
                  "--formatter-property", "key.separator=:")


def _consumer_performance(t, topic):
    return t.java("org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", t.bootstrap,
                  "--topic", topic, "--num-records", str(t.workload.messages), "--timeout", "30000")


def kcat_produce(t, topic):
    """kcat -P: a produce tool, and also how the consume topics are filled."""
    return ["kcat", "-P", "-b", t.bootstrap, "-t", topic, "-K:"]


PRODUCE_TOOLS = [
    Tool("producer.py", "produce", producer_py, reads_input=True, script=ROOT / "producer.py"),
    Tool("kcat", "produce", kcat_produce, reads_input=True),
    Tool("ConsoleProducer", "produce", console_producer, reads_input=True),
    Tool(f"ProducerPerformance ({JAVA_PERF_TOOL})", "produce", _producer_performance,
         reported_rate=producer_performance_rate),
]

CONSUME_TOOLS = [
    Tool("consumer.py -f text", "consume", _consumer_py("text"), output="text", script=ROOT / "consumer.py"),
    Tool("consumer.py -f json", "consume", _consumer_py("json"), output="json", script=ROOT / "consumer.py"),
    Tool("kcat", "consume", _kcat_consume, output="text"),
    Tool("ConsoleConsumer", "consume", _console_consumer, output="text"),
    Tool(f"ConsumerPerformance ({JAVA_PERF_TOOL})", "consume", _consumer_performance,
         reported_rate=consumer_performance_rate),
]

ALL_TOOLS = PRODUCE_TOOLS + CONSUME_TOOLS
