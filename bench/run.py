#!/usr/bin/env python3
"""Throughput benchmark: producer.py and consumer.py next to kcat and Kafka's own Java tools.

What is measured
----------------
The benchmark starts the project's local Kafka (local_kafka: one real Apache Kafka node on
loopback; every tool uses its PLAINTEXT listener) and writes an input file of N lines
`KEY:VALUE`. Every message carries exactly 100 bytes: a 5-byte key drawn from 5,000
distinct keys and a 95-byte value that starts with the line's sequence number, so each
line is unique. Then, for R rounds:

produce   each tool reads the whole file on its stdin and sends it to a fresh topic of
          P partitions:
              producer.py CONFIG -t TOPIC -q
              kcat -P -K:
              ConsoleProducer  (parse.key=true, key.separator=:)
          plus ProducerPerformance, which sends N generated 100-byte records with acks=all and
          1 MiB batches (librdkafka's batch size; the Java client's default is 16 KiB):
          the ceiling, what this broker takes from Kafka's own Java client on this machine.
consume   a fresh topic is filled once with the whole file (by kcat); then each tool reads
          it from the beginning to its end and writes one line per message to a file:
              consumer.py -f text  and  consumer.py -f json   (--from-beginning -e)
              kcat -C -e -f '%k:%s\\n'
              ConsoleConsumer --from-beginning --max-messages N  (print.key, key.separator=:)
          plus ConsumerPerformance reading N records: the consume ceiling.

Before round 1, one unrecorded pass (kcat produce + consume) warms the broker up. The order
of the tools rotates from round to round, so no tool always runs first. Every tool runs with
its default settings; nothing is tuned.

How
---
wall time   from spawning the tool's process to its exit, so it includes start-up
            (interpreter or JVM, connecting, joining a group); messages/s = N / wall time.
            The two ceiling tools report their own rate, timed inside the JVM once it is
            up; that reported rate is the one shown for them.
peak RSS    ru_maxrss of the tool's process, from os.wait4; CPU s is its user + system time.
checks      a run counts only if the tool exits 0 and
              produce: the fresh topic then holds exactly N records (the sum over its
                       partitions of high minus low watermark);
              consume: the output has exactly N lines and they are the input's lines
                       (compared as multisets, order-independent); JSON output must be N
                       JSON objects whose "key" and "value" give back the input's lines.
            Otherwise the run is FAILED, and a tool with any FAILED round shows FAILED
            instead of a rate.

The summary (medians over the rounds, min and max, ratios to kcat and to the ceiling) goes
to OUT/RESULTS.md with the per-round runs, a bar chart to OUT/throughput.png, and the
summary table to stdout. The broker is stopped and the temporary files are removed when the
run ends, fails, or is stopped with Ctrl-C or SIGTERM (the running tool is killed too).
Exit status: 0 when every run passed its checks, 1 otherwise.
"""

import importlib.util
import json
import os
import platform
import random
import re
import shutil
import signal
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Optional

import click
from click.core import ParameterSource

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from local_kafka import KAFKA_VERSION, LauncherError, LocalKafka, create_topic  # noqa: E402
from local_kafka.broker import SilentLogger, classpath  # noqa: E402

PAYLOAD_BYTES = 100          # key + value of every message; ProducerPerformance's --record-size
DISTINCT_KEYS = 5000         # keys are k0000 .. k4999
SMOKE_MESSAGES = 3000
SMOKE_TIMEOUT = 120          # seconds per tool run in --smoke mode
DEFAULT_OUT = ROOT / "bench" / "results"
JAVA_HEAP = "-Xmx512m"
HASH_MASK = (1 << 64) - 1

QUIET_LOG4J2 = """status = error
appender.err.type = Console
appender.err.name = err
appender.err.target = SYSTEM_ERR
appender.err.layout.type = PatternLayout
appender.err.layout.pattern = %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.err.ref = err
"""


# -- the input -------------------------------------------------------------------
def write_input(path, count, seed=20240601):
    """N lines `kNNNN:<10-digit sequence>-<84 filler characters>`: 100 bytes of key + value each."""
    rng = random.Random(seed)
    pool = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(8192))
    filler = PAYLOAD_BYTES - 5 - 11  # 5-byte key, "0000000042-" starts the value
    with open(path, "w", buffering=1 << 20) as f:
        for seq in range(count):
            start = rng.randrange(len(pool) - filler)
            f.write(f"k{rng.randrange(DISTINCT_KEYS):04d}:{seq:010d}-{pool[start:start + filler]}\n")


