"""The commands' hooks for schema'd data, light enough to import at start-up (no json, no registry client:
kafka_cli/schema/output.py, kafka_cli/schema/records.py and the serde libraries load only when a registry is
configured or a format is asked for). The schema options reach a command as one value (`ReadFormats` for
consumer.py, `WriteChoices` for producer.py), which the command puts into its options value."""

import functools
from dataclasses import dataclass

import click

from kafka_cli.core.option_kinds import MessageOption
from kafka_cli.core.words import NO_REGISTRY, shown_as_stored
from kafka_cli.schema.wire import READ_FORMATS, WRITE_FORMATS, BadHeader, header_schema_id


def _as_one_value(names, make, into):
    """click hands a command one parameter per option; the options `names` reach it as one, `into`."""
    def decorate(f):
        @functools.wraps(f)
        def command(*args, **kwargs):
            kwargs[into] = make(**{name: kwargs.pop(name) for name in names})
            return f(*args, **kwargs)
        return command
    return decorate


# -- the consumer's hook: two options and one step ---------------------------------------------------------
FORMAT_HELP = ("How to read the {side}: auto (default) decodes Confluent's wire format through the Schema Registry "
               "and shows anything else as stored; avro, jsonschema, protobuf insist on that schema type; "
               "integer, double: Kafka's big-endian numbers; string, bytes: as stored.")


@dataclass(frozen=True)
class ReadFormats:
    """--key-format and --value-format."""

    key_format: str = "auto"
    value_format: str = "auto"


def schema_format_options(f):
    """--key-format / --value-format, handed to the command as one `schema_formats` (ReadFormats)."""
    f = _as_one_value(("key_format", "value_format"), ReadFormats, "schema_formats")(f)
    for side in ("value", "key"):
        f = click.option(f"--{side}-format", f"{side}_format", type=click.Choice(READ_FORMATS), default="auto",
                         show_default=True, cls=MessageOption, help=FORMAT_HELP.format(side=side))(f)
    return f


class WireSniffer:
    """No registry configured: a key or value in Confluent's wire format is said once per schema id (it cannot be
    decoded), and every message is shown as stored, exactly as without schema support."""

    def __init__(self, warn):
        self.warn = warn
        self.told = set()

    def wrap(self, render_batch):
        """The renderer, looking at the first and last message of each batch only: a plain run must not pay a
        Python step per message for a hint (a topic of schema'd data shows it in its first batch anyway)."""
        def render(batch):
            if batch:
                for msg in {id(batch[0]): batch[0], id(batch[-1]): batch[-1]}.values():
                    if msg.error() is None:
                        self.look(msg)
            return render_batch(batch)
        return render

    def look(self, msg):
        """Tell what `msg` names as its key's and value's schema: a header first (Confluent's header framing,
        whose payload is data whatever its first bytes), else the payload's wire format."""
        from kafka_cli.consume.formats import headers_of  # here, not at the top: producer.py imports these hooks too

        headers = headers_of(msg)
        for side, data in (("key", msg.key()), ("value", msg.value())):
            try:
                named = header_schema_id(headers, side) if headers else None
            except BadHeader:
                named = None
            if named is not None:
                self.tell(msg, side, named.key, f"names its schema in a {named.name} header")
            elif data and data[0] == 0 and len(data) >= 5:
                self.tell(msg, side, int.from_bytes(data[1:5], "big"), "looks like Confluent's wire format")

    def tell(self, msg, side, schema_id, how):
        from kafka_cli.consume.formats import place  # here, not at the top: producer.py imports these hooks too

        if (side, schema_id) not in self.told:
            self.told.add((side, schema_id))
            if isinstance(schema_id, str):
                self.warn(f"{place(msg)}: the {side} {how} (schema GUID {schema_id}), but {NO_REGISTRY}: {side}s "
                          "with this schema GUID are shown as stored bytes")
            else:
                self.warn(f"{place(msg)}: the {side} {how} (schema id {schema_id}), but {NO_REGISTRY}: "
                          + shown_as_stored(side))


def decode_schemas(options, config, output_format, style):
    """`options` (ConsumerOptions, with its `schema_formats`) with the schema step in its renderer, or unchanged
    when there is nothing to decode."""
    import dataclasses

    formats = options.schema_formats
    if getattr(config, "registry", None) is None and {formats.key_format, formats.value_format} <= {"auto"}:
        # nothing can be decoded, but schema'd data is told apart (once per id) from bytes that only look odd;
        # no library is loaded for it, and only two messages a batch are looked at
        return dataclasses.replace(options, render_batch=WireSniffer(style.warn).wrap(options.render_batch))
    from kafka_cli.schema.output import schema_view

    view = schema_view(config, formats.key_format, formats.value_format, output_format, style.warn)
    if view is None:
        return options
    return dataclasses.replace(options, render_batch=view.wrap(options.render_batch))


# -- the producer's hook ------------------------------------------------------------------------------------


