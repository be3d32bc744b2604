"""producer.py's schema step: a record reader that wraps the text or JSON one (lines.LineParser, json_input.JsonRecords)
and turns each key and value (JSON text in a text line; the JSON value itself in a -f json record) into the schema's
encoding in Confluent's wire format. A line that does not fit the schema is a BadLine like any other.

The schema is settled before any line is read: registered under its subject (--*-schema FILE), taken by id
(--*-schema-id N), or the subject's latest version; a refusal of the registry is one CliError naming the subject.
"""

import base64
import json
import struct

from .errors import CliError, ConfigError
from .lines import BadLine
from .schema_options import SCHEMA_FORMATS
from .schema_types import BadPayload, BadSchema, make_codec, one_line

NUMBER_LAYOUTS = {"integer": ">i", "double": ">d"}  # Kafka's IntegerSerializer, DoubleSerializer


class Encoder:
    """JSON data -> the bytes of one side: schema'd (magic byte, id, payload) or a big-endian number."""

    def __init__(self, fmt, codec=None, schema_id=None, subject=None):
        self.fmt, self.codec, self.schema_id, self.subject = fmt, codec, schema_id, subject
        self.header = b"\x00" + schema_id.to_bytes(4, "big") if schema_id is not None else b""

    def encode(self, document):
        if self.codec is not None:
            return self.header + self.codec.encode(document)
        try:
            return struct.pack(NUMBER_LAYOUTS[self.fmt], document)
        except (struct.error, TypeError):
            raise BadPayload(f"{one_line(repr(document), 40)} is not a 4-byte integer" if self.fmt == "integer"
                             else f"{one_line(repr(document), 40)} is not a number") from None


class SchemaRecords:
    """The wrapped reader's face (bad, what, hint, prompt, reader) with the encoding in parse(); no fast path."""

    def __init__(self, inner, encoders, json_input):
        self.inner = inner
        self.encoders = encoders  # {"key": Encoder or None, "value": Encoder or None}
        self.json_input = json_input
        self.bad = f"{inner.bad}, or not fitting the schema"
        self.what, self.prompt = inner.what, inner.prompt
        self.hint = "--skip-bad-lines to go on"  # the text reader's --no-key advice does not fit a schema mismatch

    def reader(self, max_bytes):
        return self.inner.reader(max_bytes)

    def plain(self, chunk):
        return None  # every line goes through parse(): its data must be encoded

    def parse(self, line):
        if self.json_input:
            return self.inner.parse(self._encoded_record(line))
        key, value, headers, partition, timestamp = self.inner.parse(line)
        return (self._side("key", key, from_text=True), self._side("value", value, from_text=True), headers,
                partition, timestamp)

    def _side(self, side, data, from_text):
        encoder = self.encoders[side]
        if encoder is None or data is None:
            return data
        if from_text:
            try:
                data = json.loads(data)
            except (ValueError, RecursionError) as e:
                raise BadLine(f"the {side} is not JSON ({one_line(e, 80)}): {one_line(repr(data), 60)}") from None
        try:
            return encoder.encode(data)
        except BadPayload as e:
            raise BadLine(f"the {side} {e}") from None

    def _encoded_record(self, line):
        """A -f json record with its key and value encoded (as {"base64": ...}) for JsonRecords to take."""
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            return line  # JsonRecords says what is wrong with it
        if not isinstance(record, dict):
            return line
        for side in ("key", "value"):
            if self.encoders[side] is not None and record.get(side) is not None:
                record.pop(f"{side}_raw", None)  # consumer.py's stored bytes: this run writes the data anew
                encoded = self._side(side, record[side], from_text=False)
                record[side] = {"base64": base64.b64encode(encoded).decode("ascii")}
        return json.dumps(record)


# -- settling the schema, before any line ---------------------------------------------------------------
def record_name(kind, schema_str):
    """The record's full name, for RecordNameStrategy: Avro namespace.name, JSON Schema title, Protobuf
    package.first message."""
    if kind == "AVRO":
        schema = json.loads(schema_str)
        name = schema.get("name", "") if isinstance(schema, dict) else ""
        namespace = schema.get("namespace") if isinstance(schema, dict) else None
        return f"{namespace}.{name}" if namespace and "." not in name else name
    if kind == "JSON":
        schema = json.loads(schema_str)
        return schema.get("title", "") if isinstance(schema, dict) else ""
    import re

    package = re.search(r"^\s*package\s+([\w.]+)\s*;", schema_str, re.M)
    message = re.search(r"^\s*message\s+(\w+)", schema_str, re.M)
    name = message.group(1) if message else ""
    return f"{package.group(1)}.{name}" if package and name else name


