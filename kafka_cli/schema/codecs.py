"""The three schema types the registry holds (AVRO, JSON, PROTOBUF) as codecs: a schema with its references in,
an object that turns a payload (the bytes after Confluent's 5-byte header) into plain Python data and back.

Schemas come from the registry alone: Avro and JSON Schema as text, Protobuf as .proto text or a base64
FileDescriptorProto; no compiled classes. Each library is imported when its type is first met.
Every failure with a payload or a record is a BadPayload with a one-line reason.
"""

import base64
import io
import json

from kafka_cli.core.words import one_line


class BadPayload(Exception):
    """The bytes (or the record) do not fit the schema; str() is one line."""


class BadSchema(Exception):
    """The registry's schema cannot be used (does not parse, unknown type); str() is one line."""


def make_codec(schema, references):
    """A codec for `schema` (confluent_kafka's Schema); `references` is [(name, Schema)] in the order they must be
    loaded (a reference's own references first)."""
    kind = schema.schema_type or "AVRO"  # the registry's word: any JSON value at all
    makers = {"AVRO": AvroCodec, "JSON": JsonCodec, "PROTOBUF": ProtobufCodec}
    if not isinstance(kind, str) or kind.upper() not in makers:
        raise BadSchema(f"schema type {one_line(json.dumps(kind), 40)} is not one this tool reads (AVRO, JSON, "
                        "PROTOBUF)")
    kind = kind.upper()
    if not isinstance(schema.schema_str, str):
        raise BadSchema(f"the {kind} schema is not text but {type(schema.schema_str).__name__}")
    try:
        return makers[kind](schema.schema_str, references)
    except BadSchema:
        raise
    except Exception as e:  # each library has its own exceptions for a schema it cannot parse
        raise BadSchema(f"the {kind} schema does not parse: {one_line(e, 300)}") from None


# -- Avro -----------------------------------------------------------------------------------------------
class AvroCodec:
    kind = "AVRO"

    def __init__(self, schema_str, references):
        import fastavro
        from fastavro.schema import UnknownType

        self._fastavro = fastavro
        named = {}  # full name -> schema, filled by each reference: how Avro references work
        try:
            for _, ref in references:
                fastavro.parse_schema(json.loads(ref.schema_str), named_schemas=named)
            self.schema = fastavro.parse_schema(json.loads(schema_str), named_schemas=named)
        except UnknownType as e:  # its str() is the bare name
            raise BadSchema(f"the AVRO schema uses the type {one_line(e.name, 100)}, which neither it nor its references "
                            "define") from None
        from_json = AvroFromJson(named)
        self._from_json = from_json if from_json.has_bytes(self.schema) else None  # most schemas: no step at all
        self._guard = AvroGuard(named) if AvroGuard.needed(self.schema, named) else None
        self._named = named

    def decode(self, payload, start=0):
        """The record in `payload`; `start`: where the payload begins in the stored bytes (for the words of a
        BadPayload only)."""
        if self._guard is not None:
            try:
                self._guard.check(payload, self.schema)
            except BadPayload as e:
                raise BadPayload(self._why(payload, start, str(e))) from None
        stream = io.BytesIO(payload)
        try:
            record = self._fastavro.schemaless_reader(stream, self.schema, None)
        except Exception:  # EOFError, ValueError, IndexError, UnicodeDecodeError...: fastavro's words are Python's
            raise BadPayload(self._why(payload, start, "is not Avro of this schema")) from None
        left = len(payload) - stream.tell()
        if left:
            raise BadPayload(f"has {left:,} byte{'s' if left > 1 else ''} left over after its Avro record (from byte "
                             f"{start + stream.tell()})")
        return record

    def _why(self, payload, start, otherwise):
        """What is wrong with `payload`, found by a walk of it (the failure path only); `otherwise` if the walk
        finds nothing."""
        from kafka_cli.schema.poison import AvroWalk

        return AvroWalk(self._named, payload, start, (MAX_DEPTH, MAX_EMPTY_ITEMS)).explain(self.schema) or otherwise

    def encode(self, record):
        from fastavro.validation import ValidationError, validate

        if self._from_json is not None:
            record = self._from_json.convert(self.schema, record)
        try:
            validate(record, self.schema, raise_errors=True)
        except ValidationError as e:
            raise BadPayload(f"does not fit the Avro schema: {_avro_problem(e)}") from None
        stream = io.BytesIO()
        try:
            self._fastavro.schemaless_writer(stream, self.schema, record)
        except Exception as e:
            raise BadPayload(f"does not fit the Avro schema: {type(e).__name__}: {one_line(e, 300)}") from None
        if self._guard is not None:  # what we write, we (and anyone bounded as we are) must be able to read
            self._guard.check(stream.getvalue(), self.schema)
        return stream.getvalue()


