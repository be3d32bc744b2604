"""What the report says about the run itself: the workload, the date, the command, the machine."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Context:
    messages: int
    message_bytes: int       # key + value of one message
    partitions: int
    rounds: int
    workload_text: str       # "N messages of B bytes (...), topics of P partitions"
    date: str
    command: str
    machine: dict            # environment.machine() at the start
    load_end: str            # the load average at the end
    versions: dict           # environment.versions()
    rss_floored: bool = False  # peak RSS read without GNU time: never below the benchmark's own
