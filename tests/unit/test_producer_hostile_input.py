"""producer.py's schema step against input nobody vetted: schema and references files of any size (read whole or
refused, never cut), and key/value lines whose JSON holds what JSON cannot (lone surrogates, NaN, Infinity,
numbers past a double, nesting past Python's stack): each is a numbered bad line, never a traceback. The
registry is a fake with confluent-kafka's client's face."""

import json
import os
from types import SimpleNamespace

import pytest
from confluent_kafka.schema_registry import Schema

from kafka_cli import registry_client
from kafka_cli.errors import ConfigError
from kafka_cli.schema_records import MAX_SCHEMA_FILE, Choice, read_schema_file, schema_records
from kafka_cli.schema_references import MAX_FILE, read_references

REGISTRY = SimpleNamespace(url="http://registry.test:8081", user=lambda: None, conf={"timeout": 10})


class FakeClient:
    """The calls the producer makes to register a schema file, over memory."""

    def __init__(self):
        self.registered = {}  # subject -> Schema

    def register_schema(self, subject, schema):
        self.registered[subject] = schema
        return len(self.registered)

    def get_latest_version(self, subject):
        raise AssertionError("not asked in these tests")


@pytest.fixture
def client(monkeypatch):
    fake = FakeClient()
    monkeypatch.setattr(registry_client, "make_client", lambda settings: fake)
    return fake


def settle(choices, topic="t"):
    """The SchemaRecords for `choices` (a text reader with a tab separator underneath)."""
    from kafka_cli.lines import LineParser

    return schema_records(LineParser(b"\t", False), SimpleNamespace(registry=REGISTRY), topic, choices, "topic")


# -- schema and references files: whole, or refused with their size -----------------------------------------
def big_avro_schema(size):
    """A valid Avro record schema of about `size` bytes (a long doc), its last field named last."""
    head = {"type": "record", "name": "Big", "doc": "x" * size,
            "fields": [{"name": "n", "type": "long"}, {"name": "last", "type": "string"}]}
    return json.dumps(head)


def big_proto(size):
    """.proto text of about `size` bytes (comments), with a message Last after them."""
    comments = "".join(f"// {'y' * 76}\n" for _ in range(size // 80))
    return f'syntax = "proto3";\npackage big;\nmessage First {{ int64 id = 1; }}\n{comments}message Last {{ string s = 1; }}\n'


def test_a_14_mb_avro_schema_is_read_and_registered_whole(client, tmp_path):
    text = big_avro_schema(1_400_000)
    path = tmp_path / "big.avsc"
    path.write_text(text)
    assert read_schema_file(str(path), "value") == text
    records = settle([Choice("key", "string"), Choice("value", "avro", str(path))])
    assert client.registered["t-value"].schema_str == text
    assert records.parse(b'k\t{"n": 1, "last": "z"}')[1] == b"\x00\x00\x00\x00\x01" + b"\x02\x02z"


def test_a_12_mb_proto_is_registered_whole_not_its_first_mebibyte(client, tmp_path):
    text = big_proto(1_200_000)
    assert len(text) > 1024 * 1024 + 1
    path = tmp_path / "big.proto"
    path.write_text(text)
    records = settle([Choice("key", "string"), Choice("value", "protobuf", str(path), message="Last")])
    assert client.registered["t-value"].schema_str == text
    assert records.encoders["value"].codec.message_path("Last") == (1,)


def test_a_schema_file_over_the_limit_is_refused_with_its_size_never_cut(client, tmp_path):
    path = tmp_path / "huge.avsc"
    with open(path, "wb") as f:
        f.truncate(MAX_SCHEMA_FILE + 1)  # sparse: no 16 MiB written
    with pytest.raises(ConfigError) as caught:
        settle([Choice("key", "string"), Choice("value", "avro", str(path))])
    assert caught.value.message == (f"--value-schema {path}: 16,777,217 bytes, larger than 16 MiB (16,777,216 "
                                    "bytes), the most a schema file may be: refused, not cut")
    assert client.registered == {}


def test_a_schema_file_exactly_at_the_limit_is_read(tmp_path):
    path = tmp_path / "at-limit.avsc"
    path.write_bytes(b" " * MAX_SCHEMA_FILE)
    assert len(read_schema_file(str(path), "key")) == MAX_SCHEMA_FILE


def test_a_schema_from_a_pipe_over_the_limit_is_refused_without_reading_it_all(tmp_path):
    fifo = tmp_path / "schema.fifo"
    os.mkfifo(fifo)
    import threading

    def feed():
        try:
            with open(fifo, "wb") as f:
                for _ in range(32):  # twice the limit: the reader stops one byte past it
                    f.write(b" " * (1024 * 1024))
        except BrokenPipeError:
            pass

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    with pytest.raises(ConfigError, match=r"schema\.fifo: more than 16,777,216 bytes, larger than 16 MiB"):
        read_schema_file(str(fifo), "value")
    feeder.join(10)


def test_line_endings_of_a_schema_file_are_read_as_before(tmp_path):
    path = tmp_path / "crlf.avsc"
    path.write_bytes(b'{"type":\r\n"string"}\r')
    assert read_schema_file(str(path), "value") == '{"type":\n"string"}\n'
    path.write_bytes(b"\xff")
    with pytest.raises(ConfigError, match="cannot read it: 'utf-8' codec can't decode byte 0xff"):
        read_schema_file(str(path), "value")


def test_a_references_file_over_its_limit_names_its_size(tmp_path):
    path = tmp_path / "refs.json"
    path.write_bytes(b"[" + b" " * MAX_FILE + b"]")
    with pytest.raises(ConfigError) as caught:
        read_references(str(path), "key")
    assert caught.value.message == (f"--key-references {path}: 1,048,578 bytes, larger than 1 MiB (1,048,576 "
                                    "bytes), the most a list of references may be: refused, not cut")