# Bounds on what one Avro payload may make us do (docs/security.md). fastavro's compiled reader recurses in C
# for every nested record, array, map and union: a recursive schema (a linked list) and a payload 20,000 levels
# deep ran it out of C stack (SIGSEGV, the whole batch lost). An array of items that take no bytes (null, an
# empty record) of 2^40 items is 12 bytes that ask for 5 GB. Avro's Java SDK bounds collections and lengths for
# the same reasons; ours: nesting and empty items are checked in Python before fastavro sees the bytes, and
# only for the schemas that allow either (most schemas: no check, no cost; their depth is fixed by the schema and
# every item of theirs takes at least one byte, so the payload's own size bounds the work).
MAX_DEPTH = 100  # nested records, arrays and maps in one value: real data nests a few levels, a tree a few dozen
MAX_EMPTY_ITEMS = 100_000  # array items that take no bytes, per payload: about 7 MB of Python objects at most


class AvroGuard:
    """A walk over an Avro payload that reads nothing into objects, only checks it stays within MAX_DEPTH and
    MAX_EMPTY_ITEMS and that every length and count fits the bytes left. `needed(schema, named)` says whether a
    schema can break either bound at all."""

    def __init__(self, named):
        self.named = named

    @classmethod
    def needed(cls, schema, named):
        guard = cls(named)
        try:
            return guard._risky(schema, (), 0)
        except RecursionError:  # a schema nested this deep is checked on every payload
            return True

    def _resolve(self, schema):
        if isinstance(schema, str):
            return self.named.get(schema, schema)
        if isinstance(schema, dict) and isinstance(schema.get("type"), (dict, list)):
            return schema["type"]
        if isinstance(schema, dict) and schema.get("type") in self.named:
            return self.named[schema["type"]]
        return schema

    def _risky(self, schema, visiting, depth):
        """True when the schema refers to itself, has an array of items that take no bytes, or nests deeper
        than MAX_DEPTH."""
        if depth > MAX_DEPTH:
            return True
        if isinstance(schema, str) and schema in self.named:
            if schema in visiting:
                return True
            return self._risky(self.named[schema], (*visiting, schema), depth)
        schema = self._resolve(schema)
        if isinstance(schema, list):
            return any(self._risky(branch, visiting, depth) for branch in schema)
        if not isinstance(schema, dict):
            return False
        kind, name = schema.get("type"), schema.get("name")
        if name is not None and kind in ("record", "error"):
            visiting = (*visiting, name)
        if kind in ("record", "error"):
            return any(self._risky(f["type"], visiting, depth + 1) for f in schema.get("fields", []))
        if kind == "array":
            return self._takes_no_bytes(schema["items"], ()) or self._risky(schema["items"], visiting, depth + 1)
        if kind == "map":
            return self._risky(schema["values"], visiting, depth + 1)
        return False

    def _takes_no_bytes(self, schema, visiting):
        if isinstance(schema, str) and schema in self.named:
            return schema not in visiting and self._takes_no_bytes(self.named[schema], (*visiting, schema))
        schema = self._resolve(schema)
        if schema == "null":
            return True
        if not isinstance(schema, dict):
            return False
        kind = schema.get("type")
        if kind == "null":
            return True
        if kind == "fixed":
            return schema.get("size") == 0
        if kind in ("record", "error"):
            return all(self._takes_no_bytes(f["type"], visiting) for f in schema.get("fields", []))
        return False

    def check(self, payload, schema):
        self.data, self.at, self.empty_items = payload, 0, 0
        self._skip(schema, 0)

    def _long(self):
        value, self.at = read_zigzag(self.data, self.at, "not Avro of this schema")
        return value

    def _take(self, size, what):
        if size < 0 or size > len(self.data) - self.at:
            raise BadPayload(f"not Avro of this schema: {what} of {size:,} bytes, with {len(self.data) - self.at:,} "
                             "left")
        self.at += size

    def _skip(self, schema, depth):
        while isinstance(schema, str) and schema in self.named:
            schema = self.named[schema]
        schema = self._resolve(schema)
        if isinstance(schema, list):
            index = self._long()
            if not 0 <= index < len(schema):
                raise BadPayload(f"not Avro of this schema: union branch {index} of {len(schema)}")
            return self._skip(schema[index], depth)
        kind = schema.get("type") if isinstance(schema, dict) else schema
        if kind in ("null",):
            return
        if kind in ("boolean",):
            return self._take(1, "a boolean")
        if kind in ("int", "long"):
            return self._long()
        if kind == "float":
            return self._take(4, "a float")
        if kind == "double":
            return self._take(8, "a double")
        if kind in ("bytes", "string"):
            return self._take(self._long(), f"a {kind} value")
        if kind == "fixed":
            return self._take(schema["size"], "a fixed value")
        if kind == "enum":
            index = self._long()
            if not 0 <= index < len(schema["symbols"]):
                raise BadPayload(f"not Avro of this schema: enum symbol {index} of {len(schema['symbols'])}")
            return
        if depth >= MAX_DEPTH:
            raise BadPayload(f"nests deeper than {MAX_DEPTH} records, arrays and maps: this tool reads no deeper")
        if kind in ("record", "error"):
            for field in schema["fields"]:
                self._skip(field["type"], depth + 1)
            return
        if kind in ("array", "map"):
            return self._skip_blocks(schema, depth + 1)
        raise BadPayload(f"not Avro of this schema: type {one_line(kind, 60)} is not one this tool reads")

    def _skip_blocks(self, schema, depth):
        kind = schema["type"]
        items = schema["items"] if kind == "array" else schema["values"]
        empty = kind == "array" and self._takes_no_bytes(items, ())
        while True:
            count = self._long()
            if count == 0:
                return
            if count < 0:  # a block that says its size in bytes too
                count = -count
                self._long()
            if empty:
                self.empty_items += count
                if self.empty_items > MAX_EMPTY_ITEMS:
                    raise BadPayload(f"not Avro this tool reads: an array of {self.empty_items:,} items that take "
                                     f"no bytes (at most {MAX_EMPTY_ITEMS:,})")
            elif count > len(self.data) - self.at:  # each item takes a byte at least
                raise BadPayload(f"not Avro of this schema: a {kind} of {count:,} items, with "
                                 f"{len(self.data) - self.at:,} bytes left")
            for _ in range(count):
                if kind == "map":
                    self._take(self._long(), "a map key")
                self._skip(items, depth)


