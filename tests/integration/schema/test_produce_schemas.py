"""producer.py --key-format/--value-format against the real broker and registry: what it writes is read back by
confluent-kafka's own deserializers and by consumer.py; the schema registered, taken by id, or the latest version;
evolution (compatible, incompatible); a line that does not fit; a registry that refuses; the lossless copy;
schemas with references to other subjects (--value-references) and the Protobuf message chosen (--value-message);
--register (a schema alone under its subject, again, refused) and --value-subject."""

import json

from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from tests.integration.schema.conftest import write_registry_config
from tests.integration.schema.serdes import (ADDRESS_AVRO, CUSTOMER_AVRO, KEY_AVRO, ORDER_JSON, ORDER_PROTO,
                                             USER_AVRO, avro_serializer, proto_message_class, read_raw, send)
from kafka_cli.schema.codecs import read_message_indexes
from tests.integration.scripts import consume, json_records, lines_of, no_traceback, produce, run_script

USER_V2_COMPATIBLE = USER_AVRO.replace(']}', ',{"name":"city","type":"string","default":"?"}]}')
# age int -> string: a reader of this schema cannot read what v2 wrote (BACKWARD checks against the latest version)
USER_V3_INCOMPATIBLE = USER_V2_COMPATIBLE.replace('"name":"age","type":"int"', '"name":"age","type":"string"')


def schema_file(tmp_path, text, name="schema"):
    path = tmp_path / name
    path.write_text(text)
    return path


def write(config, topic, lines, *args):
    result = produce(config, topic, lines, "-K", r"\t", *args, timeout=120)
    assert no_traceback(result), result.stderr
    return result


def test_avro_values_and_keys_read_back_by_confluents_deserializer(kafka, make_topic, sr_client, schema_config,
                                                                   tmp_path):
    topic = make_topic(1)
    key_schema = schema_file(tmp_path, '{"type":"record","name":"K","namespace":"t","fields":[{"name":"id","type":"long"}]}',
                             "k.avsc")
    result = write(schema_config, topic, ['{"id":1}\t{"name":"ann","age":41}', '{"id":2}\t{"name":"bo","age":5}'],
                   "--value-format", "avro", "--value-schema", schema_file(tmp_path, USER_AVRO),
                   "--key-format", "avro", "--key-schema", key_schema)
    assert result.returncode == 0, result.stderr
    deserializer = AvroDeserializer(sr_client)
    (key, value), _ = read_raw(kafka, topic, 2)
    assert deserializer(value, SerializationContext(topic, MessageField.VALUE)) == {"name": "ann", "age": 41}
    assert deserializer(key, SerializationContext(topic, MessageField.KEY)) == {"id": 1}
    assert sr_client.get_latest_version(f"{topic}-value").schema.schema_type == "AVRO"
    assert lines_of(consume(schema_config, topic, "-e", "-p", "0", "-o", "beginning").stdout) == [
        '{"id":1}:{"name":"ann","age":41}', '{"id":2}:{"name":"bo","age":5}']


def test_json_schema_values_read_back_by_confluents_deserializer(kafka, make_topic, sr_client, schema_config, tmp_path):
    topic = make_topic(1)
    result = write(schema_config, topic, ['k\t{"id":3,"item":"tea"}'], "--value-format", "jsonschema",
                   "--value-schema", schema_file(tmp_path, ORDER_JSON))
    assert result.returncode == 0, result.stderr
    (_, value), = read_raw(kafka, topic, 1)
    deserializer = JSONDeserializer(None, schema_registry_client=sr_client)
    assert deserializer(value, SerializationContext(topic, MessageField.VALUE)) == {"id": 3, "item": "tea"}


