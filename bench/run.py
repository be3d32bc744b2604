#!/usr/bin/env python3
"""Entry point of the benchmark: producer.py and consumer.py next to kcat and Kafka's own Java tools.

    python bench/run.py [--smoke] [-n MESSAGES] [-r ROUNDS] [-p PARTITIONS] [-o OUT] ...

This file only reads the options, starts and stops the local Kafka (local_kafka: one real
Apache Kafka node on loopback; every tool uses its PLAINTEXT listener) and puts the rooms
in order: what is measured is in bench/workload/, how in bench/measure/, how it is
reported in bench/report/ (see bench/__init__.py).

The summary (medians over the rounds, min and max, ratios) goes to OUT/RESULTS.md with the
per-round runs, a bar chart to OUT/throughput.png, and the summary table to stdout. The
broker is stopped and the temporary files are removed when the run ends, fails, or is
stopped with Ctrl-C or SIGTERM (the running tool is killed too).
Exit status: 0 when every run passed its checks, 1 otherwise.
"""

import importlib.util
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import click
from click.core import ParameterSource

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `python bench/run.py` puts bench/ first on the path, not the project

from local_kafka import KAFKA_VERSION, LauncherError, LocalKafka  # noqa: E402

from bench.measure.latency import LatencyBench  # noqa: E402
from bench.measure.process import RSS_FLOORED  # noqa: E402
from bench.measure.session import Bench  # noqa: E402
from bench.report import environment  # noqa: E402
from bench.report.chart import draw_chart  # noqa: E402
from bench.report.context import Context  # noqa: E402
from bench.report.latency import latency_section, latency_table  # noqa: E402
from bench.report.markdown import results_markdown, summary_table  # noqa: E402
from bench.report.summary import summarize  # noqa: E402
from bench.workload.inputs import DEFAULT_VALUE_BYTES, MIN_VALUE_BYTES, Workload  # noqa: E402
from bench.workload.probes import PROBES  # noqa: E402
from bench.workload.tools import ALL_TOOLS  # noqa: E402

SMOKE_MESSAGES = 3000
SMOKE_TIMEOUT = 120          # seconds per tool run in --smoke mode
SMOKE_LATENCY_RUNS = 3
DEFAULT_OUT = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Options:
    """The command line, after --smoke filled in what was not given."""
    workload: Workload
    rounds: int
    out: Path
    chart: bool
    timeout: float
    latency_runs: int        # samples of every latency probe; 0 leaves latency out


def _exit_on_signal(signum, _frame):
    sys.exit(128 + signum)  # runs the finally blocks: tool killed, broker stopped, files removed


def smoke_defaults(ctx, opts):
    """--smoke: fewer messages, one round, a shorter timeout, unless those were given."""
    for name, value in (("messages", SMOKE_MESSAGES), ("rounds", 1), ("timeout", SMOKE_TIMEOUT),
                        ("latency_runs", SMOKE_LATENCY_RUNS)):
        if ctx.get_parameter_source(name) == ParameterSource.DEFAULT:
            opts[name] = value
    return opts


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
    click.echo(f"round {run.round}/{rounds}  {run.benchmark:<8} {run.tool:<44} {rate} msg/s "
               f"{run.wall:7.2f} s {run.rss_mb:7.0f} MB  {status}", err=True)
    return run


def report_sample(sample, samples):
    took = f"{sample.seconds * 1000:9,.0f} ms" if sample.ok else f"{'–':>12}"
    status = "ok" if sample.ok else f"FAILED: {sample.reason}"
    click.echo(f"latency {sample.sample}/{samples}  {sample.probe:<38} {took}  {status}", err=True)
    return sample


def measure(options):
    """Start the broker, run every round and the latency probes, stop the broker; (Runs, Samples)."""
    workdir = Path(tempfile.mkdtemp(prefix="kafka-bench-"))
    broker = LocalKafka()
    runs, samples = [], []
    try:
        click.echo(f"starting a local Kafka {KAFKA_VERSION}...", err=True)
        try:
            broker.start()
        except LauncherError as e:
            raise click.ClickException(str(e))
        click.echo(f"writing {options.workload.messages:,} input lines...", err=True)
        bench = Bench(broker, workdir, options.workload, options.timeout)
        click.echo("warming the broker up (one kcat produce + consume, not recorded)...", err=True)
        problem = bench.warm_up()
        if problem:
            click.echo(f"warning: the warm-up did not go through: {problem}", err=True)
        for rnd in range(1, options.rounds + 1):
            runs += bench.round(rnd, lambda run: report_progress(run, options.rounds))
        if options.latency_runs:
            samples = LatencyBench(bench).run(options.latency_runs,
                                              lambda sample: report_sample(sample, options.latency_runs))
    finally:
        broker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return runs, samples


