"""RESULTS.md: the head (date, machine, workload, versions), the summary table, every run,
notes and failures. The summary table is also what the entry point prints on stdout."""

from local_kafka import KAFKA_VERSION

from bench.report.summary import best_row, kcat_row, ratio

SUMMARY_HEAD = ["benchmark", "tool", "msg/s (median)", "min", "max", "MB/s", "wall s", "peak RSS MB", "CPU s",
                "× kcat", "× best", "rounds ok"]


def summary_cells(row, rows, message_bytes):
    if not row.ok:
        return ["FAILED"] + ["–"] * (len(SUMMARY_HEAD) - 3)
    return [f"{row.rate:,.0f}", f"{row.rate_min:,.0f}", f"{row.rate_max:,.0f}",
            f"{row.rate * message_bytes / 1e6:.1f}", f"{row.median('wall'):.2f}", f"{row.rss_peak:.0f}",
            f"{row.median('cpu'):.2f}", ratio(row, kcat_row(row, rows)), ratio(row, best_row(row, rows))]


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


def rss_text(ctx):
    if ctx.rss_floored:
        return ("Peak RSS is the largest over the rounds; GNU time was not found, so it is ru_maxrss, which on "
                "Linux never reads below the benchmark process's own peak: small values are that floor. ")
    return "Peak RSS is the largest over the rounds, of the tool's own process as GNU time reports it. "


def legend(ctx):
    return (f"msg/s is the number of messages over the tool's wall time, from spawning its process to its exit "
            "(start-up included), for every tool alike, Kafka's Java perf tools included. Median over the "
            f"rounds, with min and max. MB/s counts the {ctx.message_bytes:,} bytes of key + value per message "
            f"(10^6 bytes). {rss_text(ctx)}CPU s is user + system time. × kcat divides "
            "the median by kcat's in the same benchmark; × best divides it by the fastest median of any tool in "
            "the same benchmark of this run (the row at 1.00). Best of any client in this run is a reference "
            "point, not the broker's upper bound. A tool with any failed round shows FAILED.")


def perf_tools_section(rows):
    """The Java perf tools' own rates, timed inside the JVM once it is up: not comparable with msg/s
    above (no JVM start-up), so shown apart and never used as the reference."""
    lines = ["| benchmark | tool | own msg/s (median) | min | max | msg/s by wall time |",
             "|---|---|---:|---:|---:|---:|"]
    for row in rows:
        own = row.reported()
        if own:
            lines.append(f"| {row.benchmark} | {row.tool} | {own[0]:,.0f} | {own[1]:,.0f} | {own[2]:,.0f} | "
                         f"{row.rate:,.0f} |")
    if len(lines) == 2:
        return []
    return ["## Kafka's Java perf tools by their own clock", "",
            "ProducerPerformance and ConsumerPerformance report a rate they time themselves, after the JVM "
            "has started and connected. It leaves out start-up, so it is shown here and not in the table above.",
            "", "\n".join(lines), ""]


def results_markdown(rows, runs, ctx, extra=()):
    """The whole file; `extra` is a list of lines (another section, such as latency) put before every run."""
    failed = [r for r in runs if not r.ok]
    text = head(ctx) + ["## Results", "", summary_table(rows, ctx.message_bytes), "", legend(ctx), ""]
    text += perf_tools_section(rows) + list(extra) + ["## Every run", "", rounds_table(runs), ""]
    if failed:
        text += ["## Failures", ""] + [f"- round {r.round}, {r.benchmark}, {r.tool}: {r.reason}" for r in failed] + [""]
    return "\n".join(text)