def test_protobuf_values_from_proto_text_read_back_by_confluents_deserializer(kafka, make_topic, schema_config,
                                                                              tmp_path):
    topic = make_topic(1)
    result = write(schema_config, topic, ['k\t{"id":"9","item":"pen","first":{"sku":"a","qty":2}}'],
                   "--value-format", "protobuf", "--value-schema", schema_file(tmp_path, ORDER_PROTO, "order.proto"))
    assert result.returncode == 0, result.stderr
    (_, value), = read_raw(kafka, topic, 1)
    order = proto_message_class()
    message = ProtobufDeserializer(order, {"use.deprecated.format": False})(
        value, SerializationContext(topic, MessageField.VALUE))
    assert (message.id, message.item, message.first.sku, message.first.qty) == (9, "pen", "a", 2)
    # the registry now holds .proto text (not a base64 descriptor): consumer.py reads it from that alone
    assert lines_of(consume(schema_config, topic, "-e", "-p", "0", "-o", "beginning").stdout) == [
        'k:{"id":"9","item":"pen","first":{"sku":"a","qty":2}}']


def test_schema_id_and_latest_version(kafka, make_topic, sr_client, schema_config):
    topic = make_topic(1)
    send(kafka, topic, [(b"k0", {"name": "first", "age": 0})], value_serializer=avro_serializer(sr_client))
    schema_id = sr_client.get_latest_version(f"{topic}-value").schema_id
    assert write(schema_config, topic, ['k1\t{"name":"by id","age":1}'], "--value-format", "avro",
                 "--value-schema-id", schema_id).returncode == 0
    assert write(schema_config, topic, ['k2\t{"name":"latest","age":2}'], "--value-format", "avro").returncode == 0
    records = json_records(consume(schema_config, topic, "-e", "-p", "0", "-o", "beginning", "-f", "json").stdout)
    assert [(r["value"]["name"], r["value_schema_id"]) for r in records] == [
        ("first", schema_id), ("by id", schema_id), ("latest", schema_id)]


def test_schema_evolution_compatible_then_incompatible(kafka, make_topic, sr_client, schema_config, tmp_path):
    topic = make_topic(1)
    assert write(schema_config, topic, ['k\t{"name":"v1","age":1}'], "--value-format", "avro",
                 "--value-schema", schema_file(tmp_path, USER_AVRO, "v1.avsc")).returncode == 0
    assert write(schema_config, topic, ['k\t{"name":"v2","age":2,"city":"Oslo"}'], "--value-format", "avro",
                 "--value-schema", schema_file(tmp_path, USER_V2_COMPATIBLE, "v2.avsc")).returncode == 0
    assert len(sr_client.get_versions(f"{topic}-value")) == 2
    refused = write(schema_config, topic, ['k\t{"name":"v3","age":"3","city":"Rome"}'], "--value-format", "avro",
                    "--value-schema", schema_file(tmp_path, USER_V3_INCOMPATIBLE, "v3.avsc"))
    assert refused.returncode == 1
    errors = [line for line in lines_of(refused.stderr) if "Error" in line]
    assert len(errors) == 1 and f"subject {topic}-value" in errors[0] and "not compatible" in errors[0]
    assert lines_of(consume(schema_config, topic, "-e", "-p", "0", "-o", "beginning").stdout) == [
        'k:{"name":"v1","age":1}', 'k:{"name":"v2","age":2,"city":"Oslo"}']  # nothing of the refused run


def test_a_line_that_does_not_fit_is_a_bad_line(kafka, make_topic, schema_config, tmp_path):
    topic = make_topic(1)
    schema = schema_file(tmp_path, USER_AVRO)
    stopped = write(schema_config, topic, ['a\t{"name":"ann","age":1}', 'b\t{"name":"bo","age":"old"}', 'c\t{}'],
                    "--value-format", "avro", "--value-schema", schema)
    assert stopped.returncode == 1
    assert b"line 2: the value does not fit the Avro schema" in stopped.stderr
    assert b"stopped reading at line 2" in stopped.stderr
    skipped = write(schema_config, topic, ['d\tnot json', 'e\t{"name":"ed","age":5}'], "--value-format", "avro",
                    "--value-schema", schema, "--skip-bad-lines")
    assert b"line 1: the value is not JSON" in skipped.stderr and b"1 delivered" in skipped.stderr
    assert lines_of(consume(schema_config, topic, "-e", "-p", "0", "-o", "beginning").stdout) == [
        'a:{"name":"ann","age":1}', 'e:{"name":"ed","age":5}']


