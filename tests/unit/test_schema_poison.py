"""A poison message's reason is about its bytes (kafka_cli/schema/poison.py): where the bytes end, which field,
which byte, what is wrong there; never Python's own words ("IndexError: string index out of range", a class
name, a traceback), whatever the bytes."""

import builtins
import json

import pytest
from confluent_kafka.schema_registry import Schema
from hypothesis import given, settings, strategies as st

from kafka_cli.schema.codecs import BadPayload, make_codec
from kafka_cli.schema.decode import Decoder
from kafka_cli.schema.output import _VERBS

USER = json.dumps({"type": "record", "name": "User", "namespace": "t", "fields": [
    {"name": "name", "type": "string"},
    {"name": "age", "type": "int"},
    {"name": "email", "type": ["null", "string"]},
    {"name": "color", "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}},
    {"name": "born", "type": {"type": "int", "logicalType": "date"}},
    {"name": "tags", "type": {"type": "array", "items": "string"}},
    {"name": "counts", "type": {"type": "map", "values": "long"}},
    {"name": "score", "type": "double"},
    {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "seen", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "home", "type": {"type": "record", "name": "Address", "fields": [
        {"name": "city", "type": "string"}, {"name": "code", "type": {"type": "fixed", "name": "Code", "size": 4}},
        {"name": "flag", "type": "boolean"}, {"name": "ratio", "type": "float"}]}},
]})
USER_RECORD = {"name": "ann", "age": 41, "email": "ann@example.com", "color": "GREEN", "born": 19000,
               "tags": ["a", "bc"], "counts": {"k": 7}, "score": 1.5, "id": "12345678-1234-5678-1234-567812345678",
               "seen": 1_700_000_000_000, "home": {"city": "Oslo", "code": "0150", "flag": True, "ratio": 0.5}}
ORDER = """syntax = "proto3";
package t;
message Order {
  string item = 1;
  int64 id = 2;
  Line first = 3;
  repeated int32 counts = 4;
  double price = 5;
  map<string, int32> stock = 6;
  fixed32 code = 7;
  message Line { string sku = 1; fixed64 weight = 2; }
}
"""
ORDER_DOCUMENT = {"item": "pen\u00e9", "id": "123456789012", "first": {"sku": "p-1", "weight": "9"},
                  "counts": [1, 2, 300], "price": 2.5, "stock": {"oslo": 3}, "code": 7}
DOCUMENT = '{"name": "ann", "tags": ["a", "\u00e9"], "home": {"city": null}, "n": [1.5, -2e3]}'.encode()

CODECS = {"avro": make_codec(Schema(USER, "AVRO"), []), "protobuf": make_codec(Schema(ORDER, "PROTOBUF"), []),
          "json": make_codec(Schema('{"type":"object"}', "JSON"), [])}
PAYLOADS = {"avro": CODECS["avro"].encode(USER_RECORD), "protobuf": CODECS["protobuf"].encode(ORDER_DOCUMENT),
            "json": DOCUMENT}
# Every exception class Python has, and the ones the serde libraries raise: none may reach a reason.
PYTHON_WORDS = {name for name in dir(builtins) if isinstance(getattr(builtins, name), type)
                and issubclass(getattr(builtins, name), BaseException)} | {
    "DecodeError", "JSONDecodeError", "SchemaResolutionError", "Traceback", "Error parsing message",
    "Wire format was corrupt", "index out of range", "codec can't decode", "invalid literal for int()"}


def reason_of(kind, payload):
    """The BadPayload reason for `payload` (5 is where a payload starts after Confluent's header), or None if it
    decodes."""
    try:
        CODECS[kind].decode(payload, 5)
    except BadPayload as e:
        return str(e)
    return None


def assert_words_about_data(reason):
    assert "\n" not in reason and reason.startswith(_VERBS), reason
    assert not [word for word in PYTHON_WORDS if word in reason], reason


@st.composite
def damaged(draw):
    """(kind, a valid payload cut short, with bytes changed, inserted or dropped)."""
    kind = draw(st.sampled_from(sorted(PAYLOADS)))
    payload = bytearray(PAYLOADS[kind])
    for _ in range(draw(st.integers(1, 4))):
        how = draw(st.sampled_from(["cut", "change", "insert", "drop"]))
        at = draw(st.integers(0, max(len(payload) - 1, 0)))
        if how == "cut":
            del payload[at:]
        elif how == "change" and payload:
            payload[at] = draw(st.integers(0, 255))
        elif how == "insert":
            payload[at:at] = draw(st.binary(min_size=1, max_size=3))
        elif payload:
            del payload[at]
    return kind, bytes(payload)


@settings(max_examples=1500, deadline=None)
@given(damaged())
def test_a_damaged_payload_decodes_or_is_said_in_words_about_its_bytes(case):
    """For Avro and Protobuf the walk finds the fault itself: the bare fallback ("is not Avro of this schema")
    would mean the library refused bytes the walk thinks fine."""
    kind, payload = case
    reason = reason_of(kind, payload)
    if reason is not None:
        assert_words_about_data(reason)
        assert reason not in ("is not Avro of this schema", "is not Protobuf of this schema"), payload


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(PAYLOADS)), payload=st.binary(max_size=120))
def test_any_bytes_at_all_decode_or_are_said_in_words(kind, payload):
    reason = reason_of(kind, payload)
    if reason is not None:
        assert_words_about_data(reason)


