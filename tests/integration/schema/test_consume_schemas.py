"""consumer.py against the real broker and the real registry: messages written by confluent-kafka's own
serializers (Avro, JSON Schema, Protobuf; keys and values; references), decoded to JSON without being told the
format; plain text beside them; a poison message; an unknown schema id; a registry that refuses or is down."""

import json
import socket

from tests.integration.schema.conftest import write_registry_config
from confluent_kafka.schema_registry.json_schema import JSONSerializer

from tests.integration.schema.serdes import (ADDRESS_AVRO, CUSTOMER_AVRO, KEY_AVRO, SERDE_CONF, avro_serializer,
                                             json_serializer, proto_message_class, proto_serializer, read_raw, reference,
                                             send)
from tests.integration.scripts import consume, json_records, lines_of, no_traceback


def read(config, topic, *args):
    # -o beginning: no committed offsets to fetch (on a fresh broker that first group request can take a minute)
    result = consume(config, topic, "-e", "-p", "0", "-o", "beginning", *args, timeout=120)
    assert result.returncode == 0 and no_traceback(result), result.stderr
    return result


def test_avro_keys_and_values_from_confluents_serializer(kafka, make_topic, sr_client, schema_config):
    topic = make_topic(1)
    send(kafka, topic, [({"id": 7}, {"name": "ann", "age": 41}), ({"id": 8}, {"name": "bo", "age": 5})],
         key_serializer=avro_serializer(sr_client, KEY_AVRO), value_serializer=avro_serializer(sr_client))
    assert lines_of(read(schema_config, topic).stdout) == ['{"id":7}:{"name":"ann","age":41}',
                                                           '{"id":8}:{"name":"bo","age":5}']
    first = json_records(read(schema_config, topic, "-f", "json").stdout)[0]
    value_id = sr_client.get_latest_version(f"{topic}-value").schema_id
    assert first["value"] == {"name": "ann", "age": 41} and first["value_schema_id"] == value_id
    assert first["value_subject"] == f"{topic}-value" and first["key"] == {"id": 7}
    assert first["key_subject"] == f"{topic}-key" and first["key_schema_id"] != value_id
    assert set(first["value_raw"]) == {"base64"}


def test_json_schema_values(kafka, make_topic, sr_client, schema_config):
    topic = make_topic(1)
    send(kafka, topic, [(b"k", {"id": 1, "item": "tea"})], value_serializer=json_serializer(sr_client))
    record = json_records(read(schema_config, topic, "-f", "json").stdout)[0]
    assert record["key"] == "k" and record["value"] == {"id": 1, "item": "tea"}
    assert record["value_subject"] == f"{topic}-value"


def test_protobuf_values_including_a_nested_message_type(kafka, make_topic, sr_client, schema_config):
    topic = make_topic(1)
    order = proto_message_class()
    send(kafka, topic, [(b"k", order(id=5, item="pen", first=order.Line(sku="p-1", qty=2)))],
         value_serializer=proto_serializer(sr_client, order))
    record = json_records(read(schema_config, topic, "-f", "json").stdout)[0]
    assert record["value"] == {"id": "5", "item": "pen", "first": {"sku": "p-1", "qty": 2}}  # proto3 JSON: int64 as text
    line = proto_message_class(name="Order.Line")
    other_topic = make_topic(1)
    send(kafka, other_topic, [(b"k", line(sku="s", qty=3))], value_serializer=proto_serializer(sr_client, line))
    assert lines_of(read(schema_config, other_topic).stdout) == ['k:{"sku":"s","qty":3}']


def test_avro_schema_with_a_reference(kafka, make_topic, sr_client, schema_config):
    topic = make_topic(1)
    address_subject = f"{topic}-address"
    sr_client.register_schema(address_subject, avro_serializer(sr_client, ADDRESS_AVRO)._schema)
    version = sr_client.get_latest_version(address_subject).version
    serializer = avro_serializer(sr_client, CUSTOMER_AVRO, [reference("test.Address", address_subject, version)])
    send(kafka, topic, [(b"c1", {"name": "cy", "home": {"city": "Oslo"}})], value_serializer=serializer)
    assert lines_of(read(schema_config, topic).stdout) == ['c1:{"name":"cy","home":{"city":"Oslo"}}']


