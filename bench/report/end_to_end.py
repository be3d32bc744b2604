"""The end-to-end table: per size and pair, the 50th and 99th percentile and the largest latency of the
timed lines, from a line written to the producer's stdin to its line on the consumer's stdout."""

import math

from bench.report.context import size_label


def percentile(values, share):
    """Nearest rank: the smallest value at or above `share` of the sorted values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def e2e_table(results, sizes):
    lines = ["| value | pair | p50 ms | p99 ms | max ms | lines |", "|---:|---|---:|---:|---:|---|"]
    for size in sizes:
        for r in (r for r in results if r.value_bytes == size):
            if r.ok:
                ms = r.latencies_ms
                lines.append(f"| {size_label(size)} | {r.pair} | {percentile(ms, 0.5):,.1f} | "
                             f"{percentile(ms, 0.99):,.1f} | {max(ms):,.1f} | {len(ms):,} ok |")
            else:
                lines.append(f"| {size_label(size)} | {r.pair} | FAILED | – | – | {r.reason} |".replace("\n", " "))
    return "\n".join(lines)


def e2e_section(results, sizes, messages, interval):
    if not results:
        return []
    return ["## End to end", "", e2e_table(results, sizes), "",
            f"Both processes of a pair run throughout, on a fresh one-partition topic. After warm-up lines "
            f"(sent until one comes out), {messages:,} timed lines go into the producer's stdin, one every "
            f"{interval * 1000:g} ms; each carries the moment it was written (microseconds, at the start of its "
            "value), and its latency is read off it when its line comes out of the consumer's stdout. After the "
            "last line the producer's stdin is closed, as when the program feeding it ends. A pair passes only "
            "if every timed line came out exactly once and nothing else did. Each tool runs with its defaults "
            "(producer.py: linger.ms=20; kcat -P reads its stdin in blocks, so lines wait for a block to fill "
            "or for the end of input; ConsoleProducer: linger.ms=1000, its --timeout), except kcat -C -u, "
            "whose output would otherwise sit in its stdio buffer.", ""]