def subject_for(strategy, topic, side, kind, schema_str):
    if strategy == "topic":
        return f"{topic}-{side}"
    name = record_name(kind, schema_str) if schema_str is not None else ""
    if not name:
        raise ConfigError(f"--subject-name-strategy {strategy} needs the {side} schema's record name: give it with "
                          f"--{side}-schema FILE (a named Avro record, a JSON Schema title, a Protobuf message)")
    return name if strategy == "record" else f"{topic}-{name}"


def read_schema_file(path, side):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read(1024 * 1024 + 1)
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"--{side}-schema {path}: cannot read it: {getattr(e, 'strerror', None) or e}") from None


class Choice:
    """One side's options: --{side}-format, --{side}-schema, --{side}-schema-id."""

    def __init__(self, side, fmt, schema_file=None, schema_id=None):
        self.side, self.fmt, self.schema_file, self.schema_id = side, fmt, schema_file, schema_id


def settle_encoder(choice, registry, topic, strategy):
    """The Encoder of one side, or None (sent as given). Registry work happens here, before any line is read."""
    if choice.fmt in NUMBER_LAYOUTS:
        return Encoder(choice.fmt)
    if choice.fmt not in SCHEMA_FORMATS:
        if choice.schema_file or choice.schema_id is not None:
            raise ConfigError(f"--{choice.side}-schema needs --{choice.side}-format avro, jsonschema or protobuf")
        return None
    if registry is None:
        raise ConfigError(f"--{choice.side}-format {choice.fmt} needs a Schema Registry: set schema.registry.url in "
                          "[default] (or url in [schema_registry]) of the config file")
    if choice.schema_file and choice.schema_id is not None:
        raise ConfigError(f"--{choice.side}-schema and --{choice.side}-schema-id both name the schema: give one")
    from .registry_client import describe_failure, make_client
    from .schema_decode import SchemaSource

    kind = SCHEMA_FORMATS[choice.fmt]
    text = read_schema_file(choice.schema_file, choice.side) if choice.schema_file else None
    subject = None if choice.schema_id is not None else subject_for(strategy, topic, choice.side, kind, text)
    source = SchemaSource(registry, make_client(registry))
    try:
        schema_id, schema = _registered(source.client, kind, text, choice.schema_id, subject)
        references = source.references(schema)
    except CliError:
        raise
    except Exception as e:  # SchemaRegistryError, transport errors
        raise CliError(_refusal(e, registry, choice, subject, describe_failure)) from None
    if (schema.schema_type or "AVRO").upper() != kind:
        raise CliError(f"schema id {schema_id} is {schema.schema_type}, not {kind} as --{choice.side}-format says")
    try:
        codec = make_codec(schema, references)
    except BadSchema as e:
        raise CliError(f"the {choice.side} schema{f' for subject {subject}' if subject else ''}: {e}") from None
    return Encoder(choice.fmt, codec, schema_id, subject)


def _registered(client, kind, text, schema_id, subject):
    """(schema id, Schema): the file's schema registered under `subject`, the given id, or the latest version."""
    from confluent_kafka.schema_registry import Schema

    if text is not None:
        try:
            make_codec(Schema(text, kind, []), [])  # a schema that does not parse is said before the registry
        except BadSchema as e:
            raise ConfigError(f"the schema file: {e}") from None
        return client.register_schema(subject, Schema(text, kind, [])), Schema(text, kind, [])
    if schema_id is not None:
        return schema_id, client.get_schema(schema_id)
    latest = client.get_latest_version(subject)
    return latest.schema_id, latest.schema


def _refusal(error, registry, choice, subject, describe_failure):
    status = getattr(error, "http_status_code", None)
    code = getattr(error, "error_code", None)
    what = f"subject {subject}" if subject else f"schema id {choice.schema_id}"
    if status == 409:
        return (f"the Schema Registry refused the {choice.side} schema for {what}: not compatible with its earlier "
                f"versions ({one_line(error.error_message, 200)})")
    if status == 404 and code == 40401:
        return (f"subject {subject} is not in the Schema Registry: give the schema with --{choice.side}-schema FILE "
                f"(it is then registered) or an id with --{choice.side}-schema-id")
    if status == 404:
        return f"{what} is not in the Schema Registry at {registry.url}"
    if status == 422:
        return f"the Schema Registry refused the {choice.side} schema for {what}: {one_line(error.error_message)}"
    return f"{what}: {describe_failure(error, registry)}"


def schema_records(records, config, topic, choices, strategy):
    """`records` wrapped with the encoding `choices` ask for, or `records` itself when none is asked."""
    encoders = {c.side: settle_encoder(c, getattr(config, "registry", None), topic, strategy) for c in choices}
    if not any(encoders.values()):
        return records
    from .json_input import JsonRecords

    return SchemaRecords(records, encoders, isinstance(records, JsonRecords))
