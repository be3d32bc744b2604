"""producer.py's schema step against input nobody vetted: schema and references files of any size (read whole or
refused, never cut), and key/value lines whose JSON holds what JSON cannot (lone surrogates, NaN, Infinity,
numbers past a double, nesting past Python's stack): each is a numbered bad line, never a traceback. The
registry is a fake with confluent-kafka's client's face."""

import json
import os
from types import SimpleNamespace

import pytest
from confluent_kafka.schema_registry import Schema
from hypothesis import HealthCheck, given, settings, strategies as st

from kafka_cli.schema import registry as registry_client
from kafka_cli.core.errors import ConfigError
from kafka_cli.schema.records import MAX_SCHEMA_FILE, Choice, read_schema_file, schema_records
from kafka_cli.schema.references import MAX_FILE, read_references

REGISTRY = SimpleNamespace(url="http://registry.test:8081", user=lambda: None, conf={"timeout": 10})


class FakeClient:
    """The calls the producer makes to register a schema file, over memory."""

    def __init__(self):
        self.registered = {}  # subject -> Schema

    def register_schema(self, subject, schema):
        self.registered[subject] = schema
        return len(self.registered)

    def get_latest_version(self, subject):
        raise AssertionError("not asked in these tests")


@pytest.fixture
def client(monkeypatch):
    fake = FakeClient()
    monkeypatch.setattr(registry_client, "make_client", lambda settings: fake)
    return fake


def settle(choices, topic="t"):
    """The SchemaRecords for `choices` (a text reader with a tab separator underneath)."""
    from kafka_cli.produce.lines import LineParser

    return schema_records(LineParser(b"\t", False), SimpleNamespace(registry=REGISTRY, path="c.ini"), topic, choices,
                          "topic")


# -- schema and references files: whole, or refused with their size -----------------------------------------
def big_avro_schema(size):
    """A valid Avro record schema of about `size` bytes (a long doc), its last field named last."""
    head = {"type": "record", "name": "Big", "doc": "x" * size,
            "fields": [{"name": "n", "type": "long"}, {"name": "last", "type": "string"}]}
    return json.dumps(head)