SIDE_OPTIONS = ("format", "schema", "schema_id", "references", "message", "subject")


@dataclass(frozen=True)
class WriteChoices:
    """The producer's schema options: per side (key, value) its format, schema file, schema id, references file,
    Protobuf message name and subject named outright; the subject name strategy; and --register (register the
    schema files and exit, reading no line)."""

    subject_name_strategy: str = "topic"
    key_format: str = "string"
    key_schema: str = None
    key_schema_id: int = None
    key_references: str = None
    key_message: str = None
    key_subject: str = None
    value_format: str = "string"
    value_schema: str = None
    value_schema_id: int = None
    value_references: str = None
    value_message: str = None
    value_subject: str = None
    register: bool = False

    def nothing_asked(self):
        return {self.key_format, self.value_format} <= {"string"} and not self.register and not any(
            getattr(self, f"{side}_{name}") is not None for side in ("key", "value") for name in SIDE_OPTIONS[1:])

    def sides(self):
        """[records.Choice] of the key and the value, in that order (the caller imports records.py)."""
        from kafka_cli.schema.records import Choice

        return [Choice(side, *(getattr(self, f"{side}_{name}") for name in SIDE_OPTIONS)) for side in ("key", "value")]


def schema_write_options(f):
    """--key-format/--value-format, --key-schema/--value-schema FILE, --key-schema-id/--value-schema-id N,
    --key-references/--value-references FILE, --key-message/--value-message NAME, --key-subject/--value-subject
    NAME, --subject-name-strategy, --register: handed to the command as one `schema_choices` (WriteChoices)."""
    names = ["subject_name_strategy", "register"] + [f"{side}_{name}" for side in ("key", "value")
                                                     for name in SIDE_OPTIONS]
    f = _as_one_value(names, WriteChoices, "schema_choices")(f)
    options = [click.option("--subject-name-strategy", "subject_name_strategy", default="topic", show_default=True,
                            type=click.Choice(["topic", "record", "topic-record"]),
                            help="Subject of a schema: TOPIC-key/-value, the record's full "
                            "name, or TOPIC-RECORD (Confluent's three strategies)."),
               click.option("--register", is_flag=True,
                            help="Only register --value-schema/--key-schema FILE (with its --*-references) under its "
                                 "subject, print 'subject NAME version N id N' for each on stdout, and exit: no "
                                 "line is read, nothing is written to Kafka.")]
    for side in ("value", "key"):
        options += _side_options(side)
    for option in options:
        f = option(f)
    return f


def _side_options(side):
    return [
        click.option(f"--{side}-format", f"{side}_format", type=click.Choice(WRITE_FORMATS), default="string",
                     show_default=True,
                     help=f"How to write each {side}: string (as given), integer, double (Kafka's big-endian "
                          f"numbers), or avro, jsonschema, protobuf: the {side} is JSON, written in the schema's "
                          "encoding with Confluent's wire format."),
        click.option(f"--{side}-schema", f"{side}_schema", metavar="FILE",
                     help=f"The {side} schema (.avsc, JSON Schema, .proto), registered under its subject; "
                          "default: the subject's latest version."),
        click.option(f"--{side}-schema-id", f"{side}_schema_id", metavar="N", type=click.IntRange(1, 2**31 - 1),
                     help=f"Write the {side} with this registered schema."),
        click.option(f"--{side}-subject", f"{side}_subject", metavar="NAME",
                     help=f"The {side} schema's subject, named outright instead of by --subject-name-strategy: "
                          f"where --{side}-schema FILE is registered, or whose latest version is written."),
        click.option(f"--{side}-references", f"{side}_references", metavar="FILE",
                     help=f"The schemas --{side}-schema FILE references (Avro types of another subject, a JSON "
                          "Schema $ref, a Protobuf import), registered with it: a JSON list of {\"name\": ..., "
                          "\"subject\": ..., \"version\": N}; without version: the subject's latest."),
        click.option(f"--{side}-message", f"{side}_message", metavar="NAME",
                     help=f"Protobuf: the message type each {side} is (Outer, Outer.Inner or pkg.Outer.Inner); "
                          "default: the schema's first message."),
    ]


def encode_schemas(records, config, topic, choices):
    """`records` (the text or JSON record reader) wrapped with the schema encoding `choices` (WriteChoices) ask
    for, after settling each schema with the registry; `records` itself when nothing is asked (no import, no
    cost)."""
    if choices.nothing_asked():
        return records
    from kafka_cli.schema.records import schema_records

    return schema_records(records, config, topic, choices.sides(), choices.subject_name_strategy)


def register_schemas(config, topic, choices):
    """--register: each schema file of `choices` (WriteChoices) registered under its subject, one at a time, as
    (subject, version, schema id, already registered) tuples, the key's first; every option and file is checked
    before the first registration."""
    from kafka_cli.schema.records import register_sides

    return register_sides(config, topic, choices.sides(), choices.subject_name_strategy)
