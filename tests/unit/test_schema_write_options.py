"""producer.py's schema options without a registry: the --*-references file checked (hostile contents included),
its versions settled, the Protobuf message chosen by --*-message and its index path read back by the consumer's
decoder, and the refusals' wording. The registry is a fake with confluent-kafka's client's face."""

import json
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from confluent_kafka.schema_registry import Schema, SchemaReference
from confluent_kafka.schema_registry.error import SchemaRegistryError
from hypothesis import given, settings, strategies as st

from kafka_cli.cli import producer
from kafka_cli.schema import registry as registry_client
from kafka_cli.core.errors import CliError, ConfigError
from kafka_cli.schema.decode import Decoder
from kafka_cli.schema.records import Choice, Encoder, _refusal, check_choice, schema_records
from kafka_cli.schema.references import Entry, read_references, resolve
from kafka_cli.schema.codecs import BadSchema, make_codec, read_message_indexes

REGISTRY = SimpleNamespace(url="http://registry.test:8081", user=lambda: None, conf={"timeout": 10})
ADDRESS = '{"type":"record","name":"Address","namespace":"test","fields":[{"name":"city","type":"string"}]}'
CUSTOMER = ('{"type":"record","name":"Customer","namespace":"test","fields":[{"name":"name","type":"string"},'
            '{"name":"home","type":"test.Address"}]}')
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


class FakeClient:
    """SchemaRegistryClient's calls the producer makes, over subjects held in memory."""

    def __init__(self, subjects=None):
        self.subjects = {name: list(versions) for name, versions in (subjects or {}).items()}  # name -> [Schema]
        self.ids = {}  # schema id -> Schema
        self.registered = {}  # subject -> the Schema registered

    def _registered(self, subject, number):
        schema = self.subjects[subject][number - 1]
        return SimpleNamespace(subject=subject, version=number, schema=schema, schema_id=100 + number)

    def get_latest_version(self, subject):
        if subject not in self.subjects:
            raise not_found(40401, f"Subject '{subject}' not found.")
        return self._registered(subject, len(self.subjects[subject]))

    def get_version(self, subject, version):
        if subject not in self.subjects:
            raise not_found(40401)
        if not 1 <= version <= len(self.subjects[subject]):
            raise not_found(40402, f"Version {version} not found.")
        return self._registered(subject, version)

    def register_schema(self, subject, schema):
        self.registered[subject] = schema
        self.ids[len(self.ids) + 1] = schema
        return len(self.ids)

    def get_schema(self, schema_id):
        if schema_id not in self.ids:
            raise not_found(40403)
        return self.ids[schema_id]


@pytest.fixture
def client(monkeypatch):
    fake = FakeClient({"addresses": [Schema(ADDRESS, "AVRO"), Schema(ADDRESS, "AVRO")]})
    monkeypatch.setattr(registry_client, "make_client", lambda settings: fake)
    return fake


