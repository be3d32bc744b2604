"""producer.py's schema step: a record reader that wraps the text or JSON one (lines.LineParser, json_input.JsonRecords)
and turns each key and value (JSON text in a text line; the JSON value itself in a -f json record) into the schema's
encoding in Confluent's wire format. A line that does not fit the schema is a BadLine like any other.

The schema is settled before any line is read: registered under its subject (--*-schema FILE, with the schemas
it references: --*-references FILE, kafka_cli/schema/references.py), taken by id (--*-schema-id N), or the
subject's latest version; a refusal of the registry is one CliError naming the subject. Protobuf writes the
file's first message type, or the one --*-message NAME names.
"""

import base64
import dataclasses
import functools
import json
import math
import re
import struct
from dataclasses import dataclass

from kafka_cli.core.errors import CliError, ConfigError
from kafka_cli.core.words import needs_registry, one_line
from kafka_cli.produce.lines import BadLine
from kafka_cli.schema.wire import SCHEMA_FORMATS
from kafka_cli.schema.references import read_whole, sendable_subject
from kafka_cli.schema.codecs import MAX_DEPTH, BadPayload, BadSchema, make_codec

NUMBER_LAYOUTS = {"integer": ">i", "double": ">d"}  # Kafka's IntegerSerializer, DoubleSerializer


class Encoder:
    """JSON data -> the bytes of one side: schema'd (magic byte, id, payload) or a big-endian number."""

    def __init__(self, fmt, codec=None, schema_id=None, subject=None, indexes=None):
        self.fmt, self.codec, self.schema_id, self.subject = fmt, codec, schema_id, subject
        self.header = b"\x00" + schema_id.to_bytes(4, "big") if schema_id is not None else b""
        self._encode = getattr(codec, "encode", None)
        if indexes is not None:  # Protobuf: the message written (--{side}-message), its index path before it
            self._encode = functools.partial(codec.encode, indexes=indexes)

    def encode(self, document):
        if self.codec is not None:
            return self.header + self._encode(document)
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
        # Avro: no deeper than its reader goes (schema_types.MAX_DEPTH); fastavro's validation of a deeper value
        # also takes time that grows with the square of its depth (12 s for one line 500 levels deep)
        max_depth = MAX_DEPTH if encoder.fmt == "avro" else None
        try:
            data = strict_json(data, max_depth) if from_text else check_json(data, max_depth)
        except TooDeep as e:
            raise BadLine(f"the {side} {e}") from None
        except (ValueError, RecursionError) as e:  # (NotJson is a ValueError)
            said = one_line(e, 100) if isinstance(e, ValueError) else "it nests deeper than this tool parses"
            raise BadLine(f"the {side} is not JSON ({said})" + (f": {one_line(repr(data), 60)}" if from_text else "")) \
                from None
        try:
            return encoder.encode(data)
        except BadPayload as e:
            raise BadLine(f"the {side} {e}") from None
        except RecursionError:  # nested deeper than a codec's own walk (validation, conversion) goes
            raise BadLine(f"the {side} nests deeper than this tool encodes") from None
        except Exception as e:  # a library's own failure on odd data (fastavro, jsonschema, protobuf's C code): the
            # line is bad, and the run with every line before it goes on; the error's type is named, for a report
            raise BadLine(f"the {side} cannot be encoded ({type(e).__name__}: {one_line(e, 120)})") from None

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
        try:
            return json.dumps(record)
        except (ValueError, RecursionError):  # another field nests too deeply, or holds NaN: JsonRecords says which
            return line


# -- JSON that JSON cannot hold -----------------------------------------------------------------------------
# Python's json reads more than JSON: NaN, Infinity and -Infinity, numbers past a double (1e400 becomes inf), and
# "\ud800" escapes without their pair (a str no UTF-8 can encode). Each encoder then fails its own way (Avro
# writes NaN's bytes, JSON Schema writes the non-JSON literal NaN, a lone surrogate raised UnicodeEncodeError, in
# a Protobuf map key a SystemError). So a key or value holding any of them is a bad line, said here, in every
# format, before an encoder sees it.
_SURROGATE = re.compile("[\ud800-\udfff]")