def avro(record):
    return CODECS["avro"].encode({**USER_RECORD, **record})


def test_an_avro_record_cut_short_says_how_many_fields_it_holds_and_where_it_ends():
    payload = avro({})
    assert payload[:7] == b"\x06ann\x52\x02\x1e"  # name, age 41, the union's second branch, 15 bytes of email
    assert reason_of("avro", payload[:9]) == ("ends after 2 of 11 fields of its Avro record (at field 'email', "
                                              "byte 11: a string of 15 bytes, 2 left)")
    assert reason_of("avro", b"") == ("ends after 0 of 11 fields of its Avro record (at field 'name', byte 5: "
                                      "inside a number)")
    home = payload.index(b"\x08Oslo")
    assert reason_of("avro", payload[:home + 3]) == (
        f"ends after 10 of 11 fields of its Avro record (at field 'home.city', byte {5 + home}: a string of 4 "
        "bytes, 2 left)")


def test_avro_faults_name_the_field_and_the_byte():
    payload = bytearray(avro({}))
    color = 4 + 1 + 1 + 16  # name, age, the union's branch, the email
    assert payload[color] == 2  # GREEN, zigzag
    payload[color] = 14
    assert reason_of("avro", bytes(payload)) == (f"has enum symbol 7 at byte {5 + color} in field 'color', of an "
                                                 "enum of 2")
    assert reason_of("avro", b"\x06ann" + b"\xff" * 11) == "has a bad varint at byte 9 in field 'age' (longer " \
                                                             "than 10 bytes)"
    assert reason_of("avro", b"\x06a\xffn\x02\x08") == ("has a string that is not UTF-8 at byte 5 in field 'name' "
                                                        "(byte 0xff at byte 7)")
    assert reason_of("avro", b"\x05") == "has a negative length (-3) at byte 5 in field 'name'"
    assert reason_of("avro", b"\x00\x00\x06") == "has union branch 3 at byte 7 in field 'email', of a union of 2"
    assert reason_of("avro", avro({}) + b"\x00\x00") == (f"has 2 bytes left over after its Avro record (from "
                                                         f"byte {5 + len(avro({}))})")


def test_an_avro_value_its_logical_type_cannot_hold():
    payload = avro({"id": "x" * 36})
    reason = reason_of("avro", payload)
    assert reason.startswith("has a value at byte ") and reason.endswith(
        f"in field 'id' that its logical type uuid cannot hold ({'x' * 36})"), reason


def test_protobuf_faults_say_where():
    payload = PAYLOADS["protobuf"]
    assert payload[:2] == b"\x00\x0a"  # message index [0], then field 1 (item), length-delimited
    assert reason_of("protobuf", payload[:5]) == ("is a Protobuf message truncated at byte 8 in field 'item' "
                                                  "(it says 5 bytes, 2 are left)")
    assert reason_of("protobuf", b"\x00\x0f") == ("has wire type 7 at byte 6 (field 1), which Protobuf does not "
                                                  "have")
    assert reason_of("protobuf", b"\x00\x10" + b"\xff" * 11) == "has a bad varint at byte 7 in field 'id' " \
                                                                "(longer than 10 bytes)"
    assert reason_of("protobuf", b"\x00\x0a\x02\xc3\x28") == ("has a string that is not UTF-8 at byte 8 in field "
                                                              "'item' (byte 0xc3 at byte 8)")
    assert reason_of("protobuf", b"\x00\x1a\x02\x0a\x05") == ("is a Protobuf message truncated at byte 10 in field "
                                                              "'first.sku' (it says 5 bytes, 0 are left)")


