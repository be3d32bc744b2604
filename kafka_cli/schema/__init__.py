"""The schema room: Confluent's wire format (wire, the leaf), the three codecs built from untrusted registry
text (codecs), the registry client with its bounds (registry), decoding by schema id (decode), the consumer's
output of decoded data (output), the producer's schema'd records (records, references), and the hooks the commands
call. Its face is the hooks alone, which import no serde library: a plain run loads none of them. Stands on the
core, the config, the client, and on produce and consume, whose readers and renderers it wraps."""

from kafka_cli.schema.hooks import decode_schemas, encode_schemas, schema_format_options, schema_write_options

__all__ = ["decode_schemas", "encode_schemas", "schema_format_options", "schema_write_options"]
