"""Per-tool summary rows over the rounds: median, min and max rate, peak RSS, and the ratios
of each tool's median to a reference row of the same benchmark."""

import statistics
from dataclasses import dataclass, field


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


def summarize(runs, tools):
    """One Row per tool, in the order of `tools` (anything with .benchmark, .name, .ceiling)."""
    rows = []
    for tool in tools:
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
