"""The latency tables: one message from a cold start per probe (min / median / max ms over the samples
that passed), and the start-up budget of producer.py and consumer.py drawn from the same samples."""

import statistics

from bench.report.context import size_label

TIMED_UNTIL = {"exit": "start → exit after delivery", "first line": "start → first message printed"}


def latency_cells(samples):
    passed = [s for s in samples if s.ok]
    ok = f"{len(passed)}/{len(samples)}"
    if not samples or len(passed) != len(samples):
        return ["FAILED", "–", "–", "–", ok]
    ms = [s.seconds * 1000 for s in passed]
    return [f"{min(ms):,.0f}", f"{statistics.median(ms):,.0f}", f"{max(ms):,.0f}",
            f"{max(s.rss_mb for s in passed):.0f}", ok]


def latency_table(samples, probes, sizes):
    """One row per size and probe name in `probes`, in that order (sizes without samples left out)."""
    lines = ["| value | probe | timed | min ms | median ms | max ms | peak RSS MB | runs ok |",
             "|---:|---|---|---:|---:|---:|---:|---:|"]
    for size in sizes:
        for name in probes:
            mine = [s for s in samples if s.probe == name and s.value_bytes == size]
            if not mine:
                continue
            timed = "start → exit" if mine[0].kind == "reference" else TIMED_UNTIL.get(mine[0].timed_until, "?")
            lines.append(f"| {size_label(size)} | {name} | {timed} | " + " | ".join(latency_cells(mine)) + " |")
    return "\n".join(lines)


def median_ms(samples, probe, size):
    """The median ms of a probe at a size, or None if any of its samples failed (or there are none)."""
    mine = [s for s in samples if s.probe == probe and s.value_bytes == size]
    if not mine or not all(s.ok for s in mine):
        return None
    return statistics.median(s.seconds for s in mine) * 1000


def startup_table(samples, sizes, round_trips, reference, factor):
    """Each script's median against its budget: factor × the import reference + kcat's time for the same job."""
    lines = ["| value | ours | ours ms | bare import ms | round trips: kcat | kcat ms | budget ms | ours ÷ budget |",
             "|---:|---|---:|---:|---|---:|---:|---:|"]
    for size in sizes:
        base = median_ms(samples, reference, size)
        for ours, kcat in round_trips.items():
            mine, trips = median_ms(samples, ours, size), median_ms(samples, kcat, size)
            if None in (base, mine, trips):
                lines.append(f"| {size_label(size)} | {ours} | – | – | {kcat} | – | – | FAILED |")
                continue
            budget = factor * base + trips
            lines.append(f"| {size_label(size)} | {ours} | {mine:,.0f} | {base:,.0f} | {kcat} | {trips:,.0f} | "
                         f"{budget:,.0f} | {mine / budget:.2f} |")
    return "\n".join(lines)


def latency_section(samples, probes, sizes, startup):
    """The RESULTS.md sections for one message, or nothing when no latency samples were taken.
    `startup` is (round_trips, reference, factor) from bench/workload/probes.py."""
    if not samples:
        return []
    failed = [f"- sample {s.sample}, {size_label(s.value_bytes)}, {s.probe}: {s.reason}" for s in samples if not s.ok]
    round_trips, reference, factor = startup
    text = ["## Latency of one message", "",
            latency_table(samples, probes, sizes), "",
            "Each probe is a fresh process: its time includes start-up (interpreter or JVM, connecting, the "
            "metadata request, for a consumer in a group joining it, then fetching). A produce probe ends when "
            "the tool exits, which it does only after the broker acknowledged the line (the teardown is "
            "included); a consume probe ends when the first message appears on its stdout, read from a "
            "one-partition topic holding exactly that message. Every produce probe must leave exactly one "
            "record in its fresh topic, every consume probe must print exactly the one line its topic holds.", "",
            "## Start-up", "",
            startup_table(samples, sizes, round_trips, reference, factor), "",
            f"The budget of a script is {factor:g} × the bare import (the `{reference}` probe above: the "
            "start-up no Kafka work can remove) plus the broker's own round trips for the same job, "
            "which is the time kcat takes for it (kcat itself starts in a few milliseconds): `kcat -P` for one "
            "line, `kcat -G` (a group member, as `consumer.py` is) for the first message. Medians of the samples "
            "above; ours ÷ budget at or below 1.00 is within it.", ""]
    if failed:
        text += ["Failed samples:", ""] + failed + [""]
    return text
