"""Reading schema'd keys and values: Confluent's wire format (byte 0 = 0, bytes 1-4 = the schema id, big-endian)
recognised on its own, the schema fetched once per id from the registry, the payload decoded to plain data.

Decoder(source, fmt).decode(bytes) -> Decoded, or None when the bytes are to be shown as they are; it raises
SchemaUnavailable (the schema can't be had: no registry, down, 401, unknown id) or BadPayload (the bytes do not
fit their schema: a poison message). Nothing here prints; the caller warns.
"""

import struct
from dataclasses import dataclass

from .schema_options import FORMATS, SCHEMA_FORMATS
from .schema_types import BadPayload, BadSchema, make_codec, one_line

MAGIC = 0
HEADER = 5  # magic byte + 4-byte schema id
AS_STORED = ("string", "bytes")  # shown as they are: no look for the wire format at all


class SchemaUnavailable(Exception):
    """The schema of an id cannot be had; str() is the reason, one line."""

    def __init__(self, schema_id, reason):
        super().__init__(reason)
        self.schema_id = schema_id


@dataclass(frozen=True)
class Decoded:
    value: object  # plain data: dict, list, str, numbers, None
    schema_id: int = None  # None for integer / double
    subject: str = None  # where the registry says (None if it does not)
    kind: str = None  # AVRO, JSON, PROTOBUF


@dataclass
class Loaded:
    codec: object
    subject: str


def is_framed(data):
    """True when `data` (bytes, not None) starts as Confluent's wire format does: the magic byte and a schema id."""
    return len(data) >= HEADER and data[0] == MAGIC


def split_wire(data):
    """(schema id, payload) when `data` is in Confluent's wire format, else None."""
    if data is None or not is_framed(data):
        return None
    return int.from_bytes(data[1:HEADER], "big"), data[HEADER:]


class SchemaSource:
    """Schemas by id from the registry (settings None: no registry), each fetched once; a failure is remembered
    too, so a registry that is down costs one timeout per id, not one per message."""

    def __init__(self, settings, client=None):
        self.settings = settings
        self._client = client
        self._loaded = {}  # id -> Loaded or SchemaUnavailable

    @property
    def client(self):
        if self._client is None:
            from .registry_client import make_client

            self._client = make_client(self.settings)
        return self._client

    def load(self, schema_id):
        found = self._loaded.get(schema_id)
        if found is None:
            found = self._loaded[schema_id] = self._fetch(schema_id)
        if isinstance(found, SchemaUnavailable):
            raise found
        return found

    def _fetch(self, schema_id):
        if self.settings is None:
            return SchemaUnavailable(schema_id, "no Schema Registry is configured (schema.registry.url)")
        try:
            schema = self.client.get_schema(schema_id)
            references = self.references(schema)
        except Exception as e:  # SchemaRegistryError, httpx's transport errors
            return SchemaUnavailable(schema_id, self._why(e, schema_id))
        try:
            return Loaded(make_codec(schema, references), self._subject(schema_id))
        except BadSchema as e:
            return SchemaUnavailable(schema_id, f"schema id {schema_id}: {e}")

    def _why(self, error, schema_id):
        from .registry_client import describe_failure, is_not_found

        if is_not_found(error):
            return f"schema id {schema_id} is not in the Schema Registry at {self.settings.url}"
        return describe_failure(error, self.settings)

    def references(self, schema, seen=None):
        """[(name, Schema)] of every schema `schema` references, each one's own references before it."""
        seen = set() if seen is None else seen
        found = []
        for ref in schema.references or []:
            if (ref.subject, ref.version) in seen:
                continue
            seen.add((ref.subject, ref.version))
            registered = self.client.get_version(ref.subject, ref.version)
            found += self.references(registered.schema, seen) + [(ref.name, registered.schema)]
        return found

    def _subject(self, schema_id):
        """The first subject the registry names for the id, or None (not every registry answers this)."""
        try:
            versions = self.client.get_schema_versions(schema_id)
            return versions[0].subject if versions else None
        except Exception:
            return None


class Decoder:
    """One side's reading (key or value) under --key-format / --value-format."""

    def __init__(self, source, fmt="auto"):
        self.source, self.fmt = source, fmt
        self.wanted = SCHEMA_FORMATS.get(fmt)  # a schema type the bytes must have, or None

    def decode(self, data):
        if data is None or self.fmt in AS_STORED:
            return None
        if self.fmt in ("integer", "double"):
            return Decoded(_number(data, self.fmt))
        framed = split_wire(data)
        if framed is None:
            if self.wanted:
                raise BadPayload(f"not in Confluent's wire format (magic byte 0, schema id), as --{self.fmt} needs")
            return None
        schema_id, payload = framed
        loaded = self.source.load(schema_id)
        kind = loaded.codec.kind
        if self.wanted and kind != self.wanted:
            raise BadPayload(f"schema id {schema_id} is {kind}, not {self.wanted} as asked")
        return Decoded(loaded.codec.decode(payload), schema_id, loaded.subject, kind)


def _number(data, fmt):
    """Kafka's IntegerSerializer / LongSerializer / DoubleSerializer bytes (big-endian) as a number."""
    layouts = {"integer": {4: ">i", 8: ">q", 2: ">h"}, "double": {8: ">d", 4: ">f"}}[fmt]
    if len(data) not in layouts:
        sizes = " or ".join(map(str, sorted(layouts)))
        raise BadPayload(f"{len(data)} bytes are not a big-endian {fmt} ({sizes} bytes)")
    return struct.unpack(layouts[len(data)], data)[0]


__all__ = ["BadPayload", "Decoded", "Decoder", "FORMATS", "SchemaSource", "SchemaUnavailable", "is_framed",
           "one_line", "split_wire"]