class NotJson(ValueError):
    """A JSON text that holds what JSON cannot: its str() says what."""


class TooDeep(ValueError):
    """JSON nested deeper than the format is written: its str() says how deep is allowed."""


def _no_constant(name):
    raise NotJson(f"{name} is not a JSON number")


def _finite(text):
    number = float(text)
    if math.isinf(number):
        raise NotJson(f"{one_line(text, 40)} is beyond the range of a double")
    return number


def strict_json(text, max_depth=None):
    """The JSON text `text` (bytes or str) parsed and passed by check_json; NotJson for NaN, Infinity and a
    number past a double, ValueError for JSON that does not parse, RecursionError for JSON nested deeper than
    Python's stack allows."""
    document = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    # The walk costs more than the parse; most lines need none. A lone surrogate can only come from a \u escape
    # (the parser takes UTF-8 strictly), and a document can only nest as deep as it has brackets: both are
    # looked for at C speed first.
    # (text as str, from a Python caller, may hold a surrogate as such: it is walked unless it is ASCII)
    escape, brackets = ("\\u", "{[") if isinstance(text, str) else (b"\\u", b"{[")
    if escape in text or (isinstance(text, str) and not text.isascii()) or (max_depth is not None
                          and text.count(brackets[:1]) + text.count(brackets[1:]) > max_depth):
        return check_json(document, max_depth)
    return document


def check_json(document, max_depth=None):
    """Parsed JSON `document` itself, unless it holds what JSON cannot carry (NaN, an infinity, a lone surrogate in
    a string or a key: NotJson) or nests deeper than `max_depth` objects and arrays (TooDeep). A loop, not
    recursion: a document as deep as the parser allows must not overflow here."""
    stack = [(document, 1)]
    while stack:
        item, depth = stack.pop()
        problem = None
        if isinstance(item, str):
            problem = _surrogate_in(item)
        elif isinstance(item, float):
            problem = None if math.isfinite(item) else _not_a_number(item)
        elif isinstance(item, (dict, list)):
            if max_depth is not None and depth > max_depth:
                raise TooDeep(f"nests deeper than {max_depth} objects and arrays, the most this tool writes")
            if isinstance(item, dict):
                problem = next(filter(None, map(_surrogate_in, item)), None)
                item = item.values()
            stack.extend((child, depth + 1) for child in item)
        if problem is not None:
            raise NotJson(problem)
    return document


def _not_a_number(number):
    """NaN or an infinity, parsed by a lenient json.loads: which literal it was (1e400 reads as Infinity too)."""
    if math.isnan(number):
        return "NaN is not a JSON number"
    return f"{'' if number > 0 else '-'}Infinity (or a number beyond the range of a double) is not a JSON number"


def _surrogate_in(text):
    found = None if text.isascii() else _SURROGATE.search(text)
    if found is None:
        return None
    return f"a lone surrogate \\u{ord(found.group()):04x}, which no UTF-8 text can hold"


# -- settling the schema, before any line ---------------------------------------------------------------
def record_name(kind, schema_str):
    """The record's full name, for RecordNameStrategy: Avro namespace.name, JSON Schema title (Protobuf's is the
    message's full name, from its descriptor: ProtobufCodec.full_name)."""
    schema = json.loads(schema_str)
    if kind == "AVRO":
        name = schema.get("name", "") if isinstance(schema, dict) else ""
        namespace = schema.get("namespace") if isinstance(schema, dict) else None
        return f"{namespace}.{name}" if namespace and "." not in name else name
    return schema.get("title", "") if isinstance(schema, dict) else ""


def subject_for(strategy, topic, side, name):
    """The subject under `strategy`; `name` is the record's full name, None without a schema file."""
    if strategy == "topic":
        return f"{topic}-{side}"
    if not name or not isinstance(name, str):
        raise ConfigError(f"--subject-name-strategy {strategy} needs the {side} schema's record name: give it with "
                          f"--{side}-schema FILE (a named Avro record, a JSON Schema title, a Protobuf message)")
    return name if strategy == "record" else f"{topic}-{name}"


