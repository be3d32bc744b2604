"""Confluent's wire format and the names of the schema formats: the schema room's leaf, importing nothing.

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
