"""RESULTS.md: the head (date, machine, workloads, versions), the throughput table with its ratios,
JSON against text, the sections other report modules write (latency, start-up, end to end), every
run, failures. The throughput table is also what the entry point prints on stdout."""

from local_kafka import KAFKA_VERSION

from bench.report.context import size_label
from bench.report.summary import best_row, json_to_text, kcat_row, ratio

JSON_GOAL = 0.8   # consumer.py -f json against -f text, medians of the same run
SUMMARY_HEAD = ["value", "benchmark", "tool", "msg/s (median)", "min", "max", "MB/s", "wall s", "peak RSS MB",
                "CPU s", "× kcat", "× best peer", "rounds ok"]


def summary_cells(row, rows, message_bytes):
    if not row.ok:
        return ["FAILED"] + ["–"] * (len(SUMMARY_HEAD) - 5)
    return [f"{row.rate:,.0f}", f"{row.rate_min:,.0f}", f"{row.rate_max:,.0f}",
            f"{row.rate * message_bytes / 1e6:.1f}", f"{row.median('wall'):.2f}", f"{row.rss_peak:.0f}",
            f"{row.median('cpu'):.2f}", ratio(row, kcat_row(row, rows)), ratio(row, best_row(row, rows, True))]


def summary_table(rows, key_bytes):
    head = SUMMARY_HEAD
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---:", "---", "---"] + ["---:"] * (len(head) - 3)) + "|"]
    for row in rows:
        ok = f"{sum(r.ok for r in row.runs)}/{len(row.runs)}"
        cells = summary_cells(row, rows, key_bytes + row.value_bytes) + [ok]
        lines.append(f"| {size_label(row.value_bytes)} | {row.benchmark} | {row.tool} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def fastest_lines(rows, sizes):
    """Which client was fastest, per size and benchmark: the most this broker gave any client in this run."""
    out = []
    for size in sizes:
        for benchmark in ("produce", "consume"):
            first = next((r for r in rows if r.value_bytes == size and r.benchmark == benchmark), None)
            best = best_row(first, rows) if first else None
            if best:
                out.append(f"- {size_label(size)} {benchmark}: {best.tool}, {best.rate:,.0f} msg/s")
    return out


def json_table(rows, sizes):
    lines = ["| value | consumer.py -f text msg/s | -f json msg/s | json ÷ text | goal ≥ 0.80 |",
             "|---:|---:|---:|---:|---|"]
    for size in sizes:
        pair = json_to_text(rows, size)
        if pair:
            text, json, share = pair
            lines.append(f"| {size_label(size)} | {text.rate:,.0f} | {json.rate:,.0f} | {share:.2f} | "
                         f"{'met' if share >= JSON_GOAL else 'not met'} |")
        else:
            lines.append(f"| {size_label(size)} | – | – | – | FAILED |")
    return "\n".join(lines)


def json_section(rows, sizes):
    return ["## consumer.py: JSON against text", "",
            "The medians of the table above, side by side: `-f json` writes every field of every message "
            "(topic, partition, offset, timestamp, key, value, headers) as one JSON object per line.", "",
            json_table(rows, sizes), ""]


def rounds_table(runs):
    lines = ["| round | value | benchmark | tool | msg/s | wall s | peak RSS MB | CPU s | check |",
             "|---:|---:|---|---|---:|---:|---:|---:|---|"]
    for r in sorted(runs, key=lambda r: (r.value_bytes, r.round, r.benchmark != "produce")):
        check = "ok" if r.ok else f"FAILED: {r.reason}".replace("|", "\\|")
        rate = f"{r.rate:,.0f}" if r.ok else "–"
        lines.append(f"| {r.round} | {size_label(r.value_bytes)} | {r.benchmark} | {r.tool} | {rate} | {r.wall:.2f} | "
                     f"{r.rss_mb:.0f} | {r.cpu:.2f} | {check} |")
    return "\n".join(lines)


def head(ctx):
    m, ver = ctx.machine, ctx.versions
    ram = f"{m['ram_gib']:.1f} GiB RAM" if m["ram_gib"] else "RAM unknown"
    sizes = ", ".join(f"{messages:,} messages of {size_label(size)}" for size, messages in ctx.workloads)
    return [
        "# Benchmark: throughput and latency",
        "",
        f"- date: {ctx.date}",
        f"- machine: {m['cores']} cores ({m['cpu']}), {ram}; load average (1, 5, 15 min) at start "
        f"{m['load'] or '?'}, at end {ctx.load_end or '?'} (the machine may be shared: other load "
        "slows every tool)",
        f"- Kafka {KAFKA_VERSION}, one local node (local_kafka), PLAINTEXT on loopback",
        f"- bulk: {sizes} (values; every key is {ctx.key_bytes} bytes, 5,000 distinct keys), topics of "
        f"{ctx.partitions} partitions, {ctx.rounds} round(s), a fresh topic per produce run",
        f"- latency: one message from a cold start, and end to end over {ctx.e2e[0]:,} lines "
        f"sent one every {ctx.e2e[1] * 1000:g} ms, at each size",
        "- the Python tools run with their compiled bytecode kept and used, as Python does by default",
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
    return ("msg/s is the number of messages over the tool's wall time, from spawning its process to its exit "
            "(start-up included), for every tool alike, Kafka's Java perf tools included. Median over the "
            "rounds, with min and max. MB/s counts key + value (10^6 bytes). "
            f"{rss_text(ctx)}CPU s is user + system time. × kcat divides the median by kcat's in the same "
            "benchmark and size; × best peer divides it by the fastest median among the other clients (kcat, "
            "Kafka's console and perf tools) in the same benchmark and size of this run. A tool with any failed "
            "round shows FAILED.")


def perf_tools_section(rows):
    """The Java perf tools' own rates, timed inside the JVM once it is up: not comparable with msg/s
    above (no JVM start-up), so shown apart and never used as the reference."""
    lines = ["| value | benchmark | tool | own msg/s (median) | min | max | msg/s by wall time |",
             "|---:|---|---|---:|---:|---:|---:|"]
    for row in rows:
        own = row.reported()
        if own:
            lines.append(f"| {size_label(row.value_bytes)} | {row.benchmark} | {row.tool} | {own[0]:,.0f} | "
                         f"{own[1]:,.0f} | {own[2]:,.0f} | {row.rate:,.0f} |")
    if len(lines) == 2:
        return []
    return ["## Kafka's Java perf tools by their own clock", "",
            "ProducerPerformance and ConsumerPerformance report a rate they time themselves, after the JVM "
            "has started and connected. It leaves out start-up, so it is shown here and not in the table above.",
            "", "\n".join(lines), ""]


def results_markdown(rows, runs, ctx, extra=()):
    """The whole file; `extra` is a list of lines (the latency, start-up and end-to-end sections) put before
    every run."""
    failed = [r for r in runs if not r.ok]
    text = head(ctx) + ["## Throughput", "", summary_table(rows, ctx.key_bytes), "", legend(ctx), "",
                        "Fastest client of this run, per size and benchmark (the most this broker gave any client "
                        "here; not its limit):", ""] + fastest_lines(rows, ctx.sizes) + [""]
    text += json_section(rows, ctx.sizes) + perf_tools_section(rows) + list(extra)
    text += ["## Every run", "", rounds_table(runs), ""]
    if failed:
        text += ["## Failures", ""] + [f"- round {r.round}, {size_label(r.value_bytes)}, {r.benchmark}, {r.tool}: "
                                       f"{r.reason}" for r in failed] + [""]
    return "\n".join(text)
