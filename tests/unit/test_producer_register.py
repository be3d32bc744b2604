"""producer.py --register and --key-/--value-subject, without a registry: a fake with confluent-kafka's client's
face. What is printed (stdout: one line per schema; stderr: one error line), the exit status, what reached the
registry, and that no line is read and Kafka is never used."""

import os
import signal
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from confluent_kafka.schema_registry import Schema, SchemaReference
from confluent_kafka.schema_registry.error import SchemaRegistryError

from kafka_cli.cli import producer
from kafka_cli.core.exit_status import Interrupted
from kafka_cli.schema import registry as registry_client

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "examples")
ADDRESS, CUSTOMER, USER, ORDER_PROTO, PAYMENT, REFS = (
    os.path.normpath(os.path.join(EXAMPLES, name)) for name in (
        "address.avsc", "customer.avsc", "user.avsc", "order.proto", "payment.schema.json", "customer-refs.json"))


class FakeClient:
    """The registry calls --register makes, over subjects held in memory: lookup, register, versions."""

    def __init__(self, answers_version=True):
        self.subjects = {}  # subject -> [(schema id, Schema)]
        self.ids = {}  # schema id -> Schema
        self.answers_version = answers_version  # False: the registration's answer holds the id alone
        self.refuse = None  # a SchemaRegistryError (or any exception) register_schema_full_response raises
        self.on_lookup = None  # called at each lookup (a test sends a signal from there)
        self.calls = []

    def lookup_schema(self, subject, schema):
        self.calls.append(("lookup", subject))
        if self.on_lookup is not None:
            self.on_lookup()
        if subject not in self.subjects:
            raise SchemaRegistryError(404, 40401, f"Subject '{subject}' not found.")
        for version, (schema_id, known) in enumerate(self.subjects[subject], 1):
            if (known.schema_str, known.references) == (schema.schema_str, schema.references):
                return SimpleNamespace(version=version, schema_id=schema_id)
        raise SchemaRegistryError(404, 40403, "Schema not found")

    def register_schema_full_response(self, subject, schema):
        self.calls.append(("register", subject))
        if self.refuse is not None:
            raise self.refuse
        schema_id = len(self.ids) + 1
        self.ids[schema_id] = schema
        self.subjects.setdefault(subject, []).append((schema_id, schema))
        return SimpleNamespace(schema_id=schema_id, version=len(self.subjects[subject]) if self.answers_version
                               else None)

    def register_schema(self, subject, schema):  # producing: the id alone
        return self.register_schema_full_response(subject, schema).schema_id

    def get_version(self, subject, version):
        if subject not in self.subjects or not 1 <= version <= len(self.subjects[subject]):
            raise SchemaRegistryError(404, 40402, f"Version {version} not found.")
        schema_id, schema = self.subjects[subject][version - 1]
        return SimpleNamespace(subject=subject, version=version, schema_id=schema_id, schema=schema)

    def get_latest_version(self, subject):
        if subject not in self.subjects:
            raise SchemaRegistryError(404, 40401, f"Subject '{subject}' not found.")
        return self.get_version(subject, len(self.subjects[subject]))

    def get_schema(self, schema_id):
        return self.ids[schema_id]

    def registered(self):
        return {subject: [schema_id for schema_id, _ in versions] for subject, versions in self.subjects.items()}


@pytest.fixture
def client(monkeypatch):
    fake = FakeClient()
    monkeypatch.setattr(registry_client, "make_client", lambda settings: fake)

    def no_kafka(*args, **kwargs):
        raise AssertionError("--register used Kafka")
    monkeypatch.setattr(producer, "build_client", no_kafka)
    monkeypatch.setattr(producer, "read_and_produce", no_kafka)
    return fake


@pytest.fixture
def config(write_config):
    return write_config("[default]\nbootstrap.servers=127.0.0.1:1\n[schema_registry]\nurl=http://registry.test:8081\n")


