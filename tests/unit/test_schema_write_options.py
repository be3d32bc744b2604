"""producer.py's schema options without a registry: the Protobuf message chosen by name, and the refusals'
wording."""

from types import SimpleNamespace

import pytest
from confluent_kafka.schema_registry import Schema
from confluent_kafka.schema_registry.error import SchemaRegistryError

from kafka_cli import registry_client
from kafka_cli.schema_records import Choice, _refusal
from kafka_cli.schema_types import BadSchema, make_codec

REGISTRY = SimpleNamespace(url="http://registry.test:8081", user=lambda: None, conf={"timeout": 10})
PROTO = """syntax = "proto3";
package shop;
message Order {
  int64 id = 1;
  map<string, int32> counts = 2;
  message Line { string sku = 1; message Price { int32 cents = 1; } Price price = 2; }
  repeated Line lines = 3;
}
message Note { string text = 1; }
"""


def not_found(code, message="not found"):
    return SchemaRegistryError(404, code, message)


# -- Protobuf: the message written ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def proto():
    return make_codec(Schema(PROTO, "PROTOBUF"), [])


@pytest.mark.parametrize("name, indexes", [
    ("Order", (0,)), ("shop.Order", (0,)), (".shop.Order", (0,)), ("Note", (1,)),
    # the map field's CountsEntry is nested type 0: Line is 1, as Confluent counts
    ("Order.Line", (0, 1)), ("shop.Order.Line", (0, 1)), ("Order.Line.Price", (0, 1, 0)),
])
def test_message_names_to_index_paths(proto, name, indexes):
    from confluent_kafka.schema_registry.common.protobuf import _create_index_array

    assert proto.message_path(name) == indexes
    # the path confluent-kafka's ProtobufSerializer writes for that message's class
    assert tuple(_create_index_array(proto.message_class(indexes).DESCRIPTOR)) == indexes
    assert proto.full_name(indexes) == "shop." + name.removeprefix(".").removeprefix("shop.")


@pytest.mark.parametrize("name", ["Line", "Order.CountsEntry", "shop", "Order.", "", "shop.Order.Nope"])
def test_an_unknown_message_lists_the_messages(proto, name):
    with pytest.raises(BadSchema) as caught:
        proto.message_path(name)
    assert str(caught.value).endswith("its messages: Order, Order.Line, Order.Line.Price, Note")


# -- the refusals' wording --------------------------------------------------------------------------------
def test_an_unknown_subject_names_the_options_to_use():
    """The 40401 sentence once showed a literal {choice.side}: its second half was not an f-string."""
    said = _refusal(not_found(40401), REGISTRY, Choice("key", "avro"), "t-key", registry_client.describe_failure)
    assert said == ("subject t-key is not in the Schema Registry: give the schema with --key-schema FILE (it is then "
                    "registered) or an id with --key-schema-id")
    assert "{" not in said
