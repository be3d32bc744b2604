"""The latency probes on the live broker: samples of one message from a cold process start.

Each sample runs every probe once, in an order rotated by the sample number. A produce
probe gets a fresh one-partition topic and counts only if that topic then holds exactly one
record; a consume probe reads a one-partition topic holding exactly the probe line and
counts only if its whole stdout is that line, once. A sample that fails shows why.
"""

from dataclasses import dataclass

from bench.measure import checks
from bench.measure.process import run_measured, run_to_first_line
from bench.measure.session import rotated
from bench.workload.probes import FIRST_LINE, PROBES
from bench.workload.tools import kcat_produce


@dataclass
class Sample:
    """One probe, once."""
    probe: str
    kind: str
    timed_until: str
    sample: int
    value_bytes: int = 0
    ok: bool = False
    reason: str = ""
    seconds: float = 0.0    # spawn to exit, or to the first line printed
    rss_mb: float = 0.0


class LatencyBench:
    """Runs the probes against the broker and input of a session.Bench."""

    def __init__(self, bench):
        self.bench = bench
        with open(bench.input, "rb") as f:
            self.line = f.readline()      # with its newline: what a consumer must print back
        self.line_file = bench.workdir / "probe-line.txt"
        self.line_file.write_bytes(self.line)
        self.consume_topic = None

    def prepare(self):
        """The consume probes' topic, holding exactly the probe line; '' or what went wrong."""
        self.consume_topic = self.bench.new_topic("latency-consume", partitions=1)
        problem = self.run_exit(kcat_produce(self.bench.target, self.consume_topic), "prefill")[1]
        if not problem:
            problem = checks.topic_count_problem(self.bench.settled_count(self.consume_topic, 1), 1)
        return problem

    def run_exit(self, argv, slug):
        """(Finished, problem) of a run timed to its exit, the probe line on its stdin."""
        out, err = self.bench.workdir / f"{slug}.out", self.bench.workdir / f"{slug}.err"
        try:
            done = run_measured(argv, self.line_file, out, err, self.bench.timeout)
            return done, checks.exit_problem(done, err, self.bench.timeout)
        finally:
            out.unlink(missing_ok=True)
            err.unlink(missing_ok=True)

    def run_first_line(self, argv, slug):
        """(Finished, seconds to the first line, problem) of a consume probe."""
        err = self.bench.workdir / f"{slug}.err"
        try:
            done, first_at, output = run_to_first_line(argv, err, self.bench.timeout)
            problem = checks.exit_problem(done, err, self.bench.timeout)
        finally:
            err.unlink(missing_ok=True)
        if not problem and output != self.line:
            lines = output.count(b"\n")
            problem = f"printed {lines} line(s), not exactly the probe line: {output[:60]!r}"
        return done, first_at, problem

    def measure(self, probe, sample):
        """One probe, once, checked."""
        result = Sample(probe.name, probe.kind, probe.timed_until, sample, self.bench.workload.value_bytes)
        if probe.script and not probe.script.exists():
            result.reason = f"{probe.script.name} not found in {probe.script.parent}"
            return result
        try:
            self._measure(probe, result)
        except OSError as e:
            result.reason = f"could not start: {e}"
        except Exception as e:  # e.g. the watermarks could not be read
            result.reason = f"the check itself failed: {e}"
        result.ok = not result.reason
        return result

    def _measure(self, probe, result):
        if probe.timed_until == FIRST_LINE:
            done, first_at, result.reason = self.run_first_line(probe.argv(self.bench.target, self.consume_topic),
                                                                probe.slug)
            result.seconds, result.rss_mb = (first_at or done.wall), done.rss_mb
            return
        topic = self.bench.new_topic(probe.slug, partitions=1) if probe.kind == "produce" else None
        try:
            done, result.reason = self.run_exit(probe.argv(self.bench.target, topic), probe.slug)
            result.seconds, result.rss_mb = done.wall, done.rss_mb
            if topic and not result.reason:
                result.reason = checks.topic_count_problem(self.bench.settled_count(topic, 1), 1)
        finally:
            if topic:
                self.bench.delete_topic(topic)

    def run(self, samples, report):
        """`samples` rounds of every probe; `report` is called with each Sample (the progress line)."""
        results = []
        try:
            problem = self.prepare()
            for k in range(1, samples + 1):
                for probe in rotated(PROBES, k):
                    if problem and probe.timed_until == FIRST_LINE:
                        results.append(report(Sample(probe.name, probe.kind, probe.timed_until, k,
                                                     self.bench.workload.value_bytes,
                                                     reason=f"pre-filling failed: {problem}")))
                    else:
                        results.append(report(self.measure(probe, k)))
        finally:
            if self.consume_topic:
                self.bench.delete_topic(self.consume_topic)
            self.line_file.unlink(missing_ok=True)
        return results
