"""End-to-end latency: a line written to a running producer's stdin until it appears on a running
consumer's stdout, for each pair of bench/workload/pairs.py.

Both processes run for the whole measurement, on a fresh one-partition topic. Warm-up lines go
in every 100 ms until one comes out (both are connected, the consumer is assigned and fetching);
then N timed lines go in, one every INTERVAL on a fixed schedule (a late line does not shift the
next). After the last timed line the producer's stdin is closed (end of input), which is also when a
producer that reads its input in blocks sends what it still held. Each timed line carries its own send time: the value starts with the microseconds from
the start of the measurement to the moment this process wrote it, so the latency is read off the
message itself when its line comes out (both ends are this process, on one monotonic clock).
The key (e0000, e0001, ...) names the line, so a lost or doubled line is caught: the pair passes
only if every timed line came out exactly once, nothing else came out, and the producer exited 0.
"""

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

from bench.measure.process import kill_group
from bench.workload.pairs import TIMED_KEY, WARM_UP_KEY

STAMP_DIGITS = 10          # microseconds since the start: 10 digits last 2.7 hours
WARM_UP_EVERY = 0.1        # seconds between warm-up lines
WARM_UP_LIMIT = 60         # seconds for the first warm-up line to come out (a JVM pair starts two JVMs)
DRAIN_LIMIT = 30           # seconds after the last timed line for the rest to come out
STOP_LIMIT = 20            # seconds for each process to end once told to


@dataclass
class EndToEnd:
    """One pair at one message size."""
    pair: str
    value_bytes: int
    ok: bool = False
    reason: str = ""
    latencies_ms: list = field(default_factory=list)
    messages: int = 0          # timed lines sent


def line(key_letter, number, stamp_us, value_bytes):
    """`KEY:VALUE` with a 5-byte key and a value of exactly value_bytes that starts with the stamp."""
    stamp = b"%0*d" % (STAMP_DIGITS, stamp_us)
    filler = value_bytes - STAMP_DIGITS
    return key_letter + b"%04d" % number + b":" + stamp + (b"-" + b"x" * (filler - 1) if filler else b"") + b"\n"


class Arrivals:
    """Reads the consumer's stdout in a thread and notes when each line came out."""

    def __init__(self, stream):
        self.timed = {}                  # key -> [(arrival ns, value)]
        self.unexpected = []             # the first few lines that are neither timed nor warm-up
        self.warm = threading.Event()
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._read, args=(stream.fileno(),), daemon=True)
        self.thread.start()

    def _read(self, fd):
        rest = b""
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return
            now = time.perf_counter_ns()
            *lines, rest = (rest + chunk).split(b"\n")
            with self.changed:
                for text in lines:
                    self._note(text, now)
                self.changed.notify_all()

    def _note(self, text, now):
        key, _, value = text.partition(b":")
        if key.startswith(WARM_UP_KEY):
            self.warm.set()
        elif key.startswith(TIMED_KEY) and len(key) == 5:
            self.timed.setdefault(key, []).append((now, value))
        elif len(self.unexpected) < 3:
            self.unexpected.append(text[:60])

    def wait_for(self, count, seconds):
        """True once `count` distinct timed keys came out, False after `seconds`."""
        deadline = time.monotonic() + seconds
        with self.changed:
            while len(self.timed) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(left)
        return True


