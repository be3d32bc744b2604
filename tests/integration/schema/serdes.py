"""Writing schema'd messages the way other programs do: confluent-kafka's own serializers, against the real registry,
with the subject name strategy named and a timeout on the client (docs/schema-registry.md: Apicurio may leave a
request unanswered after a 404 on /associations)."""

from confluent_kafka import Producer
from confluent_kafka.schema_registry import Schema, SchemaReference, topic_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

USER_AVRO = ('{"type":"record","name":"User","namespace":"test","fields":[{"name":"name","type":"string"},'
             '{"name":"age","type":"int"}]}')
KEY_AVRO = '{"type":"record","name":"Key","namespace":"test","fields":[{"name":"id","type":"long"}]}'
ADDRESS_AVRO = ('{"type":"record","name":"Address","namespace":"test","fields":[{"name":"city","type":"string"}]}')
CUSTOMER_AVRO = ('{"type":"record","name":"Customer","namespace":"test","fields":[{"name":"name","type":"string"},'
                 '{"name":"home","type":"test.Address"}]}')
ORDER_JSON = ('{"$schema":"http://json-schema.org/draft-07/schema#","title":"Order","type":"object",'
              '"properties":{"id":{"type":"integer"},"item":{"type":"string"}},"required":["id","item"],'
              '"additionalProperties":false}')
ORDER_PROTO = """syntax = "proto3";
package test;
message Order {
  int64 id = 1;
  string item = 2;
  Line first = 3;
  message Line { string sku = 1; int32 qty = 2; }
}
message Other { string note = 1; }
"""
SERDE_CONF = {"auto.register.schemas": True, "use.latest.version": False,
              "subject.name.strategy": topic_subject_name_strategy}


def avro_serializer(client, schema=USER_AVRO, references=None, **conf):
    return AvroSerializer(client, Schema(schema, "AVRO", references or []), conf={**SERDE_CONF, **conf})


def json_serializer(client, schema=ORDER_JSON, subject=None):
    """`subject`: a fixed subject instead of TopicNameStrategy's (two schema types cannot share one subject)."""
    conf = dict(SERDE_CONF)
    if subject is not None:
        conf["subject.name.strategy"] = lambda ctx, record_name: subject
    return JSONSerializer(schema, client, conf=conf)


def proto_message_class(text=ORDER_PROTO, name="Order"):
    """A message class built at run time from .proto text (no generated code), for ProtobufSerializer."""
    from google.protobuf import descriptor_pool
    from google.protobuf.message_factory import GetMessageClass

    from kafka_cli.schema.codecs import proto_text_to_descriptor

    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(proto_text_to_descriptor("order.proto", text).SerializeToString())
    return GetMessageClass(pool.FindMessageTypeByName(f"test.{name}"))


def proto_serializer(client, message_class):
    conf = {**SERDE_CONF, "use.deprecated.format": False}
    conf.pop("use.latest.version")
    return ProtobufSerializer(message_class, client, conf=conf)


def reference(name, subject, version):
    return SchemaReference(name, subject, version)


def send(kafka, topic, records, key_serializer=None, value_serializer=None):
    """Produce [(key, value)] to `topic`; each side through its serializer when given, else as bytes."""
    producer = Producer(kafka.client_settings("plaintext"))
    for key, value in records:
        if key_serializer is not None and key is not None:
            key = key_serializer(key, SerializationContext(topic, MessageField.KEY))
        if value_serializer is not None and value is not None:
            value = value_serializer(value, SerializationContext(topic, MessageField.VALUE))
        producer.produce(topic, key=key, value=value, partition=0)
    assert producer.flush(30) == 0


def read_raw(kafka, topic, count):
    """[(key, value)] of the first `count` messages of partition 0, as stored."""
    import uuid

    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({**kafka.client_settings("plaintext"), "group.id": f"raw-{uuid.uuid4().hex}",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    found = []
    try:
        while len(found) < count:
            msg = consumer.poll(10)
            assert msg is not None, f"only {len(found)} of {count} messages in {topic}"
            if msg.error() is None:
                found.append((msg.key(), msg.value()))
    finally:
        consumer.close()
    return found
