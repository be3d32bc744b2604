"""RESULTS.md: the head (date, machine, workload, versions), the summary table, every run,
notes and failures. The summary table is also what the entry point prints on stdout."""

from local_kafka import KAFKA_VERSION

from bench.report.summary import is_ceiling, is_kcat, ratio_cell, reference

SUMMARY_HEAD = ["benchmark", "tool", "msg/s (median)", "min", "max", "MB/s", "wall s", "peak RSS MB", "CPU s",
                "× kcat", "× ceiling", "rounds ok"]


def summary_cells(row, rows, message_bytes):
    if not row.ok:
        return ["FAILED"] + ["–"] * (len(SUMMARY_HEAD) - 3)
    return [f"{row.rate:,.0f}", f"{row.rate_min:,.0f}", f"{row.rate_max:,.0f}",
            f"{row.rate * message_bytes / 1e6:.1f}", f"{row.median('wall'):.2f}", f"{row.rss_peak:.0f}",
            f"{row.median('cpu'):.2f}", ratio_cell(row, rows, is_kcat), ratio_cell(row, rows, is_ceiling)]


def summary_table(rows, message_bytes):
    head = SUMMARY_HEAD
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|"]
    for row in rows:
        ok = f"{sum(r.ok for r in row.runs)}/{len(row.runs)}"
        cells = summary_cells(row, rows, message_bytes) + [ok]
        lines.append(f"| {row.benchmark} | {row.tool} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rounds_table(runs):
    lines = ["| round | benchmark | tool | msg/s | wall s | peak RSS MB | CPU s | check |",
             "|---:|---|---|---:|---:|---:|---:|---|"]
    for r in sorted(runs, key=lambda r: (r.round, r.benchmark != "produce")):
        check = "ok" if r.ok else f"FAILED: {r.reason}".replace("|", "\\|")
        rate = f"{r.rate:,.0f}" if r.ok else "–"
        lines.append(f"| {r.round} | {r.benchmark} | {r.tool} | {rate} | {r.wall:.2f} | {r.rss_mb:.0f} | "
                     f"{r.cpu:.2f} | {check} |")
    return "\n".join(lines)


def head(ctx):
    m, ver = ctx.machine, ctx.versions
    ram = f"{m['ram_gib']:.1f} GiB RAM" if m["ram_gib"] else "RAM unknown"
    return [
        "# Throughput benchmark",
        "",
        f"- date: {ctx.date}",
        f"- machine: {m['cores']} cores ({m['cpu']}), {ram}; load average (1, 5, 15 min) at start "
        f"{m['load'] or '?'}, at end {ctx.load_end or '?'} (the machine may be shared: other load "
        "slows every tool)",
        f"- Kafka {KAFKA_VERSION}, one local node (local_kafka), PLAINTEXT on loopback",
        f"- workload: {ctx.workload_text}, {ctx.rounds} round(s), a fresh topic per produce run",
        f"- versions: Python {ver['python']}, confluent-kafka {ver['confluent_kafka']}, kcat {ver['kcat']}, "
        f"{ver['java']}",
        f"- command: `{ctx.command}`",
        "",
    ]


def legend(ctx):
    return (f"msg/s is the number of messages over the tool's wall time, from spawning its process to its exit "
            "(start-up included); for the two ceiling tools it is the rate they report themselves, timed after "
            f"the JVM is up. Median over the rounds, with min and max. MB/s counts the {ctx.message_bytes:,} bytes "
            "of key + value per message (10^6 bytes). Peak RSS is the largest over the rounds; CPU s is user + "
            "system time. × kcat and × ceiling divide the median by that of kcat and of the ceiling tool in the "
            "same benchmark. A tool with any failed round shows FAILED.")


def ceiling_note(rows):
    beaten = [r for r in rows if r.ok and not r.ceiling and reference(r, rows, is_ceiling)
              and r.rate > reference(r, rows, is_ceiling).rate]
    if not beaten:
        return []
    return ["## Note on the ceiling", "",
            "Faster than the ceiling tool in the same benchmark: "
            + ", ".join(f"{r.benchmark} {r.tool}" for r in beaten) + ". The ceiling tools run with the Java "
            "client's defaults (for instance a 16 KiB producer batch, where librdkafka batches up to 1 MB) "
            "in a JVM that starts cold, so on this machine they are a reference point, not an upper bound.",
            ""]


def results_markdown(rows, runs, ctx):
    failed = [r for r in runs if not r.ok]
    text = head(ctx) + ["## Results", "", summary_table(rows, ctx.message_bytes), "", legend(ctx), "",
                        "## Every run", "", rounds_table(runs), ""]
    text += ceiling_note(rows)
    if failed:
        text += ["## Failures", ""] + [f"- round {r.round}, {r.benchmark}, {r.tool}: {r.reason}" for r in failed] + [""]
    return "\n".join(text)