def test_a_registry_refusal_is_one_line_naming_the_subject_and_no_secret(kafka, make_topic, schema_registry, tmp_path):
    topic = make_topic(1)
    config = write_registry_config(tmp_path / "wrong.ini", kafka, [
        "schema.registry.url=" + schema_registry.url, "basic.auth.credentials.source=USER_INFO",
        "basic.auth.user.info=registry:Wr0ng-Secret-Value"])
    result = write(config, topic, ['k\t{"name":"a","age":1}'], "--value-format", "avro", "--value-schema",
                   schema_file(tmp_path, USER_AVRO), "-vv")
    assert result.returncode == 1
    assert f"subject {topic}-value: the Schema Registry at {schema_registry.url} refused user 'registry': HTTP 401" \
        in result.stderr.decode()
    assert b"Wr0ng-Secret-Value" not in result.stderr + result.stdout


def test_unknown_subject_and_missing_registry(kafka, make_topic, schema_config):
    topic = make_topic(1)
    unknown = write(schema_config, topic, ['k\t{}'], "--value-format", "avro")
    assert unknown.returncode == 1 and f"subject {topic}-value is not in the Schema Registry".encode() in unknown.stderr
    no_registry = write(kafka.plaintext_config, topic, ['k\t{}'], "--value-format", "avro")
    assert no_registry.returncode == 2 and b"--value-format avro needs a Schema Registry" in no_registry.stderr


def test_record_name_strategy(kafka, make_topic, sr_client, schema_config, tmp_path):
    topic = make_topic(1)
    assert write(schema_config, topic, ['k\t{"name":"r","age":1}'], "--value-format", "avro", "--value-schema",
                 schema_file(tmp_path, USER_AVRO), "--subject-name-strategy", "topic-record").returncode == 0
    assert sr_client.get_latest_version(f"{topic}-test.User").schema_id > 0


def test_lossless_copy_of_a_schema_topic(kafka, make_topic, sr_client, schema_config):
    """consumer.py -f json | producer.py -f json to another topic: keys and values byte for byte."""
    source, target = make_topic(1), make_topic(1)
    key_avro = avro_serializer(sr_client, '{"type":"record","name":"K","namespace":"t","fields":[{"name":"id",'
                                          '"type":"long"}]}')
    send(kafka, source, [({"id": 1}, {"name": "ann", "age": 1})], key_serializer=key_avro,
         value_serializer=avro_serializer(sr_client))
    send(kafka, source, [(b"plain", b"text"), (None, b"\x00\x00\x0f\x42\x3fx"), (b"\xff\x00binary", None)])
    dump = consume(schema_config, source, "-e", "-p", "0", "-o", "beginning", "-f", "json", timeout=120)
    assert dump.returncode == 0 and json_records(dump.stdout)[0]["value"] == {"name": "ann", "age": 1}
    copied = produce(schema_config, target, dump.stdout, "-f", "json", timeout=120)
    assert copied.returncode == 0, copied.stderr
    assert read_raw(kafka, target, 4) == read_raw(kafka, source, 4)


def test_json_records_with_schema_values(kafka, make_topic, sr_client, schema_config, tmp_path):
    """-f json with --value-format: the record's "value" is the data itself (an object), as consumer.py shows it."""
    topic = make_topic(1)
    lines = ['{"key":"a","value":{"name":"ann","age":1},"value_raw":{"base64":"AAAAAAA="},"headers":[["h","1"]]}',
             '{"key":"b","value":{"name":"bo"}}']
    result = produce(schema_config, topic, lines, "-f", "json", "--value-format", "avro", "--value-schema",
                     schema_file(tmp_path, USER_AVRO), "--skip-bad-lines", timeout=120)
    assert b"line 2: the value does not fit the Avro schema" in result.stderr and b"1 delivered" in result.stderr
    records = json_records(consume(schema_config, topic, "-e", "-p", "0", "-o", "beginning", "-f", "json").stdout)
    assert [(r["key"], r["value"], r["headers"]) for r in records] == [("a", {"name": "ann", "age": 1}, [["h", "1"]])]


