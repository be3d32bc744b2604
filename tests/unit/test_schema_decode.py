"""kafka_cli.schema.codecs / schema_decode / schema_output without a registry: the wire format, the codecs, the
numbers, and what a consumer shows (schemas handed in as a registry would)."""

import base64
import json

import pytest
from confluent_kafka.schema_registry import Schema
from hypothesis import given, settings, strategies as st

from kafka_cli.schema.decode import Decoder, SchemaUnavailable
from kafka_cli.schema.wire import split_wire
from kafka_cli.schema.output import SchemaView, to_json
from kafka_cli.schema.codecs import (BadPayload, BadSchema, make_codec, read_message_indexes, write_message_indexes)

USER = ('{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int"},'
        '{"name":"blob","type":"bytes","default":""}]}')
PROTO = 'syntax = "proto3";\npackage t;\nmessage A { string s = 1; message B { int32 n = 1; } }\nmessage C { bool on = 1; }\n'


class Loaded:
    def __init__(self, codec, subject="s-value"):
        self.codec, self.subject = codec, subject


class FakeSource:
    """Schemas by id as SchemaSource gives them; a missing id is unavailable."""

    def __init__(self, schemas):
        self.schemas = {i: Loaded(make_codec(Schema(text, kind), [])) for i, (kind, text) in schemas.items()}

    def load(self, schema_id):
        if schema_id not in self.schemas:
            raise SchemaUnavailable(schema_id, f"schema id {schema_id} is not in the Schema Registry")
        return self.schemas[schema_id]


def framed(schema_id, payload):
    return b"\x00" + schema_id.to_bytes(4, "big") + payload


def test_split_wire():
    assert split_wire(b"\x00\x00\x00\x01\x00abc") == (256, b"abc")
    assert split_wire(b"\x00\x00\x00\x01") is None and split_wire(b"\x01\x00\x00\x00\x01x") is None
    assert split_wire(None) is None


@given(st.lists(st.integers(0, 10_000), min_size=1, max_size=5))
def test_message_indexes_round_trip(indexes):
    data = write_message_indexes(indexes) + b"rest"
    assert read_message_indexes(data) == (indexes, len(data) - 4)


def test_message_indexes_that_end_early_are_a_bad_payload():
    with pytest.raises(BadPayload):
        read_message_indexes(b"\x04\x80")


def test_avro_round_trip_and_poison():
    codec = make_codec(Schema(USER, "AVRO"), [])
    payload = codec.encode({"name": "ann", "age": 3, "blob": b"\xff"})
    assert codec.decode(payload) == {"name": "ann", "age": 3, "blob": b"\xff"}
    with pytest.raises(BadPayload, match="left over"):
        codec.decode(payload + b"\x00")
    with pytest.raises(BadPayload, match="does not fit the Avro schema"):
        codec.encode({"name": "ann", "age": "three"})


def test_protobuf_from_proto_text_nested_type_by_index():
    codec = make_codec(Schema(PROTO, "PROTOBUF"), [])
    nested = codec.encode({"n": 5}, indexes=(0, 0))
    assert nested[:3] == b"\x04\x00\x00"  # two indexes: 0, 0 (zigzag)
    assert codec.decode(nested) == {"n": 5}
    assert codec.decode(codec.encode({"on": True}, indexes=(1,))) == {"on": True}
    with pytest.raises(BadPayload, match="message index"):
        codec.decode(b"\x02\x0e")  # index 7: no such message


def test_protobuf_reference_that_imports_another_reference():
    """References come in load order (a reference's own first); protoc is shown each one's imports."""
    c = Schema('syntax = "proto3";\npackage p;\nmessage C { int32 n = 1; }\n', "PROTOBUF")
    b = Schema('syntax = "proto3";\npackage p;\nimport "c.proto";\nmessage B { C c = 1; }\n', "PROTOBUF")
    a = Schema('syntax = "proto3";\npackage p;\nimport "b.proto";\nmessage A { B b = 1; }\n', "PROTOBUF")
    codec = make_codec(a, [("c.proto", c), ("b.proto", b)])
    assert codec.decode(codec.encode({"b": {"c": {"n": 3}}})) == {"b": {"c": {"n": 3}}}


