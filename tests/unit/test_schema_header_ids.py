"""Confluent's header framing: the schema named in a __value_schema_id / __key_schema_id header (magic byte 1 and a
16-byte GUID, or magic byte 0 and a schema id; then Protobuf's message indexes), the payload the encoded data alone.
Messages here are written by confluent-kafka's own serializers with its header_schema_id_serializer (against its
in-process mock registry, which gives GUIDs), and read by our decoder and the consumer's schema step; header
bytes from anyone are read or refused in words, never a crash."""

import base64
import json
import re
import uuid

import pytest
from confluent_kafka import Message
from confluent_kafka.schema_registry import Schema, header_schema_id_serializer, topic_subject_name_strategy
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from hypothesis import given, settings, strategies as st

from kafka_cli.consume.formats import FORMATS, Style
from kafka_cli.schema.codecs import BadPayload, make_codec
from kafka_cli.schema.decode import Decoder, SchemaSource, SchemaUnavailable
from kafka_cli.schema.output import SchemaView
from kafka_cli.schema.wire import BadHeader, HeaderId, header_schema_id

USER_AVRO = ('{"type":"record","name":"User","namespace":"test","fields":[{"name":"name","type":"string"},'
             '{"name":"age","type":"int"}]}')
ORDER_JSON = ('{"type":"object","properties":{"id":{"type":"integer"},"item":{"type":"string"}},'
              '"required":["id","item"]}')
ORDER_PROTO = """syntax = "proto3";
package test;
message Order {
  int64 id = 1;
  string item = 2;
  message Line { string sku = 1; int32 qty = 2; }
}
"""


def proto_message_class(name="Order"):
    """A message class of ORDER_PROTO built at run time (no generated code), for ProtobufSerializer."""
    from google.protobuf import descriptor_pool
    from google.protobuf.message_factory import GetMessageClass

    from kafka_cli.schema.codecs import proto_text_to_descriptor

    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(proto_text_to_descriptor("order.proto", ORDER_PROTO).SerializeToString())
    return GetMessageClass(pool.FindMessageTypeByName(f"test.{name}"))

HEADER_SERDE = {"auto.register.schemas": True, "schema.id.serializer": header_schema_id_serializer,
                "subject.name.strategy": topic_subject_name_strategy}


class Written:
    """Keys and values written by confluent-kafka's serializers with the schema id in a header."""

    def __init__(self):
        self.registry = MockSchemaRegistryClient({"url": "mock://header-ids"})

    def avro(self, record, field=MessageField.VALUE, schema=USER_AVRO):
        return self._write(AvroSerializer(self.registry, schema, conf=HEADER_SERDE), record, field)

    def json(self, document):
        return self._write(JSONSerializer(ORDER_JSON, self.registry, conf=HEADER_SERDE), document, MessageField.VALUE)

    def protobuf(self, message, field=MessageField.VALUE):
        conf = {**HEADER_SERDE, "use.deprecated.format": False}
        return self._write(ProtobufSerializer(type(message), self.registry, conf=conf), message, field)

    def _write(self, serializer, obj, field):
        headers = []
        data = serializer(obj, SerializationContext("t", field, headers))
        return data, headers

    def schema(self, guid):
        return self.registry.get_schema_by_guid(guid)


def guid_of(headers):
    return str(uuid.UUID(bytes=headers[0][1][1:17]))


class Loaded:
    def __init__(self, codec, subject=None):
        self.codec, self.subject = codec, subject


class Source:
    """Schemas by GUID (and id) as SchemaSource hands them out; anything else is unavailable, said as an
    unknown GUID is."""

    def __init__(self, schemas):
        self.schemas = {key: Loaded(make_codec(schema, [])) for key, schema in schemas.items()}
        self.asked = []

    def load(self, key):
        self.asked.append(key)
        if key not in self.schemas:
            raise SchemaUnavailable(key, f"schema GUID {key} is not in the Schema Registry at http://r")
        return self.schemas[key]


@pytest.fixture(scope="module")
def written():
    return Written()


# -- the header's bytes ------------------------------------------------------------------------------------
def test_a_guid_header_as_confluents_serializer_writes_it(written):
    data, headers = written.avro({"name": "ann", "age": 0})
    assert data == b"\x06ann\x00"  # the payload is the record alone, and here starts with no magic byte at all
    named = header_schema_id(headers, "value")
    assert named.guid == guid_of(headers) and named.schema_id is None and named.rest == b""
    assert header_schema_id(headers, "key") is None and header_schema_id(None, "value") is None


