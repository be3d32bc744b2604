"""producer.py's fast path (split_chunk + produce_all): the same messages, counts and reasons as line by line."""

from hypothesis import example, given, strategies as st
from confluent_kafka import KafkaError, KafkaException

from kafka_cli.produce import loop as produce_loop
from kafka_cli.produce.lines import LineParser, split_chunk, split_lines
from tests.unit.test_producer_lines import FakeProducer, cut, key_value, lines_of, run_read_and_produce, stream

separators = st.sampled_from([b":", b"\t", b"\x00", b"\xff", b"::", b"=>"])
pieces = st.lists(st.sampled_from([b":", b"k", b"v", b"\t", b"\x00", b"\xff", b"=", b">", b"\r", b"", b"NULL"]),
                  max_size=6).map(b"".join)
chunks = st.lists(pieces, max_size=12).map(lambda lines: b"".join(line + b"\n" for line in lines))


@given(chunk=chunks | stream.map(lambda data: data[:data.rfind(b"\n") + 1]), separator=separators,
       no_key=st.booleans(), nulls=st.sampled_from([frozenset(), frozenset([b""]), frozenset([b"NULL"])]))
@example(chunk=b"a:1\nb\nc:2:3\n", separator=b":", no_key=False, nulls=frozenset())  # counts agree, lines don't
@example(chunk=b"a:1\n:2\n", separator=b":", no_key=False, nulls=frozenset())
@example(chunk=b"k:v\n", separator=b":", no_key=False, nulls=frozenset())
def test_split_chunk_agrees_with_line_parser_or_declines(chunk, separator, no_key, nulls):
    parser = LineParser(separator, no_key, nulls)
    plain = split_chunk(chunk, separator, no_key, nulls)
    if plain is None:
        return  # the line-by-line path takes it
    keys, values = plain
    lines = split_lines(chunk)[0]
    assert all(lines)  # no empty line: the slow path skips those
    assert [key_value(parser, line) for line in lines] == list(zip(keys or [None] * len(values), values))


def test_split_chunk_takes_the_benchmark_lines():
    chunk = b"k0001:0000000000-abc\nk0002:0000000001-def\n"
    assert split_chunk(chunk, b":", False, frozenset()) == ([b"k0001", b"k0002"],
                                                             [b"0000000000-abc", b"0000000001-def"])
    assert split_chunk(chunk, b":", True, frozenset()) == (None, [b"k0001:0000000000-abc", b"k0002:0000000001-def"])


class ChoosyProducer(FakeProducer):
    """Refuses some values as librdkafka would refuse an oversized message; the queue is full at chosen calls."""

    def __init__(self, refuse=(), full_at=()):
        super().__init__()
        self.refuse, self.full_at, self.calls = set(refuse), set(full_at), 0

    def produce(self, topic, value, key=None, headers=None, partition=-1, timestamp=0):
        self.calls += 1
        if self.calls in self.full_at:
            raise BufferError("queue full")
        if value in self.refuse:
            raise KafkaException(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE))
        super().produce(topic, value, key, headers)


@given(n=st.integers(1, 40), refuse=st.sets(st.integers(0, 39)), full_at=st.sets(st.integers(1, 80)),
       points=st.lists(st.integers(min_value=0), max_size=5), no_key=st.booleans())
def test_fast_path_counts_every_line_once_through_full_queues_and_refusals(n, refuse, full_at, points, no_key):
    data = b"".join(b"k%d:v%d\n" % (i, i) for i in range(n))
    fake = ChoosyProducer(refuse={(b"k%d:v%d" if no_key else b"v%d") % ((i, i) if no_key else i) for i in refuse},
                          full_at=full_at)
    (sent, bad), messages, _ = run_read_and_produce(cut(data, points), LineParser(b":", no_key), fake=fake)
    delivery = run_read_and_produce.delivery
    wanted = [key_value(LineParser(b":", no_key), line) for i, line in enumerate(lines_of(data)) if i not in refuse]
    assert messages == wanted  # in order, each once
    assert (sent, bad) == (n, None)
    assert delivery.failed == len([i for i in refuse if i < n])
    if delivery.failed:
        first = min(i for i in refuse if i < n)
        assert delivery.first_reason.startswith(f"line {first + 1}: message of ")


def test_fast_path_counts_the_rest_of_the_chunk_failed_when_the_wait_for_room_ends(monkeypatch):
    def give_up(producer_, options, delivery, message):
        raise produce_loop.Abort("no delivery progress for 1 s (is the broker reachable?)")

    monkeypatch.setattr(produce_loop, "produce_when_room", give_up)
    fake = ChoosyProducer(full_at={3})
    (sent, bad), messages, _ = run_read_and_produce([b"a:1\nb:2\nc:3\nd:4\n"], LineParser(b":", False), fake=fake)
    assert messages == [(b"a", b"1"), (b"b", b"2")]
    assert (sent, bad) == (4, None)
    assert run_read_and_produce.delivery.failed == 2


def test_line_by_line_path_counts_a_line_refused_once_there_was_room():
    # \r\n endings keep the block off the fast path; the refused value is refused when retried after a full queue
    fake = ChoosyProducer(refuse={b"2"}, full_at={2})
    (sent, bad), messages, _ = run_read_and_produce([b"a:1\r\nb:2\r\nc:3\r\n"], LineParser(b":", False), fake=fake)
    assert messages == [(b"a", b"1"), (b"c", b"3")]
    assert (sent, bad) == (3, None)
    assert run_read_and_produce.delivery.failed == 1
    assert run_read_and_produce.delivery.first_reason.startswith("line 2: message of ")