def lines_digest(path):
    """(line count, order-independent digest of the multiset of lines, newline excluded)."""
    count = total = 0
    with open(path, "rb") as f:
        for line in f:
            total += hash(line[:-1] if line.endswith(b"\n") else line)
            count += 1
    return count, total & HASH_MASK


# -- running one tool process ----------------------------------------------------
@dataclass
class Finished:
    returncode: int
    wall: float       # seconds from spawn to exit
    rss_mb: float     # peak resident set size of the process
    cpu: float        # user + system seconds
    timed_out: bool


def _kill_group(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def run_measured(argv, stdin_path, stdout_path, stderr_path, timeout):
    """Run argv to its end and return its exit code, wall time and resource usage (os.wait4)."""
    with open(stdin_path or os.devnull, "rb") as stdin, open(stdout_path, "wb") as out, \
            open(stderr_path, "wb") as err:
        began = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=stdin, stdout=out, stderr=err, start_new_session=True)
    reaped, timed_out = threading.Event(), threading.Event()

    def on_timeout():
        if not reaped.is_set():
            timed_out.set()
            _kill_group(proc.pid)

    timer = threading.Timer(timeout, on_timeout)
    timer.daemon = True
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:  # Ctrl-C or SIGTERM while waiting: take the tool down with us
        reaped.set()
        _kill_group(proc.pid)
        proc.wait()
        raise
    wall = time.perf_counter() - began
    reaped.set()
    timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Finished(proc.returncode, wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime,
                    timed_out.is_set())


# -- what the ceiling tools print ------------------------------------------------
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
@dataclass
class Tool:
    name: str                                  # as shown in the table
    benchmark: str                             # "produce" or "consume"
    argv: Callable[["Bench", str], list]       # (bench, topic) -> command line
    reads_input: bool = False                  # the input file on stdin
    output: Optional[str] = None               # consume: "text" or "json" lines on stdout
    reported_rate: Optional[Callable] = None   # ceiling tools: stdout -> (rate, count)
    script: Optional[Path] = None              # must exist, else the run FAILS without starting

    @property
    def ceiling(self):
        return self.reported_rate is not None

    @property
    def slug(self):
        return re.sub(r"[^a-z0-9]+", "-", f"{self.benchmark}-{self.name}".lower()).strip("-")


def _consumer_py(fmt):
    return lambda b, topic: [sys.executable, str(ROOT / "consumer.py"), str(b.config), "-t", topic,
                             "-g", f"bench-{uuid.uuid4().hex[:12]}", "--from-beginning", "-e", "-q", "-f", fmt]


PRODUCE_TOOLS = [
    Tool("producer.py", "produce",
         lambda b, topic: [sys.executable, str(ROOT / "producer.py"), str(b.config), "-t", topic, "-q"],
         reads_input=True, script=ROOT / "producer.py"),
    Tool("kcat", "produce", lambda b, topic: ["kcat", "-P", "-b", b.bootstrap, "-t", topic, "-K:"],
         reads_input=True),
    Tool("ConsoleProducer", "produce",
         lambda b, topic: b.java("org.apache.kafka.tools.ConsoleProducer", "--bootstrap-server", b.bootstrap,
                                 "--topic", topic, "--reader-property", "parse.key=true",
                                 "--reader-property", "key.separator=:"),
         reads_input=True),
    Tool("ProducerPerformance (ceiling)", "produce",
         lambda b, topic: b.java("org.apache.kafka.tools.ProducerPerformance", "--topic", topic,
                                 "--num-records", str(b.messages), "--record-size", str(PAYLOAD_BYTES),
                                 "--throughput", "-1", "--command-property",
                                 f"bootstrap.servers={b.bootstrap}", "acks=all",
                                 # batches as large as librdkafka's (the Java default is 16 KiB)
                                 "batch.size=1048576", "linger.ms=20"),
         reported_rate=producer_performance_rate),
]

