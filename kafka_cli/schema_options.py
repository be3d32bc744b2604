"""consumer.py's hook for schema'd data: --key-format / --value-format and the decode step, light enough to import
at start-up (no json, no registry client: kafka_cli/schema_output.py and the serde libraries load only when a
registry is configured or a format is asked for)."""

SCHEMA_FORMATS = {"avro": "AVRO", "jsonschema": "JSON", "protobuf": "PROTOBUF"}  # option value -> registry type
FORMATS = ("auto", "string", "bytes", "integer", "double", *SCHEMA_FORMATS)


# -- the consumer's hook: two options and one step, so commands/consumer.py changes by three lines -----------------
FORMAT_HELP = ("How to read the {side}: auto (default) decodes Confluent's wire format through the Schema Registry "
               "and shows anything else as stored; avro, jsonschema, protobuf insist on that schema type; "
               "integer, double: Kafka's big-endian numbers; string, bytes: as stored.")


def schema_format_options(f):
    """--key-format / --value-format, kept in click's context (not main()'s parameters) for decode_schemas."""
    import click

    def remember(ctx, param, value):
        ctx.meta[f"kafka_cli.{param.name}"] = value
        return value

    for side in ("value", "key"):
        f = click.option(f"--{side}-format", f"{side}_format", type=click.Choice(FORMATS), default="auto",
                         show_default=True, expose_value=False, callback=remember,
                         help=FORMAT_HELP.format(side=side))(f)
    return f


def decode_schemas(options, config, output_format, style):
    """`options` (ConsumerOptions) with the schema step in its renderer, or unchanged when there is nothing to
    decode. The inlined text path is turned off with it: every message must pass the step."""
    import dataclasses

    import click

    meta = click.get_current_context().meta
    if getattr(config, "registry", None) is None and {meta.get("kafka_cli.key_format"),
                                                       meta.get("kafka_cli.value_format")} <= {"auto", None}:
        return options  # nothing to decode: the run is exactly what it was before schemas
    from .schema_output import schema_view

    view = schema_view(config, meta.get("kafka_cli.key_format"), meta.get("kafka_cli.value_format"), output_format,
                       style.warn)
    if view is None:
        return options
    return dataclasses.replace(options, render_batch=view.wrap(options.render_batch), text_separator=None)