def test_json_schema_with_a_ref_it_cannot_resolve_is_a_bad_payload_not_a_crash():
    codec = make_codec(Schema('{"type":"object","properties":{"home":{"$ref":"address.json"}}}', "JSON"), [])
    assert codec.encode({"name": "no home"}) == b'{"name":"no home"}'  # the $ref is not reached
    for attempt in (lambda: codec.encode({"home": {}}), lambda: codec.decode(b'{"home":{}}')):
        with pytest.raises(BadPayload, match=r"the JSON schema's \$ref address.json names no schema it has"):
            attempt()


def test_a_schema_that_does_not_parse_and_an_unknown_type():
    with pytest.raises(BadSchema, match="AVRO schema does not parse"):
        make_codec(Schema('{"type":"record"}', "AVRO"), [])
    with pytest.raises(BadSchema, match="XML"):
        make_codec(Schema("<a/>", "XML"), [])


def test_decoder_auto_forced_and_numbers():
    source = FakeSource({1: ("AVRO", USER), 2: ("JSON", '{"type":"object"}')})
    avro = make_codec(Schema(USER, "AVRO"), []).encode({"name": "a", "age": 1, "blob": b""})
    decoded = Decoder(source).decode(framed(1, avro))
    assert (decoded.value["name"], decoded.schema_id, decoded.subject, decoded.kind) == ("a", 1, "s-value", "AVRO")
    assert Decoder(source).decode(b"plain text") is None
    assert Decoder(source, "string").decode(framed(1, avro)) is None
    with pytest.raises(BadPayload, match="is AVRO, not JSON"):
        Decoder(source, "jsonschema").decode(framed(1, avro))
    with pytest.raises(BadPayload, match="^starts with byte 0x70, not Confluent's magic byte 0 .*--value-format avro"):
        Decoder(source, "avro").decode(b"plain")
    with pytest.raises(BadPayload, match="^is 3 bytes, shorter than the 5-byte Confluent header .*--key-format avro"):
        Decoder(source, "avro", "key").decode(b"\x00\x00\x01")
    with pytest.raises(SchemaUnavailable):
        Decoder(source).decode(framed(3, b"x"))
    assert Decoder(source, "integer").decode(b"\xff\xff\xff\xfe").value == -2
    assert Decoder(source, "double").decode(b"\x3f\xf8" + b"\x00" * 6).value == 1.5
    with pytest.raises(BadPayload, match="^is 3 bytes, not a big-endian integer"):
        Decoder(source, "integer").decode(b"abc")


class Message:
    def __init__(self, key, value, offset=0):
        self._key, self._value, self._offset = key, value, offset

    def key(self):
        return self._key

    def value(self):
        return self._value

    def set_key(self, key):  # as confluent_kafka's Message: the schema step puts the shown bytes in
        self._key = key

    def set_value(self, value):
        self._value = value

    def error(self):
        return None

    def topic(self):
        return "t"

    def partition(self):
        return 0

    def offset(self):
        return self._offset

    def timestamp(self):
        return (1, 1000)

    def headers(self):
        return None


def view(output_format, warnings):
    from kafka_cli.consume.formats import FORMATS, Style

    source = FakeSource({1: ("JSON", '{"type":"object","required":["a"]}')})
    style = Style()
    return SchemaView(Decoder(source), Decoder(source), output_format, warnings.append).wrap(
        FORMATS[output_format](style))


def test_text_output_decoded_poison_marked_unknown_said_once():
    warnings = []
    render = view("text", warnings)
    batch = [Message(b"k", framed(1, b'{"a":1}')), Message(b"k", framed(1, b'{"b":1}'), 1), Message(b"k", b"plain", 2),
             Message(b"k", framed(9, b"x"), 3), Message(b"k", framed(9, b"y"), 4)]
    assert render(batch).data.split(b"\n")[:5] == [b'k:{"a":1}', b"k:!poison! " + framed(1, b'{"b":1}'), b"k:plain",
                                                   b"k:" + framed(9, b"x"), b"k:" + framed(9, b"y")]
    assert len(warnings) == 2 and "t [0] @ 1: poison message" in warnings[0] and "id 9" in warnings[1]