def write(tmp_path, text, name="refs.json"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(path)


def encoders(choices, topic="t", strategy="topic"):
    """The SchemaRecords' encoders for `choices` (records is a stand-in: it is only wrapped)."""
    from kafka_cli.produce.lines import LineParser

    return schema_records(LineParser(b"\t", False), SimpleNamespace(registry=REGISTRY, path="c.ini"), topic, choices,
                          strategy).encoders


# -- the references file ------------------------------------------------------------------------------
def test_references_file_entries(tmp_path):
    path = write(tmp_path, '[{"name": "test.Address", "subject": "addresses", "version": 2},'
                           ' {"name": "b.proto", "subject": "b"}]')
    assert read_references(path, "value") == [Entry("test.Address", "addresses", 2), Entry("b.proto", "b", None)]
    assert read_references(write(tmp_path, "[]"), "key") == []


@pytest.mark.parametrize("text, message", [
    (b"\xff\xfe[]", "not JSON"),
    ("[{", "not JSON"),
    ("[" * 100_000 + "]" * 100_000, "not JSON"),
    ('{"name": "a", "subject": "b"}', "a JSON object, not a JSON list of"),
    ('"refs"', "a JSON string, not a JSON list of"),
    ('[["a", "b", 1]]', "entry 1 is a JSON list, not an object"),
    ('[{"name": "a", "subject": "s"}, 7]', "entry 2 is a JSON number, not an object"),
    ('[{"subject": "s"}]', 'entry 1: "name" is missing'),
    ('[{"name": "a"}]', 'entry 1: "subject" is missing'),
    ('[{"name": "", "subject": "s"}]', 'entry 1: "name" must be a non-empty string, not ""'),
    ('[{"name": "a", "subject": ["s"]}]', 'entry 1: "subject" must be a non-empty string, not ["s"]'),
    ('[{"name": "a", "subject": "s", "version": 0}]', '"version" must be a version number of subject s'),
    ('[{"name": "a", "subject": "s", "version": -1}]', "not -1; leave it out for the subject's latest version"),
    ('[{"name": "a", "subject": "s", "version": "latest"}]', 'not "latest"'),
    ('[{"name": "a", "subject": "s", "version": 1.0}]', "not 1.0"),
    ('[{"name": "a", "subject": "s", "version": true}]', "not true"),
    ('[{"name": "a", "subject": "s", "version": 2147483648}]', "not 2147483648"),
    ('[{"name": "a", "subject": "s", "version": null}]', "not null"),
    ('[{"name": "a", "subject": "s", "subjct": "t"}]', 'unknown key "subjct"'),
    ('[{"name": "a", "subject": "s\\u001b[2J"}]', '"subject" "s\\u001b[2J" holds characters that cannot be sent'),
    ('[{"name": "a\\ud800", "subject": "s"}]', '"name" "a\\ud800" holds characters'),
    ('[{"name": "a", "subject": "x\\u202ey"}]', "holds characters that cannot be sent"),
    ('[{"name": "a", "subject": ".."}]', "a subject of dots"),
    ('[{"name": "a", "subject": "s"}, {"name": "a", "subject": "t"}]', 'entry 2 names "a" again (entry 1 did)'),
])
def test_a_bad_references_file_is_one_config_error_naming_it(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        read_references(path, "value")
    said = caught.value.message
    assert said.startswith(f"--value-references {path}: ") and message in said and "\n" not in said


def test_an_unreadable_or_huge_references_file(tmp_path):
    with pytest.raises(ConfigError, match="--key-references /nonexistent/refs.json: cannot read it: No such file"):
        read_references("/nonexistent/refs.json", "key")
    with pytest.raises(ConfigError, match="cannot read it: Is a directory"):
        read_references(str(tmp_path), "key")
    with pytest.raises(ConfigError, match="larger than 1 MiB"):
        read_references(write(tmp_path, "[" + " " * (1024 * 1024) + "]"), "key")


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                   max_size=4), max_leaves=20)
# entries that look almost right: the three keys (and a stray one) holding any JSON value
ENTRY = st.dictionaries(st.sampled_from(["name", "subject", "version", "Version"]), JSON, max_size=4)


def read_or_refuse(tmp_path, data):
    """What a references file gives: its entries, or a ConfigError; any other exception fails the test."""
    path = tmp_path / "hostile.json"
    path.write_bytes(data)
    try:
        entries = read_references(str(path), "value")
    except ConfigError as e:
        assert "\n" not in e.message and e.message.startswith(f"--value-references {path}: ")
        assert all(c.isprintable() for c in e.message)  # nothing of the file reaches the terminal raw
        return None
    assert all(isinstance(e.name, str) and isinstance(e.subject, str) for e in entries)
    assert all(e.version is None or (type(e.version) is int and e.version >= 1) for e in entries)
    return entries


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_are_entries_or_a_config_error(tmp_path_factory, data):
    read_or_refuse(tmp_path_factory.mktemp("refs"), data)


@settings(max_examples=300, deadline=None)
@given(JSON | st.lists(ENTRY, max_size=4))
def test_any_json_is_entries_or_a_config_error(tmp_path_factory, document):
    read_or_refuse(tmp_path_factory.mktemp("refs"), json.dumps(document).encode())


# -- settled with the registry -----------------------------------------------------------------------------
def choice(**kw):
    return Choice(**{"side": "value", "fmt": "avro", "references_file": "refs.json", **kw})


def test_versions_are_settled_to_numbers(client):
    entries = [Entry("test.Address", "addresses"), Entry("old.Address", "addresses", 1)]
    assert resolve(client, entries, choice(), REGISTRY) == [SchemaReference("test.Address", "addresses", 2),
                                                            SchemaReference("old.Address", "addresses", 1)]


