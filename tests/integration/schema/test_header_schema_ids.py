"""consumer.py and Confluent's header framing (__value_schema_id / __key_schema_id: magic byte 1 and a GUID, the
payload the encoded data alone), against the real broker: messages written by confluent-kafka's own serializers
with header_schema_id_serializer, read through a registry that serves GET /schemas/guids/{guid} (the fake one)
and through the real Apicurio 3.3.3, which does not serve that path (an empty 404) and gives no GUIDs at all.

confluent-kafka's serializers take a schema's GUID from the registry's answer when they register it; Apicurio's
answers carry none, so its serializer cannot write header framing there ("Schema GUID is not set", asserted
below). The header-framed messages are therefore written against confluent-kafka's in-process mock registry,
which gives GUIDs: byte for byte what a serializer writes against Confluent's own registry."""

import json
import uuid

import pytest
from confluent_kafka import Producer
from confluent_kafka.schema_registry import header_schema_id_serializer, topic_subject_name_strategy
from confluent_kafka.schema_registry._sync.mock_schema_registry_client import MockSchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from tests.integration.schema.conftest import write_registry_config
from tests.integration.schema.fake_registry import FakeRegistry
from tests.integration.schema.serdes import (KEY_AVRO, ORDER_JSON, SERDE_CONF, USER_AVRO, avro_serializer,
                                             proto_message_class)
from tests.integration.scripts import consume, json_records, lines_of, no_traceback

HEADER_SERDE = {**SERDE_CONF, "schema.id.serializer": header_schema_id_serializer}


class HeaderWriter:
    """confluent-kafka's serializers with the schema id in a header, against its mock registry (which gives
    GUIDs); `answer(guid)` is what GET /schemas/guids/{guid} of a registry holding those schemas answers."""

    def __init__(self):
        self.registry = MockSchemaRegistryClient({"url": "mock://header-framing"})
        protobuf_conf = {**HEADER_SERDE, "use.deprecated.format": False}
        protobuf_conf.pop("use.latest.version")
        self.line = proto_message_class(name="Order.Line")
        self.serializers = {"avro": AvroSerializer(self.registry, USER_AVRO, conf=HEADER_SERDE),
                            "key": AvroSerializer(self.registry, KEY_AVRO, conf=HEADER_SERDE),
                            "json": JSONSerializer(ORDER_JSON, self.registry, conf=HEADER_SERDE),
                            "protobuf": ProtobufSerializer(self.line, self.registry, conf=protobuf_conf)}

    def write(self, topic, kind, obj, headers, field=MessageField.VALUE):
        return self.serializers[kind](obj, SerializationContext(topic, field, headers))

    def answer(self, guid):
        schema = self.registry.get_schema_by_guid(guid)
        return {"schema": schema.schema_str, "schemaType": schema.schema_type or "AVRO", "references": []}


def guid_in(headers, name="__value_schema_id"):
    return str(uuid.UUID(bytes=dict(headers)[name][1:17]))


def send(kafka, topic, messages):
    """Produce [(key, value, headers)] to partition 0 of `topic`, as they are."""
    producer = Producer(kafka.client_settings("plaintext"))
    for key, value, headers in messages:
        producer.produce(topic, key=key, value=value, headers=headers or None, partition=0)
    assert producer.flush(30) == 0


def read(config, topic, *args):
    result = consume(config, topic, "-e", "-p", "0", "-o", "beginning", *args, timeout=120)
    assert result.returncode == 0 and no_traceback(result), result.stderr
    return result


@pytest.fixture(scope="module")
def guid_registry():
    registry = FakeRegistry()
    yield registry
    registry.close()


def test_header_framed_keys_and_values_decode_where_the_registry_serves_guids(kafka, make_topic, guid_registry,
                                                                              tmp_path):
    topic, writer = make_topic(1), HeaderWriter()
    messages = []
    for kind, obj in [("avro", {"name": "ann", "age": 0}), ("json", {"id": 2, "item": "tea"}),
                      ("protobuf", writer.line(sku="p-1", qty=2))]:
        headers = []
        key = writer.write(topic, "key", {"id": 7}, headers, MessageField.KEY)
        messages.append((key, writer.write(topic, kind, obj, headers), headers))
    assert messages[0][1] == b"\x06ann\x00" and [name for name, _ in messages[0][2]] == ["__key_schema_id",
                                                                                        "__value_schema_id"]
    for _, _, headers in messages:
        for name, value in headers:
            guid_registry.guids[guid_in(headers, name)] = writer.answer(guid_in(headers, name))
    send(kafka, topic, messages + [(b"plain", b"just text", None)])
    config = write_registry_config(tmp_path / "guids.ini", kafka, ["[schema_registry]", f"url={guid_registry.url}"])
    result = read(config, topic)
    assert lines_of(result.stdout) == ['{"id":7}:{"name":"ann","age":0}', '{"id":7}:{"id":2,"item":"tea"}',
                                       '{"id":7}:{"sku":"p-1","qty":2}', "plain:just text"]
    assert result.stderr == b""
    records = json_records(read(config, topic, "-f", "json").stdout)
    assert records[0]["value_schema_guid"] == guid_in(messages[0][2]) and "value_schema_id" not in records[0]
    assert records[0]["key_schema_guid"] == guid_in(messages[0][2], "__key_schema_id")
    assert [r["value"] for r in records[:3]] == [{"name": "ann", "age": 0}, {"id": 2, "item": "tea"},
                                                 {"sku": "p-1", "qty": 2}]
    asked = [path for path in guid_registry.requests if path.startswith("/schemas/guids/")]
    assert len(asked) == len(set(asked)) * 2  # each GUID once a run, two runs