CONSUME_TOOLS = [
    Tool("consumer.py -f text", "consume", _consumer_py("text"), output="text", script=ROOT / "consumer.py"),
    Tool("consumer.py -f json", "consume", _consumer_py("json"), output="json", script=ROOT / "consumer.py"),
    Tool("kcat", "consume",
         lambda b, topic: ["kcat", "-C", "-b", b.bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
                           "-f", "%k:%s\n"],
         output="text"),
    Tool("ConsoleConsumer", "consume",
         lambda b, topic: b.java("org.apache.kafka.tools.consumer.ConsoleConsumer", "--bootstrap-server",
                                 b.bootstrap, "--topic", topic, "--from-beginning",
                                 "--max-messages", str(b.messages), "--timeout-ms", "30000",
                                 "--formatter-property", "print.key=true",
                                 "--formatter-property", "key.separator=:"),
         output="text"),
    Tool("ConsumerPerformance (ceiling)", "consume",
         lambda b, topic: b.java("org.apache.kafka.tools.ConsumerPerformance", "--bootstrap-server", b.bootstrap,
                                 "--topic", topic, "--num-records", str(b.messages), "--timeout", "30000"),
         reported_rate=consumer_performance_rate),
]


@dataclass
class Run:
    """One tool in one round."""
    benchmark: str
    tool: str
    round: int
    ok: bool = False
    reason: str = ""      # why it FAILED
    rate: float = 0.0     # messages/s
    wall: float = 0.0
    rss_mb: float = 0.0
    cpu: float = 0.0