class AvroFromJson:
    """JSON data -> what fastavro writes, where the schema has bytes or fixed. consumer.py shows those as Avro's
    JSON encoding does (a string, one character per byte, U+0000-U+00FF) and a decimal as its digits; read back,
    such a string becomes the bytes again and the digits a Decimal, so a record the consumer printed can be
    written once more. Anything else passes as it is, for validation to judge. A schema without bytes or fixed
    never gets here (AvroCodec asks has_bytes once)."""

    def __init__(self, named):
        self.named = named  # full name -> schema (fastavro's parse fills it)

    def has_bytes(self, schema, seen=None):
        seen = set() if seen is None else seen
        if isinstance(schema, str):
            if schema in ("bytes", "fixed"):
                return True
            if schema in self.named and schema not in seen:
                seen.add(schema)
                return self.has_bytes(self.named[schema], seen)
            return False
        if isinstance(schema, list):
            return any(self.has_bytes(branch, seen) for branch in schema)
        kind = schema.get("type")
        if kind in ("bytes", "fixed"):
            return True
        if kind == "record" or kind == "error":
            return any(self.has_bytes(field["type"], seen) for field in schema.get("fields", []))
        if kind == "array":
            return self.has_bytes(schema["items"], seen)
        if kind == "map":
            return self.has_bytes(schema["values"], seen)
        return isinstance(kind, (str, list, dict)) and kind != schema and self.has_bytes(kind, seen)

    def convert(self, schema, value):
        if isinstance(schema, str):
            if schema == "bytes":
                return _latin1(value)
            named = self.named.get(schema)
            return value if named is None else self.convert(named, value)
        if isinstance(schema, list):
            return self._union(schema, value)
        kind = schema.get("type")
        if kind in ("bytes", "fixed"):
            if schema.get("logicalType") == "decimal" and isinstance(value, str):
                return _decimal(value)
            return _latin1(value)
        if kind in ("record", "error") and isinstance(value, dict):
            fields = {field["name"]: field["type"] for field in schema.get("fields", [])}
            return {name: self.convert(fields[name], item) if name in fields else item
                    for name, item in value.items()}
        if kind == "array" and isinstance(value, list):
            return [self.convert(schema["items"], item) for item in value]
        if kind == "map" and isinstance(value, dict):
            return {name: self.convert(schema["values"], item) for name, item in value.items()}
        if isinstance(kind, (str, list, dict)) and kind not in ("record", "error", "array", "map", "enum"):
            return self.convert(kind, value)  # {"type": "bytes"}-style wrappers and named references
        return value

    def _union(self, branches, value):
        """The branch a value fits as given keeps it (a string stays a string where the union has string);
        otherwise the first branch that can take it converted does."""
        kinds = [self._kind(branch) for branch in branches]
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, str):
            if "string" in kinds or "enum" in kinds:
                return value
            for branch, kind in zip(branches, kinds):
                if kind in ("bytes", "fixed"):
                    return self.convert(branch, value)
            return value
        wanted = ("record", "error", "map") if isinstance(value, dict) else ("array",) if isinstance(value, list) \
            else ()
        for branch, kind in zip(branches, kinds):
            if kind in wanted and (kind in ("map", "array") or set(value) <= self._field_names(branch)):
                return self.convert(branch, value)
        return value

    def _kind(self, schema):
        if isinstance(schema, str):
            named = self.named.get(schema)
            return schema if named is None else self._kind(named)
        if isinstance(schema, dict):
            kind = schema.get("type")
            return kind if isinstance(kind, str) and kind not in self.named else self._kind(kind)
        return "union"

    def _field_names(self, schema):
        while isinstance(schema, str) and schema in self.named:
            schema = self.named[schema]
        return {field["name"] for field in schema.get("fields", [])} if isinstance(schema, dict) else set()


