#!/usr/bin/env python3
"""Entry point of the benchmark: producer.py and consumer.py next to kcat and Kafka's own Java tools.

    python bench/run.py [--smoke] [--sizes 10,100,10240] [-n MESSAGES] [-r ROUNDS] [-o OUT] ...

This file only reads the options, starts and stops the local Kafka (local_kafka: one real
Apache Kafka node on loopback; every tool uses its PLAINTEXT listener) and puts the rooms
in order: what is measured is in bench/workload/, how in bench/measure/, how it is
reported in bench/report/ (see bench/__init__.py). For each message size in turn: the bulk
rounds, then one message from a cold start (latency probes), then end to end (pairs).

The summary (medians over the rounds, min and max, ratios, latencies) goes to OUT/RESULTS.md
with the per-round runs, a bar chart to OUT/throughput.png, and the tables to stdout. The
broker is stopped and the temporary files are removed when the run ends, fails, or is
stopped with Ctrl-C or SIGTERM (the running tool is killed too).
Exit status: 0 when every run passed its checks, 1 otherwise.
"""

import compileall
import importlib.util
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import click
from click.core import ParameterSource

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python bench/run.py` puts bench/ first on the path, not the project

from local_kafka import KAFKA_VERSION, LauncherError, LocalKafka  # noqa: E402

from bench.measure.end_to_end import run_pairs  # noqa: E402
from bench.measure.latency import LatencyBench  # noqa: E402
from bench.measure.process import RSS_FLOORED  # noqa: E402
from bench.measure.session import Bench  # noqa: E402
from bench.report import environment  # noqa: E402
from bench.report.chart import draw_chart  # noqa: E402
from bench.report.context import Context  # noqa: E402
from bench.report.end_to_end import e2e_section, e2e_table  # noqa: E402
from bench.report.latency import latency_section, latency_table, startup_table  # noqa: E402
from bench.report.markdown import json_table, results_markdown, summary_table  # noqa: E402
from bench.report.summary import summarize  # noqa: E402
from bench.workload.inputs import KEY_BYTES, MIN_VALUE_BYTES, SIZES, Workload, bulk_messages  # noqa: E402
from bench.workload.pairs import PAIRS  # noqa: E402
from bench.workload.probes import BUDGET_FACTOR, IMPORT_REFERENCE, PROBES, ROUND_TRIPS  # noqa: E402
from bench.workload.tools import ALL_TOOLS  # noqa: E402

SMOKE_MESSAGES = 3000
SMOKE_TIMEOUT = 120          # seconds per tool run in --smoke mode
SMOKE_LATENCY_RUNS = 2
SMOKE_E2E_MESSAGES = 40
DEFAULT_OUT = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Options:
    """The command line, after --smoke filled in what was not given."""
    sizes: tuple             # value bytes, one workload each
    messages: int            # of a bulk run, at most (fewer for large values: bulk_messages)
    partitions: int
    rounds: int
    out: Path
    chart: bool
    timeout: float
    latency_runs: int        # samples of every latency probe; 0 leaves latency out
    e2e_messages: int        # timed lines per end-to-end pair; 0 leaves end to end out
    e2e_interval: float      # seconds between them


@dataclass
class Measured:
    runs: list = field(default_factory=list)       # session.Run: bulk rounds
    samples: list = field(default_factory=list)    # latency.Sample: one message from a cold start
    e2e: list = field(default_factory=list)        # end_to_end.EndToEnd: one per pair and size

    def failed(self):
        return [r for r in self.runs + self.samples + self.e2e if not r.ok]


def _exit_on_signal(signum, _frame):
    sys.exit(128 + signum)  # runs the finally blocks: tool killed, broker stopped, files removed


def smoke_defaults(ctx, opts):
    """--smoke: fewer messages, one round, a shorter timeout, unless those were given."""
    for name, value in (("messages", SMOKE_MESSAGES), ("rounds", 1), ("timeout", SMOKE_TIMEOUT),
                        ("latency_runs", SMOKE_LATENCY_RUNS), ("e2e_messages", SMOKE_E2E_MESSAGES)):
        if ctx.get_parameter_source(name) == ParameterSource.DEFAULT:
            opts[name] = value
    return opts


def cache_bytecode():
    """Run the Python tools as Python runs by default: with the compiled bytecode of the project's modules
    kept (__pycache__) and used. PYTHONDONTWRITEBYTECODE in the caller's environment would make every
    start compile them again, a cost no user with default settings pays."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    for room in ("kafka_cli", "commands"):
        compileall.compile_dir(str(ROOT / room), quiet=1)


def check_prerequisites(options):
    if not shutil.which("kcat"):
        raise click.ClickException("kcat was not found on PATH; install it (Debian/Ubuntu: apt-get install kcat).")
    if options.chart and importlib.util.find_spec("matplotlib") is None:
        raise click.ClickException("matplotlib is not installed; it draws the chart. Install it with "
                                   f"`{sys.executable} -m pip install -r bench/requirements.txt`, "
                                   "or pass --no-chart.")


def report_progress(run, rounds):
    rate = f"{run.rate:>12,.0f}" if run.ok else f"{'–':>12}"
    status = "ok" if run.ok else f"FAILED: {run.reason}"
    click.echo(f"round {run.round}/{rounds}  {run.value_bytes:>6} B  {run.benchmark:<8} {run.tool:<44} {rate} msg/s "
               f"{run.wall:7.2f} s {run.rss_mb:7.0f} MB  {status}", err=True)
    return run


def report_sample(sample, samples):
    took = f"{sample.seconds * 1000:9,.0f} ms" if sample.ok else f"{'–':>12}"
    status = "ok" if sample.ok else f"FAILED: {sample.reason}"
    click.echo(f"latency {sample.sample}/{samples}  {sample.value_bytes:>6} B  {sample.probe:<38} {took}  {status}",
               err=True)
    return sample


def report_pair(result):
    if result.ok:
        ordered = sorted(result.latencies_ms)
        took = f"p50 {ordered[len(ordered) // 2]:8,.1f} ms  max {ordered[-1]:8,.1f} ms"
    else:
        took = f"FAILED: {result.reason}"
    click.echo(f"end to end  {result.value_bytes:>6} B  {result.pair:<38} {took}", err=True)
    return result


def measure_size(broker, workdir, options, size, measured, first):
    """Bulk rounds, latency probes and end-to-end pairs at one value size; the results go into `measured`."""
    workload = Workload(bulk_messages(options.messages, size), options.partitions, size)
    click.echo(f"writing {workload.messages:,} input lines of {size:,}-byte values...", err=True)
    bench = Bench(broker, workdir, workload, options.timeout)
    try:
        if first:
            click.echo("warming the broker up (one kcat produce + consume, not recorded)...", err=True)
            problem = bench.warm_up()
            if problem:
                click.echo(f"warning: the warm-up did not go through: {problem}", err=True)
        for rnd in range(1, options.rounds + 1):
            measured.runs += bench.round(rnd, lambda run: report_progress(run, options.rounds))
        if options.latency_runs:
            measured.samples += LatencyBench(bench).run(
                options.latency_runs, lambda sample: report_sample(sample, options.latency_runs))
        if options.e2e_messages:
            measured.e2e += run_pairs(bench, PAIRS, options.e2e_messages, options.e2e_interval, report_pair)
    finally:
        bench.input.unlink(missing_ok=True)  # 1 GB for 10 KiB values: one size's input at a time


def measure(options):
    """Start the broker, measure every size, stop the broker; a Measured."""
    workdir = Path(tempfile.mkdtemp(prefix="kafka-bench-"))
    broker = LocalKafka()
    measured = Measured()
    try:
        click.echo(f"starting a local Kafka {KAFKA_VERSION}...", err=True)
        try:
            broker.start()
        except LauncherError as e:
            raise click.ClickException(str(e))
        for index, size in enumerate(options.sizes):
            measure_size(broker, workdir, options, size, measured, first=index == 0)
    finally:
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return measured


def write_report(measured, options, ctx):
    rows = summarize(measured.runs, ALL_TOOLS, options.sizes)
    probes = [p.name for p in PROBES]
    startup = (ROUND_TRIPS, IMPORT_REFERENCE, BUDGET_FACTOR)
    extra = (latency_section(measured.samples, probes, options.sizes, startup)
             + e2e_section(measured.e2e, options.sizes, options.e2e_messages, options.e2e_interval))
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "RESULTS.md").write_text(results_markdown(rows, measured.runs, ctx, extra))
    if options.chart:
        draw_chart(rows, options.out / "throughput.png", ctx)
    click.echo(f"\n{', '.join(f'{m:,} × {s:,} B' for s, m in ctx.workloads)}, {ctx.partitions} partitions, "
               f"{ctx.rounds} round(s); Kafka {KAFKA_VERSION}, {ctx.machine['cores']} cores\n")
    click.echo(summary_table(rows, ctx.key_bytes))
    click.echo("\n" + json_table(rows, options.sizes))
    if measured.samples:
        click.echo("\n" + latency_table(measured.samples, probes, options.sizes))
        click.echo("\n" + startup_table(measured.samples, options.sizes, *startup))
    if measured.e2e:
        click.echo("\n" + e2e_table(measured.e2e, options.sizes))
    click.echo(f"\nwritten: {options.out / 'RESULTS.md'}"
               + ("" if not options.chart else f", {options.out / 'throughput.png'}"))


def parse_sizes(_ctx, _param, value):
    try:
        sizes = tuple(int(part) for part in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of byte counts, such as 10,100,10240")
    if any(size < MIN_VALUE_BYTES for size in sizes):
        raise click.BadParameter(f"every size must be at least {MIN_VALUE_BYTES} bytes (the value starts with a "
                                 "10-digit sequence number)")
    return sizes


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--sizes", default=",".join(map(str, SIZES)), show_default=True, callback=parse_sizes,
              help="Value sizes in bytes, comma-separated; each is measured in turn (bulk, latency, end to end). "
                   f"Every key adds {KEY_BYTES} bytes.")
@click.option("-n", "--messages", type=click.IntRange(min=1), default=1_000_000, show_default=True,
              help="Messages per bulk run (input lines of key + value); fewer for large values, so that a run "
                   "moves at most 1 GB of values (97,656 of 10 KiB).")
@click.option("-r", "--rounds", type=click.IntRange(min=1), default=5, show_default=True,
              help="Rounds; each runs every tool once, in a rotated order. The table shows medians.")
@click.option("-p", "--partitions", type=click.IntRange(min=1), default=6, show_default=True,
              help="Partitions of every bulk topic.")
@click.option("--latency-runs", type=click.IntRange(min=0), default=5, show_default=f"5, {SMOKE_LATENCY_RUNS} with --smoke",
              help="Samples of each one-message latency probe, at each size; 0 leaves them out.")
@click.option("--e2e-messages", type=click.IntRange(min=0, max=9999), default=1000,
              show_default=f"1000, {SMOKE_E2E_MESSAGES} with --smoke",
              help="Timed lines per end-to-end pair, at each size; 0 leaves end to end out.")
@click.option("--e2e-interval-ms", type=click.FloatRange(min=0), default=10, show_default=True,
              help="Milliseconds between two timed end-to-end lines.")
@click.option("--smoke", is_flag=True,
              help=f"A quick check that everything works: {SMOKE_MESSAGES:,} messages, 1 round, "
                   f"{SMOKE_TIMEOUT} s timeout, {SMOKE_LATENCY_RUNS} latency samples, {SMOKE_E2E_MESSAGES} "
                   "end-to-end lines (unless given).")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default="bench/results", help="Directory for RESULTS.md and throughput.png.")
@click.option("--no-chart", is_flag=True, help="Skip the PNG chart (then matplotlib is not needed).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default="600, 120 with --smoke",
              help="Seconds one tool run may take before it is killed and counted as FAILED.")
@click.pass_context
def main(ctx, **opts):
    """Measure producer.py and consumer.py against kcat and Kafka's console and perf tools.

    Starts a local Kafka and, for each message size: runs every tool on the same input for several
    rounds, checking that each run moved exactly the right messages; times one message from a cold
    start (latency); and times lines through a running producer and consumer of each kind (end to
    end, p50 and p99). Writes OUT/RESULTS.md and OUT/throughput.png.

    \b
    Examples:
      python bench/run.py                        # the full run behind the README's tables
      python bench/run.py --smoke -o /tmp/b      # does everything work? (a few minutes)
      python bench/run.py --sizes 100 -r 5       # one size, more rounds
    """
    if opts["smoke"]:
        opts = smoke_defaults(ctx, opts)
    options = Options(opts["sizes"], opts["messages"], opts["partitions"], opts["rounds"], opts["out"],
                      not opts["no_chart"], opts["timeout"], opts["latency_runs"], opts["e2e_messages"],
                      opts["e2e_interval_ms"] / 1000)
    check_prerequisites(options)
    cache_bytecode()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)
    date = datetime.now().astimezone().isoformat(timespec="seconds")
    machine = environment.machine()
    measured = measure(options)
    context = Context(tuple((size, bulk_messages(options.messages, size)) for size in options.sizes), KEY_BYTES,
                      options.partitions, options.rounds, date, " ".join(["bench/run.py", *sys.argv[1:]]), machine,
                      environment.machine()["load"], environment.versions(), RSS_FLOORED,
                      (options.e2e_messages, options.e2e_interval))
    write_report(measured, options, context)
    failed = measured.failed()
    if failed:
        click.echo(f"{len(failed)} run(s) FAILED their checks; see the tables.", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