# A schema file is read whole or refused, never cut. 16 MiB is far beyond what the registry keeps: it stores each
# schema as one record of its _schemas topic, so the broker's message size (1 MB by default) caps a schema, and
# its refusal is the one that counts; this bound only keeps a wrong file (a log, /dev/zero) out of memory.
MAX_SCHEMA_FILE = 16 * 1024 * 1024


def read_schema_file(path, side):
    """The --{side}-schema file's text, whole (line endings read as in text mode: \r\n and \r become \n)."""
    where = f"--{side}-schema {path}"
    data = read_whole(path, where, MAX_SCHEMA_FILE, "a schema file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{where}: cannot read it: {e}") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass
class Choice:
    """One side's options: --{side}-format, --{side}-schema, --{side}-schema-id, --{side}-references,
    --{side}-message, --{side}-subject; `text` and `entries` are the two files as read (prepare)."""
    side: str
    fmt: str
    schema_file: str = None
    schema_id: int = None
    references_file: str = None
    message: str = None
    subject: str = None
    text: str = None
    entries: list = ()


@dataclass
class Settled:
    """A side's schema as it is written: the Schema, the referenced ones ([(name, Schema)]), its codec, and for
    Protobuf the index path of the message written."""
    schema: object
    references: list
    codec: object
    indexes: tuple = None


def check_choice(choice, registry, path):
    """The options that cannot go together, said before any file is read or the registry is asked; `path`: the
    config file, where a missing registry is to be set."""
    flag = f"--{choice.side}"
    if choice.message is not None and choice.fmt != "protobuf":
        raise ConfigError(f"{flag}-message names a Protobuf message type: it needs {flag}-format protobuf, not "
                          f"{choice.fmt}")
    if choice.fmt not in SCHEMA_FORMATS:
        for option, value in (("schema", choice.schema_file), ("schema-id", choice.schema_id),
                              ("references", choice.references_file), ("subject", choice.subject)):
            if value is not None:
                raise ConfigError(f"{flag}-{option} needs {flag}-format avro, jsonschema or protobuf")
        return
    if registry is None:
        raise ConfigError(needs_registry(f"{flag}-format {choice.fmt}", path))
    if choice.schema_file is not None and choice.schema_id is not None:
        raise ConfigError(f"{flag}-schema and {flag}-schema-id both name the schema: give one")
    if choice.references_file is not None and choice.schema_file is None:
        raise ConfigError(f"{flag}-references needs {flag}-schema FILE: the references are registered with that "
                          "schema (a schema already registered has its own)")
    if choice.subject is not None:
        if choice.schema_id is not None:
            raise ConfigError(f"{flag}-subject and {flag}-schema-id: an id names the schema itself; a subject is "
                              f"for {flag}-schema FILE (registered under it) or its latest version")
        subject_problem = sendable_subject(choice.subject)
        if subject_problem:
            raise ConfigError(f"{flag}-subject {subject_problem}")


def prepare(choice, registry, path):
    """`choice` checked, with its schema file and references file read (a ConfigError names the file): all that
    needs no registry, done for both sides before either side asks the registry anything."""
    check_choice(choice, registry, path)
    if choice.schema_file is None or choice.fmt not in SCHEMA_FORMATS:
        return choice
    from kafka_cli.schema.references import read_references

    text = read_schema_file(choice.schema_file, choice.side)
    entries = read_references(choice.references_file, choice.side) if choice.references_file is not None else []
    return dataclasses.replace(choice, text=text, entries=entries)