class Bench:
    """The broker, the input and the per-run checks."""

    def __init__(self, broker, workdir, messages, partitions, timeout):
        self.workdir = workdir
        self.messages = messages
        self.partitions = partitions
        self.timeout = timeout
        self.bootstrap = broker.plaintext_bootstrap
        self.config = broker.plaintext_config
        self.admin = broker.admin()
        self.input = workdir / "input.txt"
        log4j = workdir / "log4j2-quiet.properties"
        log4j.write_text(QUIET_LOG4J2)
        self.java_prefix = [shutil.which("java"), JAVA_HEAP, "-Djava.awt.headless=true",
                            f"-Dlog4j2.configurationFile=file:{log4j}", "-cp", classpath()]
        write_input(self.input, messages)
        self.input_digest = lines_digest(self.input)[1]

    def java(self, main_class, *args):
        return [*self.java_prefix, main_class, *args]

    # -- topics --
    def new_topic(self, label):
        name = f"bench-{label}-{uuid.uuid4().hex[:8]}"
        create_topic(self.admin, name, self.partitions)
        return name

    def delete_topic(self, name):
        try:
            self.admin.delete_topics([name], operation_timeout=30)[name].result(60)
        except Exception:  # the broker goes away at the end anyway
            pass

    def count_records(self, topic):
        """Records in the topic: the sum of high minus low watermark over its partitions."""
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer({"bootstrap.servers": self.bootstrap, "group.id": "bench-count",
                             "enable.auto.commit": False, "logger": SilentLogger()})
        try:
            partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
            total = 0
            for p in partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30, cached=False)
                total += high - low
            return total
        finally:
            consumer.close()

    def settled_count(self, topic):
        """count_records, asked again for a few seconds while it is short of N (watermarks trail acks a little)."""
        for _ in range(10):
            count = self.count_records(topic)
            if count == self.messages:
                break
            time.sleep(0.5)
        return count

    # -- one tool, one round --
    def run(self, tool, topic, rnd):
        run = Run(tool.benchmark, tool.name, rnd)
        if tool.script and not tool.script.exists():
            run.reason = f"{tool.script.name} not found in {tool.script.parent}"
            return run
        out = self.workdir / f"r{rnd}-{tool.slug}.out"
        err = self.workdir / f"r{rnd}-{tool.slug}.err"
        try:
            try:
                done = run_measured(tool.argv(self, topic), self.input if tool.reads_input else None,
                                    out, err, self.timeout)
            except OSError as e:
                run.reason = f"could not start: {e}"
                return run
            run.wall, run.rss_mb, run.cpu = done.wall, done.rss_mb, done.cpu
            run.rate = self.messages / done.wall
            try:
                run.reason = self.check(tool, run, done, topic, out, err)
            except Exception as e:  # e.g. the watermarks could not be read
                run.reason = f"the check itself failed: {e}"
            run.ok = not run.reason
            return run
        finally:
            out.unlink(missing_ok=True)
            err.unlink(missing_ok=True)

    def check(self, tool, run, done, topic, out, err):
        """'' if the run did exactly its job, else why not."""
        n = self.messages
        if done.timed_out:
            return f"killed after {self.timeout:g} s"
        if done.returncode != 0:
            last = err.read_text(errors="replace").strip().splitlines()[-1:] or ["(nothing on stderr)"]
            return f"exit code {done.returncode}: {last[0][:200]}"
        if tool.ceiling:
            rate, count = tool.reported_rate(out.read_text(errors="replace"))
            if rate is None:
                return "its rate was not found in its output"
            run.rate = rate
            if count != n:
                return f"it reports {count:,} records, expected {n:,}"
        if tool.benchmark == "produce":
            count = self.settled_count(topic)
            return "" if count == n else f"the topic holds {count:,} records, expected {n:,}"
        if tool.output == "text":
            count, digest = lines_digest(out)
            if count != n:
                return f"{count:,} output lines, expected {n:,}"
            return "" if digest == self.input_digest else "the output lines differ from the input lines"
        if tool.output == "json":
            return self.check_json(out)
        return ""

    def check_json(self, path):
        count = total = 0
        with open(path, "rb") as f:
            for line in f:
                try:
                    doc = json.loads(line)
                    total += hash(f"{doc['key']}:{doc['value']}".encode())
                except (ValueError, KeyError, TypeError):
                    return f"line {count + 1} is not a JSON object with key and value: {line[:60]!r}"
                count += 1
        if count != self.messages:
            return f"{count:,} output lines, expected {self.messages:,}"
        return "" if total & HASH_MASK == self.input_digest else "the JSON keys/values differ from the input lines"

    def prefill(self, topic):
        """Fill the consume benchmarks' topic with the whole input once (kcat); '' or what went wrong."""
        out, err = self.workdir / "prefill.out", self.workdir / "prefill.err"
        try:
            done = run_measured(["kcat", "-P", "-b", self.bootstrap, "-t", topic, "-K:"], self.input, out, err,
                                self.timeout)
            if done.returncode != 0 or done.timed_out:
                return f"kcat -P exit code {done.returncode}: {err.read_text(errors='replace').strip()[-200:]}"
        finally:
            out.unlink(missing_ok=True)
            err.unlink(missing_ok=True)
        count = self.settled_count(topic)
        return "" if count == self.messages else f"the topic holds {count:,} records, expected {self.messages:,}"

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

    def round(self, rnd, rounds, report):
        """Every tool once, in an order rotated by the round number; each produce run on a fresh topic."""
        runs = []
        for tool in rotated(PRODUCE_TOOLS, rnd):
            topic = self.new_topic(f"r{rnd}-{tool.slug}")
            runs.append(report(self.run(tool, topic, rnd), rounds))
            self.delete_topic(topic)
        topic = self.new_topic(f"r{rnd}-consume")
        problem = self.prefill(topic)
        for tool in rotated(CONSUME_TOOLS, rnd):
            if problem:
                runs.append(report(Run(tool.benchmark, tool.name, rnd, reason=f"pre-filling failed: {problem}"),
                                   rounds))
            else:
                runs.append(report(self.run(tool, topic, rnd), rounds))
        self.delete_topic(topic)
        return runs


def rotated(tools, rnd):
    k = (rnd - 1) % len(tools)
    return tools[k:] + tools[:k]


def report_progress(run, rounds):
    rate = f"{run.rate:>12,.0f}" if run.ok else f"{'–':>12}"
    status = "ok" if run.ok else f"FAILED: {run.reason}"
    click.echo(f"round {run.round}/{rounds}  {run.benchmark:<8} {run.tool:<30} {rate} msg/s "
               f"{run.wall:7.2f} s {run.rss_mb:7.0f} MB  {status}", err=True)
    return run