# -- references to other subjects' schemas, and the Protobuf message -------------------------------------------
def references_file(tmp_path, entries):
    return schema_file(tmp_path, json.dumps(entries), "refs.json")


def read_back(config, topic):
    return lines_of(consume(config, topic, "-e", "-p", "0", "-o", "beginning").stdout)


def test_avro_with_a_reference_read_back_by_confluents_deserializer_and_consumer(kafka, make_topic, sr_client,
                                                                                 schema_config, tmp_path):
    topic = make_topic(1)
    address_subject = f"{topic}-address"
    sr_client.register_schema(address_subject, Schema(ADDRESS_AVRO, "AVRO"))
    version = sr_client.get_latest_version(address_subject).version
    refs = references_file(tmp_path, [{"name": "test.Address", "subject": address_subject}])  # latest version
    result = write(schema_config, topic, ['c1\t{"name":"cy","home":{"city":"Oslo"}}'], "--value-format", "avro",
                   "--value-schema", schema_file(tmp_path, CUSTOMER_AVRO, "customer.avsc"), "--value-references", refs)
    assert result.returncode == 0, result.stderr
    registered = sr_client.get_latest_version(f"{topic}-value").schema
    assert [(r.name, r.subject, r.version) for r in registered.references] == [
        ("test.Address", address_subject, version)]
    (_, value), = read_raw(kafka, topic, 1)
    assert AvroDeserializer(sr_client)(value, SerializationContext(topic, MessageField.VALUE)) == {
        "name": "cy", "home": {"city": "Oslo"}}
    assert read_back(schema_config, topic) == ['c1:{"name":"cy","home":{"city":"Oslo"}}']


def test_json_schema_with_a_ref_to_another_subject(kafka, make_topic, sr_client, schema_config, tmp_path):
    topic = make_topic(1)
    address = '{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}'
    sr_client.register_schema(f"{topic}-address", Schema(address, "JSON"))
    customer = ('{"type":"object","properties":{"name":{"type":"string"},"home":{"$ref":"address.json"}},'
                '"required":["name","home"]}')
    result = write(schema_config, topic, ['c\t{"name":"cy","home":{"city":"Oslo"}}', 'd\t{"name":"dee","home":{}}'],
                   "--value-format", "jsonschema", "--value-schema", schema_file(tmp_path, customer),
                   "--value-references", references_file(tmp_path, [
                       {"name": "address.json", "subject": f"{topic}-address", "version": 1}]), "--skip-bad-lines")
    assert b"line 2: the value does not fit the JSON schema at home: 'city' is a required property" in result.stderr
    (_, value), = read_raw(kafka, topic, 1)
    assert JSONDeserializer(None, schema_registry_client=sr_client)(
        value, SerializationContext(topic, MessageField.VALUE)) == {"name": "cy", "home": {"city": "Oslo"}}


COMMON_PROTO = 'syntax = "proto3";\npackage billing;\nmessage Money { int64 cents = 1; string currency = 2; }\n'
INVOICE_PROTO = ('syntax = "proto3";\npackage billing;\nimport "billing/common.proto";\n'
                 'message Invoice { string id = 1; Money total = 2; }\n')