def big_proto(size):
    """.proto text of about `size` bytes (comments), with a message Last after them."""
    comments = "".join(f"// {'y' * 76}\n" for _ in range(size // 80))
    return f'syntax = "proto3";\npackage big;\nmessage First {{ int64 id = 1; }}\n{comments}message Last {{ string s = 1; }}\n'


def test_a_14_mb_avro_schema_is_read_and_registered_whole(client, tmp_path):
    text = big_avro_schema(1_400_000)
    path = tmp_path / "big.avsc"
    path.write_text(text)
    assert read_schema_file(str(path), "value") == text
    records = settle([Choice("key", "string"), Choice("value", "avro", str(path))])
    assert client.registered["t-value"].schema_str == text
    assert records.parse(b'k\t{"n": 1, "last": "z"}')[1] == b"\x00\x00\x00\x00\x01" + b"\x02\x02z"


def test_a_12_mb_proto_is_registered_whole_not_its_first_mebibyte(client, tmp_path):
    text = big_proto(1_200_000)
    assert len(text) > 1024 * 1024 + 1
    path = tmp_path / "big.proto"
    path.write_text(text)
    records = settle([Choice("key", "string"), Choice("value", "protobuf", str(path), message="Last")])
    assert client.registered["t-value"].schema_str == text
    assert records.encoders["value"].codec.message_path("Last") == (1,)


def test_a_schema_file_over_the_limit_is_refused_with_its_size_never_cut(client, tmp_path):
    path = tmp_path / "huge.avsc"
    with open(path, "wb") as f:
        f.truncate(MAX_SCHEMA_FILE + 1)  # sparse: no 16 MiB written
    with pytest.raises(ConfigError) as caught:
        settle([Choice("key", "string"), Choice("value", "avro", str(path))])
    assert caught.value.message == (f"--value-schema {path}: 16,777,217 bytes, larger than 16 MiB (16,777,216 "
                                    "bytes), the most a schema file may be: refused, not cut")
    assert client.registered == {}


def test_a_schema_file_exactly_at_the_limit_is_read(tmp_path):
    path = tmp_path / "at-limit.avsc"
    path.write_bytes(b" " * MAX_SCHEMA_FILE)
    assert len(read_schema_file(str(path), "key")) == MAX_SCHEMA_FILE


def test_a_schema_from_a_pipe_over_the_limit_is_refused_without_reading_it_all(tmp_path):
    fifo = tmp_path / "schema.fifo"
    os.mkfifo(fifo)
    import threading

    def feed():
        try:
            with open(fifo, "wb") as f:
                for _ in range(32):  # twice the limit: the reader stops one byte past it
                    f.write(b" " * (1024 * 1024))
        except BrokenPipeError:
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    with pytest.raises(ConfigError, match=r"schema\.fifo: more than 16,777,216 bytes, larger than 16 MiB"):
        read_schema_file(str(fifo), "value")
    feeder.join(10)


def test_line_endings_of_a_schema_file_are_read_as_before(tmp_path):
    path = tmp_path / "crlf.avsc"
    path.write_bytes(b'{"type":\r\n"string"}\r')
    assert read_schema_file(str(path), "value") == '{"type":\n"string"}\n'
    path.write_bytes(b"\xff")
    with pytest.raises(ConfigError, match="cannot read it: 'utf-8' codec can't decode byte 0xff"):
        read_schema_file(str(path), "value")


def test_a_references_file_over_its_limit_names_its_size(tmp_path):
    path = tmp_path / "refs.json"
    path.write_bytes(b"[" + b" " * MAX_FILE + b"]")
    with pytest.raises(ConfigError) as caught:
        read_references(str(path), "key")
    assert caught.value.message == (f"--key-references {path}: 1,048,578 bytes, larger than 1 MiB (1,048,576 "
                                    "bytes), the most a list of references may be: refused, not cut")


# -- key/value JSON that JSON cannot hold: a bad line in every format ---------------------------------------
AVRO_ANY = json.dumps({"type": "record", "name": "J", "fields": [
    {"name": "v", "type": ["null", "boolean", "long", "double", "string", "J", {"type": "array", "items": "J"},
                           {"type": "map", "values": "J"}], "default": None}]})
AVRO_MAP = json.dumps({"type": "map", "values": ["null", "boolean", "long", "double", "string", "bytes",
                                                 {"type": "array", "items": ["null", "double", "string"]}]})
JSON_ANY = "{}"
JSON_OBJECT = json.dumps({"type": "object", "additionalProperties": {"type": ["number", "string", "object",
                                                                             "array", "boolean", "null"]}})
PROTO_ANY = ('syntax = "proto3";\nimport "google/protobuf/struct.proto";\n'
             "message M { google.protobuf.Value v = 1; double d = 2; string s = 3; map<string, string> m = 4;\n"
             "  google.protobuf.Struct st = 5; repeated double r = 6; }\n")
SCHEMAS = {"avro-record": ("avro", AVRO_ANY, "AVRO"), "avro-map": ("avro", AVRO_MAP, "AVRO"),
           "jsonschema-any": ("jsonschema", JSON_ANY, "JSON"), "jsonschema-object": ("jsonschema", JSON_OBJECT, "JSON"),
           "protobuf": ("protobuf", PROTO_ANY, "PROTOBUF")}


@pytest.fixture(scope="module", params=sorted(SCHEMAS))
def encoder(request):
    from kafka_cli.schema.records import Encoder
    from kafka_cli.schema.codecs import make_codec

    fmt, text, kind = SCHEMAS[request.param]
    return Encoder(fmt, make_codec(Schema(text, kind), []), 7, "t-value", (0,) if fmt == "protobuf" else None)


def text_reader(encoder):
    """Text lines KEY<TAB>VALUE, the value written with `encoder`, the key as given."""
    from kafka_cli.produce.lines import LineParser
    from kafka_cli.schema.records import SchemaRecords

    return SchemaRecords(LineParser(b"\t", False), {"key": None, "value": encoder}, False)


def json_reader(encoder):
    """-f json records, the value (the JSON value itself) written with `encoder`."""
    from kafka_cli.produce.json_input import JsonRecords
    from kafka_cli.schema.records import SchemaRecords

    return SchemaRecords(JsonRecords(True, True), {"key": None, "value": encoder}, True)


def bad_line(reader, line):
    """The reader's BadLine message for `line`; fails the test if the line is taken."""
    from kafka_cli.produce.lines import BadLine

    with pytest.raises(BadLine) as caught:
        reader.parse(line)
    return str(caught.value)


INF = "Infinity (or a number beyond the range of a double) is not a JSON number"
UNFIT = [  # (the value's JSON text, what the bad line says of it on a text line, in a -f json record)
    ('{"s": "\\ud800"}', "a lone surrogate \\ud800, which no UTF-8 text can hold", None),
    ('{"v": "\\udfff"}', "a lone surrogate \\udfff, which no UTF-8 text can hold", None),
    # in a key: it crashed Protobuf's C code (SystemError)
    ('{"\\udc00": "x"}', "a lone surrogate \\udc00, which no UTF-8 text can hold", None),
    ('{"m": {"\\ud83d": "x"}}', "a lone surrogate \\ud83d, which no UTF-8 text can hold", None),
    ('{"d": NaN}', "NaN is not a JSON number", None),
    ('{"d": Infinity}', "Infinity is not a JSON number", INF),
    ('{"d": -Infinity}', "-Infinity is not a JSON number", "-" + INF),
    ('{"d": 1e400}', "1e400 is beyond the range of a double", INF),
    ('{"v": {"d": -1E+999}}', "-1E+999 is beyond the range of a double", "-" + INF),
    ('{"r": [1, 2, NaN]}', "NaN is not a JSON number", None),
]


@pytest.mark.parametrize("text, said, _", UNFIT, ids=range(len(UNFIT)))
def test_json_that_json_cannot_hold_is_a_bad_line_in_every_format(encoder, text, said, _):
    message = bad_line(text_reader(encoder), b"k\t" + text.encode())
    assert message.startswith(f"the value is not JSON ({said}") and message.endswith(repr(text.encode())), message


@pytest.mark.parametrize("text, said, in_record", UNFIT, ids=range(len(UNFIT)))
def test_json_that_json_cannot_hold_in_a_json_record_is_a_bad_line(encoder, text, said, in_record):
    line = b'{"key": "k", "value": ' + text.encode() + b', "timestamp": 1700000000000}'
    assert bad_line(json_reader(encoder), line) == f"the value is not JSON ({in_record or said})"


def test_json_nested_deeper_than_python_parses_is_a_bad_line(encoder):
    deep = b"[" * 100_000 + b"]" * 100_000
    assert bad_line(text_reader(encoder), b"k\t" + deep).startswith(
        "the value is not JSON (it nests deeper than this tool parses): b'[[[")
    # a -f json record that deep is not a record JsonRecords can read
    assert "not valid JSON" in bad_line(json_reader(encoder), b'{"value": ' + deep + b"}")


@pytest.mark.parametrize("depth, taken", [(100, True), (101, False), (500, False)])
def test_an_avro_value_nests_no_deeper_than_avro_is_read(depth, taken):
    """101 levels is refused at once: fastavro's validation of a 500-level value took 12 s (time grows with the
    square of the depth), and the consumer reads Avro no deeper than 100 levels."""
    import time

    from kafka_cli.schema.records import Encoder
    from kafka_cli.schema.codecs import make_codec

    reader = text_reader(Encoder("avro", make_codec(Schema(AVRO_ANY, "AVRO"), []), 7, "t-value"))
    line = b"k\t" + b'{"v": ' * (depth - 1) + b'{"v": null}' + b"}" * (depth - 1)
    began = time.monotonic()
    if taken:
        assert reader.parse(line)[1].startswith(b"\x00\x00\x00\x00\x07")
    else:
        assert bad_line(reader, line) == ("the value nests deeper than 100 objects and arrays, the most this tool "
                                          "writes")
    assert time.monotonic() - began < 1


def test_a_paired_surrogate_escape_is_text_and_is_written(encoder):
    """"\\ud83d\\ude00" is one character (an emoji): JSON's way to write it in ASCII, not a lone surrogate."""
    value = {"avro": b'{"v": "\\ud83d\\ude00"}', "jsonschema": b'{"s": "\\ud83d\\ude00"}',
             "protobuf": b'{"s": "\\ud83d\\ude00"}'}[encoder.fmt]
    if encoder.fmt == "avro" and encoder.codec.schema.get("type") == "map":
        value = b'{"s": "\\ud83d\\ude00"}'
    payload = text_reader(encoder).parse(b"k\t" + value)[1]
    assert "\U0001F600".encode() in payload


# any line at all, and lines built to hold what JSON cannot, anywhere
HOSTILE_FLOATS = st.floats(allow_nan=True, allow_infinity=True)
# any character, lone surrogates included (and often: they are 2,048 of 1.1 million code points)
HOSTILE_TEXT = st.text(st.sampled_from("\ud800\udbff\udc00\udfff\x00\"\\a\xe9\U0001f600")
                       | st.characters(exclude_categories=()), max_size=6)
# keys: often the protobuf schema's field names, so hostile values reach its C parser too
KEYS = st.sampled_from(["v", "d", "s", "m", "st", "r"]) | HOSTILE_TEXT
HOSTILE_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | HOSTILE_FLOATS | HOSTILE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4), max_leaves=12)
NUMBER_TEXT = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "1e308", "4.9e-324", "1" + "0" * 5000,
                               "-0", "0.0", "12345678901234567890123"])


