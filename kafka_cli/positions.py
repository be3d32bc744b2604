"""Where the consumer starts and stops reading when told explicitly: -o/--offset and --until values parsed
(beginning, end, stored, N, -N, @epoch-ms, ISO 8601, 15m/2h/30s/1d back from now), and turned into offsets
per partition with the broker's watermarks and offsets_for_times. Errors name the partition and its range."""

import re
import time
from dataclasses import dataclass
from datetime import datetime

from .errors import CliError, ConfigError

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
WAIT = 30  # seconds for a metadata, watermark or offsets_for_times answer


@dataclass(frozen=True)
class Position:
    """One parsed -o/--until value. kind: beginning, end, stored, offset (value N), last (value N), time (value ms)."""

    kind: str
    value: int = 0
    text: str = ""  # as the user wrote it, for messages


def parse_time(text, now_ms=None):
    """@<epoch ms>, ISO 8601 (local time without a zone), or a duration back from now; None if none of these."""
    if text.startswith("@") and text[1:].lstrip("-").isdigit():
        return int(text[1:])
    duration = _DURATION.fullmatch(text)
    if duration:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        return now_ms - round(float(duration.group(1)) * _UNIT_MS[duration.group(2)])
    if text[:1].isdigit() and ("-" in text or "T" in text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        return round(moment.astimezone().timestamp() * 1000)  # a naive time is taken as local time
    return None


def parse_position(text, option="-o", now_ms=None):
    """A -o value (or an --until one, which takes only offsets and times)."""
    word = text.strip().lower()
    if option == "-o" and word in ("beginning", "end", "stored"):
        return Position(word, 0, text)
    if re.fullmatch(r"\d+", word):
        return Position("offset", int(word), text)
    if option == "-o" and re.fullmatch(r"-\d+", word):
        return Position("last", int(word[1:]), text)
    ms = parse_time(text.strip(), now_ms)
    if ms is not None:
        return Position("time", ms, text)
    raise ConfigError(f"{option} {text!r}: expected " + (
        "beginning, end, stored, an offset N, -N (the last N), " if option == "-o" else "an offset N, ")
        + "a time (@EPOCH_MS, 2026-11-24T14:00:00Z) or a duration back from now (15m, 2h, 30s, 1d)")


def partitions_to_read(consumer, topics, wanted):
    """[(topic, partition)] for the -p numbers (all partitions without -p); errors name what exists."""
    from confluent_kafka import KafkaException

    chosen = []
    for topic in topics:
        try:
            metadata = consumer.list_topics(topic, timeout=WAIT).topics[topic]
        except KafkaException as e:
            raise CliError(f"cannot read the partitions of topic '{topic}': {e.args[0].str()}")
        if metadata.error is not None:
            raise CliError(f"topic '{topic}' does not exist (check -t): {metadata.error.str()}")
        existing = sorted(metadata.partitions)
        for p in wanted or existing:
            if p not in metadata.partitions:
                raise CliError(f"topic '{topic}' has no partition {p} (it has {describe_numbers(existing)})")
            chosen.append((topic, p))
    return chosen


def describe_numbers(numbers):
    if len(numbers) == 1:
        return f"partition {numbers[0]} only"
    return f"partitions {numbers[0]} to {numbers[-1]}"


def watermarks(consumer, topic, partition):
    from confluent_kafka import TopicPartition

    return consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=WAIT)


def time_offsets(consumer, partitions, ms):
    """{(topic, partition): first offset with a timestamp >= ms, or None when there is none yet}."""
    from confluent_kafka import TopicPartition

    found = consumer.offsets_for_times([TopicPartition(t, p, ms) for t, p in partitions], timeout=WAIT)
    return {(tp.topic, tp.partition): (tp.offset if tp.offset >= 0 else None) for tp in found}


def start_offsets(consumer, partitions, position):
    """TopicPartitions to assign, each at the offset `position` means for it."""
    from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, OFFSET_STORED, TopicPartition

    special = {"beginning": OFFSET_BEGINNING, "end": OFFSET_END, "stored": OFFSET_STORED}
    if position.kind in special:
        return [TopicPartition(t, p, special[position.kind]) for t, p in partitions]
    by_time = time_offsets(consumer, partitions, position.value) if position.kind == "time" else {}
    assigned = []
    for t, p in partitions:
        low, high = watermarks(consumer, t, p)
        if position.kind == "offset":
            if not low <= position.value <= high:
                raise CliError(f"-o {position.text}: {t} [{p}] {describe_range(low, high)}")
            offset = position.value
        elif position.kind == "last":
            offset = max(low, high - position.value)
        else:  # a time: where the first message at or after it is, else the end (nothing that late yet)
            found = by_time[t, p]
            offset = high if found is None else found
        assigned.append(TopicPartition(t, p, offset))
    return assigned


def describe_range(low, high):
    if low == high:
        return f"is empty (its next offset is {high})"
    return f"holds offsets {low} to {high - 1} (and {high} is the next to be written)"


def end_offsets(consumer, partitions, position):
    """{(topic, partition): the offset to stop before} for --until; a partition whose end is not known yet
    (a time later than every message so far) is left out and stopped by its messages' timestamps instead."""
    if position.kind == "offset":
        return {tp: position.value for tp in partitions}
    return {tp: offset for tp, offset in time_offsets(consumer, partitions, position.value).items()
            if offset is not None}


class Until:
    """--until: which messages of a batch to print, and which partitions are done."""

    def __init__(self, ends, until_ms):
        self.ends = ends  # (topic, partition) -> offset to stop before
        self.until_ms = until_ms  # for partitions without a known end offset: stop at a timestamp >= this
        self.done = set()

    def finish_early(self, assigned):
        """Partitions that start at or past their end: done before reading anything."""
        for tp in assigned:
            end = self.ends.get((tp.topic, tp.partition))
            if end is not None and 0 <= end <= tp.offset:
                self.done.add((tp.topic, tp.partition))

    def take(self, batch):
        kept = []
        for msg in batch:
            if msg.error() is not None:
                kept.append(msg)
                continue
            where = (msg.topic(), msg.partition())
            if where in self.done:
                continue
            end = self.ends.get(where)
            if end is not None:
                past = msg.offset() >= end
            else:
                ts_type, ts = msg.timestamp()
                past = self.until_ms is not None and ts_type and ts >= self.until_ms
            if past:
                self.done.add(where)
                continue
            kept.append(msg)
            if end is not None and msg.offset() + 1 >= end:
                self.done.add(where)
        return kept
