"""The three schema types the registry holds (AVRO, JSON, PROTOBUF) as codecs: a schema with its references in,
an object that turns a payload (the bytes after Confluent's 5-byte header) into plain Python data and back.

Schemas come from the registry alone: Avro and JSON Schema as text, Protobuf as .proto text or a base64
FileDescriptorProto; no compiled classes. Each library is imported when its type is first met.
Every failure with a payload or a record is a BadPayload with a one-line reason.
"""

import base64
import io
import json


class BadPayload(Exception):
    """The bytes (or the record) do not fit the schema; str() is one line."""


class BadSchema(Exception):
    """The registry's schema cannot be used (does not parse, unknown type); str() is one line."""


def one_line(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def make_codec(schema, references):
    """A codec for `schema` (confluent_kafka's Schema); `references` is [(name, Schema)] in the order they must be
    loaded (a reference's own references first)."""
    kind = (schema.schema_type or "AVRO").upper()
    makers = {"AVRO": AvroCodec, "JSON": JsonCodec, "PROTOBUF": ProtobufCodec}
    if kind not in makers:
        raise BadSchema(f"schema type {kind} is not one this tool reads (AVRO, JSON, PROTOBUF)")
    try:
        return makers[kind](schema.schema_str, references)
    except BadSchema:
        raise
    except Exception as e:  # each library has its own exceptions for a schema it cannot parse
        raise BadSchema(f"the {kind} schema does not parse: {one_line(e)}") from None


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
            raise BadSchema(f"the AVRO schema uses the type {e.name}, which neither it nor its references "
                            "define") from None
        from_json = AvroFromJson(named)
        self._from_json = from_json if from_json.has_bytes(self.schema) else None  # most schemas: no step at all

    def decode(self, payload):
        stream = io.BytesIO(payload)
        try:
            record = self._fastavro.schemaless_reader(stream, self.schema, None)
        except Exception as e:  # EOFError, ValueError, IndexError, UnicodeDecodeError... from fastavro
            raise BadPayload(f"not Avro of this schema: {type(e).__name__}: {one_line(e)}") from None
        left = len(payload) - stream.tell()
        if left:
            raise BadPayload(f"not Avro of this schema: {left} bytes left over after the record")
        return record

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
            raise BadPayload(f"does not fit the Avro schema: {type(e).__name__}: {one_line(e)}") from None
        return stream.getvalue()


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
            if kind in wanted and (kind == "map" or set(value) <= self._field_names(branch)):
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
    return one_line("; ".join(map(str, getattr(error, "errors", None) or [error])))


# -- JSON Schema ----------------------------------------------------------------------------------------
class JsonCodec:
    kind = "JSON"

    def __init__(self, schema_str, references):
        import jsonschema
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT7

        root = json.loads(schema_str)
        resources = [(name, Resource.from_contents(json.loads(ref.schema_str), default_specification=DRAFT7))
                     for name, ref in references]
        validator_class = jsonschema.validators.validator_for(root, default=jsonschema.Draft7Validator)
        validator_class.check_schema(root)
        self.validator = validator_class(root, registry=Registry().with_resources(resources))

    def _check(self, document):
        from jsonschema.exceptions import best_match
        from referencing.exceptions import Unresolvable

        try:
            error = best_match(self.validator.iter_errors(document))
        except Unresolvable as e:  # found only where a document leads the validator: said per message, no crash
            raise BadPayload(f"cannot be checked: the JSON schema's $ref {one_line(getattr(e, 'ref', e), 100)} "
                             "names no schema it has (a schema of another subject comes as a reference)") from None
        if error is not None:
            where = "/".join(map(str, error.absolute_path)) or "the document"
            raise BadPayload(f"does not fit the JSON schema at {where}: {one_line(error.message)}")

    def decode(self, payload):
        try:
            document = json.loads(payload.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise BadPayload(f"not JSON: {one_line(e)}") from None
        self._check(document)
        return document

    def encode(self, document):
        self._check(document)
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# -- Protobuf -------------------------------------------------------------------------------------------
class ProtobufCodec:
    kind = "PROTOBUF"

    def __init__(self, schema_str, references):
        from google.protobuf import descriptor_pool

        self.pool = descriptor_pool.DescriptorPool()
        for at, (name, ref) in enumerate(references):  # a reference may import the ones loaded before it
            _add_file(self.pool, name, ref.schema_str, references[:at])
        self.file = _add_file(self.pool, "schema.proto", schema_str, references)
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
                raise BadPayload(f"message index {list(indexes)} is not in the schema") from None
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

    def decode(self, payload):
        from google.protobuf.json_format import MessageToDict
        from google.protobuf.message import DecodeError

        indexes, at = read_message_indexes(payload)
        message = self.message_class(indexes)()
        try:
            message.ParseFromString(payload[at:])
        except DecodeError as e:
            raise BadPayload(f"not Protobuf of this schema: {one_line(e)}") from None
        return MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)

    def encode(self, document, indexes=(0,)):
        from google.protobuf.json_format import ParseDict, ParseError

        try:
            message = ParseDict(document, self.message_class(indexes)())
        except (ParseError, TypeError, ValueError) as e:
            raise BadPayload(f"does not fit the Protobuf schema: {one_line(e)}") from None
        return write_message_indexes(indexes) + message.SerializeToString()


def _add_file(pool, name, schema_str, references=()):
    """Add one schema (base64 FileDescriptorProto, or .proto text) to `pool`; its FileDescriptor."""
    from google.protobuf import descriptor_pb2

    try:
        proto = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(schema_str, validate=True))
        if not proto.name:
            proto.name = name
    except Exception:  # not base64 of a descriptor: .proto text
        proto = proto_text_to_descriptor(name, schema_str, references)
    _add_well_known(pool, proto)
    pool.AddSerializedFile(proto.SerializeToString())
    return pool.FindFileByName(proto.name)


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
            raise BadSchema(f"imports {dependency}, which the protobuf library does not have") from None
        copy = descriptor_pb2.FileDescriptorProto()
        descriptor_pool.Default().FindFileByName(dependency).CopyToProto(copy)
        pool.AddSerializedFile(copy.SerializeToString())