def _latin1(value):
    if isinstance(value, str):
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError:
            return value  # a character above U+00FF is no byte: validation says the field does not fit
    return value


def _decimal(text):
    import decimal

    try:
        return decimal.Decimal(text)
    except decimal.InvalidOperation:
        return text


def _avro_problem(error):
    """fastavro's ValidationError holds a list of JSON texts, one per failed field."""
    return one_line("; ".join(map(str, getattr(error, "errors", None) or [error])), 300)


# -- JSON Schema ----------------------------------------------------------------------------------------
# A schema's `pattern` and `patternProperties` are regular expressions the registry's writer chose, run on strings
# the topic's writer chose. Python's re backtracks without bound and never hands control back to the interpreter:
# ^([a-zA-Z0-9]+)*@example\.com$ on 34 characters ran 12 minutes at full CPU, deaf to SIGINT and SIGTERM.
# jsonschema calls re.search from three of its modules; they get an engine with a clock instead: the regex module
# (re's syntax, and more) with a timeout. A message whose patterns take longer is a poison message.
PATTERN_SECONDS = 0.5  # all of one message's pattern matching; a real pattern on a real value takes microseconds


class PatternTimeout(Exception):
    pass


class _PatternClock:
    """Stands in for the re module inside jsonschema: search() within the time the message has left."""

    def __init__(self):
        import re

        self._re = re
        self.deadline = None

    def search(self, pattern, string, flags=0):
        import time

        import regex

        left = PATTERN_SECONDS if self.deadline is None else self.deadline - time.monotonic()
        if left <= 0:
            raise PatternTimeout()
        try:
            return regex.search(pattern, string, flags, timeout=left)
        except TimeoutError:
            raise PatternTimeout() from None

    def __getattr__(self, name):  # anything else jsonschema may use from re
        return getattr(self._re, name)


_CLOCK = _PatternClock()


def _clock_jsonschema():
    from jsonschema import _keywords, _legacy_keywords, _utils

    for module in (_keywords, _legacy_keywords, _utils):
        module.re = _CLOCK