@pytest.mark.parametrize("entry, said", [
    (Entry("x", "nobody"), "entry 2 (x): subject nobody is not in the Schema Registry at http://registry.test"),
    (Entry("x", "addresses", 9), "entry 2 (x): subject addresses version 9 is not in the Schema Registry at"),
])
def test_a_subject_or_version_the_registry_lacks_is_a_cli_error_naming_the_entry(client, entry, said):
    with pytest.raises(CliError) as caught:
        resolve(client, [Entry("test.Address", "addresses"), entry], choice(), REGISTRY)
    assert type(caught.value) is CliError and caught.value.exit_code == 1
    assert caught.value.message.startswith("--value-references refs.json: ") and said in caught.value.message


def test_a_registry_that_refuses_the_reference_lookup_is_said_as_such(client):
    def refuse(subject):
        raise SchemaRegistryError(401, 40101, "Unauthorized")
    client.get_latest_version = refuse
    with pytest.raises(CliError, match="entry 1 \\(a\\): subject s: the Schema Registry at http://registry.test:8081 "
                                       "refused no credentials"):
        resolve(client, [Entry("a", "s")], choice(), REGISTRY)


def test_an_avro_schema_registered_with_its_references_and_encoded_with_them(client, tmp_path):
    refs = write(tmp_path, '[{"name": "test.Address", "subject": "addresses"}]')
    encoder = encoders([Choice("value", "avro", write(tmp_path, CUSTOMER, "c.avsc"), None, refs)])["value"]
    registered = client.registered["t-value"]
    assert registered.references == [SchemaReference("test.Address", "addresses", 2)]
    data = encoder.encode({"name": "cy", "home": {"city": "Oslo"}})
    decoded = make_codec(registered, [("test.Address", Schema(ADDRESS, "AVRO"))]).decode(data[5:])
    assert data[:5] == b"\x00\x00\x00\x00\x01" and decoded == {"name": "cy", "home": {"city": "Oslo"}}


def test_a_schema_needing_a_reference_it_was_not_given_is_refused_before_registering(client, tmp_path):
    with pytest.raises(ConfigError, match="c.avsc: the AVRO schema uses the type test.Address, which neither it nor "
                                          "its references define \\(a type of another subject's schema needs "
                                          "--value-references FILE\\)"):
        encoders([Choice("value", "avro", write(tmp_path, CUSTOMER, "c.avsc"))])
    assert client.registered == {}
    with pytest.raises(ConfigError) as caught:  # no hint where nothing points at another subject
        encoders([Choice("value", "avro", write(tmp_path, '{"type": "record"', "c.avsc"))])
    assert "references" not in caught.value.message


def test_a_proto_importing_a_file_it_was_not_given(client, tmp_path):
    proto = 'syntax = "proto3";\nimport "billing/common.proto";\nmessage A { billing.Money m = 1; }\n'
    with pytest.raises(ConfigError, match=r"a.proto: the .proto schema does not compile: .*Import "
                                          r"\"billing/common.proto\" was not found.*\(a type of another subject's "
                                          r"schema needs --value-references FILE\)"):
        encoders([Choice("value", "protobuf", write(tmp_path, proto, "a.proto"))])


def test_a_bad_references_file_of_the_value_is_said_before_the_key_is_registered(client, tmp_path):
    key = Choice("key", "avro", write(tmp_path, ADDRESS, "k.avsc"))
    value = Choice("value", "avro", write(tmp_path, CUSTOMER, "c.avsc"), None, write(tmp_path, "{}"))
    with pytest.raises(ConfigError, match="--value-references .*refs.json: a JSON object"):
        encoders([key, value])
    assert client.registered == {}


@pytest.mark.parametrize("options, said", [
    (dict(fmt="avro", references_file="r.json"), "--value-references needs --value-schema FILE"),
    (dict(fmt="avro", references_file="r.json", schema_id=3), "--value-references needs --value-schema FILE"),
    (dict(fmt="string", references_file="r.json"), "--value-references needs --value-format avro, jsonschema"),
    (dict(fmt="integer", schema_file="s.avsc"), "--value-schema needs --value-format avro, jsonschema or protobuf"),
    (dict(fmt="string", schema_id=4), "--value-schema-id needs --value-format avro"),
    (dict(fmt="avro", message="A"), "--value-message names a Protobuf message type: it needs --value-format "
                                    "protobuf, not avro"),
    (dict(fmt="string", message="A"), "it needs --value-format protobuf, not string"),
])
def test_options_that_cannot_go_together(options, said):
    with pytest.raises(ConfigError) as caught:
        check_choice(Choice("value", **options), REGISTRY, "c.ini")
    assert said in caught.value.message


