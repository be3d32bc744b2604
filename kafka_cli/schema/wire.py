"""Confluent's wire format (in the payload, or in a header) and the names of the schema formats: the schema room's
leaf, importing nothing.

Byte 0 is the magic byte 0, bytes 1-4 the schema id (big-endian), then the payload. The format names are the
values of --key-format / --value-format: which read bytes as stored, which insist on a schema type.
"""

MAGIC = 0
HEADER = 5  # magic byte + 4-byte schema id

SCHEMA_FORMATS = {"avro": "AVRO", "jsonschema": "JSON", "protobuf": "PROTOBUF"}  # option value -> registry type
READ_FORMATS = ("auto", "string", "bytes", "integer", "double", *SCHEMA_FORMATS)  # consumer.py
WRITE_FORMATS = ("string", "integer", "double", *SCHEMA_FORMATS)  # producer.py
AS_STORED = ("string", "bytes")  # shown as they are: no look for the wire format at all


def is_framed(data):
    """True when `data` (bytes, not None) starts as Confluent's wire format does: the magic byte and a schema id."""
    return len(data) >= HEADER and data[0] == MAGIC


def split_wire(data):
    """(schema id, payload) when `data` is in Confluent's wire format, else None."""
    if data is None or not is_framed(data):
        return None
    return int.from_bytes(data[1:HEADER], "big"), data[HEADER:]


# Confluent's header framing (its serializers' header_schema_id_serializer): the payload is the encoded data alone,
# and a header names the schema: magic byte 1 and a 16-byte GUID (or magic byte 0 and a 4-byte schema id, which
# Confluent's deserializers read there too), then, for Protobuf, the message indexes. Confluent's deserializers
# read the header first: a payload beside it is data, whatever its first bytes.
SCHEMA_ID_HEADERS = {"key": "__key_schema_id", "value": "__value_schema_id"}
GUID_MAGIC = 1
GUID_SIZE = 16


class BadHeader(Exception):
    """A schema-id header that cannot be read; str() is why, read after "the value" ("has a ... header ...")."""


class HeaderId:
    """What a schema-id header names: a GUID (its text, 8-4-4-4-12 hex digits) or a schema id, and the bytes
    after it (`rest`: Protobuf's message indexes)."""

    __slots__ = ("guid", "schema_id", "rest", "name")

    def __init__(self, name, guid=None, schema_id=None, rest=b""):
        self.name, self.guid, self.schema_id, self.rest = name, guid, schema_id, rest

    @property
    def key(self):
        """The GUID or the schema id: what the schema is fetched by."""
        return self.guid if self.guid is not None else self.schema_id


def header_schema_id(headers, side):
    """The HeaderId that `side`'s schema-id header in `headers` names, or None when there is no such header;
    BadHeader when its bytes say nothing readable, or when two such headers say different things."""
    if not headers:
        return None
    name = SCHEMA_ID_HEADERS[side]
    found = [value for key, value in headers if key == name]
    if not found:
        return None
    if any(value != found[0] for value in found[1:]):
        raise BadHeader(f"has {len(found)} {name} headers that differ (one names its schema)")
    return _read_header(name, found[0])


def _read_header(name, value):
    if not value:
        raise BadHeader(f"has an empty {name} header" if value is not None else f"has a {name} header without "
                                                                                  "a value")
    if value[0] == GUID_MAGIC:
        if len(value) < 1 + GUID_SIZE:
            raise BadHeader(f"has a {name} header of {len(value)} bytes, shorter than magic byte 1 and a "
                            f"{GUID_SIZE}-byte GUID")
        guid = value[1:1 + GUID_SIZE].hex()
        text = f"{guid[:8]}-{guid[8:12]}-{guid[12:16]}-{guid[16:20]}-{guid[20:]}"
        return HeaderId(name, guid=text, rest=bytes(value[1 + GUID_SIZE:]))
    if value[0] == MAGIC:
        if len(value) < HEADER:
            raise BadHeader(f"has a {name} header of {len(value)} bytes, shorter than magic byte 0 and a 4-byte "
                            "schema id")
        return HeaderId(name, schema_id=int.from_bytes(value[1:HEADER], "big"), rest=bytes(value[HEADER:]))
    raise BadHeader(f"has a {name} header starting with byte 0x{value[0]:02x}: neither 1 (then a schema GUID) nor "
                    "0 (then a schema id)")