def settle_encoder(choice, registry, topic, strategy):
    """The Encoder of one side, or None (sent as given). Registry work happens here, before any line is read."""
    if choice.fmt not in SCHEMA_FORMATS:
        return Encoder(choice.fmt) if choice.fmt in NUMBER_LAYOUTS else None
    from kafka_cli.schema.registry import make_client
    from kafka_cli.schema.decode import SchemaSource

    kind = SCHEMA_FORMATS[choice.fmt]
    source = SchemaSource(registry, make_client(registry))
    local = _from_file(choice, kind, source, registry) if choice.text is not None else None
    subject = None if choice.schema_id is not None else _subject(choice, kind, local, (topic, strategy))
    try:
        schema_id, schema, references = _registered(source, kind, local, choice.schema_id, subject)
    except CliError:
        raise
    except Exception as e:  # SchemaRegistryError, transport errors
        raise CliError(_refusal(e, registry, choice, subject)) from None
    if local is None:
        if (schema.schema_type or "AVRO").upper() != kind:
            raise CliError(f"schema id {schema_id} is {schema.schema_type}, not {kind} as --{choice.side}-format says")
        local = _settled(schema, references, choice, subject)
    return Encoder(choice.fmt, local.codec, schema_id, subject, local.indexes)


def _from_file(choice, kind, source, registry):
    """The --{side}-schema FILE with its references settled (each version a number) and its codec made: a
    schema that does not parse, or names a message it does not have, is said before anything is registered."""
    from confluent_kafka.schema_registry import Schema

    from kafka_cli.schema.registry import describe_failure
    from kafka_cli.schema.references import resolve

    schema = Schema(choice.text, kind, resolve(source.client, choice.entries, choice, registry))
    try:
        references = source.references(schema)  # the referenced schemas' own references too
    except Exception as e:
        raise CliError(f"--{choice.side}-references {choice.references_file}: the referenced schemas: "
                       f"{describe_failure(e, registry)}") from None
    try:
        codec = make_codec(schema, references)
    except BadSchema as e:
        raise ConfigError(f"--{choice.side}-schema {choice.schema_file}: {e}{_reference_hint(choice, kind, e)}") \
            from None
    return Settled(schema, references, codec, _message_indexes(codec, choice, None))


def _reference_hint(choice, kind, error):
    """Said when the schema seems to use another subject's schema and no --{side}-references FILE gave one."""
    import re

    imports = kind == "PROTOBUF" and re.search(r'^\s*import\s+(?:public\s+|weak\s+)?"(?!google/protobuf/)',
                                               choice.text, re.M)
    if choice.entries or not (imports or (kind == "AVRO" and "uses the type" in str(error))):
        return ""
    return f" (a type of another subject's schema needs --{choice.side}-references FILE)"


def _settled(schema, references, choice, subject):
    """A registered schema (by id, or the subject's latest version) made ready to write with."""
    try:
        codec = make_codec(schema, references)
    except BadSchema as e:
        raise CliError(f"the {choice.side} schema{f' for subject {subject}' if subject else ''}: {e}") from None
    return Settled(schema, references, codec, _message_indexes(codec, choice, subject))


def _message_indexes(codec, choice, subject):
    """Protobuf: the index path of --{side}-message (default: the file's first message); None for the others."""
    if codec.kind != "PROTOBUF":
        return None
    if choice.message is None:
        return (0,)
    try:
        return codec.message_path(choice.message)
    except BadSchema as e:
        what = f"--{choice.side}-schema {choice.schema_file}" if choice.schema_file is not None else (
            f"subject {subject}" if subject else f"schema id {choice.schema_id}")
        raise ConfigError(f"--{choice.side}-message: {what}: {e}") from None


def _subject(choice, kind, local, named_by):
    """The side's subject: --{side}-subject, or the one `named_by` (topic, strategy) gives."""
    if choice.subject is not None:
        return choice.subject
    return subject_for(named_by[1], named_by[0], choice.side, _record_name(kind, choice, local))


def _record_name(kind, choice, local):
    if local is None:
        return None
    if kind == "PROTOBUF":
        return local.codec.full_name(local.indexes)
    return record_name(kind, choice.text)


def _registered(source, kind, local, schema_id, subject):
    """(schema id, Schema, its references): the file's schema registered under `subject`, the given id, or the
    subject's latest version."""
    if local is not None:
        return source.client.register_schema(subject, local.schema), local.schema, local.references
    if schema_id is not None:
        schema = source.client.get_schema(schema_id)
    else:
        latest = source.client.get_latest_version(subject)
        schema_id, schema = latest.schema_id, latest.schema
    return schema_id, schema, source.references(schema)


