"""throughput.png: one panel per message size and benchmark (a row per size, produce and consume side by
side), one horizontal bar per tool, whiskers min–max.

matplotlib is imported only here and only when a chart is drawn, so --no-chart runs without it.
"""

from local_kafka import KAFKA_VERSION

from bench.report.context import size_label

OURS, OTHERS, JAVA_PERF = "#1f77b4", "#ff7f0e", "#9e9e9e"


def bar_color(row):
    if row.self_timed:
        return JAVA_PERF
    return OURS if row.tool.endswith(".py") or ".py " in row.tool else OTHERS


def draw_benchmark(ax, group, title):
    """One panel: the rows of one benchmark."""
    from matplotlib.ticker import FuncFormatter

    values = [r.rate if r.ok else 0 for r in group]
    low = [r.rate - r.rate_min if r.ok else 0 for r in group]
    high = [r.rate_max - r.rate if r.ok else 0 for r in group]
    ys = range(len(group))
    ax.barh(ys, values, xerr=[low, high], color=[bar_color(r) for r in group], capsize=3)
    ax.set_yticks(list(ys), [r.tool for r in group])
    ax.invert_yaxis()
    top = max([r.rate_max for r in group if r.ok] + [1])  # the whiskers and labels must fit
    ax.set_xlim(0, top * 1.3)
    for y, row in zip(ys, group):
        label = f" {row.rate:,.0f}" if row.ok else " FAILED"
        ax.text(row.rate_max if row.ok else 0, y, label, va="center", color="black" if row.ok else "red")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x / 1000:,.0f}k" if x else "0"))
    ax.set_xlabel("messages / s (median; whiskers: min–max)")
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)


def draw_chart(rows, path, ctx):
    import matplotlib

    matplotlib.use("Agg")  # no display: the chart only goes to a file
    import matplotlib.pyplot as plt

    sizes = [size for size in ctx.sizes if any(r.value_bytes == size for r in rows)]
    fig, axes = plt.subplots(len(sizes), 2, figsize=(13, 3.6 * len(sizes) + 0.8), squeeze=False)
    for line, size in zip(axes, sizes):
        for ax, benchmark in zip(line, ("produce", "consume")):
            group = [r for r in rows if r.benchmark == benchmark and r.value_bytes == size]
            draw_benchmark(ax, group, f"{benchmark}, {ctx.messages(size):,} × {size_label(size)} values")
    fig.suptitle(f"Kafka {KAFKA_VERSION} local node, {ctx.partitions} partitions, {ctx.rounds} round(s)   "
                 "(blue: ours, orange: other clients, grey: Kafka's Java perf tools)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