def proto_text_to_descriptor(name, text, references=()):
    """.proto text (with the references' texts, by their import names) -> FileDescriptorProto, through protoc as a
    Python module (grpcio-tools): the image has no protoc, and a hand-made parser would get proto edge cases wrong."""
    import os
    import tempfile

    try:
        from grpc_tools import protoc
    except ImportError:
        raise BadSchema("the schema is .proto text, which needs grpcio-tools to read: pip install grpcio-tools") \
            from None
    from google.protobuf import descriptor_pb2

    with tempfile.TemporaryDirectory(prefix="kafka-cli-proto-") as tmp:
        for file_name, content in [*((n, r.schema_str) for n, r in references), (name, text)]:
            path = os.path.join(tmp, file_name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(content)
        out = os.path.join(tmp, "out.pb")
        include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
        code = protoc.main(["protoc", f"-I{tmp}", f"-I{include}", f"--descriptor_set_out={out}", name])
        if code != 0:
            raise BadSchema(f"protoc could not read the .proto schema {name} (exit {code})")
        files = descriptor_pb2.FileDescriptorSet.FromString(open(out, "rb").read()).file
    return files[-1]


def read_message_indexes(payload):
    """Confluent's Protobuf message indexes (zigzag varints: a count, then the path; a lone 0 means [0]) ->
    (indexes, where the message bytes start)."""
    count, at = _read_zigzag(payload, 0)
    if count == 0:
        return [0], at
    if not 0 < count <= 100:
        raise BadPayload(f"not Protobuf in Confluent's framing: {count} message indexes")
    indexes = []
    for _ in range(count):
        index, at = _read_zigzag(payload, at)
        if index < 0:
            raise BadPayload("not Protobuf in Confluent's framing: a negative message index")
        indexes.append(index)
    return indexes, at


def write_message_indexes(indexes):
    if list(indexes) == [0]:
        return b"\x00"
    return b"".join(_zigzag(n) for n in [len(indexes), *indexes])


def _read_zigzag(data, at):
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise BadPayload("not Protobuf in Confluent's framing: the message indexes end early")
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