def _refusal(error, registry, choice, subject):
    from kafka_cli.schema.registry import refusal

    status = getattr(error, "http_status_code", None)
    code = getattr(error, "error_code", None)
    what = f"subject {subject}" if subject else f"schema id {choice.schema_id}"
    if status == 409:
        return (f"the Schema Registry refused the {choice.side} schema for {what}: not compatible with its earlier "
                f"versions ({one_line(error.error_message, 200)})")
    if status == 404 and code == 40401:
        return (f"subject {subject} is not in the Schema Registry: give the schema with --{choice.side}-schema FILE "
                f"(it is then registered) or an id with --{choice.side}-schema-id")
    if status == 422:
        return f"the Schema Registry refused the {choice.side} schema for {what}: {one_line(error.error_message, 300)}"
    return refusal(error, what, registry)


def schema_records(records, config, topic, choices, strategy):
    """`records` wrapped with the encoding `choices` ask for, or `records` itself when none is asked."""
    registry = getattr(config, "registry", None)
    choices = [prepare(c, registry, config.path) for c in choices]  # both sides' options and files, before the registry
    encoders = {c.side: settle_encoder(c, registry, topic, strategy) for c in choices}
    if not any(encoders.values()):
        return records
    from kafka_cli.produce.json_input import JsonRecords

    return SchemaRecords(records, encoders, isinstance(records, JsonRecords))


# -- --register: the schema files registered, no line read ------------------------------------------------
def register_sides(config, topic, choices, strategy):
    """Each side's --{side}-schema FILE registered under its subject (references settled first), yielded as
    (subject, version, schema id, already registered) when done, so one registered before a later refusal is
    still told. Both sides' options and files are checked, and a side with nothing to register refused, before
    the registry is asked anything."""
    registry = getattr(config, "registry", None)
    choices = [prepare(c, registry, config.path) for c in choices]
    for choice in choices:
        if choice.fmt in NUMBER_LAYOUTS:
            raise ConfigError(f"--register registers schemas; --{choice.side}-format {choice.fmt} has none (it only "
                              "says how to write messages)")
        if choice.fmt in SCHEMA_FORMATS and choice.text is None:
            raise ConfigError(f"--register registers --{choice.side}-schema FILE: give it beside --{choice.side}-"
                              f"format {choice.fmt}" + (f" (--{choice.side}-schema-id names a schema already "
                                                        "registered)" if choice.schema_id is not None else ""))
    asked = [c for c in choices if c.text is not None]
    if not asked:
        raise ConfigError("--register needs a schema file to register: --value-format avro|jsonschema|protobuf "
                          "with --value-schema FILE, or --key-format with --key-schema FILE")
    # every side's references settled and schema compiled before anything is registered: a value schema that
    # does not compile leaves no key schema behind
    settled = [(choice, *_file_schema(choice, registry)) for choice in asked]
    for choice, source, local in settled:
        yield register_side(choice, source, local, (topic, strategy))


def _file_schema(choice, registry):
    """(SchemaSource, Settled) of the side's schema file: its references settled, its codec made."""
    from kafka_cli.schema.registry import make_client
    from kafka_cli.schema.decode import SchemaSource

    source = SchemaSource(registry, make_client(registry))
    return source, _from_file(choice, SCHEMA_FORMATS[choice.fmt], source, registry)


def register_side(choice, source, local, named_by):
    """(subject, version, schema id, already registered) of one side's schema file, registered under its subject
    (--{side}-subject, or the one `named_by`, (topic, strategy), gives)."""
    from kafka_cli.schema.registry import register_once

    subject = _subject(choice, SCHEMA_FORMATS[choice.fmt], local, named_by)
    try:
        return (subject, *register_once(source.client, subject, local.schema))
    except CliError:
        raise
    except Exception as e:  # SchemaRegistryError, transport errors
        raise CliError(_refusal(e, source.settings, choice, subject)) from None