def test_protobuf_importing_a_referenced_file(kafka, make_topic, sr_client, schema_config, tmp_path):
    from google.protobuf import descriptor_pool
    from google.protobuf.message_factory import GetMessageClass

    from kafka_cli.schema.codecs import proto_text_to_descriptor

    topic = make_topic(1)
    sr_client.register_schema(f"{topic}-common", Schema(COMMON_PROTO, "PROTOBUF"))
    result = write(schema_config, topic, ['i\t{"id":"A-1","total":{"cents":"1250","currency":"EUR"}}'],
                   "--value-format", "protobuf",
                   "--value-schema", schema_file(tmp_path, INVOICE_PROTO, "invoice.proto"),
                   "--value-references", references_file(tmp_path, [
                       {"name": "billing/common.proto", "subject": f"{topic}-common"}]))
    assert result.returncode == 0, result.stderr
    assert [r.name for r in sr_client.get_latest_version(f"{topic}-value").schema.references] == [
        "billing/common.proto"]
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(proto_text_to_descriptor("billing/common.proto", COMMON_PROTO).SerializeToString())
    pool.AddSerializedFile(proto_text_to_descriptor(
        "billing/invoice.proto", INVOICE_PROTO, [("billing/common.proto", Schema(COMMON_PROTO, "PROTOBUF"))]
    ).SerializeToString())
    (_, value), = read_raw(kafka, topic, 1)
    invoice = ProtobufDeserializer(GetMessageClass(pool.FindMessageTypeByName("billing.Invoice")),
                                   {"use.deprecated.format": False})(
        value, SerializationContext(topic, MessageField.VALUE))
    assert (invoice.id, invoice.total.cents, invoice.total.currency) == ("A-1", 1250, "EUR")
    assert read_back(schema_config, topic) == ['i:{"id":"A-1","total":{"cents":"1250","currency":"EUR"}}']


def test_protobuf_nested_message_chosen_by_name(kafka, make_topic, sr_client, schema_config, tmp_path):
    topic = make_topic(1)
    schema = schema_file(tmp_path, ORDER_PROTO, "order.proto")
    assert write(schema_config, topic, ['k\t{"sku":"a","qty":2}'], "--value-format", "protobuf", "--value-schema",
                 schema, "--value-message", "Order.Line").returncode == 0
    assert write(schema_config, topic, ['n\t{"note":"hi"}'], "--value-format", "protobuf", "--value-schema", schema,
                 "--value-message", "test.Other", "--subject-name-strategy", "topic-record").returncode == 0
    (_, line), (_, other) = read_raw(kafka, topic, 2)
    assert read_message_indexes(line[5:])[0] == [0, 0] and read_message_indexes(other[5:])[0] == [1]
    message = ProtobufDeserializer(proto_message_class(name="Order.Line"), {"use.deprecated.format": False})(
        line, SerializationContext(topic, MessageField.VALUE))
    assert (message.sku, message.qty) == ("a", 2)
    assert sr_client.get_latest_version(f"{topic}-test.Other").schema_id == int.from_bytes(other[1:5], "big")
    assert read_back(schema_config, topic) == ['k:{"sku":"a","qty":2}', 'n:{"note":"hi"}']
    unknown = write(schema_config, topic, ['k\t{}'], "--value-format", "protobuf", "--value-schema", schema,
                    "--value-message", "Line")
    assert unknown.returncode == 2 and b"its messages: Order, Order.Line, Other" in unknown.stderr


def test_a_reference_the_registry_lacks_or_a_bad_file_produces_nothing(kafka, make_topic, sr_client, schema_registry,
                                                                        schema_config, tmp_path):
    topic = make_topic(1)
    customer = schema_file(tmp_path, CUSTOMER_AVRO, "customer.avsc")
    refs = references_file(tmp_path, [{"name": "test.Address", "subject": f"{topic}-nobody", "version": 1}])
    missing = write(schema_config, topic, ['c\t{"name":"cy","home":{"city":"Oslo"}}'], "--value-format", "avro",
                    "--value-schema", customer, "--value-references", refs)
    errors = [line for line in lines_of(missing.stderr) if "Error" in line]
    assert missing.returncode == 1 and errors == [
        f"Error: --value-references {refs}: entry 1 (test.Address): subject {topic}-nobody version 1 is not in the "
        f"Schema Registry at {schema_registry.url}"]
    bad = schema_file(tmp_path, '[{"name": "test.Address"}]', "bad.json")
    refused = write(schema_config, topic, ['c\t{}'], "--value-format", "avro", "--value-schema", customer,
                    "--value-references", bad)
    assert refused.returncode == 2 and [line for line in lines_of(refused.stderr) if "Error" in line] == [
        f'Error: --value-references {bad}: entry 1: "subject" is missing (a reference has name, subject and, if not '
        'the latest, version)']
    assert read_back(schema_config, topic) == []
    assert f"{topic}-value" not in sr_client.get_subjects()