@pytest.mark.parametrize("value, words", [
    (b"", "has an empty __value_schema_id header"),
    (None, "has a __value_schema_id header without a value"),
    (b"\x01" + b"\x11" * 15, "has a __value_schema_id header of 16 bytes, shorter than magic byte 1 and a 16-byte "
                             "GUID"),
    (b"\x00\x00\x01", "has a __value_schema_id header of 3 bytes, shorter than magic byte 0 and a 4-byte schema id"),
    (b"\x07" + b"\x00" * 16, "has a __value_schema_id header starting with byte 0x07: neither 1 (then a schema GUID) "
                             "nor 0 (then a schema id)"),
])
def test_header_bytes_that_name_no_schema_are_said(value, words):
    with pytest.raises(BadHeader) as caught:
        header_schema_id([("__value_schema_id", value)], "value")
    assert str(caught.value) == words


def test_duplicate_headers_are_read_when_alike_and_refused_when_not():
    one, other = b"\x01" + b"\x11" * 16, b"\x01" + b"\x22" * 16
    assert header_schema_id([("__value_schema_id", one), ("x", b""), ("__value_schema_id", one)], "value").guid == \
        "11111111-1111-1111-1111-111111111111"
    with pytest.raises(BadHeader, match="^has 2 __value_schema_id headers that differ"):
        header_schema_id([("__value_schema_id", one), ("__value_schema_id", other)], "value")


def test_a_schema_id_in_the_header_is_read_as_confluents_deserializers_read_it():
    named = header_schema_id([("__key_schema_id", b"\x00\x00\x00\x01\x00\x02\x02")], "key")
    assert (named.schema_id, named.guid, named.rest, named.key) == (256, None, b"\x02\x02", 256)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["__value_schema_id", "__key_schema_id", "other"]),
                          st.none() | st.binary(max_size=24)), max_size=4))
def test_any_headers_name_a_schema_or_are_refused_in_words(headers):
    for side in ("key", "value"):
        try:
            named = header_schema_id(headers, side)
        except BadHeader as e:
            assert str(e).startswith("has ") and f"__{side}_schema_id" in str(e)
            continue
        assert named is None or isinstance(named, HeaderId)
        if named is not None:  # what reaches the registry's URL: a number, or 32 hex digits in a GUID's groups
            assert isinstance(named.key, int) or re.fullmatch("[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", named.key)


# -- decoding what Confluent's serializers wrote -------------------------------------------------------------
def test_avro_json_and_protobuf_keys_and_values_decode_by_their_guid(written):
    avro, avro_headers = written.avro({"name": "ann", "age": 3})
    js, js_headers = written.json({"id": 1, "item": "tea"})
    line = proto_message_class(name="Order.Line")
    proto, proto_headers = written.protobuf(line(sku="p-1", qty=2), MessageField.KEY)
    assert proto_headers[0][1][17:] == b"\x04\x00\x00"  # Order.Line's message indexes [0, 0], in the header
    guids = [guid_of(h) for h in (avro_headers, js_headers, proto_headers)]
    source = Source({guid: written.schema(guid) for guid in guids})
    decoded = Decoder(source).decode(avro, avro_headers)
    assert (decoded.value, decoded.guid, decoded.schema_id, decoded.kind, decoded.in_header) == (
        {"name": "ann", "age": 3}, guids[0], None, "AVRO", True)
    assert Decoder(source, "jsonschema").decode(js, js_headers).value == {"id": 1, "item": "tea"}
    assert Decoder(source, "auto", "key").decode(proto, proto_headers).value == {"sku": "p-1", "qty": 2}
    assert Decoder(source, "auto", "value").decode(proto, proto_headers) is None  # a key's header names no value


def test_the_header_is_read_before_a_payload_that_starts_like_the_payload_framing(written):
    """An Avro record whose first field is 0 starts with byte 0: with a header, it is data (Confluent's rule)."""
    schema = '{"type":"record","name":"N","fields":[{"name":"n","type":"int"},{"name":"s","type":"string"}]}'
    data, headers = written.avro({"n": 0, "s": "abcd"}, schema=schema)
    assert data == b"\x00\x08abcd"  # looks like magic byte 0 and schema id 0x08616263
    source = Source({guid_of(headers): written.schema(guid_of(headers))})
    assert Decoder(source).decode(data, headers).value == {"n": 0, "s": "abcd"}
    assert source.asked == [guid_of(headers)]
    with pytest.raises(BadPayload) as caught:
        Decoder(source).decode(b"\x00\x08abc", headers)
    assert str(caught.value) == (
        "ends after 1 of 2 fields of its Avro record (at field 's', byte 1: a string of 4 bytes, 3 left) (its "
        "__value_schema_id header is read, as Confluent's deserializers read it, though the value also starts as "
        f"the payload framing of schema id {0x08616263} does)")