class JsonCodec:
    kind = "JSON"

    def __init__(self, schema_str, references):
        import jsonschema
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT7

        _clock_jsonschema()
        root = json.loads(schema_str)
        resources = [(name, Resource.from_contents(json.loads(ref.schema_str), default_specification=DRAFT7))
                     for name, ref in references]
        validator_class = jsonschema.validators.validator_for(root, default=jsonschema.Draft7Validator)
        validator_class.check_schema(root)
        self.validator = validator_class(root, registry=Registry().with_resources(resources))

    def _check(self, document):
        import time

        import regex
        from jsonschema.exceptions import best_match
        from referencing.exceptions import Unresolvable

        _CLOCK.deadline = time.monotonic() + PATTERN_SECONDS
        try:
            error = best_match(self.validator.iter_errors(document))
        except Unresolvable as e:  # found only where a document leads the validator: said per message, no crash
            raise BadPayload(f"cannot be checked: the JSON schema's $ref {one_line(getattr(e, 'ref', e), 100)} "
                             "names no schema it has (a schema of another subject comes as a reference)") from None
        except PatternTimeout:
            raise BadPayload(f"cannot be checked: the JSON schema's patterns took over {PATTERN_SECONDS:g} s on "
                             "its strings (a pattern that backtracks without bound)") from None
        except regex.error as e:
            raise BadPayload(f"cannot be checked: a pattern of the JSON schema is not a regular expression "
                             f"({one_line(e, 100)})") from None
        except RecursionError:
            raise BadPayload("cannot be checked: it nests deeper than the JSON schema's validator goes") from None
        finally:
            _CLOCK.deadline = None
        if error is not None:
            where = "/".join(map(str, error.absolute_path)) or "the document"
            raise BadPayload(f"does not fit the JSON schema at {one_line(where, 200)}: {one_line(error.message, 300)}")

    def decode(self, payload, start=0):
        try:
            document = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            from kafka_cli.schema.poison import json_problem

            raise BadPayload(json_problem(payload, e, start)) from None
        except RecursionError:
            raise BadPayload("nests deeper than Python's JSON parser goes") from None
        self._check(document)
        return document

    def encode(self, document):
        self._check(document)
        try:  # JSON has no NaN or Infinity, and UTF-8 no lone surrogate: such a value is no JSON to write
            return json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        except (ValueError, UnicodeEncodeError) as e:
            raise BadPayload(f"cannot be written as JSON: {one_line(e, 120)}") from None
        except RecursionError:
            raise BadPayload("cannot be written as JSON: it nests too deeply") from None


# -- Protobuf -------------------------------------------------------------------------------------------
class ProtobufCodec:
    kind = "PROTOBUF"

    def __init__(self, schema_str, references):
        from google.protobuf import descriptor_pool

        self.pool = descriptor_pool.DescriptorPool()
        compiled = []
        for name, ref in references:  # a reference may import the ones loaded before it
            compiled.append(_add_file(self.pool, name, ref.schema_str, compiled))
        self.file = self.pool.FindFileByName(_add_file(self.pool, "schema.proto", schema_str, compiled).name)
        self._classes = {}

    def message_class(self, indexes):
        """The message class at `indexes` (Confluent's path: top-level message, then nested ones)."""
        cls = self._classes.get(tuple(indexes))
        if cls is None:
            from google.protobuf.message_factory import GetMessageClass

            try:
                descriptor = self.file.message_types_by_name[self.file_proto.message_type[indexes[0]].name]
                for index in indexes[1:]:
                    descriptor = descriptor.nested_types[index]
            except IndexError:
                raise BadPayload(f"names message index {list(indexes)}, which the schema does not have") from None
            cls = self._classes[tuple(indexes)] = GetMessageClass(descriptor)
        return cls

    def message_names(self):
        """[(name in the file, full name, indexes)] of every message type of the file, nested ones too, in the
        file's order: Order, Order.Line, test.Order.Line. Map entries are left out: protoc makes them and nobody
        writes one, yet they keep their place in the indexes, as Confluent counts them."""
        found = []
        package = f"{self.file.package}." if self.file.package else ""
        stack = [((i,), m.name, m) for i, m in reversed(list(enumerate(self.file_proto.message_type)))]
        while stack:
            indexes, name, message = stack.pop()
            if not message.options.map_entry:
                found.append((name, package + name, indexes))
            stack += [(indexes + (j,), f"{name}.{n.name}", n)
                      for j, n in reversed(list(enumerate(message.nested_type)))]
        return found

    def message_path(self, name):
        """Confluent's message-index path of the message type `name` (Outer, Outer.Inner or pkg.Outer.Inner, a
        leading dot allowed as in .proto files); a BadSchema listing the file's messages when it has no such one.
        A full name is looked up first: it is never ambiguous."""
        messages = self.message_names()
        lookup = {full: indexes for _, full, indexes in messages}
        for short, _, indexes in messages:
            lookup.setdefault(short, indexes)
        found = lookup.get(name[1:] if name.startswith(".") else name)
        if found is None:
            known = [short for short, _, _ in messages]
            shown = ", ".join(known[:30]) + (f" and {len(known) - 30} more" if len(known) > 30 else "")
            raise BadSchema(f"the schema has no message {one_line(repr(name), 100)}; its messages: "
                            f"{shown or 'none'}")
        return found

    def full_name(self, indexes):
        """The full name (pkg.Outer.Inner) of the message at `indexes`, as RecordNameStrategy names it."""
        return self.message_class(indexes).DESCRIPTOR.full_name

    @property
    def file_proto(self):
        from google.protobuf import descriptor_pb2

        proto = descriptor_pb2.FileDescriptorProto()
        self.file.CopyToProto(proto)
        return proto

    def decode(self, payload, start=0):
        """The message in `payload` (Confluent's message indexes, then the message); `start`: where the payload
        begins in the stored bytes (for the words of a BadPayload only)."""
        indexes, at = read_message_indexes(payload)
        return self.decode_message(indexes, payload[at:], start + at)

    def decode_message(self, indexes, data, start=0):
        """The message of type `indexes` in `data` (the message's bytes alone)."""
        from google.protobuf.json_format import MessageToDict
        from google.protobuf.message import DecodeError

        message = self.message_class(indexes)()
        try:
            message.ParseFromString(data)
        except DecodeError:  # its words: "Error parsing message with type 't.A'": which, not where or why
            raise BadPayload(_protobuf_problem(message, data, start)) from None
        try:
            return MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
        except Exception as e:  # an Any of a type the schema does not know, ...
            raise BadPayload(f"cannot be shown as JSON: {one_line(e, 200)}") from None

    def encode(self, document, indexes=(0,)):
        from google.protobuf.json_format import ParseDict, ParseError

        try:
            message = ParseDict(document, self.message_class(indexes)())
        except (ParseError, TypeError, ValueError) as e:
            raise BadPayload(f"does not fit the Protobuf schema: {one_line(e, 300)}") from None
        return write_message_indexes(indexes) + message.SerializeToString()