class PairRun:
    """The two processes of a pair, started and always stopped."""

    def __init__(self, pair, target, topic, workdir):
        self.pair, self.workdir = pair, workdir
        self.consumer_err = workdir / "e2e-consumer.err"
        self.producer_err = workdir / "e2e-producer.err"
        with open(self.consumer_err, "wb") as err:
            self.consumer = subprocess.Popen(pair.consumer(target, topic), stdin=subprocess.DEVNULL,
                                             stdout=subprocess.PIPE, stderr=err, start_new_session=True)
        with open(self.producer_err, "wb") as err:
            self.producer = subprocess.Popen(pair.producer(target, topic), stdin=subprocess.PIPE,
                                             stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        self.arrivals = Arrivals(self.consumer.stdout)
        self.start_ns = time.perf_counter_ns()
        self.producer_code = None
        self.stopped = False

    def send(self, key_letter, number, value_bytes):
        stamp_us = (time.perf_counter_ns() - self.start_ns) // 1000
        os.write(self.producer.stdin.fileno(), line(key_letter, number, stamp_us, value_bytes))

    def finish_producer(self):
        """Close its stdin (end of input: it flushes and exits); its exit code, or None if it had to be killed."""
        self.producer.stdin.close()
        try:
            return self.producer.wait(STOP_LIMIT)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        """Ctrl-C to the consumer (how a person stops it), then SIGKILL to whatever is left. Once: collect()
        stops the pair before it counts, and measure_pair() makes sure of it on every other way out."""
        if self.stopped:
            return
        self.stopped = True
        if self.consumer.poll() is None:
            try:
                os.killpg(self.consumer.pid, signal.SIGINT)
                self.consumer.wait(STOP_LIMIT)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        for proc in (self.producer, self.consumer):
            kill_group(proc.pid)
            proc.wait()
        self.arrivals.thread.join(STOP_LIMIT)  # it reads to the end of the pipe, which the exit closed
        self.consumer.stdout.close()
        if not self.producer.stdin.closed:
            self.producer.stdin.close()

    def last_error(self, path):
        lines = path.read_text(errors="replace").strip().splitlines()
        return lines[-1][:200] if lines else "(nothing on stderr)"


def measure_pair(pair, target, topic, workdir, messages, interval, value_bytes):
    """Run one pair: warm up, send `messages` timed lines `interval` seconds apart, check, collect."""
    result = EndToEnd(pair.name, value_bytes, messages=messages)
    if pair.script and not pair.script.exists():
        result.reason = f"{pair.script.name} not found in {pair.script.parent}"
        return result
    run = PairRun(pair, target, topic, workdir)
    try:
        result.reason = warm_up(run, value_bytes) or send_timed(run, messages, interval, value_bytes)
        if not result.reason:
            result.reason, result.latencies_ms = collect(run, messages)
    except (BrokenPipeError, OSError) as e:
        result.reason = f"the producer stopped reading: {e}; {run.last_error(run.producer_err)}"
    finally:
        run.stop()
        for path in (run.consumer_err, run.producer_err):
            path.unlink(missing_ok=True)
    result.ok = not result.reason
    return result


def warm_up(run, value_bytes):
    deadline = time.monotonic() + WARM_UP_LIMIT
    number = 0
    while not run.arrivals.warm.wait(WARM_UP_EVERY):
        if run.producer.poll() is not None or run.consumer.poll() is not None:
            which, path = ("producer", run.producer_err) if run.producer.poll() is not None else \
                ("consumer", run.consumer_err)
            return f"the {which} exited while warming up: {run.last_error(path)}"
        if time.monotonic() > deadline:
            return f"no warm-up line came out within {WARM_UP_LIMIT} s"
        run.send(WARM_UP_KEY, number % 10000, value_bytes)
        number += 1
    return ""


def send_timed(run, messages, interval, value_bytes):
    start = time.perf_counter()
    for number in range(messages):
        delay = start + number * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        run.send(TIMED_KEY, number, value_bytes)
    # End of input right after the last line, as when a producing program ends: a producer that holds
    # input lines back (kcat -P reads its stdin in blocks) sends the rest now, and every producer exits.
    run.producer_code = run.finish_producer()
    if not run.arrivals.wait_for(messages, DRAIN_LIMIT):
        return (f"{len(run.arrivals.timed):,} of {messages:,} timed lines came out within {DRAIN_LIMIT} s "
                f"of the last; consumer: {run.last_error(run.consumer_err)}")
    return ""


def collect(run, messages):
    """('', latencies in ms, in send order) or (why the pair FAILED, [])."""
    code = run.producer_code
    if code != 0:
        return f"the producer exited {code}: {run.last_error(run.producer_err)}", []
    run.stop()  # nothing more may come out: stop the consumer before looking for doubles
    arrivals = run.arrivals
    doubled = [key for key, seen in arrivals.timed.items() if len(seen) != 1]
    if doubled or arrivals.unexpected or len(arrivals.timed) != messages:
        return (f"{len(arrivals.timed):,} distinct timed lines of {messages:,}, {len(doubled)} doubled, "
                f"unexpected lines: {arrivals.unexpected}"), []
    latencies = []
    for number in range(messages):
        (arrived_ns, value), = arrivals.timed[TIMED_KEY + b"%04d" % number]
        sent_ns = run.start_ns + int(value[:STAMP_DIGITS]) * 1000
        latencies.append((arrived_ns - sent_ns) / 1e6)
    return "", latencies


def run_pairs(bench, pairs, messages, interval, report):
    """Every pair once at the bench's message size, each on a fresh one-partition topic; `report` is called
    with each EndToEnd (the progress line)."""
    results = []
    for pair in pairs:
        topic = bench.new_topic("e2e", partitions=1)
        try:
            results.append(report(measure_pair(pair, bench.target, topic, bench.workdir, messages, interval,
                                               bench.workload.value_bytes)))
        finally:
            bench.delete_topic(topic)
    return results