# -- --register and --value-subject ------------------------------------------------------------------------
def register(config, *args, stdin=b"never read\n"):
    """producer.py --register (stdin holds a line it must leave unread: it has no separator)."""
    result = run_script("producer.py", config, "--register", *args, input=stdin, timeout=120)
    assert no_traceback(result), result.stderr
    return result


def test_register_then_reference_then_write_by_subject(kafka, make_topic, sr_client, schema_config, schema_registry,
                                                       tmp_path):
    topic = make_topic(1)
    address_subject = f"{topic}-addresses"
    address = ["--value-subject", address_subject, "--value-format", "avro",
               "--value-schema", schema_file(tmp_path, ADDRESS_AVRO, "address.avsc")]
    first = register(schema_config, *address)
    registered = sr_client.get_latest_version(address_subject)
    assert (first.returncode, first.stderr) == (0, b"")
    assert first.stdout == f"subject {address_subject} version 1 id {registered.schema_id}\n".encode()
    again = register(schema_config, *address)
    assert again.stdout == f"subject {address_subject} version 1 id {registered.schema_id} (already registered)\n".encode()
    assert sr_client.get_versions(address_subject) == [1]

    refs = references_file(tmp_path, [{"name": "test.Address", "subject": address_subject, "version": 1}])
    both = register(schema_config, "-t", topic, "--key-format", "avro", "--key-schema", schema_file(tmp_path, KEY_AVRO),
                    "--value-format", "avro", "--value-schema", schema_file(tmp_path, CUSTOMER_AVRO, "customer.avsc"),
                    "--value-references", refs)
    key_id, value = sr_client.get_latest_version(f"{topic}-key").schema_id, sr_client.get_latest_version(f"{topic}-value")
    assert (both.returncode, both.stderr) == (0, b"")
    assert both.stdout == (f"subject {topic}-key version 1 id {key_id}\n"
                           f"subject {topic}-value version 1 id {value.schema_id}\n").encode()
    assert [(r.name, r.subject, r.version) for r in value.schema.references] == [("test.Address", address_subject, 1)]

    # producing with the subject's latest version, the subject named outright
    written = write(schema_config, topic, ['a\t{"city":"Oslo"}'], "--value-format", "avro", "--value-subject",
                    address_subject)
    assert written.returncode == 0, written.stderr
    (_, stored), = read_raw(kafka, topic, 1)
    assert int.from_bytes(stored[1:5], "big") == registered.schema_id
    assert read_back(schema_config, topic) == ['a:{"city":"Oslo"}']


def test_register_refused_by_the_registry_is_one_line_naming_the_subject(make_topic, sr_client, schema_config,
                                                                         tmp_path):
    topic = make_topic(1)
    subject = f"{topic}-users"
    assert register(schema_config, "--value-subject", subject, "--value-format", "avro", "--value-schema",
                    schema_file(tmp_path, USER_V2_COMPATIBLE)).returncode == 0
    refused = register(schema_config, "--value-subject", subject, "--value-format", "avro", "--value-schema",
                       schema_file(tmp_path, USER_V3_INCOMPATIBLE))
    assert (refused.returncode, refused.stdout) == (1, b"")
    errors = lines_of(refused.stderr)
    assert len(errors) == 1 and errors[0].startswith(
        f"Error: the Schema Registry refused the value schema for subject {subject}: not compatible with its earlier "
        "versions (")
    assert sr_client.get_versions(subject) == [1]