# -- summary ---------------------------------------------------------------------
@dataclass
class Row:
    """One tool over all rounds."""
    benchmark: str
    tool: str
    ceiling: bool
    runs: list = field(default_factory=list)

    @property
    def ok(self):
        return bool(self.runs) and all(r.ok for r in self.runs)

    def median(self, attr):
        return statistics.median(getattr(r, attr) for r in self.runs)

    @property
    def rate(self):
        return self.median("rate")

    @property
    def rate_min(self):
        return min(r.rate for r in self.runs)

    @property
    def rate_max(self):
        return max(r.rate for r in self.runs)

    @property
    def rss_peak(self):
        return max(r.rss_mb for r in self.runs)


def summarize(runs):
    rows = []
    for tool in PRODUCE_TOOLS + CONSUME_TOOLS:
        rows.append(Row(tool.benchmark, tool.name, tool.ceiling,
                        [r for r in runs if r.benchmark == tool.benchmark and r.tool == tool.name]))
    return rows


def reference(row, rows, pick):
    """The row of the same benchmark that `pick` selects (kcat, the ceiling), if it passed."""
    ref = next((r for r in rows if r.benchmark == row.benchmark and pick(r)), None)
    return ref if ref is not None and ref.ok and ref.rate else None


def is_kcat(row):
    return row.tool == "kcat"


def is_ceiling(row):
    return row.ceiling


def ratio_cell(row, rows, pick):
    ref = reference(row, rows, pick)
    return f"{row.rate / ref.rate:.2f}" if row.ok and ref else "–"