def test_json_faults_say_the_byte():
    assert reason_of("json", b'{"a": tru}') == "is not valid JSON at byte 11: expecting value"
    assert reason_of("json", '{"\u00e9": }'.encode()) == "is not valid JSON at byte 12: expecting value"
    assert reason_of("json", b'{"a": "\xff"}') == ("is not UTF-8 text, as JSON is: byte 0xff at byte 12 (invalid "
                                                   "start byte)")
    assert reason_of("json", b'"abc') == "is not valid JSON at byte 5: unterminated string"


class Source:
    """One schema id (1) of each kind, as SchemaSource hands them out."""

    def __init__(self, codec):
        self.codec, self.subject = codec, "s"

    def load(self, schema_id):
        return self


@pytest.mark.parametrize("data, words", [
    (b"\x00\x00\x01", "is 3 bytes, shorter than the 5-byte Confluent header (magic byte 0, schema id) as "
                      "--value-format avro needs"),
    (b"", "is 0 bytes, shorter than the 5-byte Confluent header (magic byte 0, schema id) as --value-format avro "
          "needs"),
    (b"{\"a\":1}", "starts with byte 0x7b, not Confluent's magic byte 0 (then the schema id), as --value-format "
                   "avro needs"),
])
def test_bytes_a_forced_format_cannot_read_are_said_by_their_size_or_first_byte(data, words):
    with pytest.raises(BadPayload) as caught:
        Decoder(Source(CODECS["avro"]), "avro").decode(data)
    assert str(caught.value) == words


def test_the_byte_counts_from_the_start_of_the_stored_value():
    """The payload after Confluent's 5-byte header: its first byte is byte 5 of what -f json's value_raw holds."""
    with pytest.raises(BadPayload) as caught:
        Decoder(Source(CODECS["json"])).decode(b"\x00\x00\x00\x00\x01{]")
    assert str(caught.value) == "is not valid JSON at byte 6: expecting property name enclosed in double quotes"


@settings(max_examples=200, deadline=None)
@given(cases=st.lists(damaged(), min_size=1, max_size=8), output_format=st.sampled_from(["json", "verbose"]))
def test_through_the_consumer_every_damaged_message_is_one_line_and_its_warning_words_about_data(cases,
                                                                                               output_format):
    """The whole schema step, as consumer.py runs it: each schema type under its own id; the run goes on, one line
    per message (-f text writes the bytes raw, newlines too), each poison message warned once with its place and words about its bytes (in -f json, the same
    words in value_error)."""
    from confluent_kafka import Message

    from kafka_cli.consume.formats import FORMATS, Style
    from kafka_cli.schema.output import SchemaView

    ids = {"avro": 1, "protobuf": 2, "json": 3}

    class Sources:
        def load(self, schema_id):
            return Source(CODECS[{v: k for k, v in ids.items()}[schema_id]])

    warnings = []
    render = SchemaView(None, Decoder(Sources()), output_format, warnings.append).wrap(FORMATS[output_format](Style()))
    batch = [Message(topic="t", partition=0, offset=n, key=b"k", timestamp=(1, 1000),
                     value=b"\x00" + ids[kind].to_bytes(4, "big") + payload) for n, (kind, payload) in enumerate(cases)]
    lines = render(batch).data.split(b"\n")
    assert len(lines) == len(cases) + 1 and lines[-1] == b""
    poison = [n for n, (kind, payload) in enumerate(cases) if reason_of(kind, payload) is not None]
    assert [w.split(": poison message: ")[0] for w in warnings] == [f"t [0] @ {n}" for n in poison]
    for warning, n in zip(warnings, poison):
        kind, payload = cases[n]
        assert warning == f"t [0] @ {n}: poison message: the value {reason_of(kind, payload)}"
        assert_words_about_data(warning.split(": poison message: the value ")[1])
        if output_format == "json":
            assert json.loads(lines[n])["value_error"] == f"poison: the value {reason_of(kind, payload)}"
