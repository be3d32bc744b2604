"""The rounds on a live broker: topics, the input, one tool per run, checked, in rotated order.

Before round 1, one unrecorded pass (kcat produce + consume) warms the broker up. The order
of the tools rotates from round to round, so no tool always runs first. Every produce run
gets a fresh topic; the consume tools of a round share one topic, filled once by kcat.
msg/s is N over the wall time from spawn to exit, start-up included (interpreter or JVM,
connecting, joining a group), for every tool alike, so that all rates share one clock. The
Java perf tools' own rate (timed inside the JVM once it is up) is kept beside it.
"""

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from local_kafka import create_topic
from local_kafka.broker import classpath

from bench.measure import checks
from bench.measure.process import run_measured
from bench.workload.inputs import write_input
from bench.workload.tools import CONSUME_TOOLS, PRODUCE_TOOLS, Target, Tool, kcat_produce

JAVA_HEAP = "-Xmx512m"
# the Java tools log warnings and errors to stderr only: their INFO lines would fill the .err files
QUIET_LOG4J2 = """status = error
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = err
"""


@dataclass
class Run:
    """One tool in one round."""
    benchmark: str
    tool: str
    round: int
    value_bytes: int = 0  # of every message's value in this run
    ok: bool = False
    reason: str = ""      # why it FAILED
    rate: float = 0.0     # messages/s over the wall time
    reported_rate: Optional[float] = None   # a Java perf tool's own rate, timed inside its JVM
    wall: float = 0.0
    rss_mb: float = 0.0
    cpu: float = 0.0


@dataclass(frozen=True)
class Attempt:
    """Where one run of one tool writes, and to which topic."""
    tool: Tool
    topic: str
    out: Path     # its stdout
    err: Path     # its stderr


def rotated(tools, rnd):
    k = (rnd - 1) % len(tools)
    return tools[k:] + tools[:k]


class Bench:
    """The broker, the input and the per-run checks."""

    def __init__(self, broker, workdir, workload, timeout):
        self.workdir = workdir
        self.workload = workload
        self.messages = workload.messages
        self.timeout = timeout
        self.admin = broker.admin()
        self.input = workdir / "input.txt"
        log4j = workdir / "log4j2-quiet.properties"
        log4j.write_text(QUIET_LOG4J2)
        java_prefix = (shutil.which("java"), JAVA_HEAP, "-Djava.awt.headless=true",
                       f"-Dlog4j2.configurationFile=file:{log4j}", "-cp", classpath())
        self.target = Target(broker.plaintext_bootstrap, broker.plaintext_config, java_prefix, workload)
        self.bootstrap = self.target.bootstrap
        write_input(self.input, workload)
        self.input_digest = checks.lines_digest(self.input)[1]

    # -- topics --
    def new_topic(self, label, partitions=None):
        name = f"bench-{label}-{uuid.uuid4().hex[:8]}"
        create_topic(self.admin, name, partitions or self.workload.partitions)
        return name

    def delete_topic(self, name):
        try:
            self.admin.delete_topics([name], operation_timeout=30)[name].result(60)
        except Exception:  # the broker goes away at the end anyway
            pass

    def settled_count(self, topic, expected=None):
        return checks.settled_count(self.bootstrap, topic, self.messages if expected is None else expected)

    # -- one tool, one round --
    def run(self, tool, topic, rnd):
        run = Run(tool.benchmark, tool.name, rnd, self.workload.value_bytes)
        if tool.script and not tool.script.exists():
            run.reason = f"{tool.script.name} not found in {tool.script.parent}"
            return run
        attempt = Attempt(tool, topic, self.workdir / f"r{rnd}-{tool.slug}.out",
                          self.workdir / f"r{rnd}-{tool.slug}.err")
        try:
            try:
                done = run_measured(tool.argv(self.target, topic), self.input if tool.reads_input else None,
                                    attempt.out, attempt.err, self.timeout)
            except OSError as e:
                run.reason = f"could not start: {e}"
                return run
            run.wall, run.rss_mb, run.cpu = done.wall, done.rss_mb, done.cpu
            run.rate = self.messages / done.wall
            try:
                run.reason = self.check(attempt, run, done)
            except Exception as e:  # e.g. the watermarks could not be read
                run.reason = f"the check itself failed: {e}"
            run.ok = not run.reason
            return run
        finally:
            attempt.out.unlink(missing_ok=True)
            attempt.err.unlink(missing_ok=True)

    def check(self, attempt, run, done):
        """'' if the run did exactly its job, else why not. A perf tool's own rate goes into run.reported_rate."""
        tool, n = attempt.tool, self.messages
        problem = checks.exit_problem(done, attempt.err, self.timeout)
        if problem:
            return problem
        if tool.self_timed:
            rate, count = tool.reported_rate(attempt.out.read_text(errors="replace"))
            if rate is None:
                return "its rate was not found in its output"
            run.reported_rate = rate
            if count != n:
                return checks.reported_count_problem(count, n)
        if tool.benchmark == "produce":
            return checks.topic_count_problem(self.settled_count(attempt.topic), n)
        if tool.output == "text":
            return checks.text_problem(attempt.out, n, self.input_digest)
        if tool.output == "json":
            return checks.json_problem(attempt.out, n, self.input_digest)
        return ""

    def prefill(self, topic):
        """Fill the consume benchmarks' topic with the whole input once (kcat); '' or what went wrong."""
        out, err = self.workdir / "prefill.out", self.workdir / "prefill.err"
        try:
            done = run_measured(kcat_produce(self.target, topic), self.input, out, err, self.timeout)
            if done.returncode != 0 or done.timed_out:
                return f"kcat -P exit code {done.returncode}: {err.read_text(errors='replace').strip()[-200:]}"
        finally:
            out.unlink(missing_ok=True)
            err.unlink(missing_ok=True)
        return checks.topic_count_problem(self.settled_count(topic), self.messages)

    def warm_up(self):
        """One unrecorded kcat produce + consume of the whole input, so that round 1 does not
        also pay for the broker's own JIT warm-up; '' or what went wrong."""
        topic = self.new_topic("warm-up")
        try:
            problem = self.prefill(topic)
            if not problem:
                kcat = next(t for t in CONSUME_TOOLS if t.name == "kcat")
                problem = self.run(kcat, topic, 0).reason
            return problem
        finally:
            self.delete_topic(topic)

    def round(self, rnd, report):
        """Every tool once, in an order rotated by the round number; each produce run on a fresh topic.
        `report` is called with each finished Run (the progress line)."""
        runs = []
        for tool in rotated(PRODUCE_TOOLS, rnd):
            topic = self.new_topic(f"r{rnd}-{tool.slug}")
            runs.append(report(self.run(tool, topic, rnd)))
            self.delete_topic(topic)
        topic = self.new_topic(f"r{rnd}-consume")
        problem = self.prefill(topic)
        for tool in rotated(CONSUME_TOOLS, rnd):
            if problem:
                runs.append(report(Run(tool.benchmark, tool.name, rnd, self.workload.value_bytes,
                                       reason=f"pre-filling failed: {problem}")))
            else:
                runs.append(report(self.run(tool, topic, rnd)))
        self.delete_topic(topic)
        return runs