def summary_table(rows):
    head = ["benchmark", "tool", "msg/s (median)", "min", "max", "MB/s", "wall s", "peak RSS MB", "CPU s",
            "× kcat", "× ceiling", "rounds ok"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|"]
    for row in rows:
        passed = sum(r.ok for r in row.runs)
        ok = f"{passed}/{len(row.runs)}"
        if row.ok:
            cells = [f"{row.rate:,.0f}", f"{row.rate_min:,.0f}", f"{row.rate_max:,.0f}",
                     f"{row.rate * PAYLOAD_BYTES / 1e6:.1f}", f"{row.median('wall'):.2f}", f"{row.rss_peak:.0f}",
                     f"{row.median('cpu'):.2f}", ratio_cell(row, rows, is_kcat),
                     ratio_cell(row, rows, is_ceiling), ok]
        else:
            cells = ["FAILED"] + ["–"] * 9 + [ok]
        lines.append(f"| {row.benchmark} | {row.tool} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rounds_table(runs):
    lines = ["| round | benchmark | tool | msg/s | wall s | peak RSS MB | CPU s | check |",
             "|---:|---|---|---:|---:|---:|---:|---|"]
    for r in sorted(runs, key=lambda r: (r.round, r.benchmark != "produce")):
        check = "ok" if r.ok else f"FAILED: {r.reason}".replace("|", "\\|")
        rate = f"{r.rate:,.0f}" if r.ok else "–"
        lines.append(f"| {r.round} | {r.benchmark} | {r.tool} | {rate} | {r.wall:.2f} | {r.rss_mb:.0f} | "
                     f"{r.cpu:.2f} | {check} |")
    return "\n".join(lines)


# -- the machine and the versions ------------------------------------------------
def machine():
    info = {"cores": os.cpu_count(), "cpu": platform.processor() or platform.machine(), "ram_gib": None,
            "load": None}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cores"] = sum(1 for line in cpuinfo.splitlines() if line.startswith("processor"))
        models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
        if models:
            info["cpu"] = models[0].strip()
        mem = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        info["ram_gib"] = int(mem.group(1)) / 1024 ** 2 if mem else None
        info["load"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        pass
    return info


def versions():
    import confluent_kafka

    kcat = subprocess.run(["kcat", "-V"], capture_output=True, text=True).stdout
    match = re.search(r"Version (\S+) .*?librdkafka (\S+)", kcat)
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.strip().splitlines()
    return {"python": platform.python_version(),
            "confluent_kafka": f"{confluent_kafka.__version__} (librdkafka {confluent_kafka.libversion()[0]})",
            "kcat": f"{match.group(1)} (librdkafka {match.group(2)})" if match else "?",
            "java": java[0] if java else "?"}


def results_markdown(rows, runs, settings, env, ver):
    m = env
    ram = f"{m['ram_gib']:.1f} GiB RAM" if m["ram_gib"] else "RAM unknown"
    failed = [r for r in runs if not r.ok]
    text = [
        "# Throughput benchmark",
        "",
        f"- date: {settings['date']}",
        f"- machine: {m['cores']} cores ({m['cpu']}), {ram}; load average (1, 5, 15 min) at start "
        f"{m['load'] or '?'}, at end {settings['load_end'] or '?'} (the machine may be shared: other load "
        "slows every tool)",
        f"- Kafka {KAFKA_VERSION}, one local node (local_kafka), PLAINTEXT on loopback",
        f"- workload: {settings['messages']:,} messages of {PAYLOAD_BYTES} bytes (key + value; {DISTINCT_KEYS:,} "
        f"distinct keys), topics of {settings['partitions']} partitions, {settings['rounds']} round(s), "
        "a fresh topic per produce run",
        f"- versions: Python {ver['python']}, confluent-kafka {ver['confluent_kafka']}, kcat {ver['kcat']}, "
        f"{ver['java']}",
        f"- command: `{settings['command']}`",
        "",
        "## Results",
        "",
        summary_table(rows),
        "",
        "msg/s is the number of messages over the tool's wall time, from spawning its process to its exit "
        "(start-up included); for the two ceiling tools it is the rate they report themselves, timed after "
        "the JVM is up. Median over the rounds, with min and max. MB/s counts the 100 bytes of key + value "
        "per message (10^6 bytes). Peak RSS is the largest over the rounds; CPU s is user + system time. "
        "× kcat and × ceiling divide the median by that of kcat and of the ceiling tool in the same benchmark. "
        "A tool with any failed round shows FAILED.",
        "",
        "## Every run",
        "",
        rounds_table(runs),
        "",
    ]
    beaten = [r for r in rows if r.ok and not r.ceiling and reference(r, rows, is_ceiling)
              and r.rate > reference(r, rows, is_ceiling).rate]
    if beaten:
        text += ["## Note on the ceiling", "",
                 "Faster than the ceiling tool in the same benchmark: "
                 + ", ".join(f"{r.benchmark} {r.tool}" for r in beaten) + ". The ceiling tools run with the Java "
                 "client's defaults (for instance a 16 KiB producer batch, where librdkafka batches up to 1 MB) "
                 "in a JVM that starts cold, so on this machine they are a reference point, not an upper bound.",
                 ""]
    if failed:
        text += ["## Failures", ""] + [f"- round {r.round}, {r.benchmark}, {r.tool}: {r.reason}" for r in failed] + [""]
    return "\n".join(text)


def draw_chart(rows, path, settings):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    for ax, benchmark in zip(axes, ("produce", "consume")):
        group = [r for r in rows if r.benchmark == benchmark]
        values = [r.rate if r.ok else 0 for r in group]
        low = [r.rate - r.rate_min if r.ok else 0 for r in group]
        high = [r.rate_max - r.rate if r.ok else 0 for r in group]
        colors = ["#9e9e9e" if r.ceiling else "#1f77b4" if r.tool.endswith(".py") or ".py " in r.tool
                  else "#ff7f0e" for r in group]
        ys = range(len(group))
        ax.barh(ys, values, xerr=[low, high], color=colors, capsize=3)
        ax.set_yticks(list(ys), [r.tool for r in group])
        ax.invert_yaxis()
        top = max([r.rate_max for r in group if r.ok] + [1])  # the whiskers and labels must fit
        ax.set_xlim(0, top * 1.3)
        for y, row in zip(ys, group):
            label = f" {row.rate:,.0f}" if row.ok else " FAILED"
            ax.text(row.rate_max if row.ok else 0, y, label, va="center", color="black" if row.ok else "red")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x / 1000:,.0f}k" if x else "0"))
        ax.set_xlabel("messages / s (median; whiskers: min–max)")
        ax.set_title(benchmark)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"Kafka {KAFKA_VERSION} local node: {settings['messages']:,} × {PAYLOAD_BYTES} B messages, "
                 f"{settings['partitions']} partitions, {settings['rounds']} round(s)   "
                 "(blue: ours, orange: other clients, grey: ceiling)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# -- the command -----------------------------------------------------------------
def _exit_on_signal(signum, _frame):
    sys.exit(128 + signum)  # runs the finally blocks: tool killed, broker stopped, files removed


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-n", "--messages", type=click.IntRange(min=1), default=1_000_000, show_default=True,
              help="Messages per run (input lines of 100 bytes of key + value).")
@click.option("-r", "--rounds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Rounds; each runs every tool once, in a rotated order. The table shows medians.")
@click.option("-p", "--partitions", type=click.IntRange(min=1), default=6, show_default=True,
              help="Partitions of every benchmark topic.")
@click.option("--smoke", is_flag=True,
              help=f"A quick check that everything works: {SMOKE_MESSAGES:,} messages, 1 round, "
                   f"{SMOKE_TIMEOUT} s timeout (unless --messages / --rounds / --timeout are given).")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default="bench/results", help="Directory for RESULTS.md and throughput.png.")
