"""producer.py's schema options without a registry: the refusals' wording."""

from types import SimpleNamespace

from confluent_kafka.schema_registry.error import SchemaRegistryError

from kafka_cli import registry_client
from kafka_cli.schema_records import Choice, _refusal

REGISTRY = SimpleNamespace(url="http://registry.test:8081", user=lambda: None, conf={"timeout": 10})


def not_found(code, message="not found"):
    return SchemaRegistryError(404, code, message)


# -- the refusals' wording --------------------------------------------------------------------------------
def test_an_unknown_subject_names_the_options_to_use():
    """The 40401 sentence once showed a literal {choice.side}: its second half was not an f-string."""
    said = _refusal(not_found(40401), REGISTRY, Choice("key", "avro"), "t-key", registry_client.describe_failure)
    assert said == ("subject t-key is not in the Schema Registry: give the schema with --key-schema FILE (it is then "
                    "registered) or an id with --key-schema-id")
    assert "{" not in said
