"""Rows for the README's fault table, written by tests/integration/test_faults.py as it runs.

Set FAULTS_REPORT to a file name and every fault scenario appends one JSON line:

    FAULTS_REPORT=/tmp/faults.jsonl .venv/bin/python -m pytest tests/integration/test_faults.py

Then turn the rows into the Markdown table:

    .venv/bin/python -m tests.integration.faults_report /tmp/faults.jsonl
"""

import json
import os
import sys
import time

COLUMNS = [
    ("scenario", "Scenario"),
    ("injected", "How injected"),
    ("lines_in", "Lines in"),
    ("lines_out", "Lines out"),
    ("duplicates", "Duplicates"),
    ("exit_code", "Exit code"),
    ("recovery_s", "Time to recover / fail (s)"),
    ("outcome", "Outcome"),
]


def record(scenario, **fields):
    """Append one row to $FAULTS_REPORT (if set). Unknown fields are kept in the JSON, not in the table."""
    path = os.environ.get("FAULTS_REPORT")
    if not path:
        return
    row = {"scenario": scenario, **fields, "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, sort_keys=False, default=str) + "\n")


def _cell(value):
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def markdown(rows):
    lines = ["| " + " | ".join(title for _, title in COLUMNS) + " |",
             "|" + "|".join("---" for _ in COLUMNS) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(key)) for key, _ in COLUMNS) + " |")
    return "\n".join(lines)


def main(argv):
    if len(argv) != 2:
        print(f"usage: {argv[0]} FAULTS_REPORT.jsonl", file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