def test_header_bytes_beside_a_schema_that_takes_none_are_said(written):
    data, headers = written.avro({"name": "ann", "age": 3})
    guid = guid_of(headers)
    source = Source({guid: written.schema(guid)})
    with pytest.raises(BadPayload, match=f"^has 2 bytes after the schema GUID {guid} in its __value_schema_id header, "
                                         "which only a Protobuf schema's message indexes take$"):
        Decoder(source).decode(data, [("__value_schema_id", headers[0][1] + b"\x02\x00")])
    with pytest.raises(BadPayload, match=f"^names schema GUID {guid} in its __value_schema_id header, which is AVRO, "
                                         "not PROTOBUF as asked$"):
        Decoder(source, "protobuf").decode(data, headers)


def test_protobuf_message_indexes_missing_or_broken_in_the_header_are_said(written):
    proto, headers = written.protobuf(proto_message_class()(id=5, item="pen"))
    guid = guid_of(headers)
    source = Source({guid: written.schema(guid)})
    bare = headers[0][1][:17]
    for rest, words in [(b"", f"has no Protobuf message indexes after the schema GUID {guid} in its __value_schema_id "
                              "header"),
                        (b"\x04\x00", "has a __value_schema_id header whose message indexes are unreadable: the bytes "
                                      "end inside a number"),
                        (b"\x00\x00", "has 1 byte after the message indexes in its __value_schema_id header")]:
        with pytest.raises(BadPayload) as caught:
            Decoder(source).decode(proto, [("__value_schema_id", bare + rest)])
        assert str(caught.value) == words


# -- the consumer's schema step --------------------------------------------------------------------------------
def message(value, headers, offset=0, key=b"k"):
    return Message(topic="t", partition=0, offset=offset, key=key, value=value, headers=headers, timestamp=(1, 1000))


def rendered(source, batch, output_format="text"):
    warnings = []
    view = SchemaView(Decoder(source, "auto", "key"), Decoder(source), output_format, warnings.append)
    return view.wrap(FORMATS[output_format](Style()))(batch).data, warnings


def test_a_header_message_after_a_learnt_payload_id_is_not_taken_for_it(written):
    """The short way keys a payload's first 5 bytes once a schema id decoded; a header-named value whose data
    starts with those very bytes must still be read by its header."""
    schema = '{"type":"record","name":"N","fields":[{"name":"n","type":"int"},{"name":"s","type":"string"}]}'
    data, headers = written.avro({"n": 0, "s": "abcd"}, schema=schema)
    guid = guid_of(headers)
    learnt_id = int.from_bytes(data[1:5], "big")
    source = Source({guid: written.schema(guid), learnt_id: Schema('"string"', "AVRO")})
    payload_framed = data[:5] + b"\x04hi"
    for output_format in ("text", "json"):
        out, warnings = rendered(source, [message(payload_framed, None), message(data, headers, 1),
                                          message(payload_framed, None, 2), message(data, headers, 3)], output_format)
        lines = out.split(b"\n")[:-1]
        if output_format == "text":
            assert lines == [b'k:"hi"', b'k:{"n":0,"s":"abcd"}'] * 2 and warnings == []
        else:
            records = [json.loads(line) for line in lines]
            assert [r["value"] for r in records] == ["hi", {"n": 0, "s": "abcd"}] * 2
            assert records[1]["value_schema_guid"] == guid and "value_schema_id" not in records[1]
            assert records[1]["value_raw"] == {"base64": base64.b64encode(data).decode()}
            assert records[0]["value_schema_id"] == learnt_id and "value_schema_guid" not in records[0]


def test_verbose_names_the_guid(written):
    data, headers = written.avro({"name": "ann", "age": 3})
    guid = guid_of(headers)
    out, _ = rendered(Source({guid: written.schema(guid)}), [message(data, headers)], "verbose")
    assert f'  value={{"name":"ann","age":3}}  [AVRO schema GUID {guid}; stored: {base64.b64encode(data).decode()}]  ' \
           f'headers: __value_schema_id='.encode() in out


def test_an_unknown_guid_is_said_once_and_its_values_shown_as_stored(written):
    data, headers = written.avro({"name": "ann", "age": 3})
    guid = guid_of(headers)
    out, warnings = rendered(Source({}), [message(data, headers, n) for n in range(3)], "json")
    assert warnings == [f"t [0] @ 0: the value schema (GUID {guid}) cannot be had: schema GUID {guid} is not in the "
                        "Schema Registry at http://r; values with this schema GUID are shown as stored bytes"]
    record = json.loads(out.split(b"\n")[2])
    assert record["value"] == data.decode() and record["value_schema_guid"] == guid
    assert record["value_error"] == f"schema GUID {guid} is not in the Schema Registry at http://r"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["__value_schema_id", "__key_schema_id", "x"]),
                          st.none() | st.binary(max_size=20) | st.sampled_from([b"\x01" + b"\x11" * 16,
                                                                                b"\x01" + b"\x11" * 16 + b"\x00"])),
                max_size=3), st.binary(max_size=12), st.sampled_from(["text", "json", "verbose"]))
