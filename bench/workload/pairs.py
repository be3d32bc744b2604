"""The end-to-end pairs: a producer and a consumer of the same kind, both running, one line at a time.

Each pair's consumer reads a fresh one-partition topic from its beginning and prints `KEY:VALUE`
lines; its producer reads `KEY:VALUE` lines on stdin, fed one every --e2e-interval-ms. Both run
with their defaults, except where a default would hold every line back and no user of a live
pipe would keep it: kcat's consumer gets -u (its stdout is otherwise block-buffered into a pipe).

    producer.py → consumer.py        producer.py CONFIG -t T -q      consumer.py CONFIG -t T --from-beginning -q
    kcat -P → kcat -C                kcat -P -K:                     kcat -C -o beginning -u
    ConsoleProducer → ConsoleConsumer  (parse.key, key.separator=:)  (--from-beginning, print.key)
"""

import sys
import uuid
from dataclasses import dataclass
from typing import Callable

from .tools import ROOT, console_producer, kcat_produce, producer_py

TIMED_KEY = b"e"     # keys e0000.. : the timed lines; w0000.. : warm-up lines, sent until one comes back
WARM_UP_KEY = b"w"


@dataclass(frozen=True)
class Pair:
    name: str
    producer: Callable            # (target, topic) -> command line reading stdin
    consumer: Callable            # (target, topic) -> command line printing KEY:VALUE lines
    script: object = None         # must exist, else the pair FAILS without starting


def _consumer_py(t, topic):
    return [sys.executable, str(ROOT / "consumer.py"), str(t.config), "-t", topic,
            "-g", f"bench-e2e-{uuid.uuid4().hex[:12]}", "--from-beginning", "-q"]


def _kcat_consume(t, topic):
    return ["kcat", "-C", "-b", t.bootstrap, "-t", topic, "-o", "beginning", "-u", "-q", "-f", "%k:%s\n"]


def _console_consumer(t, topic):
    return t.java("org.apache.kafka.tools.consumer.ConsoleConsumer", "--bootstrap-server", t.bootstrap,
                  "--topic", topic, "--from-beginning", "--formatter-property", "print.key=true",
                  "--formatter-property", "key.separator=:")


PAIRS = [
    Pair("producer.py → consumer.py", producer_py, _consumer_py, script=ROOT / "producer.py"),
    Pair("kcat -P → kcat -C -u", kcat_produce, _kcat_consume),
    Pair("ConsoleProducer → ConsoleConsumer", console_producer, _console_consumer),
]
