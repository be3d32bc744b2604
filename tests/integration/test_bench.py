"""The benchmark end to end (`bench/run.py --smoke` with its own local Kafka), and the parts of
it that need no broker: the input sizes, the "best of any client" reference, the rooms' imports.

The smoke test needs matplotlib for the chart (bench/requirements.txt) and kcat, like the benchmark.
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

from bench.report.summary import Row, best_row, kcat_row  # noqa: E402
from bench.workload.inputs import Workload, write_input  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EXPECTED_ROWS = [
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

EXPECTED_PROBES = ["producer.py, one line", "kcat -P, one line", "consumer.py -n 1", "kcat -C -c 1",
                   "python -c 'import confluent_kafka'"]



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


def table_rows(markdown, heading):
    """{(benchmark, tool): {column: cell}} from the first table under `heading`."""
    section = markdown.split(heading, 1)[1]
    rows, head = {}, None
    for line in section.splitlines():
        if line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| benchmark |"):
            head = cells
        elif line.startswith("|") and head and cells[0] in ("produce", "consume"):
            rows[(cells[0], cells[1])] = dict(zip(head, cells))
    return rows


def latency_rows(markdown):
    """{probe: {column: cell}} from the table under '## Latency of one message'."""
    section = markdown.split("## Latency of one message", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = [dict(zip(head, (c.strip() for c in line.strip("|").split("|")))) for line in lines[2:]]
    return {row["probe"]: row for row in rows}


def number(cell):
    assert re.fullmatch(r"[\d,]+(\.\d+)?", cell), f"{cell!r} is not a number"
    return float(cell.replace(",", ""))


@pytest.mark.slow
def test_smoke_run_writes_a_table_with_a_rate_per_tool_and_a_chart(tmp_path):
    if importlib.util.find_spec("matplotlib") is None:
        pytest.fail("matplotlib is missing; the benchmark draws its chart with it: "
                    f"{sys.executable} -m pip install -r bench/requirements.txt")
    scratch = tmp_path / "tmp"  # the benchmark's temporary files, broker data included, go here
    scratch.mkdir()
    out = tmp_path / "results"

    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "TMPDIR": str(scratch)})

    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    markdown = (out / "RESULTS.md").read_text()
    rows = table_rows(markdown, "## Results")
    for key in EXPECTED_ROWS:
        assert key in rows, f"no row for {key} in:\n{markdown}"
        assert number(rows[key]["msg/s (median)"]) > 0
        assert rows[key]["rounds ok"] == "1/1"
    for benchmark in ("produce", "consume"):
        # the reference is the fastest tool of this very run: its row reads 1.00, no row more
        group = {tool: row for (b, tool), row in rows.items() if b == benchmark}
        fastest = max(group, key=lambda tool: number(group[tool]["msg/s (median)"]))
        assert group[fastest]["× best"] == "1.00", group[fastest]
        assert all(number(row["× best"]) <= 1.0 for row in group.values())
        assert group["kcat"]["× kcat"] == "1.00"
    own = table_rows(markdown, "## Kafka's Java perf tools by their own clock")
    assert set(own) == {key for key in EXPECTED_ROWS if "Java perf tool" in key[1]}
    assert all(number(row["own msg/s (median)"]) > 0 for row in own.values())
    latency = latency_rows(markdown)
    assert list(latency) == EXPECTED_PROBES
    for probe, row in latency.items():
        # --smoke takes 3 samples; each passed its exact check (one record, or exactly the one line)
        assert row["runs ok"] == "3/3", row
        assert 0 < number(row["min ms"]) <= number(row["median ms"]) <= number(row["max ms"]), row
    assert "| producer.py |" in proc.stdout  # the table is printed too
    assert "| consumer.py -n 1 |" in proc.stdout
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


def test_best_is_the_fastest_passing_row_of_the_same_benchmark():
    rows = [Row("produce", "kcat", False, [FakeRun(900)]),
            Row("produce", "producer.py", False, [FakeRun(500)]),
            Row("produce", "fast but failed", False, [FakeRun(5000, ok=False)]),
            Row("produce", "ProducerPerformance", True, [FakeRun(400)]),
            Row("consume", "consumer.py", False, [FakeRun(2000)])]
    assert all(best_row(row, rows).tool == "kcat" for row in rows[:4])
    assert best_row(rows[4], rows).tool == "consumer.py"
    assert kcat_row(rows[4], rows) is None  # no kcat in that benchmark: "–", not a ratio to nothing


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

    if RSS_FLOORED:
        pytest.skip("GNU time is not installed: the report says its RSS figures are floored")
    ballast = bytearray(150 * 2 ** 20)
    ballast[::4096] = b"\1" * len(ballast[::4096])  # touch every page: this process's peak is now >150 MB
    done = run_measured(["true"], None, tmp_path / "out", tmp_path / "err", timeout=30)
    assert done.returncode == 0
    assert done.rss_mb < 50, f"`true` reported {done.rss_mb:.0f} MB: the parent's peak leaked into it"
    assert not list(tmp_path.glob("*.rss"))