def _protobuf_problem(message, data, start):
    """Why the protobuf library refused `data`, in words about its bytes: found by a walk of them (the failure
    path only)."""
    from kafka_cli.schema.poison import ProtobufWalk

    return ProtobufWalk(data, start, MAX_DEPTH).explain(message.DESCRIPTOR) or "is not Protobuf of this schema"


def _add_file(pool, name, schema_str, compiled=()):
    """Add one schema (base64 FileDescriptorProto, or .proto text) to `pool` under `name`; its
    FileDescriptorProto. `compiled` holds the FileDescriptorProtos of the files it may import."""
    from google.protobuf import descriptor_pb2

    try:
        proto = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(schema_str, validate=True))
    except Exception:  # not base64 of a descriptor: .proto text
        proto = _compile_proto_text(schema_str, compiled)
    proto.name = name  # the name the registry gave, only ever compared with the imports of other files
    _add_well_known(pool, proto)
    pool.AddSerializedFile(proto.SerializeToString())
    return proto


def _add_well_known(pool, proto):
    """google/protobuf/*.proto imports (Timestamp, Any...) come from the library's own descriptors."""
    import importlib

    from google.protobuf import descriptor_pb2, descriptor_pool

    for dependency in proto.dependency:
        if not dependency.startswith("google/protobuf/"):
            continue
        try:
            pool.FindFileByName(dependency)
            continue
        except KeyError:
            pass
        try:
            importlib.import_module(dependency.removesuffix(".proto").replace("/", ".") + "_pb2")
        except ImportError:
            raise BadSchema(f"imports {one_line(dependency, 100)}, which the protobuf library does not have") \
                from None
        copy = descriptor_pb2.FileDescriptorProto()
        descriptor_pool.Default().FindFileByName(dependency).CopyToProto(copy)
        pool.AddSerializedFile(copy.SerializeToString())


def proto_text_to_descriptor(name, text, references=()):
    """.proto text -> its FileDescriptorProto named `name`; `references` is [(import name, Schema)], each
    compiled in turn (a reference may import the ones before it)."""
    compiled = []
    for ref_name, ref in references:
        proto = _compile_proto_text(ref.schema_str, compiled)
        proto.name = ref_name
        compiled.append(proto)
    proto = _compile_proto_text(text, compiled)
    proto.name = name
    return proto