def test_json_output_nests_the_decoded_value_and_keeps_the_stored_bytes():
    render = view("json", [])
    line = json.loads(render([Message(b"k", framed(1, b'{"a":[1,2]}'))]).data)
    assert line["value"] == {"a": [1, 2]} and line["value_schema_id"] == 1 and line["value_subject"] == "s-value"
    assert line["value_raw"] == {"base64": "AAAAAAF7ImEiOlsxLDJdfQ=="} and line["key"] == "k"
    assert list(line) == ["topic", "partition", "offset", "timestamp", "key", "value", "value_schema_id",
                          "value_subject", "value_raw", "headers"]


def test_a_batch_without_schema_data_is_rendered_as_before():
    from kafka_cli.consume.formats import FORMATS, Style

    batch = [Message(b"k", b"v"), Message(None, b"\x00\x01")]
    assert view("json", []).__call__(batch).data == FORMATS["json"](Style())(batch).data


def test_to_json_of_avro_specials():
    import datetime
    import decimal

    assert to_json({"b": b"\x00\xff", "d": decimal.Decimal("1.50"), "t": datetime.date(2026, 1, 2),
                    "n": [float("inf")]}) == '{"b":"\\u0000ÿ","d":"1.50","t":"2026-01-02","n":["inf"]}'


def test_json_output_of_a_mixed_batch_escapes_decoded_text_like_the_format_does():
    render = view("json", [])
    batch = [Message(b"k", b"plain"), Message(b"k", framed(1, '{"a":"\u2028\u009b"}'.encode()), 1)]
    first, second = render(batch).data.decode().splitlines()
    assert json.loads(first)["value"] == "plain" and "value_raw" not in first
    assert "\\u2028\\u009b" in second and json.loads(second)["value"] == {"a": "\u2028\u009b"}


@pytest.mark.parametrize("output_format", ["text", "verbose"])
def test_the_short_way_after_the_first_decode_shows_what_the_long_way_shows(output_format):
    """The first payload of a schema id is decoded the long way; later ones take the cached short way: same bytes."""
    from confluent_kafka import Message as KafkaMessage

    render = view(output_format, [])
    payload = framed(1, '{"a":"\u00e9","b":[1.5,null]}'.encode())
    batch = [KafkaMessage(topic="t", partition=0, offset=0, key=b"k", value=payload, timestamp=(1, 1000))
             for _ in range(3)]
    first, second, third = render(batch).data.split(b"\n")[:3]
    assert b'{"a":"\xc3\xa9","b":[1.5,null]}' in first
    if output_format == "verbose":
        assert first.endswith(b"  [JSON schema 1 s-value; stored: " + base64.b64encode(payload) + b"]")
    assert first == second == third


