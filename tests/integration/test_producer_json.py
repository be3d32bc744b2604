"""producer.py's null values and -f json against the real broker: tombstones a compacting topic takes as such,
and a topic copied with `consumer.py -f json -e | producer.py -f json`, compared field by field."""

import random
import subprocess
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import NewTopic

from local_kafka.broker import SilentLogger

from .faults_report import record
from .test_faults import command, partitions_of

QUIET = SilentLogger()


def new_topic(kafka, partitions, **config):
    name = f"t-json-{uuid.uuid4().hex[:8]}"
    admin = kafka.admin()
    admin.create_topics([NewTopic(name, partitions, 1, config=config)])[name].result(30)
    partitions_of(admin, name)
    return name


def messages_of(kafka, topic, timeout=120):
    """{partition: [(key, value, headers, timestamp), ...]} in offset order: every message, read by a plain
    confluent-kafka consumer from offset 0 to the high watermark of each partition."""
    consumer = Consumer({"bootstrap.servers": kafka.plaintext_bootstrap, "group.id": f"read-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False, "logger": QUIET})
    try:
        partitions = partitions_of(consumer, topic)
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)[1] for p in partitions}
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        found = {p: [] for p in partitions}
        deadline = time.monotonic() + timeout
        while any(len(found[p]) < ends[p] for p in partitions):
            assert time.monotonic() < deadline, f"read {[len(found[p]) for p in partitions]} of {ends}"
            for msg in consumer.consume(1000, 1.0):
                assert msg.error() is None, msg.error()
                found[msg.partition()].append((msg.key(), msg.value(), msg.headers() or None, msg.timestamp()[1]))
        return found
    finally:
        consumer.close()


def test_null_values_are_tombstones_on_a_compacted_topic(kafka):
    topic = new_topic(kafka, 1, **{"cleanup.policy": "compact"})
    lines = b"user1:alice\nuser1:NULL\nuser2:\nuser3:NULLISH\n"
    result = subprocess.run(command("producer.py", kafka.plaintext_config, "-t", topic, "--null-value", "NULL", "-Z"),
                            input=lines, capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    stored = [(key, value) for key, value, _, _ in messages_of(kafka, topic)[0]]
    assert stored == [(b"user1", b"alice"), (b"user1", None), (b"user2", None), (b"user3", b"NULLISH")]


def test_a_keyless_line_on_a_compacted_topic_is_explained(kafka):
    """The broker refuses a message without a key on a compacted topic, and the whole batch with it."""
    topic = new_topic(kafka, 1, **{"cleanup.policy": "compact"})
    result = subprocess.run(command("producer.py", kafka.plaintext_config, "-t", topic), input=b":no key\n",
                            capture_output=True, timeout=60)
    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert "0 delivered" in err and "1 failed" in err and "compacted topic refuses a message without a key" in err


def test_without_markers_an_empty_value_stays_empty(kafka):
    topic = new_topic(kafka, 1)
    result = subprocess.run(command("producer.py", kafka.plaintext_config, "-t", topic), input=b"k:\nk:NULL\n",
                            capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert [(k, v) for k, v, _, _ in messages_of(kafka, topic)[0]] == [(b"k", b""), (b"k", b"NULL")]


def random_bytes(rng, size):
    return bytes(rng.getrandbits(8) for _ in range(size))


def random_message(rng, partitions, now_ms):
    def nullable(most):
        return None if rng.random() < 0.1 else random_bytes(rng, rng.randint(0, most))

    headers = [("".join(rng.choice("abcdefghé€\t \"\\") for _ in range(rng.randint(0, 8))), nullable(20))
               for _ in range(rng.choice([0, 0, 1, 3]))]
    return dict(key=nullable(16), value=nullable(200), headers=headers or None,
                partition=rng.randrange(partitions), timestamp=rng.randint(now_ms - 5 * 365 * 86400_000, now_ms))


def test_a_topic_copied_through_json_keeps_every_field(kafka):
    rng = random.Random(20261127)
    count, partitions = 10_000, 3
    keep = {"retention.ms": "-1"}  # the timestamps reach five years back: keep them all
    source, copy = new_topic(kafka, partitions, **keep), new_topic(kafka, partitions, **keep)
    now_ms = int(time.time() * 1000)
    written = [random_message(rng, partitions, now_ms) for _ in range(count)]
    producer = Producer({"bootstrap.servers": kafka.plaintext_bootstrap, "enable.idempotence": True,
                         "logger": QUIET})
    for m in written:
        producer.produce(source, m["value"], m["key"], partition=m["partition"], timestamp=m["timestamp"],
                         headers=m["headers"])
        producer.poll(0)
    assert producer.flush(60) == 0
    began = time.monotonic()
    reader = subprocess.Popen(command("consumer.py", kafka.plaintext_config, "-t", source, "-e", "-f", "json",
                                      "-g", f"copy-{uuid.uuid4().hex[:8]}"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    writer = subprocess.run(command("producer.py", kafka.plaintext_config, "-t", copy, "-f", "json"),
                            stdin=reader.stdout, capture_output=True, timeout=300)
    reader.stdout.close()
    reader_err = reader.stderr.read()
    assert reader.wait(60) == 0, reader_err
    seconds = time.monotonic() - began
    err = writer.stderr.decode(errors="replace")
    assert writer.returncode == 0, err
    assert f"{count:,} delivered to {copy}, 0 failed" in err, err
    original, copied = messages_of(kafka, source), messages_of(kafka, copy)
    expected = {p: [(m["key"], m["value"], m["headers"], m["timestamp"]) for m in written if m["partition"] == p]
                for p in range(partitions)}
    assert original == expected  # the premise: what confluent-kafka wrote is what the source holds
    differences = [(p, i, a, b) for p in range(partitions)
                   for i, (a, b) in enumerate(zip(original[p], copied[p])) if a != b]
    record(f"consumer.py -f json -e | producer.py -f json: a topic of {count:,} random messages copied",
           injected="random binary keys, values and header values (10 % null), 0-3 headers, 3 partitions, "
                    "timestamps over five years", lines_in=count, lines_out=sum(map(len, copied.values())),
           duplicates=sum(map(len, copied.values())) - count, exit_code=writer.returncode,
           recovery_s=round(seconds, 1),
           outcome="every key, value, header, partition and timestamp equal" if not differences
           and all(len(copied[p]) == len(original[p]) for p in copied) else f"{len(differences)} differ")
    assert {p: len(v) for p, v in copied.items()} == {p: len(v) for p, v in original.items()}
    assert differences == [], differences[:3]
