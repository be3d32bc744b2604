"""The latency table: per probe, min / median / max milliseconds over the samples that passed."""

import statistics

TIMED_UNTIL = {"exit": "start → exit after delivery", "first line": "start → first message printed"}


def latency_cells(samples):
    passed = [s for s in samples if s.ok]
    ok = f"{len(passed)}/{len(samples)}"
    if not samples or len(passed) != len(samples):
        return ["FAILED", "–", "–", "–", ok]
    ms = [s.seconds * 1000 for s in passed]
    return [f"{min(ms):,.0f}", f"{statistics.median(ms):,.0f}", f"{max(ms):,.0f}",
            f"{max(s.rss_mb for s in passed):.0f}", ok]


def latency_table(samples, probes):
    """One row per probe name in `probes`, in that order."""
    lines = ["| probe | timed | min ms | median ms | max ms | peak RSS MB | runs ok |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for name in probes:
        mine = [s for s in samples if s.probe == name]
        timed = TIMED_UNTIL.get(mine[0].timed_until, mine[0].timed_until) if mine else "–"
        if mine and mine[0].kind == "reference":
            timed = "start → exit"
        lines.append(f"| {name} | {timed} | " + " | ".join(latency_cells(mine)) + " |")
    return "\n".join(lines)


def latency_section(samples, probes):
    """The RESULTS.md section, or nothing when no latency samples were taken."""
    if not samples:
        return []
    failed = [f"- sample {s.sample}, {s.probe}: {s.reason}" for s in samples if not s.ok]
    text = ["## Latency of one message", "",
            latency_table(samples, probes), "",
            "Each probe is a fresh process: its time includes start-up (interpreter, connecting, the "
            "metadata request, for a consumer joining its group and fetching). A produce probe ends when "
            "the tool exits, which it does only after the broker acknowledged the line (the teardown is "
            "included); a consume probe ends when the first message appears on its stdout. The bare "
            "`import confluent_kafka` is the part of a Python tool's start-up no Kafka work can remove. "
            "Every produce probe must leave exactly one record in its fresh topic, every consume probe "
            "must print exactly the one line its topic holds.", ""]
    if failed:
        text += ["Failed samples:", ""] + failed + [""]
    return text
