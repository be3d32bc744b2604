"""The exact-count checks: a run counts only if it moved exactly the input, nothing lost or doubled.

produce   the fresh topic then holds exactly N records (the sum over its partitions of
          high minus low watermark);
consume   the output has exactly N lines and they are the input's lines, compared as
          multisets (order-independent); JSON output must be N JSON objects whose "key"
          and "value" give back the input's lines.

Each check returns '' when the run passed, else the reason it FAILED, in words for the table.
The multiset is compared through a sum of line hashes, so a file of any size is read once in
constant memory; hash() of bytes is stable within one process, which is all that is needed.
"""

import json
import time

from local_kafka.broker import SilentLogger

HASH_MASK = (1 << 64) - 1
SETTLE_TRIES = 10            # watermarks trail the acks a little: ask again for up to ~5 s
SETTLE_PAUSE = 0.5


def lines_digest(path):
    """(line count, order-independent digest of the multiset of lines, newline excluded)."""
    count = total = 0
    with open(path, "rb") as f:
        for line in f:
            total += hash(line[:-1] if line.endswith(b"\n") else line)
            count += 1
    return count, total & HASH_MASK


def exit_problem(done, stderr_path, timeout):
    """Why a finished process does not count (killed, or a non-zero exit), or ''."""
    if done.timed_out:
        return f"killed after {timeout:g} s"
    if done.returncode != 0:
        last = stderr_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(nothing on stderr)"]
        return f"exit code {done.returncode}: {last[0][:200]}"
    return ""


def reported_count_problem(count, expected):
    return "" if count == expected else f"it reports {count:,} records, expected {expected:,}"


def topic_count_problem(count, expected):
    return "" if count == expected else f"the topic holds {count:,} records, expected {expected:,}"


def text_problem(path, expected, input_digest):
    count, digest = lines_digest(path)
    if count != expected:
        return f"{count:,} output lines, expected {expected:,}"
    return "" if digest == input_digest else "the output lines differ from the input lines"


def json_problem(path, expected, input_digest):
    count = total = 0
    with open(path, "rb") as f:
        for line in f:
            try:
                doc = json.loads(line)
                total += hash(f"{doc['key']}:{doc['value']}".encode())
            except (ValueError, KeyError, TypeError):
                return f"line {count + 1} is not a JSON object with key and value: {line[:60]!r}"
            count += 1
    if count != expected:
        return f"{count:,} output lines, expected {expected:,}"
    return "" if total & HASH_MASK == input_digest else "the JSON keys/values differ from the input lines"


def count_records(bootstrap, topic):
    """Records in the topic: the sum of high minus low watermark over its partitions."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-count",
                         "enable.auto.commit": False, "logger": SilentLogger()})
    try:
        partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
        total = 0
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30, cached=False)
            total += high - low
        return total
    finally:
        consumer.close()


def settled_count(bootstrap, topic, expected):
    """count_records, asked again for a few seconds while it is short of `expected`."""
    for _ in range(SETTLE_TRIES):
        count = count_records(bootstrap, topic)
        if count == expected:
            break
        time.sleep(SETTLE_PAUSE)
    return count
