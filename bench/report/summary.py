"""Per-tool summary rows over the rounds, one per message size: median, min and max rate, peak RSS,
and the ratios of each tool's median to kcat's and to the best peer's in the same benchmark and size.

"Best peer" is the fastest passing median among the other clients (kcat, Kafka's console and perf
tools) in the same benchmark and size of this run, by the same clock for all (messages over wall
time). "Fastest" is the fastest of any client, ours included: the most this broker delivered to a
client in this run. Neither is an upper bound of the broker: Kafka's own Java perf tools, once
called the ceiling, are slower than kcat at producing on this project's machine.
"""

import statistics
from dataclasses import dataclass, field

OURS = ("producer.py", "consumer.py")


def is_ours(tool):
    return tool.startswith(OURS)


@dataclass
class Row:
    """One tool over all rounds, at one message size."""
    benchmark: str
    tool: str
    self_timed: bool          # a Java perf tool, which also reports its own rate
    runs: list = field(default_factory=list)
    value_bytes: int = 0

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


def summarize(runs, tools, sizes=(0,)):
    """One Row per size and tool, sizes in the given order and tools in the order of `tools` (anything with
    .benchmark, .name, .self_timed); a size without any run is left out."""
    rows = []
    for size in sizes:
        for tool in tools:
            mine = [r for r in runs if r.benchmark == tool.benchmark and r.tool == tool.name
                    and r.value_bytes == size]
            if mine:
                rows.append(Row(tool.benchmark, tool.name, tool.self_timed, mine, size))
    return rows


def _same_group(row, rows):
    return [r for r in rows if r.benchmark == row.benchmark and r.value_bytes == row.value_bytes]


def kcat_row(row, rows):
    """kcat's row in the same benchmark and size, if it passed."""
    ref = next((r for r in _same_group(row, rows) if r.tool == "kcat"), None)
    return ref if ref is not None and ref.ok and ref.rate else None


def best_row(row, rows, peers_only=False):
    """The passing row with the fastest median in the same benchmark and size (the first of a tie), if any;
    with peers_only, among the other clients only (not producer.py or consumer.py)."""
    passed = [r for r in _same_group(row, rows) if r.ok and r.rate and not (peers_only and is_ours(r.tool))]
    return max(passed, key=lambda r: r.rate) if passed else None


def ratio(row, ref):
    return f"{row.rate / ref.rate:.2f}" if row.ok and ref else "–"


def json_to_text(rows, size):
    """(text row, json row, json ÷ text) of consumer.py at one size, or None when either failed."""
    text = next((r for r in rows if r.value_bytes == size and r.tool == "consumer.py -f text"), None)
    json = next((r for r in rows if r.value_bytes == size and r.tool == "consumer.py -f json"), None)
    if not (text and json and text.ok and json.ok):
        return None
    return text, json, json.rate / text.rate