# protoc's command line is ours alone. Nothing the registry says reaches it or the file system: the schema text
# is written to a file of a fixed name in a private directory, and the files it imports are handed over already
# compiled, in a descriptor set, where protoc finds them by name as data. (protoc reads an argument starting with
# @ as a file of more arguments, and plugins run programs: a registry-chosen name on argv ran a shell.)
PROTO_SOURCE = "schema"  # no ".proto": an import of that name would only find this very file (an import cycle)


def _compile_proto_text(text, compiled):
    """.proto text -> FileDescriptorProto through protoc as a Python module (grpcio-tools): the image has no
    protoc, and a hand-made parser would get proto edge cases wrong. protoc's complaints come back as the
    BadSchema's reason, escaped, instead of going to our stderr raw."""
    import os
    import tempfile

    try:
        from grpc_tools import protoc
    except ImportError:
        raise BadSchema("the schema is .proto text, which needs grpcio-tools to read: pip install grpcio-tools") \
            from None
    from google.protobuf import descriptor_pb2

    with tempfile.TemporaryDirectory(prefix="kafka-cli-proto-") as tmp:  # 0700, ours alone
        source, imports, out = (os.path.join(tmp, name) for name in (PROTO_SOURCE, "imports.pb", "out.pb"))
        with open(source, "w", encoding="utf-8", errors="surrogatepass") as f:
            f.write(text)
        with open(imports, "wb") as f:
            f.write(descriptor_pb2.FileDescriptorSet(file=list(compiled)).SerializeToString())
        include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
        argv = ["protoc", f"--proto_path={tmp}", f"--proto_path={include}", f"--descriptor_set_in={imports}",
                f"--descriptor_set_out={out}", PROTO_SOURCE]
        code, complaint = _with_stderr_captured(lambda: protoc.main(argv), tmp)
        if code != 0:
            # protoc names the file by its path in our directory: only the line and column mean anything here
            reason = complaint.replace(f"{source}:", "line ").replace(f"{PROTO_SOURCE}:", "line ") \
                if complaint else f"protoc exit {code}"
            raise BadSchema(f"the .proto schema does not compile: {one_line(reason, 300)}")
        with open(out, "rb") as f:
            files = descriptor_pb2.FileDescriptorSet.FromString(f.read()).file
    return files[-1]


def _with_stderr_captured(call, tmp):
    """(call(), what it wrote to file descriptor 2): protoc writes its errors there itself, past Python."""
    import os
    import sys

    path = os.path.join(tmp, "stderr")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(path, "wb") as sink:
            os.dup2(sink.fileno(), 2)
            try:
                result = call()
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)
    with open(path, "rb") as f:
        complaint = f.read(4096).decode("utf-8", "replace")
    return result, " ".join(complaint.split())


_NOT_FRAMED = "is not Protobuf in Confluent's framing"


def read_message_indexes(payload):
    """Confluent's Protobuf message indexes (zigzag varints: a count, then the path; a lone 0 means [0]) ->
    (indexes, where the message bytes start)."""
    count, at = read_zigzag(payload, 0, _NOT_FRAMED)
    if count == 0:
        return [0], at
    if not 0 < count <= 100:
        raise BadPayload(f"{_NOT_FRAMED}: {count} message indexes")
    indexes = []
    for _ in range(count):
        index, at = read_zigzag(payload, at, _NOT_FRAMED)
        if index < 0:
            raise BadPayload(f"{_NOT_FRAMED}: a negative message index")
        indexes.append(index)
    return indexes, at


def write_message_indexes(indexes):
    if list(indexes) == [0]:
        return b"\x00"
    return b"".join(_zigzag(n) for n in [len(indexes), *indexes])


def read_zigzag(data, at, what):
    """The zigzag varint at `at` of `data` (Avro's int and long, and Confluent's Protobuf message indexes, are
    written alike): (its value, where the next byte is). A BadPayload whose reason starts with `what` when the
    bytes end inside it or it runs past the 10 bytes of a 64-bit number."""
    value = shift = 0
    while True:
        if at >= len(data):
            raise BadPayload(f"{what}: the bytes end inside a number")
        if shift > 63:
            raise BadPayload(f"{what}: a number longer than 10 bytes")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return (value >> 1) ^ -(value & 1), at


def _zigzag(n):
    value = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        if value < 0x80:
            out.append(value)
            return bytes(out)
        out.append((value & 0x7F) | 0x80)
        value >>= 7