BYTES_SCHEMA = json.dumps({"type": "record", "name": "Blob", "namespace": "t", "fields": [
    {"name": "raw", "type": "bytes"},
    {"name": "id", "type": {"type": "fixed", "name": "Id", "size": 4}},
    {"name": "maybe", "type": ["null", "bytes"]},
    {"name": "text_or_bytes", "type": ["string", "bytes"]},
    {"name": "many", "type": {"type": "array", "items": "bytes"}},
    {"name": "by_name", "type": {"type": "map", "values": "t.Id"}},
    {"name": "price", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
    {"name": "inner", "type": ["null", {"type": "record", "name": "Inner", "fields": [{"name": "b", "type": "bytes"}]}]},
]})


@settings(deadline=None)  # what it checks is the output, not the time: a loaded machine must not fail it
@given(raw=st.binary(max_size=20), ident=st.binary(min_size=4, max_size=4), maybe=st.none() | st.binary(max_size=5),
       text=st.text(max_size=5), many=st.lists(st.binary(max_size=4), max_size=3),
       by_name=st.dictionaries(st.text(max_size=3), st.binary(min_size=4, max_size=4), max_size=2),
       cents=st.integers(-10**8, 10**8), inner=st.none() | st.binary(max_size=5))
def test_avro_bytes_as_the_consumer_shows_them_are_written_back_to_the_same_payload(raw, ident, maybe, text, many,
                                                                                      by_name, cents, inner):
    """consumer.py prints bytes and fixed one character per byte and a decimal as its digits; the producer,
    handed that JSON, writes the record's very bytes again. (A union of string and bytes holding bytes is the one
    thing the JSON cannot tell apart: it is written as the string; -f json's value_raw keeps such a record exact.)"""
    import decimal

    codec = make_codec(Schema(BYTES_SCHEMA, "AVRO"), [])
    record = {"raw": raw, "id": ident, "maybe": maybe, "text_or_bytes": text, "many": many, "by_name": by_name,
              "price": decimal.Decimal(cents).scaleb(-2), "inner": None if inner is None else {"b": inner}}
    payload = codec.encode(record)
    shown = json.loads(to_json(codec.decode(payload)))
    assert codec.encode(shown) == payload


def test_a_character_above_one_byte_in_a_bytes_field_is_a_bad_record():
    codec = make_codec(Schema(BYTES_SCHEMA, "AVRO"), [])
    with pytest.raises(BadPayload, match="does not fit the Avro schema"):
        codec.encode({"raw": "\u20ac", "id": "abcd", "maybe": None, "text_or_bytes": "", "many": [], "by_name": {},
                      "price": "1.00", "inner": None})


def test_json_output_the_short_way_matches_the_long_way_and_a_poison_message_keeps_its_bytes():
    from confluent_kafka import Message as KafkaMessage

    warnings = []
    render = view("json", warnings)
    good, poison = framed(1, '{"a":"\u00e9\u2028"}'.encode()), framed(1, b'{"b":1}')
    batch = [KafkaMessage(topic="t", partition=0, offset=0, key=b"k", value=value, timestamp=(1, 1000))
             for value in (good, good, poison, b"plain", good)]
    lines = render(batch).data.split(b"\n")
    assert lines[0] == lines[1] == lines[4] and lines[5] == b""
    first = json.loads(lines[0])
    assert first == {"topic": "t", "partition": 0, "offset": 0, "timestamp": 1000, "key": "k",
                     "value": {"a": "\u00e9\u2028"}, "value_schema_id": 1, "value_subject": "s-value",
                     "value_raw": {"base64": base64.b64encode(good).decode()}, "headers": []}
    assert b"\\u2028" in lines[0]  # escaped as the format escapes message data
    bad = json.loads(lines[2])
    assert bad["value"] == poison.decode() and bad["value_schema_id"] == 1  # as the format shows any bytes
    assert bad["value_error"].startswith("poison: ") and list(bad)[5:8] == ["value", "value_schema_id", "value_error"]
    assert json.loads(lines[3])["value"] == "plain" and len(warnings) == 1


def fate(data):
    """What the schema step must make of a key or value, worked out here from the wire format and view()'s one
    schema (id 1: a JSON object with "a"), not by the code under test: (what, detail) with what one of null,
    plain (not the wire format), unknown (an id the registry lacks; detail the id), decoded (detail the document)
    or poison (id 1, but not such an object)."""
    if data is None:
        return "null", None
    if len(data) < 5 or data[0] != 0:
        return "plain", None
    schema_id = int.from_bytes(data[1:5], "big")
    if schema_id != 1:
        return "unknown", schema_id
    try:
        document = json.loads(data[5:].decode("utf-8"))
    except ValueError:
        return "poison", None
    return ("decoded", document) if isinstance(document, dict) and "a" in document else ("poison", None)


def compact(document):
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def as_text(data):
    """-f text's bytes for a key or value (the default style: null as nothing, bytes as they are)."""
    what, detail = fate(data)
    if what == "null":
        return b""
    if what == "decoded":
        return compact(detail)
    return b"!poison! " + data if what == "poison" else data


def as_json_field(data):
    """How -f json shows stored bytes: a string for UTF-8, {"base64": ...} for anything else, null for null."""
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode()}


@settings(deadline=None)  # what it checks is the output, not the time: a loaded machine must not fail it
@given(values=st.lists(st.one_of(st.binary(max_size=30), st.builds(framed, st.sampled_from([1, 9]), st.binary(max_size=20)),
                                 st.just(framed(1, b'{"a":1}')), st.none()), min_size=1, max_size=12),
       keys=st.lists(st.one_of(st.binary(max_size=8), st.none(), st.just(framed(1, b'{"a":"k"}'))), min_size=12,
                     max_size=12),
       output_format=st.sampled_from(["text", "json", "verbose"]))
