"""consumer.py -p/-o/--until/-F against the real broker: last N, a time window from known timestamps,
partitions read without any consumer group, exact -F output."""

import uuid

import pytest
from confluent_kafka import Producer

from .scripts import consume, lines_of, no_traceback


@pytest.fixture
def known_topic(kafka, make_topic):
    """Two partitions, ten messages each, with timestamps 1,000,000 + 1,000 * i ms (i = 0..9)."""
    topic = make_topic(2)
    writer = Producer(kafka.client_settings("plaintext"))
    for p in (0, 1):
        for i in range(10):
            writer.produce(topic, key=f"p{p}".encode(), value=f"m{i}".encode(), partition=p,
                           timestamp=1_000_000 + 1_000 * i)
    assert writer.flush(30) == 0
    return topic


def groups(kafka):
    return {g.group_id for g in kafka.admin().list_consumer_groups().result(30).valid}


def test_last_n_of_each_partition(kafka, known_topic):
    result = consume(kafka.plaintext_config, known_topic, "-o", "-3", "-e", "-F", r"%p %o %k=%s\n")
    assert result.returncode == 0, result.stderr
    assert sorted(lines_of(result.stdout)) == sorted(
        f"{p} {o} p{p}=m{o}" for p in (0, 1) for o in (7, 8, 9))


def test_a_time_window(kafka, known_topic):
    result = consume(kafka.plaintext_config, known_topic, "-o", "@1003000", "--until", "@1006000", "-F", r"%p %T %s\n")
    assert result.returncode == 0, result.stderr  # ends by itself: every partition reached --until
    assert sorted(lines_of(result.stdout)) == sorted(
        f"{p} {1_000_000 + 1_000 * i} m{i}" for p in (0, 1) for i in (3, 4, 5))


def test_offset_and_until_offsets_on_one_partition(kafka, known_topic):
    result = consume(kafka.plaintext_config, known_topic, "-p", "1", "-o", "2", "--until", "5")
    assert lines_of(result.stdout) == ["p1:m2", "p1:m3", "p1:m4"]


def test_partitions_read_without_a_group(kafka, known_topic):
    group = f"g-direct-{uuid.uuid4().hex[:8]}"
    result = consume(kafka.plaintext_config, known_topic, "-p", "0", "-g", group, "-e", "-v")
    assert result.returncode == 0, result.stderr
    assert lines_of(result.stdout) == [f"p0:m{i}" for i in range(10)]
    assert f"reading {known_topic} [0] directly" in result.stderr.decode()
    assert "no consumer group is joined and nothing is committed" in result.stderr.decode()
    assert group not in groups(kafka)
    assert not any(g.startswith("consumer.py-direct-") for g in groups(kafka))


def test_format_string_output_is_exact(kafka, make_topic, group):
    topic = make_topic(1)
    writer = Producer(kafka.client_settings("plaintext"))
    writer.produce(topic, key=b"k", value=b"hello", timestamp=1_700_000_000_123, headers=[("h", b"1"), ("n", None)])
    writer.produce(topic, key=None, value=None, timestamp=1_700_000_000_124)
    assert writer.flush(30) == 0
    result = consume(kafka.plaintext_config, topic, "-g", group, "-e", "--null-marker", "<null>",
                     "-F", r"%t|%p|%o|%T|%K|%S|%k|%s|%h|%%\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"{topic}|0|0|1700000000123|1|5|k|hello|h=1,n=NULL|%\n"  # kcat: NULL, marker or not
                             f"{topic}|0|1|1700000000124|-1|-1|<null>|<null>||%\n").encode()


def test_null_marker_in_text(kafka, make_topic, group):
    topic = make_topic(1)
    writer = Producer(kafka.client_settings("plaintext"))
    writer.produce(topic, key=None, value=b"v")
    writer.produce(topic, key=b"", value=None)
    assert writer.flush(30) == 0
    plain = consume(kafka.plaintext_config, topic, "-g", group, "-e")
    assert plain.stdout == b":v\n:\n"  # as before: round trips stay as they are
    marked = consume(kafka.plaintext_config, topic, "-o", "beginning", "-e", "--null-marker", "NULL")
    assert marked.stdout == b"NULL:v\n:NULL\n"


@pytest.mark.parametrize("args, message", [
    (["-p", "7"], "has no partition 7 (it has partitions 0 to 1)"),
    (["-p", "0", "-o", "50"], "[0] holds offsets 0 to 9 (and 10 is the next to be written)"),
])
def test_errors_name_the_partition_and_what_exists(kafka, known_topic, args, message):
    result = consume(kafka.plaintext_config, known_topic, *args, "-e")
    assert result.returncode == 1
    assert message in result.stderr.decode() and no_traceback(result)
