"""The throughput benchmark end to end: `bench/run.py --smoke` with its own local Kafka.

It needs matplotlib for the chart (bench/requirements.txt) and kcat, like the benchmark.
"""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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

pytestmark = pytest.mark.slow


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