def test_any_bytes_through_the_schema_step_one_line_each_never_an_exception(values, keys, output_format):
    """Whatever another client wrote (schema'd, poison, unknown ids, plain, null), mixed in one batch: one line per
    message, each what the schema step makes of that message (decoded JSON, a poison mark, the bytes as stored),
    each -f json line a JSON object holding the message's offset, the decoded object with its schema id and the
    stored bytes in *_raw, or the bytes as stored with the reason they were not decoded."""
    from confluent_kafka import Message as KafkaMessage

    render = view(output_format, [])
    batch = [KafkaMessage(topic="t", partition=0, offset=n, key=key, value=value, timestamp=(1, 1000))
             for n, (key, value) in enumerate(zip(keys, values))]
    stored = [(m.key(), m.value()) for m in batch]
    data = render(batch).data
    if output_format == "text":
        assert data == b"".join(as_text(key) + b":" + as_text(value) + b"\n" for key, value in stored)
    elif output_format == "verbose":  # every byte escaped: a message is one line, whatever its bytes
        lines = data.split(b"\n")
        assert len(lines) == len(batch) + 1 and lines[-1] == b""
        for offset, (line, (key, value)) in enumerate(zip(lines, stored)):
            assert line.startswith(b"t [0] @ %d  1970-01-01T00:00:01.000Z  key=" % offset), line
            shown_value = line.split(b"  value=", 1)[1]
            what, detail = fate(value)
            if what == "decoded":
                assert shown_value == compact(detail) + b"  [JSON schema 1 s-value; stored: %s]" % (
                    base64.b64encode(value)), line
            elif what == "null":
                assert shown_value == b"null", line
            else:
                # (a plain value may itself begin with the mark's bytes: hypothesis wrote b"!poison! " once)
                assert shown_value.startswith(b"!poison! ") == (what == "poison" or value.startswith(b"!poison! ")), \
                    line
    else:
        records = [json.loads(line) for line in data.decode("utf-8", "surrogateescape").split("\n")[:-1]]
        assert [r["offset"] for r in records] == list(range(len(batch)))
        for record, (key, value) in zip(records, stored):
            for side, stored_bytes in (("key", key), ("value", value)):
                what, detail = fate(stored_bytes)
                nested = {name: record[name] for name in record if name.startswith(side + "_")}
                if what == "decoded":
                    assert record[side] == detail
                    assert nested == {f"{side}_schema_id": 1, f"{side}_subject": "s-value",
                                      f"{side}_raw": {"base64": base64.b64encode(stored_bytes).decode()}}, record
                    continue
                assert record[side] == as_json_field(stored_bytes), record
                if what in ("null", "plain"):
                    assert nested == {}, record
                else:  # not decoded: the bytes as stored, the schema id they name, and why
                    schema_id = 1 if what == "poison" else detail
                    assert nested.keys() == {f"{side}_schema_id", f"{side}_error"}, record
                    assert nested[f"{side}_schema_id"] == schema_id, record
                    assert nested[f"{side}_error"].startswith("poison: " if what == "poison" else
                                                              f"schema id {schema_id} "), record


@pytest.mark.parametrize("fmt, value", [("jsonschema", b"plain"), ("integer", b"\x00\x00\x01")])
def test_a_forced_format_refuses_bytes_that_name_no_schema_id(fmt, value):
    """Poison bytes outside the wire format (a forced schema type, a number of the wrong size) name no schema id:
    -f json says why, without a value_schema_id (schema.output._schema_id's None)."""
    from kafka_cli.consume.formats import FORMATS, Style

    warnings = []
    source = FakeSource({})
    render = SchemaView(None, Decoder(source, fmt), "json", warnings.append).wrap(FORMATS["json"](Style()))
    record = json.loads(render([Message(b"k", value)]).data)
    assert record["value_error"].startswith("poison: ") and "value_schema_id" not in record
    assert len(warnings) == 1 and warnings[0].startswith("t [0] @ 0: poison message: the value ")
