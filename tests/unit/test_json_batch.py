"""-f json a batch at a time (formats.format_json_batch): the same bytes as format_json, message for message.

format_json is held to the output from before the batch renderer (test_escaping.py: json_before plus the new
\\u escapes), so these tests hold the batch renderer to it too, on batches of every kind of message."""

from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME, TIMESTAMP_NOT_AVAILABLE, KafkaError
from confluent_kafka import Message
from hypothesis import example, given, settings, strategies as st

from kafka_cli.consume.formats import FORMATS, Style, format_json, format_json_batch, format_verbose, headers_of

from .test_consumer_output import FakeMessage, any_bytes, format_text, header_names
from .test_escaping import UnreadableHeaders, nasty_bytes

EOF = KafkaError(KafkaError._PARTITION_EOF)

# columns that take each of the batch renderer's ways: plain ASCII as it is, the rest (UTF-8, characters to
# escape, DEL, not UTF-8, nulls) item by item
plain = st.binary(max_size=30).map(lambda b: bytes(c % 95 + 32 for c in b))
datas = st.none() | plain | any_bytes | nasty_bytes | st.sampled_from(
    [b"", b"\x7f", "é°\u2028".encode(), b'{"a": "\\u00e9"}', b"\xc2", b"\xe2\x80", b"x\x7fy"])
timestamps = st.tuples(st.sampled_from([TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME]),
                       st.integers(min_value=-2 ** 63, max_value=2 ** 63 - 1)) | st.just((TIMESTAMP_NOT_AVAILABLE, -1))
messages = st.builds(
    FakeMessage, key=datas, value=datas, topic=st.sampled_from(["orders", "t.é", "50%", 'we"ird\\']),
    partition=st.integers(0, 2 ** 31 - 1), offset=st.integers(0, 2 ** 63 - 1), timestamp=timestamps,
    headers=st.none() | st.just([]) | st.lists(st.tuples(header_names, any_bytes), max_size=3),
    error=st.none() | st.none() | st.just(EOF))
one_partition = st.builds(  # the usual batch: topic and partition go into the template
    FakeMessage, key=datas, value=datas, topic=st.just("50%d"), partition=st.just(7), timestamp=timestamps,
    headers=st.none() | st.lists(st.tuples(header_names, any_bytes), max_size=2), error=st.none())


def one_at_a_time(batch, style=Style()):
    render = format_json(style)
    return [render(msg) for msg in batch if msg.error() is None]


def in_a_batch(batch, style=Style()):
    """format_json_batch's lines, checked to be whole lines and as many as it says."""
    lines = format_json_batch(style)(batch)
    each = lines.data.splitlines(keepends=True)
    assert len(each) == lines.count
    assert all(line.count(b"\n") == 1 for line in each)
    return each


@settings(max_examples=300)
@given(batch=st.lists(messages, max_size=12) | st.lists(messages, max_size=1)
       | st.lists(one_partition, min_size=2, max_size=12))
@example(batch=[FakeMessage(key=b"a\x7f", value=b"x"), FakeMessage(key=b"b", value=b"y")])
@example(batch=[FakeMessage(key="\x85".encode(), value=b"\xff"), FakeMessage(key=b"\x7f", value=b"\xc3")])
@example(batch=[FakeMessage(key=b"\xc3", value=b"a"), FakeMessage(key=b"\xa9", value=b"b")])  # é split in two
@example(batch=[FakeMessage(error=EOF)])
def test_batch_is_the_same_bytes_as_one_at_a_time(batch):
    assert in_a_batch(batch) == one_at_a_time(batch)


@given(keys=st.lists(st.none() | plain, min_size=1, max_size=8), values=st.lists(plain, min_size=8, max_size=8))
def test_null_keys_and_plain_values(keys, values):
    batch = [FakeMessage(key=k, value=v) for k, v in zip(keys, values)]
    assert in_a_batch(batch) == one_at_a_time(batch)