def write_report(measured, options, ctx):
    runs, samples = measured
    rows = summarize(runs, ALL_TOOLS)
    probes = [p.name for p in PROBES]
    options.out.mkdir(parents=True, exist_ok=True)
    (options.out / "RESULTS.md").write_text(results_markdown(rows, runs, ctx, latency_section(samples, probes)))
    if options.chart:
        draw_chart(rows, options.out / "throughput.png", ctx)
    click.echo(f"\n{ctx.messages:,} messages × {ctx.message_bytes:,} B, {ctx.partitions} partitions, "
               f"{ctx.rounds} round(s); Kafka {KAFKA_VERSION}, {ctx.machine['cores']} cores\n")
    click.echo(summary_table(rows, ctx.message_bytes))
    if samples:
        click.echo("\n" + latency_table(samples, probes))
    click.echo(f"\nwritten: {options.out / 'RESULTS.md'}"
               + ("" if not options.chart else f", {options.out / 'throughput.png'}"))


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-n", "--messages", type=click.IntRange(min=1), default=1_000_000, show_default=True,
              help="Messages per run (input lines of key + value).")
@click.option("-r", "--rounds", type=click.IntRange(min=1), default=3, show_default=True,
              help="Rounds; each runs every tool once, in a rotated order. The table shows medians.")
@click.option("-p", "--partitions", type=click.IntRange(min=1), default=6, show_default=True,
              help="Partitions of every benchmark topic.")
@click.option("-s", "--value-bytes", type=click.IntRange(min=MIN_VALUE_BYTES), default=DEFAULT_VALUE_BYTES,
              show_default=True, help="Bytes of every message's value; the key adds 5, so the default makes "
                                      "100-byte messages. Try 10, 100 or 10240 (lower -n for large values).")
@click.option("--latency-runs", type=click.IntRange(min=0), default=5, show_default="5, 3 with --smoke",
              help="Samples of each one-message latency probe; 0 leaves latency out.")
@click.option("--smoke", is_flag=True,
              help=f"A quick check that everything works: {SMOKE_MESSAGES:,} messages, 1 round, "
                   f"{SMOKE_TIMEOUT} s timeout, {SMOKE_LATENCY_RUNS} latency samples (unless given).")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default="bench/results", help="Directory for RESULTS.md and throughput.png.")
@click.option("--no-chart", is_flag=True, help="Skip the PNG chart (then matplotlib is not needed).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600, show_default="600, 120 with --smoke",
              help="Seconds one tool run may take before it is killed and counted as FAILED.")
@click.pass_context
def main(ctx, **opts):
    """Measure producer.py and consumer.py against kcat and Kafka's console and perf tools.

    Starts a local Kafka, runs every tool on the same input for several rounds, checks that
    each run moved exactly the right messages, times one message from a cold start (latency),
    and writes OUT/RESULTS.md and OUT/throughput.png.
    """
    if opts["smoke"]:
        opts = smoke_defaults(ctx, opts)
    options = Options(Workload(opts["messages"], opts["partitions"], opts["value_bytes"]), opts["rounds"],
                      opts["out"], not opts["no_chart"], opts["timeout"], opts["latency_runs"])
    check_prerequisites(options)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)
    date = datetime.now().astimezone().isoformat(timespec="seconds")
    machine = environment.machine()
    measured = measure(options)
    w = options.workload
    context = Context(w.messages, w.message_bytes, w.partitions, options.rounds, w.describe(), date,
                  "bench/run.py " + " ".join(sys.argv[1:]), machine, environment.machine()["load"],
                  environment.versions(), RSS_FLOORED)
    write_report(measured, options, context)
    failed = [r for r in measured[0] + measured[1] if not r.ok]
    if failed:
        click.echo(f"{len(failed)} run(s) FAILED their checks; see the tables.", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