def register(config, *args, stdin="k:{}\n"):
    """The run's (exit code, stdout, stderr); stdin holds a line that --register must leave unread."""
    result = CliRunner().invoke(producer.main, [config, "--register", *args], input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


ADDRESSES = ["--value-subject", "addresses", "--value-format", "avro", "--value-schema", ADDRESS]


def test_a_schema_registered_under_the_subject_named_and_told_on_stdout(client, config):
    assert register(config, *ADDRESSES) == (0, "subject addresses version 1 id 1\n", "")
    assert client.registered() == {"addresses": [1]}
    assert client.ids[1].schema_type == "AVRO" and '"name": "Address"' in client.ids[1].schema_str


def test_registering_the_same_schema_again_adds_no_version(client, config):
    register(config, *ADDRESSES)
    assert register(config, *ADDRESSES) == (0, "subject addresses version 1 id 1 (already registered)\n", "")
    assert client.registered() == {"addresses": [1]}
    assert [call for call, _ in client.calls] == ["lookup", "register", "lookup"]


def test_a_new_version_of_a_subject(client, config):
    register(config, *ADDRESSES)
    assert register(config, "--value-subject", "addresses", "--value-format", "avro", "--value-schema", USER) == (
        0, "subject addresses version 2 id 2\n", "")


def test_a_registry_that_answers_with_the_id_alone_is_asked_for_the_version(client, config):
    client.answers_version = False
    assert register(config, *ADDRESSES) == (0, "subject addresses version 1 id 1\n", "")
    assert [call for call, _ in client.calls] == ["lookup", "register", "lookup"]


def test_key_and_value_under_the_strategys_subjects_the_key_first(client, config):
    args = ["-t", "orders", "--key-format", "jsonschema", "--key-schema", PAYMENT,
            "--value-format", "protobuf", "--value-schema", ORDER_PROTO, "--value-message", "Order.Line"]
    assert register(config, *args) == (0, "subject orders-key version 1 id 1\nsubject orders-value version 1 id 2\n", "")
    assert register(config, *args, "--subject-name-strategy", "record") == (
        0, "subject Payment version 1 id 3\nsubject test.Order.Line version 1 id 4\n", "")
    assert (client.ids[1].schema_type, client.ids[2].schema_type) == ("JSON", "PROTOBUF")


def test_a_schema_with_references_registered_with_them(client, config):
    register(config, *ADDRESSES)
    assert register(config, "-t", "customers", "--value-format", "avro", "--value-schema", CUSTOMER,
                    "--value-references", REFS) == (0, "subject customers-value version 1 id 2\n", "")
    assert client.ids[2].references == [SchemaReference("test.Address", "addresses", 1)]


def test_a_value_schema_that_does_not_compile_leaves_no_key_schema_behind(client, config):
    assert register(config, "--key-format", "avro", "--key-schema", ADDRESS, "--value-format", "avro",
                    "--value-schema", CUSTOMER) == (
        2, "", f"Error: --value-schema {CUSTOMER}: the AVRO schema uses the type test.Address, which neither it nor "
               "its references define (a type of another subject's schema needs --value-references FILE)\n")
    assert client.registered() == {}


def test_a_reference_the_registry_lacks_names_the_file_and_entry(client, config):
    assert register(config, "--value-format", "avro", "--value-schema", CUSTOMER, "--value-references", REFS) == (
        1, "", f"Error: --value-references {REFS}: entry 1 (test.Address): subject addresses version 1 is not in "
               "the Schema Registry at http://registry.test:8081\n")


def test_a_refused_value_after_a_registered_key_still_tells_the_key(client, config):
    client.refuse = None
    args = ["-t", "t", "--key-format", "avro", "--key-schema", ADDRESS, "--value-format", "avro", "--value-schema", USER]
    calls = iter([None, SchemaRegistryError(409, 409, "Incompatible artifact")])
    original = client.register_schema_full_response

    def register_then_refuse(subject, schema):
        client.refuse = next(calls)
        return original(subject, schema)
    client.register_schema_full_response = register_then_refuse
    assert register(config, *args) == (
        1, "subject t-key version 1 id 1\n", "Error: the Schema Registry refused the value schema for subject "
                                             "t-value: not compatible with its earlier versions (Incompatible artifact)\n")


@pytest.mark.parametrize("error, said", [
    (SchemaRegistryError(422, 42201, "Invalid schema"),
     "the Schema Registry refused the value schema for subject addresses: Invalid schema"),
    (SchemaRegistryError(401, 40101, "Unauthorized"), "subject addresses: the Schema Registry at "
     "http://registry.test:8081 refused no credentials (basic.auth.user.info is not set): HTTP 401 (check "
     "basic.auth.user.info)"),
    (ConnectionRefusedError(111, "Connection refused"), "subject addresses: the Schema Registry at "
     "http://registry.test:8081 cannot be reached: [Errno 111] Connection refused"),
])
def test_a_registry_refusal_is_one_error_line_naming_the_subject(client, config, error, said):
    client.refuse = error
    assert register(config, *ADDRESSES) == (1, "", f"Error: {said}\n")


@pytest.mark.parametrize("args, said", [
    ([], "--register needs a schema file to register: --value-format avro|jsonschema|protobuf with --value-schema "
         "FILE, or --key-format with --key-schema FILE"),
    (["--value-format", "avro"], "--register registers --value-schema FILE: give it beside --value-format avro"),
    (["--key-format", "protobuf", "--key-schema-id", "3"], "--register registers --key-schema FILE: give it beside "
     "--key-format protobuf (--key-schema-id names a schema already registered)"),
    (["--key-format", "integer", *ADDRESSES], "--register registers schemas; --key-format integer has none (it only "
                                             "says how to write messages)"),
    (["--value-format", "avro", "--value-schema", "/nonexistent.avsc"],
     "--value-schema /nonexistent.avsc: cannot read it: No such file or directory"),
    (["--value-subject", "", "--value-format", "avro", "--value-schema", ADDRESS], "--value-subject must not be empty"),
    (["--value-subject", "a\x1b[2Jb", "--value-format", "avro", "--value-schema", ADDRESS],
     '--value-subject "a\\u001b[2Jb" holds characters that cannot be sent to the Schema Registry (control or '
     "invisible characters, lone surrogates; a subject of dots)"),
    (["--value-subject", "..", "--value-format", "avro", "--value-schema", ADDRESS], "a subject of dots"),
    (["--value-subject", "s", "--value-format", "avro", "--value-schema-id", "4"],
     "--value-subject and --value-schema-id: an id names the schema itself; a subject is for --value-schema FILE "
     "(registered under it) or its latest version"),
    (["--key-subject", "s", *ADDRESSES], "--key-subject needs --key-format avro, jsonschema or protobuf"),
])
def test_what_cannot_be_registered_is_one_usage_error_before_the_registry(client, config, args, said):
    code, out, err = register(config, *args)
    assert (code, out) == (2, "") and err.startswith("Error: ") and said in err and err.count("\n") == 1
    assert client.calls == []


@pytest.mark.parametrize("args, flags", [
    (["-K", r"\t"], "-K"),
    (["-f", "json"], "-f"),
    (["--timeout", "5", "-H", "a=b"], "-H, --timeout"),
    (["--skip-bad-lines", "-k", "key", "-p", "0"], "-k, -p, --skip-bad-lines"),
])
def test_options_about_messages_are_refused_with_register(client, config, args, flags):
    code, out, err = register(config, *args, *ADDRESSES)
    assert (code, out) == (2, "") and err.endswith(
        f"Error: {flags}: not with --register, which only registers schemas (no line is read, no message written)\n")
    assert client.calls == []


def test_register_needs_a_registry_in_the_config(client, write_config):
    config = write_config("[default]\nbootstrap.servers=127.0.0.1:1\n", name="plain.ini")
    code, out, err = register(config, *ADDRESSES)
    assert (code, out) == (2, "") and "--value-format avro needs a Schema Registry" in err and config in err


def test_register_with_stdin_closed_still_registers(client, config, monkeypatch):
    monkeypatch.setattr(producer.sys, "stdin", None)
    result = CliRunner().invoke(producer.main, [config, "--register", *ADDRESSES])
    assert (result.exit_code, result.stdout) == (0, "subject addresses version 1 id 1\n")


def test_a_signal_while_the_registry_is_asked_ends_the_run_at_once(client, config):
    client.on_lookup = lambda: os.kill(os.getpid(), signal.SIGTERM)
    with pytest.raises(Interrupted) as caught:
        register(config, *ADDRESSES)
    assert caught.value.signum == signal.SIGTERM and client.registered() == {}


# -- --value-subject when producing -----------------------------------------------------------------------
def test_lines_are_written_with_the_schema_registered_under_the_subject_named(client, config, monkeypatch):
    sent = []

    def produce(kafka, options, delivery, log):
        sent.append(options.records.parse(b'k\t{"city":"Oslo"}'))
        return 1, None, 0
    monkeypatch.setattr(producer, "build_client", lambda *args, **kwargs: SimpleNamespace(flush=lambda t: 0))
    monkeypatch.setattr(producer, "check_topic", lambda *args: None)
    monkeypatch.setattr(producer, "check_partition", lambda *args: None)
    monkeypatch.setattr(producer, "read_and_produce", produce)
    monkeypatch.setattr(producer, "finish", lambda *args: None)
    result = CliRunner().invoke(producer.main, [config, "-t", "t", "-K", r"\t", *ADDRESSES], input="")
    assert result.exit_code == 0, result.stderr
    assert client.registered() == {"addresses": [1]}
    assert sent[0][1] == b"\x00\x00\x00\x00\x01" + b"\x08Oslo"


def test_the_latest_version_of_the_subject_named(client, config, monkeypatch):
    register(config, *ADDRESSES)
    from kafka_cli.schema.records import Choice, schema_records
    from kafka_cli.produce.lines import LineParser

    records = schema_records(LineParser(b"\t", False), SimpleNamespace(registry=SimpleNamespace(
        url="http://registry.test:8081", user=lambda: None, conf={"timeout": 10}), path="c.ini"), "t",
        [Choice("value", "avro", subject="addresses")], "topic")
    assert records.encoders["value"].subject == "addresses"
    assert records.encoders["value"].encode({"city": "Rome"}) == b"\x00\x00\x00\x00\x01" + b"\x08Rome"