def test_the_command_refuses_references_without_a_schema_file_before_reading_a_line(write_config, tmp_path):
    config = write_config("[default]\nbootstrap.servers=127.0.0.1:1\nschema.registry.url=http://127.0.0.1:1\n")
    result = CliRunner().invoke(producer.main, [config, "--value-format", "avro", "--value-references",
                                                write(tmp_path, "[]")], input="k:{}\n")
    assert result.exit_code == 2
    assert "Error: --value-references needs --value-schema FILE" in result.stderr
    result = CliRunner().invoke(producer.main, [config, "--key-message", "A"], input="k:v\n")
    assert result.exit_code == 2 and "--key-message names a Protobuf message type" in result.stderr


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


@pytest.mark.parametrize("message, document", [
    (None, {"id": "7", "counts": {"a": 1}, "lines": [{"sku": "x", "price": {"cents": 5}}]}),
    ("Order.Line", {"sku": "x", "price": {"cents": 5}}),
    ("shop.Order.Line.Price", {"cents": 12}),
    ("Note", {"text": "hi"}),
])
def test_the_chosen_message_round_trips_through_the_consumers_decoder(client, tmp_path, message, document):
    encoder = encoders([Choice("value", "protobuf", write(tmp_path, PROTO, "o.proto"), message=message)])["value"]
    data = encoder.encode(document)
    registered = client.registered["t-value"]
    source = SimpleNamespace(load=lambda schema_id: SimpleNamespace(codec=make_codec(registered, []), subject="s"))
    assert Decoder(source, "protobuf").decode(data).value == document
    indexes, _ = read_message_indexes(data[5:])
    assert indexes == list(make_codec(registered, []).message_path(message or "Order"))


def test_record_name_strategy_names_the_chosen_message(client, tmp_path):
    schema = write(tmp_path, PROTO, "o.proto")
    encoders([Choice("value", "protobuf", schema, message="Order.Line.Price")], strategy="record")
    encoders([Choice("key", "protobuf", schema)], strategy="topic-record")
    assert sorted(client.registered) == ["shop.Order.Line.Price", "t-shop.Order"]


def test_an_unknown_message_is_a_config_error_before_registering(client, tmp_path):
    with pytest.raises(ConfigError) as caught:
        encoders([Choice("value", "protobuf", write(tmp_path, PROTO, "o.proto"), message="Line")])
    assert caught.value.message == (f"--value-message: --value-schema {tmp_path}/o.proto: the schema has no message "
                                    "'Line'; its messages: Order, Order.Line, Order.Line.Price, Note")
    assert client.registered == {}


def test_a_message_of_a_schema_taken_by_id(client):
    client.ids[5] = Schema(PROTO, "PROTOBUF")
    encoder = encoders([Choice("value", "protobuf", schema_id=5, message="Note")])["value"]
    assert encoder.encode({"text": "x"}) == b"\x00\x00\x00\x00\x05" + b"\x02\x02" + b"\x0a\x01x"
    with pytest.raises(ConfigError, match="--value-message: schema id 5: the schema has no message 'Nope'"):
        encoders([Choice("value", "protobuf", schema_id=5, message="Nope")])


def test_encoder_without_a_codec_still_writes_numbers():
    assert Encoder("integer").encode(7) == b"\x00\x00\x00\x07"


# -- the refusals' wording --------------------------------------------------------------------------------
def test_an_unknown_subject_names_the_options_to_use():
    """The 40401 sentence once showed a literal {choice.side}: its second half was not an f-string."""
    said = _refusal(not_found(40401), REGISTRY, Choice("key", "avro"), "t-key")
    assert said == ("subject t-key is not in the Schema Registry: give the schema with --key-schema FILE (it is then "
                    "registered) or an id with --key-schema-id")
    assert "{" not in said


def test_an_empty_file_name_is_no_file_rather_than_none(client):
    with pytest.raises(ConfigError, match="--value-schema : cannot read it"):
        encoders([Choice("value", "avro", "")])
    with pytest.raises(ConfigError, match="--value-references : cannot read it"):
        encoders([Choice("value", "avro", "/dev/null", references_file="")])