def test_header_framing_the_registry_lacks_or_cannot_read_is_said_and_the_run_goes_on(kafka, make_topic,
                                                                                      guid_registry, tmp_path):
    topic, writer = make_topic(1), HeaderWriter()
    headers = []
    good = writer.write(topic, "avro", {"name": "bo", "age": 3}, headers)
    guid_registry.guids[guid_in(headers)] = writer.answer(guid_in(headers))
    unknown = "__value_schema_id", b"\x01" + uuid.UUID(int=7).bytes
    other = "__value_schema_id", b"\x01" + uuid.UUID(int=8).bytes
    send(kafka, topic, [(b"unknown", good, [unknown]), (b"unknown", good, [unknown]),
                        (b"short", good, [("__value_schema_id", b"\x01\x02\x03")]),
                        (b"magic", good, [("__value_schema_id", b"\x05" + uuid.UUID(int=7).bytes)]),
                        (b"two", good, [unknown, other]), (b"good", good, headers)])
    config = write_registry_config(tmp_path / "guids.ini", kafka, ["[schema_registry]", f"url={guid_registry.url}"])
    result = read(config, topic)
    assert result.stdout.splitlines() == [b"unknown:" + good, b"unknown:" + good, b"short:!poison! " + good,
                                          b"magic:!poison! " + good, b"two:!poison! " + good,
                                          b'good:{"name":"bo","age":3}']
    said = result.stderr.decode().splitlines()
    guid = str(uuid.UUID(int=7))
    assert said == [
        f"consumer.py: {topic} [0] @ 0: the value schema (GUID {guid}) cannot be had: schema GUID {guid} is not in "
        f"the Schema Registry at {guid_registry.url}; values with this schema GUID are shown as stored bytes",
        f"consumer.py: {topic} [0] @ 2: poison message: the value has a __value_schema_id header of 3 bytes, "
        "shorter than magic byte 1 and a 16-byte GUID",
        f"consumer.py: {topic} [0] @ 3: poison message: the value has a __value_schema_id header starting with "
        "byte 0x05: neither 1 (then a schema GUID) nor 0 (then a schema id)",
        f"consumer.py: {topic} [0] @ 4: poison message: the value has 2 __value_schema_id headers that differ (one "
        "names its schema)"]
    records = json_records(read(config, topic, "-f", "json").stdout)
    assert records[0]["value_schema_guid"] == guid and records[0]["value"] == good.decode()
    assert records[2]["value_error"] == ("poison: the value has a __value_schema_id header of 3 bytes, shorter than "
                                         "magic byte 1 and a 16-byte GUID")


# A schema of this module's own in the real registry: Apicurio gives the same content the same id under every
# subject and names the first subject for it, so registering serdes.USER_AVRO here would change the subject
# other modules' tests read back for it.
PROBE_AVRO = ('{"type":"record","name":"HeaderProbe","namespace":"test.headers","fields":[{"name":"name",'
              '"type":"string"},{"name":"age","type":"int"}]}')


def test_apicurio_cannot_look_up_guids_said_once_per_guid_and_shown_as_stored(kafka, make_topic, sr_client,
                                                                             schema_config, schema_registry):
    topic, writer = make_topic(1), HeaderWriter()
    apicurio_header_serializer = AvroSerializer(sr_client, PROBE_AVRO, conf=HEADER_SERDE)
    with pytest.raises(Exception, match="Schema GUID is not set"):  # Apicurio's answers carry no GUID
        apicurio_header_serializer({"name": "x", "age": 1}, SerializationContext(topic, MessageField.VALUE, []))
    first, second = [], []
    one = writer.write(topic, "avro", {"name": "ann", "age": 1}, first)
    two = writer.write(topic, "json", {"id": 1, "item": "pen"}, second)
    framed = avro_serializer(sr_client, PROBE_AVRO)({"name": "cy", "age": 2},
                                                    SerializationContext(topic, MessageField.VALUE))
    send(kafka, topic, [(b"a", one, first), (b"b", two, second), (b"a", one, first), (b"c", framed, None)])
    result = read(schema_config, topic)
    assert result.stdout.splitlines() == [b"a:" + one, b"b:" + two, b"a:" + one, b'c:{"name":"cy","age":2}']
    said = result.stderr.decode().splitlines()
    url = schema_registry.url
    assert said == [f"consumer.py: {topic} [0] @ {offset}: the value schema (GUID {guid}) cannot be had: this "
                    f"registry cannot look up schema GUIDs (the Schema Registry at {url} answered GET "
                    "/schemas/guids/{guid} with HTTP 404 and no Confluent error code); values with this schema GUID "
                    "are shown as stored bytes"
                    for offset, guid in ((0, guid_in(first)), (1, guid_in(second)))]
    record = json.loads(read(schema_config, topic, "-f", "json").stdout.splitlines()[1])
    assert record["value"] == two.decode()  # the JSON text as stored, not decoded
    assert record["value_schema_guid"] == guid_in(second) and "cannot look up schema GUIDs" in record["value_error"]