def test_a_topic_mixing_formats_plain_text_poison_and_an_unknown_id(kafka, make_topic, sr_client, schema_config):
    topic = make_topic(1)
    avro, js = avro_serializer(sr_client), json_serializer(sr_client, subject=f"{topic}-orders")
    send(kafka, topic, [(b"a", {"name": "ann", "age": 1})], value_serializer=avro)
    send(kafka, topic, [(b"j", {"id": 2, "item": "x"})], value_serializer=js)
    good = sr_client.get_latest_version(f"{topic}-orders").schema_id  # JSON: the poison is not JSON
    send(kafka, topic, [(b"plain", b"just text"), (b"poison", b"\x00" + good.to_bytes(4, "big") + b"{not json"),
                        (b"unknown", b"\x00\x00\x0f\x42\x3fabc"), (b"unknown", b"\x00\x00\x0f\x42\x3fdef")])
    result = read(schema_config, topic)
    assert lines_of(result.stdout)[:3] == ['a:{"name":"ann","age":1}', 'j:{"id":2,"item":"x"}', "plain:just text"]
    assert result.stdout.splitlines()[3] == b"poison:!poison! " + b"\x00" + good.to_bytes(4, "big") + b"{not json"
    assert result.stdout.splitlines()[4:] == [b"unknown:\x00\x00\x0f\x42\x3fabc", b"unknown:\x00\x00\x0f\x42\x3fdef"]
    stderr = result.stderr.decode()
    not_json = "the value is not valid JSON at byte 6: expecting property name enclosed in double quotes"
    assert f"{topic} [0] @ 3: poison message: {not_json}\n" in stderr  # the byte counts from the stored value's start
    assert stderr.count("schema id 999999 is not in the Schema Registry") == 1  # once per id, not per message
    records = json_records(read(schema_config, topic, "-f", "json").stdout)
    assert records[3]["value_error"] == f"poison: {not_json}" and records[3]["value_schema_id"] == good
    assert records[4]["value_schema_id"] == 999999 and "not in the Schema Registry" in records[4]["value_error"]


def test_a_registry_that_refuses_the_credentials_is_said_once_and_the_secret_never(
        kafka, make_topic, sr_client, schema_registry, tmp_path):
    topic = make_topic(1)
    send(kafka, topic, [(b"a", {"name": "ann", "age": 1}), (b"b", {"name": "bo", "age": 2})],
         value_serializer=avro_serializer(sr_client))
    wrong = "registry:Wr0ng-Secret-Value"
    config = write_registry_config(tmp_path / "wrong.ini", kafka, [
        "schema.registry.url=" + schema_registry.url, "basic.auth.credentials.source=USER_INFO",
        "basic.auth.user.info=" + wrong])
    result = read(config, topic, "-v")
    stderr = result.stderr.decode()
    assert "refused user 'registry': HTTP 401" in stderr and stderr.count("HTTP 401") == 1
    assert "Wr0ng-Secret-Value" not in stderr + result.stdout.decode(errors="replace")
    assert len(lines_of(result.stdout)) == 2 and result.stdout.startswith(b"a:\x00")  # the bytes as stored


def test_a_registry_that_is_down_costs_one_try_per_id(kafka, make_topic, sr_client, tmp_path):
    topic = make_topic(1)
    send(kafka, topic, [(b"a", {"name": "ann", "age": 1})] * 3, value_serializer=avro_serializer(sr_client))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    config = write_registry_config(tmp_path / "down.ini", kafka, [
        "[schema_registry]", f"url=http://127.0.0.1:{closed_port}", "timeout=3"])
    result = read(config, topic)
    assert result.stderr.decode().count(f"the Schema Registry at http://127.0.0.1:{closed_port} cannot be reached") == 1
    assert len(lines_of(result.stdout)) == 3


def test_forced_formats(kafka, make_topic, sr_client, schema_config):
    topic = make_topic(1)
    send(kafka, topic, [((7).to_bytes(4, "big"), {"name": "ann", "age": 1})], value_serializer=avro_serializer(sr_client))
    assert lines_of(read(schema_config, topic, "--key-format", "integer").stdout) == ['7:{"name":"ann","age":1}']
    as_stored = read(schema_config, topic, "--value-format", "string").stdout
    assert as_stored.startswith(b"\x00\x00\x00\x07:\x00")
    wrong_type = read(schema_config, topic, "--value-format", "protobuf")
    assert b"!poison! " in wrong_type.stdout and b"is AVRO, not PROTOBUF as asked" in wrong_type.stderr


def test_a_schema_format_without_a_registry_is_a_usage_error(kafka, topic):
    result = consume(kafka.plaintext_config, topic, "-e", "--value-format", "avro")
    assert result.returncode == 2 and b"--value-format avro needs a Schema Registry" in result.stderr


def test_json_output_parses_as_json_everywhere(kafka, make_topic, sr_client, schema_config):
    """Avro's double NaN has no JSON form: it must not make the line unreadable."""
    topic = make_topic(1)
    schema = '{"type":"record","name":"M","namespace":"t","fields":[{"name":"x","type":"double"}]}'
    send(kafka, topic, [(b"n", {"x": float("nan")})], value_serializer=avro_serializer(sr_client, schema))
    line = read(schema_config, topic, "-f", "json").stdout.decode()
    assert json.loads(line)["value"] == {"x": "nan"}


