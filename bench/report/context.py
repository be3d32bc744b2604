"""What the report says about the run itself: the workloads, the date, the command, the machine."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Context:
    workloads: tuple         # (value bytes, messages of a bulk run) per size, in the order measured
    key_bytes: int           # of every message's key (MB/s counts key + value)
    partitions: int
    rounds: int
    date: str
    command: str
    machine: dict            # environment.machine() at the start
    load_end: str            # the load average at the end
    versions: dict           # environment.versions()
    rss_floored: bool = False  # peak RSS read without GNU time: never below the benchmark's own
    e2e: tuple = (0, 0.0)    # (timed lines per pair, seconds between them)

    @property
    def sizes(self):
        return tuple(size for size, _ in self.workloads)

    def messages(self, size):
        return dict(self.workloads)[size]


def size_label(value_bytes):
    """10 B, 100 B, 10 KiB: how a value size is named in tables and charts."""
    if value_bytes >= 1024 and value_bytes % 1024 == 0:
        return f"{value_bytes // 1024} KiB"
    return f"{value_bytes:,} B"
