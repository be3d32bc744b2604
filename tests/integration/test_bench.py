"""The benchmark end to end (`bench/run.py --smoke` against the session's local Kafka), and the parts of
it that need no broker: the input sizes, the "best peer" reference, the percentiles, the timed
lines of the end-to-end pairs, the rooms' imports.

The smoke test needs matplotlib for the chart (bench/requirements.txt) and kcat, like the benchmark; the RSS test
needs GNU time. A missing one fails the test, naming how to install it: no test here skips itself.
"""

import ast
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.measure.end_to_end import STAMP_DIGITS, line  # noqa: E402
from bench.report.context import size_label  # noqa: E402
from bench.report.end_to_end import percentile  # noqa: E402
from bench.report.summary import Row, best_row, kcat_row  # noqa: E402
from bench.workload.inputs import Workload, bulk_messages, write_input  # noqa: E402
from local_kafka import LocalKafka  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIZES = ["100 B"]  # the smoke run measures one size: every table and the chart, at a third of the cost
TOOLS = [
    ("produce", "producer.py"),
    ("produce", "kcat"),
    ("produce", "ConsoleProducer"),
    ("produce", "ProducerPerformance (Kafka Java perf tool)"),
    ("consume", "consumer.py -f text"),
    ("consume", "consumer.py -f json"),
    ("consume", "kcat"),
    ("consume", "ConsoleConsumer"),
    ("consume", "ConsumerPerformance (Kafka Java perf tool)"),
]
EXPECTED_ROWS = [(size, benchmark, tool) for size in SIZES for benchmark, tool in TOOLS]
EXPECTED_PROBES = ["producer.py, one line", "kcat -P, one line", "ConsoleProducer, one line", "consumer.py -n 1",
                   "kcat -G -c 1 (group)", "kcat -C -c 1 (no group)", "ConsoleConsumer --max-messages 1",
                   "python -c 'import confluent_kafka'"]
EXPECTED_PAIRS = ["producer.py → consumer.py", "kcat -P → kcat -C -u", "ConsoleProducer → ConsoleConsumer"]

# bench/run.py as `python bench/run.py ARGS` runs it, except that the broker it measures against is the test
# session's (one JVM start less): its LocalKafka is swapped for one that only names that broker. What this leaves
# out is bench/run.py starting and stopping a LocalKafka of its own, the launcher's tested start() and stop().
ON_SESSION_BROKER = """
import os, sys
sys.argv[0] = os.path.join(os.environ["BENCH_ROOT"], "bench", "run.py")
sys.path.insert(0, os.environ["BENCH_ROOT"])
import bench.run


class SessionBroker:
    plaintext_bootstrap = os.environ["BENCH_BOOTSTRAP"]
    plaintext_config = os.environ["BENCH_CONFIG"]

    def start(self):
        return self

    def stop(self):
        pass

    def admin(self):
        from confluent_kafka.admin import AdminClient
        from local_kafka.broker import SilentLogger
        return AdminClient({"bootstrap.servers": self.plaintext_bootstrap, "logger": SilentLogger()})


bench.run.LocalKafka = SessionBroker
bench.run.main()
"""
# the smoke run's own size of bulk runs is 3,000 messages; 1,000 fill every table as well, and the end-to-end
# pairs send their 40 lines 2 ms apart rather than 10 (nothing asserted depends on either). One size: each size
# runs the same code again (most of its cost is the Java tools' start-ups); make bench runs all three.
SMOKE_ARGS = ["--smoke", "-n", "1000", "--e2e-interval-ms", "2", "--sizes", "100"]


