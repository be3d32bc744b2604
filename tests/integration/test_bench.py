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
    ("produce", "ProducerPerformance (ceiling)"),
    ("consume", "consumer.py -f text"),
    ("consume", "consumer.py -f json"),
    ("consume", "kcat"),
    ("consume", "ConsoleConsumer"),
    ("consume", "ConsumerPerformance (ceiling)"),
]

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


def summary_rows(markdown):
    """{(benchmark, tool): msg/s cell} from the first table under '## Results'."""
    section = markdown.split("## Results", 1)[1]
    rows = {}
    for line in section.splitlines():
        if line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) > 2 and cells[0] in ("produce", "consume"):
            rows[(cells[0], cells[1])] = cells[2]
    return rows


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
    rows = summary_rows(markdown)
    for key in EXPECTED_ROWS:
        assert key in rows, f"no row for {key} in:\n{markdown}"
        assert re.fullmatch(r"[\d,]+(\.\d+)?", rows[key]), f"{key}: rate is {rows[key]!r}, not a number"
        assert float(rows[key].replace(",", "")) > 0
    assert "| producer.py |" in proc.stdout  # the table is printed too
    png = out / "throughput.png"
    assert png.exists()
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    assert not processes_mentioning(str(scratch)), "the benchmark left its broker or a tool running"
    assert not list(scratch.iterdir()), f"temporary files left behind: {list(scratch.iterdir())}"