@st.composite
def value_texts(draw):
    """The value part of a line: JSON of hostile data (surrogates escaped or raw, NaN and Infinity as Python writes
    them), a hostile number in a field, deep nesting, or any bytes at all."""
    kind = draw(st.sampled_from(["json", "number", "deep", "bytes"]))
    if kind == "json":
        text = json.dumps(draw(HOSTILE_JSON), ensure_ascii=draw(st.booleans()))
        return text.encode("utf-8", "surrogatepass")  # a raw surrogate is bytes no UTF-8 decoder takes
    if kind == "number":
        field = draw(st.sampled_from(["d", "v", "s", "r", "x"]))
        number = draw(NUMBER_TEXT)
        return (f'{{"{field}": {number}}}' if field != "r" else f'{{"r": [{number}]}}').encode()
    if kind == "deep":
        depth = draw(st.integers(1, 3000))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"v":', "}"), ('{"st":{"a":', "}}")]))
        return (opener * depth + "1" + closer * depth).encode()
    return draw(st.binary(max_size=40))


def assert_bad_line_or_taken(reader, line):
    """The property: a line is taken (produce()'s five arguments) or is the reader's BadLine; nothing else."""
    from kafka_cli.produce.lines import BadLine

    try:
        taken = reader.parse(line)
    except BadLine as e:
        assert "\n" not in str(e)
        return
    assert len(taken) == 5 and (taken[1] is None or isinstance(taken[1], bytes))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=value_texts())
def test_any_text_line_is_written_or_is_a_bad_line(encoder, value):
    assert_bad_line_or_taken(text_reader(encoder), b"k\t" + value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=value_texts(), wrap=st.booleans())
def test_any_json_record_is_written_or_is_a_bad_line(encoder, value, wrap):
    line = (b'{"key": "k", "value": ' + value + b"}") if wrap else value
    assert_bad_line_or_taken(json_reader(encoder), line)


# -- timestamps the topic refuses: which limit, which line, how many good lines went down -----------------------
NOW = 1_800_000_000_000  # ms
YEAR = 365 * 86_400_000


def delivery_with(limits):
    """A Delivery whose topic has `limits` (kafka_errors.Limits), and how often they were read."""
    from kafka_cli.produce.delivery import Delivery, StopSignals

    reads = []
    delivery = Delivery(SimpleNamespace(fatal=None), 1_000_000, StopSignals())
    delivery.timestamps.limits = lambda: reads.append(1) or limits
    return delivery, reads


def report(delivery, code, lineno=None, timestamp=None):
    """One failed delivery report: through on_stamped for a line handed its number, else the default."""
    from confluent_kafka import KafkaError

    err = KafkaError(code)
    if lineno is None:
        delivery.on_delivery(err, None)
    else:
        delivery.on_stamped(lineno, timestamp, err, None)


def summary(delivery, sent):
    from kafka_cli.produce.delivery import Reading, report as summarise

    said = []
    log = SimpleNamespace(log=lambda level, fmt, *args: said.append(fmt % args), error=lambda *a: None)
    status = summarise(log, "t", delivery, Reading(sent, None, [], "not a JSON record"), 0.1)
    return said[0], status


@pytest.fixture
def clock(monkeypatch):
    import time

    monkeypatch.setattr(time, "time", lambda: NOW / 1000)


def test_a_future_line_alone_in_its_batch_names_its_line_the_limit_and_the_good_lines_that_failed(clock):
    """The reported case: 3 good records and one stamped 2100-01-01; every message of the batch reports
    INVALID_TIMESTAMP, the three good ones without their line (they were never suspect)."""
    from confluent_kafka import KafkaError

    from kafka_cli.client.kafka_errors import Limits

    delivery, reads = delivery_with(Limits(3_600_000, None, "the topic's setting"))
    for _ in range(3):
        report(delivery, KafkaError.INVALID_TIMESTAMP)
    report(delivery, KafkaError.INVALID_TIMESTAMP, 4, 4_102_444_800_000)
    said, status = summary(delivery, 4)
    assert said == ("0 delivered to t, 4 failed; first failure: Broker: Invalid timestamp: line 4 has timestamp "
                    "4102444800000 (2100-01-01T00:00:00Z), 73 years ahead of the clock, beyond "
                    "message.timestamp.after.max.ms=3600000 (60 min; the topic's setting); the broker refuses the "
                    "whole batch such a line is in: 1 line out of range, 3 lines with good timestamps failed with it "
                    "(0.1 s)")
    assert status == 1 and reads == [1]


def test_past_lines_with_others_in_their_batch_name_before_max_ms_even_when_the_good_ones_come_first(clock):
    """Two bad records in one batch: they report INVALID_RECORD, the rest _INVALID_DIFFERENT_RECORD (whose own
    text says nothing of why), and those may come first: the reason is the bad records'."""
    from confluent_kafka import KafkaError

    from kafka_cli.client.kafka_errors import Limits

    delivery, _ = delivery_with(Limits(3_600_000, 86_400_000, "the topic's setting"))
    report(delivery, KafkaError._INVALID_DIFFERENT_RECORD)
    report(delivery, KafkaError._INVALID_DIFFERENT_RECORD, 2, NOW)
    report(delivery, KafkaError.INVALID_RECORD, 7, NOW - 2 * YEAR)
    report(delivery, KafkaError.INVALID_RECORD, 3, NOW - 3 * YEAR)
    said, _ = summary(delivery, 4)
    assert said.startswith("0 delivered to t, 4 failed; first failure: Broker: Invalid timestamp: line 3 has "
                           "timestamp 1705392000000 (2024-01-16T08:00:00Z), 3 years behind the clock, beyond "
                           "message.timestamp.before.max.ms=86400000 (24 h; the topic's setting); "), said
    assert "2 lines out of range, 2 lines with good timestamps failed with them" in said


def test_a_refused_record_without_a_key_on_a_compacted_topic_keeps_its_own_reason(clock):
    from confluent_kafka import KafkaError

    from kafka_cli.client.kafka_errors import Limits

    delivery, _ = delivery_with(Limits(3_600_000, None, "the topic's setting"))
    report(delivery, KafkaError._INVALID_DIFFERENT_RECORD)
    report(delivery, KafkaError.INVALID_RECORD, 2, NOW - YEAR)  # in range: not a timestamp refusal
    said, _ = summary(delivery, 2)
    assert "first failure: Broker: Broker failed to validate record (a compacted topic refuses a message without" in said
    assert "Invalid timestamp" not in said


def test_refused_lines_none_beyond_the_limits_as_read_name_the_furthest(clock):
    """The limits could not be read (Kafka's defaults assumed: nothing in the past is refused), yet the broker
    refused: the line furthest from the clock is named, as the likely one."""
    from confluent_kafka import KafkaError

    from kafka_cli.client.kafka_errors import Limits

    delivery, _ = delivery_with(Limits(3_600_000, None, "the topic's limits could not be read (denied): Kafka's "
                                                        "defaults assumed", guessed=True))
    report(delivery, KafkaError.INVALID_TIMESTAMP, 1, NOW - 1000)
    report(delivery, KafkaError.INVALID_TIMESTAMP, 2, NOW - 40 * 86_400_000)
    said, _ = summary(delivery, 2)
    assert ("2 lines refused, none beyond the limits (the topic's limits could not be read (denied): Kafka's "
            "defaults assumed: after 3600000, before none) by this machine's clock; the furthest from it: line 2, "
            "timestamp 1796544000000 (2026-12-06T08:00:00Z, 40 days behind)") in said, said


def test_only_lines_that_may_be_refused_are_suspect_and_the_limits_are_read_once():
    """A line's number goes with its report only when its timestamp may be refused: a Python object per line cost
    13 % of a -f json run. Recent lines never are; the first line older than MARGIN_MS reads the limits."""
    from kafka_cli.client.kafka_errors import MARGIN_MS, Limits, TimestampRefusals

    reads = []
    stamps = TimestampRefusals(lambda: reads.append(1) or Limits(3_600_000, 86_400_000, "the topic's setting"))
    low, high = stamps.edges(NOW)
    assert low <= NOW - 1000 <= high and not low <= NOW + 1 <= high  # unknown: any future line is suspect
    assert stamps.suspect(NOW + 1, NOW) and reads == []
    assert not stamps.suspect(NOW - MARGIN_MS - 1, NOW) and reads == [1]  # read now: within the day, not suspect
    assert stamps.edges(NOW) == (NOW - 86_400_000 + MARGIN_MS, NOW + 3_600_000 - MARGIN_MS)
    assert stamps.suspect(NOW - 86_400_000 + MARGIN_MS - 1, NOW) and not stamps.suspect(NOW + 3_000_000, NOW)
    assert stamps.suspect(NOW + 3_600_000 - MARGIN_MS + 1, NOW) and reads == [1]


def test_guessed_limits_keep_every_old_line_suspect():
    from kafka_cli.client.kafka_errors import MARGIN_MS, Limits, TimestampRefusals

    stamps = TimestampRefusals(lambda: Limits(3_600_000, None, "guessed", guessed=True))
    assert stamps.suspect(NOW - 10 * YEAR, NOW) and stamps.edges(NOW) == (NOW - MARGIN_MS, NOW)


def test_limits_that_cannot_be_read_are_kafkas_defaults_and_say_why():
    import socket
    import time

    from kafka_cli.config.ini import ClientConfig
    from kafka_cli.client.kafka_errors import topic_timestamp_limits

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    config = ClientConfig("c.ini")
    for name, value in (("bootstrap.servers", f"127.0.0.1:{port}"), ("acks", "all"), ("debug", "msg"),
                        ("delivery.report.only.error", "true")):  # producer settings an AdminClient refuses
        config.set(name, value, "test")
    began = time.monotonic()
    limits = topic_timestamp_limits(config, "t", 0.5)
    assert time.monotonic() - began < 5
    assert (limits.after, limits.before, limits.guessed) == (3_600_000, None, True)
    assert limits.how.startswith("the topic's limits could not be read (") and limits.how.endswith(
        "): Kafka's defaults assumed")
