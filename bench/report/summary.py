"""Per-tool summary rows over the rounds: median, min and max rate, peak RSS, and the ratios
of each tool's median to kcat's and to the best of any client in the same run.

"Best" is the fastest passing median of any tool in the same benchmark of this run, by the
same clock for all (messages over wall time). It is a reference from this run, not an upper
bound of the broker: Kafka's own Java perf tools, once called the ceiling, are slower than
kcat at producing on this project's machine.
"""

import statistics
from dataclasses import dataclass, field


@dataclass
class Row:
    """One tool over all rounds."""
    benchmark: str
    tool: str
    self_timed: bool          # a Java perf tool, which also reports its own rate
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

    def reported(self):
        """(median, min, max) of a perf tool's own rates, or None."""
        rates = [r.reported_rate for r in self.runs if r.reported_rate is not None]
        if not self.ok or not self.self_timed or len(rates) != len(self.runs):
            return None
        return statistics.median(rates), min(rates), max(rates)


def summarize(runs, tools):
    """One Row per tool, in the order of `tools` (anything with .benchmark, .name, .self_timed)."""
    rows = []
    for tool in tools:
        rows.append(Row(tool.benchmark, tool.name, tool.self_timed,
                        [r for r in runs if r.benchmark == tool.benchmark and r.tool == tool.name]))
    return rows


def kcat_row(row, rows):
    """kcat's row in the same benchmark, if it passed."""
    ref = next((r for r in rows if r.benchmark == row.benchmark and r.tool == "kcat"), None)
    return ref if ref is not None and ref.ok and ref.rate else None


def best_row(row, rows):
    """The passing row with the fastest median in the same benchmark (the first of a tie), if any."""
    passed = [r for r in rows if r.benchmark == row.benchmark and r.ok and r.rate]
    return max(passed, key=lambda r: r.rate) if passed else None


def ratio(row, ref):
    return f"{row.rate / ref.rate:.2f}" if row.ok and ref else "–"
