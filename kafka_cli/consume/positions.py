"""Where the consumer starts and stops reading when told explicitly: -o/--offset and --until values parsed
(beginning, end, stored, N, -N, @epoch-ms, ISO 8601, 15m/2h/30s/1d back from now), and turned into offsets
per partition with the broker's watermarks and offsets_for_times. Errors name the partition and its range."""

import math
import re
import time
from dataclasses import dataclass
from datetime import datetime

from kafka_cli.core.boundary import INT64_MAX, int_problem
from kafka_cli.core.errors import CliError, ConfigError
from kafka_cli.core.words import no_broker_answered, one_line

# ASCII digits only: \d would also take other scripts' digits and "²", which int() refuses or reads differently
_DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)")
_EPOCH_MS = re.compile(r"@(-?[0-9]+)")
# More digits than this cannot be an int64 (and int() refuses strings of over 4,300 digits outright)
_MAX_DIGITS = 20
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
WAIT = 30  # seconds for a metadata, watermark or offsets_for_times answer, when --timeout does not say


@dataclass(frozen=True)
class Position:
    """One parsed -o/--until value. kind: beginning, end, stored, offset (value N), last (value N), time (value ms)."""

    kind: str
    value: int = 0
    text: str = ""  # as the user wrote it, for messages


def parse_time(text, now_ms=None):
    """@<epoch ms>, ISO 8601 (local time without a zone), or a duration back from now, in ms since the epoch;
    None if none of these. A time is not checked here: see check_time."""
    epoch = _EPOCH_MS.fullmatch(text)
    if epoch:
        return _int_or_infinity(epoch.group(1))
    duration = _DURATION.fullmatch(text)
    if duration:
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        back = float(duration.group(1)) * _UNIT_MS[duration.group(2)]
        return now_ms - round(back) if math.isfinite(back) else -math.inf  # 1e400 days: before any epoch
    if text[:1].isdigit() and ("-" in text or "T" in text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
        try:
            return round(moment.astimezone().timestamp() * 1000)  # a naive time is taken as local time
        except (ValueError, OverflowError):  # a time within a day of year 1 or year 9999 has no local time
            return -math.inf if moment.year < 1970 else math.inf
    return None


def _int_or_infinity(digits):
    """An int for a string of ASCII digits (maybe with a leading -); math.inf (with the sign) for one with too
    many digits to be an int64: int() would refuse over 4,300 of them with an error of its own."""
    negative, significant = digits.startswith("-"), digits.lstrip("-").lstrip("0") or "0"
    if len(significant) > _MAX_DIGITS:
        return -math.inf if negative else math.inf
    return -int(significant) if negative else int(significant)


def parse_position(text, option="-o", now_ms=None):
    """A -o value (or an --until one, which takes only offsets and times). Offsets and times must fit the
    int64 confluent-kafka hands to librdkafka, and a time must not be before the epoch: Kafka reads a
    negative timestamp in a ListOffsets request as a command (-1 latest, -2 earliest), not as a time."""
    word = text.strip().lower()
    if option == "-o" and word in ("beginning", "end", "stored"):
        return Position(word, 0, text)
    if re.fullmatch(r"[0-9]+", word):
        return Position("offset", _in_range(_int_or_infinity(word), 0, option, text, "offset"), text)
    if option == "-o" and re.fullmatch(r"-[0-9]+", word):
        return Position("last", _in_range(_int_or_infinity(word[1:]), 0, option, text, "count"), text)
    ms = parse_time(text.strip(), now_ms)
    if ms is not None:
        if ms < 0:
            raise ConfigError(f"{option} {_quoted(text)}: that time is before 1970-01-01T00:00:00Z, where Kafka's "
                              "timestamps begin")
        return Position("time", _in_range(ms, 0, option, text, "time in ms since the epoch"), text)
    raise ConfigError(f"{option} {_quoted(text)}: expected " + (
        "beginning, end, stored, an offset N, -N (the last N), " if option == "-o" else "an offset N, ")
        + "a time (@EPOCH_MS, 2026-11-24T14:00:00Z) or a duration back from now (15m, 2h, 30s, 1d)")


def _in_range(value, low, option, text, what):
    """`value` when it fits an int64 from `low` up, else the option's error."""
    if math.isinf(value):
        raise ConfigError(f"{option} {_quoted(text)}: the {what} is out of range ({low} to {INT64_MAX:,})")
    problem = int_problem(value, low, INT64_MAX)
    if problem:
        raise ConfigError(f"{option} {_quoted(text)}: the {what} {problem}")
    return value


def _quoted(text):
    """An option value quoted for an error message: on one line and cut (one_line), then repr(), which escapes
    every character that is not printable (and each byte that was not UTF-8)."""
    return repr(one_line(text, 40))


def partitions_to_read(consumer, topics, wanted, wait=WAIT, config=None):
    """[(topic, partition)] for the -p numbers (all partitions without -p); errors name what exists. `wait`: the
    seconds each answer may take (--timeout bounds these too: a broker that never answers ends the run then).
    `config`: the ClientConfig, whose bootstrap.servers and file a timeout names."""
    from confluent_kafka import KafkaError, KafkaException

    chosen = []
    for topic in topics:
        try:
            metadata = consumer.list_topics(topic, timeout=wait).topics[topic]
        except KafkaException as e:
            if e.args[0].code() in (KafkaError._TIMED_OUT, KafkaError._TRANSPORT):
                raise CliError(no_broker_answered(f"within {wait:g} s for the partitions of topic '{topic}'",
                                                  config)) from None
            raise CliError(f"cannot read the partitions of topic '{topic}': {e.args[0].str()}") from None
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


def watermarks(consumer, topic, partition, wait=WAIT):
    from confluent_kafka import TopicPartition

    return consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=wait)


def time_offsets(consumer, partitions, ms, wait=WAIT):
    """{(topic, partition): first offset with a timestamp >= ms, or None when there is none yet}."""
    from confluent_kafka import TopicPartition

    found = consumer.offsets_for_times([TopicPartition(t, p, ms) for t, p in partitions], timeout=wait)
    return {(tp.topic, tp.partition): (tp.offset if tp.offset >= 0 else None) for tp in found}


def start_offsets(consumer, partitions, position, wait=WAIT):
    """TopicPartitions to assign, each at the offset `position` means for it."""
    from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, OFFSET_STORED, TopicPartition

    special = {"beginning": OFFSET_BEGINNING, "end": OFFSET_END, "stored": OFFSET_STORED}
    if position.kind in special:
        return [TopicPartition(t, p, special[position.kind]) for t, p in partitions]
    by_time = time_offsets(consumer, partitions, position.value, wait) if position.kind == "time" else {}
    assigned = []
    for t, p in partitions:
        low, high = watermarks(consumer, t, p, wait)
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


def end_offsets(consumer, partitions, position, wait=WAIT):
    """{(topic, partition): the offset to stop before} for --until; a partition whose end is not known yet
    (a time later than every message so far) is left out and stopped by its messages' timestamps instead."""
    if position.kind == "offset":
        return {tp: position.value for tp in partitions}
    return {tp: offset for tp, offset in time_offsets(consumer, partitions, position.value, wait).items()
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