@click.option("--no-chart", is_flag=True, help="Skip the PNG chart (then matplotlib is not needed).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default="600, 120 with --smoke",
              help="Seconds one tool run may take before it is killed and counted as FAILED.")
@click.pass_context
def main(ctx, messages, rounds, partitions, smoke, out, no_chart, timeout):
    """Measure producer.py and consumer.py against kcat, Kafka's console tools and the broker's ceiling.

    Starts a local Kafka, runs every tool on the same input for several rounds, checks that
    each run moved exactly the right messages, and writes OUT/RESULTS.md and OUT/throughput.png.
    """
    if smoke:
        if ctx.get_parameter_source("messages") == ParameterSource.DEFAULT:
            messages = SMOKE_MESSAGES
        if ctx.get_parameter_source("rounds") == ParameterSource.DEFAULT:
            rounds = 1
        if ctx.get_parameter_source("timeout") == ParameterSource.DEFAULT:
            timeout = SMOKE_TIMEOUT
    if not shutil.which("kcat"):
        raise click.ClickException("kcat was not found on PATH; install it (Debian/Ubuntu: apt-get install kcat).")
    if not no_chart and importlib.util.find_spec("matplotlib") is None:
        raise click.ClickException("matplotlib is not installed; it draws the chart. Install it with "
                                   f"`{sys.executable} -m pip install -r bench/requirements.txt`, "
                                   "or pass --no-chart.")
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)

    settings = {"messages": messages, "rounds": rounds, "partitions": partitions,
                "date": datetime.now().astimezone().isoformat(timespec="seconds"),
                "command": "bench/run.py " + " ".join(sys.argv[1:])}
    env = machine()
    workdir = Path(tempfile.mkdtemp(prefix="kafka-bench-"))
    broker = LocalKafka()
    runs = []
    try:
        click.echo(f"starting a local Kafka {KAFKA_VERSION}...", err=True)
        try:
            broker.start()
        except LauncherError as e:
            raise click.ClickException(str(e))
        click.echo(f"writing {messages:,} input lines...", err=True)
        bench = Bench(broker, workdir, messages, partitions, timeout)
        click.echo("warming the broker up (one kcat produce + consume, not recorded)...", err=True)
        problem = bench.warm_up()
        if problem:
            click.echo(f"warning: the warm-up did not go through: {problem}", err=True)
        for rnd in range(1, rounds + 1):
            runs += bench.round(rnd, rounds, report_progress)
    finally:
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    settings["load_end"] = machine()["load"]
    rows = summarize(runs)
    out.mkdir(parents=True, exist_ok=True)
    (out / "RESULTS.md").write_text(results_markdown(rows, runs, settings, env, versions()))
    if not no_chart:
        draw_chart(rows, out / "throughput.png", settings)
    click.echo(f"\n{messages:,} messages × {PAYLOAD_BYTES} B, {partitions} partitions, {rounds} round(s); "
               f"Kafka {KAFKA_VERSION}, {env['cores']} cores\n")
    click.echo(summary_table(rows))
    click.echo(f"\nwritten: {out / 'RESULTS.md'}" + ("" if no_chart else f", {out / 'throughput.png'}"))
    failed = [r for r in runs if not r.ok]
    if failed:
        click.echo(f"{len(failed)} run(s) FAILED their checks; see the table.", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