def test_any_headers_beside_any_bytes_one_line_and_never_an_exception(headers, value, output_format):
    source = Source({"11111111-1111-1111-1111-111111111111": Schema('"string"', "AVRO")})
    out, warnings = rendered(source, [message(value, headers, key=None)], output_format)
    assert out.endswith(b"\n") and (output_format == "text" or out.count(b"\n") == 1)
    assert all("Error" not in w and "Traceback" not in w for w in warnings)


# -- the registry's answers ------------------------------------------------------------------------------
class Settings:
    conf = {"url": "http://registry:8081", "timeout": 5}
    url = conf["url"]


class Client:
    """Answers every GUID lookup as `error` does; counts the lookups."""

    def __init__(self, error):
        self.error, self.asked = error, []

    def get_schema_by_guid(self, guid):
        self.asked.append(guid)
        raise self.error


def test_a_registry_that_does_not_serve_guids_is_said_and_not_asked_again():
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    client = Client(SchemaRegistryError(404, -1, "Unknown Schema Registry Error: b''"))  # Apicurio 3.3.3's answer
    source = SchemaSource(Settings(), client)
    words = ("this registry cannot look up schema GUIDs (the Schema Registry at http://registry:8081 answered GET "
             "/schemas/guids/{guid} with HTTP 404 and no Confluent error code)")
    for guid in ("a-1", "b-2"):
        with pytest.raises(SchemaUnavailable) as caught:
            source.load(guid)
        assert str(caught.value) == words and caught.value.schema_id == guid
    assert client.asked == ["a-1"]


def test_a_guid_confluents_registry_does_not_have():
    from confluent_kafka.schema_registry.error import SchemaRegistryError

    client = Client(SchemaRegistryError(404, 40403, "Schema not found"))
    source = SchemaSource(Settings(), client)
    for guid in ("a-1", "b-2"):
        with pytest.raises(SchemaUnavailable, match=f"^schema GUID {guid} is not in the Schema Registry at "
                                                    "http://registry:8081$"):
            source.load(guid)
    assert client.asked == ["a-1", "b-2"]


@settings(max_examples=100, deadline=None)
@given(picks=st.lists(st.sampled_from(range(7)), min_size=1, max_size=10),
       output_format=st.sampled_from(["text", "json", "verbose"]))
def test_the_short_way_shows_what_the_long_way_shows(written, picks, output_format):
    """Once a header value has decoded, its next messages take the short way (keyed by that header's value):
    each line must be what a fresh view (the long way) makes of that message alone, whatever comes between
    (another GUID, a Protobuf GUID with its indexes, the same value but poison, payload framing, two headers that
    differ, two alike)."""
    avro, avro_headers = written.avro({"name": "ann", "age": 3})
    proto, proto_headers = written.protobuf(proto_message_class(name="Order.Line")(sku="s", qty=1))
    other, other_headers = written.avro({"n": 1}, schema='{"type":"record","name":"O","fields":[{"name":"n",'
                                                         '"type":"int"}]}')
    guids = [guid_of(h) for h in (avro_headers, proto_headers, other_headers)]
    schemas = {guid: written.schema(guid) for guid in guids}
    schemas[1] = Schema('"string"', "AVRO")
    choices = [(avro, avro_headers), (proto, proto_headers), (other, other_headers), (b"\x06ann", avro_headers),
               (b"\x00\x00\x00\x00\x01\x04hi", None), (avro, avro_headers + other_headers),
               (avro, avro_headers + avro_headers)]
    batch = [message(*choices[pick], offset=n) for n, pick in enumerate(picks)]
    together, _ = rendered(Source(schemas), batch, output_format)
    alone = [rendered(Source(schemas), [message(*choices[pick], offset=n)], output_format)[0]
             for n, pick in enumerate(picks)]
    assert together == b"".join(alone)


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_a_header_value_that_decoded_once_takes_the_short_way(written, output_format):
    """The long way asks the source for the schema on every message; the short way never does."""
    proto, headers = written.protobuf(proto_message_class(name="Order.Line")(sku="s", qty=1))
    source = Source({guid_of(headers): written.schema(guid_of(headers))})
    out, _ = rendered(source, [message(proto, headers, n) for n in range(50)], output_format)
    assert len(source.asked) == 2  # the first message's decoding, and the short way made from it
    lines = out.split(b"\n")[:-1]
    assert len(lines) == 50 and len(set(line.replace(b'"offset":%d' % n, b"") for n, line in enumerate(lines))) == 1