def processes_mentioning(text):
    """Pids of running processes whose command line contains `text`."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if text.encode() in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def section_rows(markdown, heading):
    """The rows of the first table under `heading`, as {column: cell} dicts."""
    section = markdown.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    head = [c.strip() for c in lines[0].strip().strip("|").split("|")]
    return [dict(zip(head, (c.strip() for c in line.strip().strip("|").split("|")))) for line in lines[2:]]


def keyed(rows, *columns):
    return {tuple(row[c] for c in columns): row for row in rows}


def number(cell):
    assert re.fullmatch(r"[\d,]+(\.\d+)?", cell), f"{cell!r} is not a number"
    return float(cell.replace(",", ""))


def check_throughput(markdown):
    rows = keyed(section_rows(markdown, "## Throughput"), "value", "benchmark", "tool")
    assert list(rows) == EXPECTED_ROWS, markdown
    for row in rows.values():
        assert number(row["msg/s (median)"]) > 0
        assert row["rounds ok"] == "1/1"
    for size in SIZES:
        for benchmark in ("produce", "consume"):
            # the reference is the fastest other client of this very run: its row reads 1.00, no other more
            peers = {tool: row for (v, b, tool), row in rows.items()
                     if v == size and b == benchmark and ".py" not in tool}
            fastest = max(peers, key=lambda tool: number(peers[tool]["msg/s (median)"]))
            assert peers[fastest]["× best peer"] == "1.00", peers[fastest]
            assert all(number(row["× best peer"]) <= 1.0 for row in peers.values())
            assert peers["kcat"]["× kcat"] == "1.00"
    json_rows = keyed(section_rows(markdown, "## consumer.py: JSON against text"), "value")
    assert list(json_rows) == [(size,) for size in SIZES]
    assert all(number(row["json ÷ text"]) > 0 and row["goal ≥ 0.80"] in ("met", "not met") for row in json_rows.values())
    own = keyed(section_rows(markdown, "## Kafka's Java perf tools by their own clock"), "value", "benchmark", "tool")
    assert set(own) == {key for key in EXPECTED_ROWS if "Java perf tool" in key[2]}
    assert all(number(row["own msg/s (median)"]) > 0 for row in own.values())


def check_latency(markdown):
    latency = keyed(section_rows(markdown, "## Latency of one message"), "value", "probe")
    assert list(latency) == [(size, probe) for size in SIZES for probe in EXPECTED_PROBES]
    for row in latency.values():
        # --smoke takes 2 samples; each passed its exact check (one record, or exactly the one line)
        assert row["runs ok"] == "2/2", row
        assert 0 < number(row["min ms"]) <= number(row["median ms"]) <= number(row["max ms"]), row
    startup = keyed(section_rows(markdown, "## Start-up"), "value", "ours")
    assert list(startup) == [(size, ours) for size in SIZES for ours in ("producer.py, one line", "consumer.py -n 1")]
    for row in startup.values():
        budget = 1.5 * number(row["bare import ms"]) + number(row["kcat ms"])
        assert abs(number(row["budget ms"]) - budget) <= 2, row  # the cells are rounded to whole ms
        assert number(row["ours ÷ budget"]) > 0
    e2e = keyed(section_rows(markdown, "## End to end"), "value", "pair")
    assert list(e2e) == [(size, pair) for size in SIZES for pair in EXPECTED_PAIRS]
    for row in e2e.values():
        assert row["lines"] == "40 ok", row  # every timed line came out exactly once
        assert 0 < number(row["p50 ms"]) <= number(row["p99 ms"]) <= number(row["max ms"]), row


@pytest.mark.slow
def test_smoke_run_writes_every_table_and_a_chart(kafka, tmp_path):
    if importlib.util.find_spec("matplotlib") is None:
        pytest.fail("matplotlib is missing; the benchmark draws its chart with it: "
                    f"{sys.executable} -m pip install -r bench/requirements.txt")
    scratch = tmp_path / "tmp"  # the benchmark's temporary files, broker data included, go here
    scratch.mkdir()
    out = tmp_path / "results"

    # against a broker of the user's (KAFKA_TEST_BOOTSTRAP_SERVERS) the benchmark starts its own, as it does alone
    own = isinstance(kafka, LocalKafka)
    command = ["-c", ON_SESSION_BROKER] if own else [str(ROOT / "bench" / "run.py")]
    proc = subprocess.run([sys.executable, *command, *SMOKE_ARGS, "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "TMPDIR": str(scratch), "BENCH_ROOT": str(ROOT),
                               "BENCH_BOOTSTRAP": kafka.plaintext_bootstrap,
                               "BENCH_CONFIG": str(kafka.plaintext_config)})

    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    markdown = (out / "RESULTS.md").read_text()
    check_throughput(markdown)
    check_latency(markdown)
    assert "| 100 B | produce | producer.py |" in proc.stdout  # the tables are printed too
    assert "| 100 B | consumer.py -n 1 |" in proc.stdout
    assert "| 100 B | producer.py → consumer.py |" in proc.stdout
    png = out / "throughput.png"
    assert png.exists()
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    assert not processes_mentioning(str(scratch)), "the benchmark left its broker or a tool running"
    assert not list(scratch.iterdir()), f"temporary files left behind: {list(scratch.iterdir())}"


@pytest.mark.parametrize("value_bytes", [10, 11, 95, 10240])
def test_input_lines_have_the_asked_size_and_are_unique(tmp_path, value_bytes):
    path = tmp_path / "input.txt"
    write_input(path, Workload(messages=500, partitions=1, value_bytes=value_bytes))
    lines = path.read_bytes().splitlines()
    assert len(lines) == 500
    assert {len(line) for line in lines} == {5 + 1 + value_bytes}  # key, separator, value
    assert all(line.split(b":", 1)[1][:10] == b"%010d" % i for i, line in enumerate(lines))
    assert len(set(lines)) == 500


class FakeRun:
    def __init__(self, rate, ok=True):
        self.rate, self.ok, self.reported_rate = rate, ok, None


def test_best_is_the_fastest_passing_row_of_the_same_benchmark_and_size():
    rows = [Row("produce", "kcat", False, [FakeRun(900)], 100),
            Row("produce", "producer.py", False, [FakeRun(500)], 100),
            Row("produce", "fast but failed", False, [FakeRun(5000, ok=False)], 100),
            Row("produce", "ProducerPerformance", True, [FakeRun(400)], 100),
            Row("consume", "consumer.py -f text", False, [FakeRun(2000)], 100),
            Row("consume", "kcat", False, [FakeRun(1500)], 100),
            Row("produce", "kcat", False, [FakeRun(90)], 10240)]
    assert all(best_row(row, rows).tool == "kcat" for row in rows[:4])
    assert best_row(rows[4], rows).tool == "consumer.py -f text"  # the fastest of all is ours
    assert best_row(rows[4], rows, peers_only=True).tool == "kcat"  # the best peer is not
    assert best_row(rows[6], rows).rate == 90  # another size is another group
    assert kcat_row(rows[4], rows).rate == 1500
    assert kcat_row(Row("consume", "x", False, [FakeRun(1)], 10), rows) is None  # no kcat there: "–", not a ratio


def test_bulk_runs_move_at_most_a_gigabyte_of_values():
    assert bulk_messages(1_000_000, 10) == 1_000_000
    assert bulk_messages(1_000_000, 10240) == 97_656
    assert bulk_messages(3000, 10240) == 3000
    assert [size_label(v) for v in (10, 100, 10240, 1500)] == ["10 B", "100 B", "10 KiB", "1,500 B"]


def test_percentiles_are_nearest_rank():
    values = list(range(1, 1001))  # 1..1000 ms
    assert percentile(values, 0.5) == 500
    assert percentile(values, 0.99) == 990
    assert percentile([7.0], 0.99) == 7.0


@pytest.mark.parametrize("value_bytes", [10, 11, 100, 10240])
def test_a_timed_line_carries_its_stamp_in_a_value_of_the_asked_size(value_bytes):
    text = line(b"e", 42, 1234567, value_bytes)
    key, _, value = text.rstrip(b"\n").partition(b":")
    assert key == b"e0042" and len(value) == value_bytes and text.endswith(b"\n") and text.count(b"\n") == 1
    assert int(value[:STAMP_DIGITS]) == 1234567


def bench_imports(path):
    """The bench.* modules that a file imports (relative imports stay inside their room)."""
    tree = ast.parse(path.read_text())
    return {node.module for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bench")}


def test_rooms_depend_one_way_and_stay_small():
    rooms = {"workload": set(), "report": set(), "measure": {"workload"}}  # room -> rooms it may use
    for path in (ROOT / "bench").rglob("*.py"):
        assert len(path.read_text().splitlines()) < 300, f"{path} has grown past 300 lines"
        assert ast.get_docstring(ast.parse(path.read_text())), f"{path} does not say what it is for"
        room = path.relative_to(ROOT / "bench").parts[0]
        if room in rooms:
            used = {module.split(".")[1] for module in bench_imports(path)} - {room}
            assert used <= rooms[room], f"{path} imports {used - rooms[room]}"
            assert "bench.run" not in bench_imports(path)


def test_peak_rss_is_the_tools_own_not_the_benchmarks(tmp_path):
    """A child's ru_maxrss never reads below its parent's peak at the fork; the benchmark must
    show the tool's own peak (through GNU time) or say that it cannot."""
    from bench.measure.process import RSS_FLOORED, run_measured

    assert not RSS_FLOORED, ("GNU time (/usr/bin/time) is missing: the benchmark's RSS figures are floored at its own "
                             "peak; install it (Debian/Ubuntu: apt-get install time)")
    ballast = bytearray(150 * 2 ** 20)
    ballast[::4096] = b"\1" * len(ballast[::4096])  # touch every page: this process's peak is now >150 MB
    done = run_measured(["true"], None, tmp_path / "out", tmp_path / "err", timeout=30)
    assert done.returncode == 0
    assert done.rss_mb < 50, f"`true` reported {done.rss_mb:.0f} MB: the parent's peak leaked into it"
    assert not list(tmp_path.glob("*.rss"))