def test_without_a_registry_schema_data_is_said_once_per_id_and_shown_as_stored(kafka, make_topic, sr_client):
    topic = make_topic(1)
    send(kafka, topic, [(b"a", {"name": "ann", "age": 1}), (b"b", {"name": "bo", "age": 2})],
         value_serializer=avro_serializer(sr_client))
    schema_id = sr_client.get_latest_version(f"{topic}-value").schema_id
    result = read(kafka.plaintext_config, topic)
    assert result.stdout.splitlines()[0] == b"a:\x00" + schema_id.to_bytes(4, "big") + b"\x06ann\x02"
    assert result.stderr.decode().count(f"Confluent's wire format (schema id {schema_id}), but no Schema Registry") == 1


def test_json_schema_with_a_reference(kafka, make_topic, sr_client, schema_config):
    from confluent_kafka.schema_registry import Schema

    topic = make_topic(1)
    address = '{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}'
    sr_client.register_schema(f"{topic}-address", Schema(address, "JSON"))
    version = sr_client.get_latest_version(f"{topic}-address").version
    customer = ('{"type":"object","properties":{"name":{"type":"string"},"home":{"$ref":"address.json"}},'
                '"required":["name","home"]}')
    serializer = JSONSerializer(Schema(customer, "JSON", [reference("address.json", f"{topic}-address", version)]),
                                sr_client, conf=dict(SERDE_CONF))
    send(kafka, topic, [(b"c", {"name": "cy", "home": {"city": "Oslo"}})], value_serializer=serializer)
    wrong = {"name": "dee", "home": {"town": "Bergen"}}  # the referenced schema requires city
    schema_id = sr_client.get_latest_version(f"{topic}-value").schema_id
    send(kafka, topic, [(b"d", b"\x00" + schema_id.to_bytes(4, "big") + json.dumps(wrong).encode())])
    result = read(schema_config, topic)
    assert lines_of(result.stdout)[0] == 'c:{"name":"cy","home":{"city":"Oslo"}}'
    assert result.stdout.splitlines()[1].startswith(b"d:!poison! ")
    assert b"does not fit the JSON schema at home: 'city' is a required property" in result.stderr


def test_protobuf_with_an_imported_file_as_a_reference(kafka, make_topic, sr_client, schema_config):
    """confluent-kafka's ProtobufSerializer registers the imported file under its own subject and references it."""
    from confluent_kafka.schema_registry import Schema
    from google.protobuf import descriptor_pool
    from google.protobuf.message_factory import GetMessageClass

    from kafka_cli.schema.codecs import proto_text_to_descriptor

    common = 'syntax = "proto3";\npackage billing;\nmessage Money { int64 cents = 1; string currency = 2; }\n'
    invoice = ('syntax = "proto3";\npackage billing;\nimport "billing/common.proto";\n'
               'message Invoice { string id = 1; Money total = 2; }\n')
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(proto_text_to_descriptor("billing/common.proto", common).SerializeToString())
    pool.AddSerializedFile(proto_text_to_descriptor(
        "billing/invoice.proto", invoice, [("billing/common.proto", Schema(common, "PROTOBUF"))]).SerializeToString())
    invoice_class = GetMessageClass(pool.FindMessageTypeByName("billing.Invoice"))
    money_class = GetMessageClass(pool.FindMessageTypeByName("billing.Money"))
    topic = make_topic(1)
    send(kafka, topic, [(b"i", invoice_class(id="A-1", total=money_class(cents=1250, currency="EUR")))],
         value_serializer=proto_serializer(sr_client, invoice_class))
    registered = sr_client.get_latest_version(f"{topic}-value").schema
    assert [ref.name for ref in registered.references] == ["billing/common.proto"]
    assert lines_of(read(schema_config, topic).stdout) == ['i:{"id":"A-1","total":{"cents":"1250","currency":"EUR"}}']


def test_a_poison_message_is_said_in_words_about_its_bytes(kafka, make_topic, sr_client, schema_config):
    """Avro cut short, and a byte changed: what is wrong and where, counted from the start of the stored value, not
    the reader's exception ('EOFError', 'IndexError: string index out of range' before)."""
    topic = make_topic(1)
    send(kafka, topic, [(b"a", {"name": "ann", "age": 41})], value_serializer=avro_serializer(sr_client))
    good = read_raw(kafka, topic, 1)[0][1]
    assert good[5:] == b"\x06ann\x52"
    send(kafka, topic, [(b"cut", good[:7]), (b"utf8", good[:6] + b"\xff" + good[7:]), (b"more", good + b"\x00")])
    result = read(schema_config, topic)
    said = [line.split(": poison message: ")[1] for line in result.stderr.decode().splitlines()]
    assert said == ["the value ends after 0 of 2 fields of its Avro record (at field 'name', byte 5: a string of 3 "
                    "bytes, 1 left)",
                    "the value has a string that is not UTF-8 at byte 5 in field 'name' (byte 0xff at byte 6)",
                    "the value has 1 byte left over after its Avro record (from byte 10)"]
    records = json_records(read(schema_config, topic, "-f", "json").stdout)
    assert [r.get("value_error") for r in records] == [None] + [f"poison: {words}" for words in said]