def test_real_messages():
    batch = [Message(topic="orders", partition=p, offset=o, key=k, value=v, headers=h, error=e, timestamp=t)
             for p, o, k, v, h, e, t in [
                 (0, 1, b"k", b"v", None, None, (TIMESTAMP_CREATE_TIME, 17)),
                 (1, 2, None, "é\u202e".encode(), [("h", b"\xff"), ("g", None)], None, (TIMESTAMP_NOT_AVAILABLE, -1)),
                 (1, 3, None, None, None, EOF, (TIMESTAMP_NOT_AVAILABLE, -1)),
                 (2, 3, b'"', b"\x00\\", [], None, (TIMESTAMP_LOG_APPEND_TIME, 5))]]
    assert in_a_batch(batch) == one_at_a_time(batch) == [
        b'{"topic":"orders","partition":0,"offset":1,"timestamp":17,"key":"k","value":"v","headers":[]}\n',
        b'{"topic":"orders","partition":1,"offset":2,"timestamp":null,"key":null,"value":"\xc3\xa9\\u202e",'
        b'"headers":[["h",{"base64":"/w=="}],["g",null]]}\n',
        b'{"topic":"orders","partition":2,"offset":3,"timestamp":5,"key":"\\"","value":"\\u0000\\\\",'
        b'"headers":[]}\n']


def test_unreadable_headers_in_a_batch_warn_once_each():
    warnings = []
    batch = [FakeMessage(offset=1), UnreadableHeaders(offset=2), FakeMessage(offset=3, headers=[("h", b"v")]),
             UnreadableHeaders(offset=4)]
    lines = in_a_batch(batch, Style(warn=warnings.append))
    assert [line.endswith(b'"headers":{"unreadable":"a header name is not UTF-8"}}\n') for line in lines] == [
        False, True, False, True]
    assert lines[2].endswith(b'"headers":[["h","v"]]}\n')
    assert [w.split(":")[0] for w in warnings] == ["orders [2] @ 2", "orders [2] @ 4"]


def test_headers_a_step_before_found_unreadable_are_marked_once_and_warned_once_by_the_renderer():
    """The schema step looks at the headers before the renderer (for a schema-id header): whoever asks first, the
    message is asked once, and the renderer says it once (a second real headers() call would crash)."""
    warnings = []
    batch = [UnreadableHeaders(offset=1), UnreadableHeaders(offset=2), FakeMessage(offset=3)]
    assert headers_of(batch[0]) is headers_of(batch[0]) is not None  # the schema step's look, twice
    lines = in_a_batch(batch, Style(warn=warnings.append))
    assert [line.endswith(b'"headers":{"unreadable":"a header name is not UTF-8"}}\n') for line in lines] == [
        True, True, False]
    assert [w.split(":")[0] for w in warnings] == ["orders [2] @ 1", "orders [2] @ 2"]


def test_nothing_or_only_errors():
    for batch in ([], [FakeMessage(error=EOF), FakeMessage(error=EOF)]):
        lines = format_json_batch(Style())(batch)
        assert (lines.data, lines.count) == (b"", 0)


def test_every_format_renders_a_batch_without_its_errors():
    batch = [FakeMessage(value=b"a"), FakeMessage(error=EOF), FakeMessage(value=b"b")]
    for name, one in (("text", format_text), ("json", format_json), ("verbose", format_verbose)):
        render = one(Style())
        lines = FORMATS[name](Style())(batch)
        assert (lines.data, lines.count) == (render(batch[0]) + render(batch[2]), 2)


# values of 1 KiB and more (formats.LARGE_ITEM: looked at one by one, not joined), plain and not, with nulls
large = datas.map(lambda data: data if data is None else (data or b"x") * (1024 // len(data or b"x") + 1))


@settings(max_examples=200)
@given(keys=st.lists(datas | large, min_size=1, max_size=6), values=st.lists(large | datas, min_size=6, max_size=6))
@example(keys=[b"k"], values=[b"a" * 1024 + "é\u2028".encode(), b"\x7f" * 2000, b"\xff" * 1024, None, b"", b"ok" * 600])
def test_large_items_the_same_bytes_as_one_at_a_time(keys, values):
    batch = [FakeMessage(key=k, value=v) for k, v in zip(keys, values)]
    assert in_a_batch(batch) == one_at_a_time(batch)


@given(batch=st.lists(st.builds(FakeMessage, key=datas, value=datas, topic=st.just("orders"),
                                partition=st.integers(0, 3), error=st.none()), min_size=1, max_size=8))
def test_one_topic_named_in_the_style(batch):
    """The consumer reads one topic: the renderer is told its name and does not ask each message."""
    assert in_a_batch(batch, Style(only_topic="orders")) == one_at_a_time(batch)


# Partitions' runs of offsets as a fetch hands them over: runs long and short, around the thousands and near the
# int64 end, one with a gap (compaction, a transaction marker), one partition back after another.
@st.composite
def runs_of_offsets(draw):
    batch = []
    for _ in range(draw(st.integers(1, 3))):
        partition = draw(st.integers(0, 2))
        first = draw(st.sampled_from([0, 1, 936, 999, 1000, 1001, 64_999, 999_937, 2 ** 63 - 1100])
                     | st.integers(0, 2 ** 40))
        offsets = list(range(first, first + draw(st.integers(1, 1100))))
        if draw(st.booleans()):  # a gap, as compaction or a transaction marker leaves
            cut = draw(st.integers(0, len(offsets) - 1))
            offsets[cut:] = [offset + 1 for offset in offsets[cut:]]
        batch += [FakeMessage(key=b"k%d" % offset, value=b"v", partition=partition, offset=offset,
                              timestamp=(TIMESTAMP_CREATE_TIME, 1700000000000 + offset // 100)) for offset in offsets]
    return batch


@settings(max_examples=60, deadline=None)
@given(batch=runs_of_offsets())
@example(batch=[FakeMessage(offset=offset, partition=0) for offset in range(998, 2003)])
def test_runs_of_consecutive_offsets(batch):
    assert in_a_batch(batch) == one_at_a_time(batch)
    assert in_a_batch(batch, Style(only_topic="orders")) == one_at_a_time(batch)


# Timestamps as messages carry them: a few shared by many (written together), many distinct ones, sorted or
# not, with and without NOT_AVAILABLE; a timestamp's text is made once and looked up after that.
@settings(max_examples=80, deadline=None)
@given(stamps=st.lists(st.sampled_from([(TIMESTAMP_NOT_AVAILABLE, -1), (TIMESTAMP_CREATE_TIME, -1)])
                       | st.tuples(st.sampled_from([TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME]),
                                   st.integers(0, 80)), min_size=1, max_size=300),
       in_order=st.booleans())
@example(stamps=[(TIMESTAMP_CREATE_TIME, ms // 3) for ms in range(150)], in_order=True)  # 50 runs
def test_timestamps_in_runs(stamps, in_order):
    batch = [FakeMessage(offset=offset, timestamp=stamp)
             for offset, stamp in enumerate(sorted(stamps) if in_order else stamps)]
    assert in_a_batch(batch) == one_at_a_time(batch)


def test_the_cache_of_texts_stays_bounded():
    """Timestamps' texts are kept for the next lines (formats._Texts); a run with ever new timestamps must not
    keep them all."""
    from kafka_cli.consume.formats import _Texts

    made = []
    texts = _Texts(lambda key: made.append(key) or b"%d" % key, limit=2)
    assert [texts[key] for key in (1, 2, 1, 3, 1)] == [b"1", b"2", b"1", b"3", b"1"]
    assert made == [1, 2, 3, 1] and len(texts) <= 2
