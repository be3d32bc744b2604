"""producer.py: write key:value lines from stdin to a Kafka topic.

The command itself, its options and its wiring; producer.py at the top of the project only starts it (see
commands/__init__.py). The read loop is kafka_cli.produce.loop, the counting kafka_cli.produce.delivery.
"""

import os
import sys
import time
from dataclasses import dataclass
from functools import partial

import click

from kafka_cli.core.boundary import INT32_MAX, librdkafka_int, topic_problem
from kafka_cli.client.build import build_client
from kafka_cli.config.ini import DEFAULT_TOPIC, file_warnings, load_config
from kafka_cli.produce.delivery import Delivery, Reading, StopNow, StopSignals, finish, report
from kafka_cli.core.escaping import for_terminal
from kafka_cli.core.exit_status import ExitStatus, Interrupted, run_command
from kafka_cli.client.kafka_errors import ClusterErrors, topic_timestamp_limits
from kafka_cli.produce.lines import LineParser
from kafka_cli.cli.options import (CONTEXT_SETTINGS, Escaped, SectionedCommand, Seconds, common_options,
                                   config_source, debug_for_verbosity, parse_headers, version_option)
from kafka_cli.produce.loop import read_and_produce
from kafka_cli.schema.hooks import encode_schemas, register_schemas, schema_write_options
from kafka_cli.core.secrets import Redactor
from kafka_cli.cli.terminal import Progress, progress_wanted, setup_logging
from kafka_cli.produce.topic_ready import check_partition, check_topic


@click.command(cls=SectionedCommand, context_settings=CONTEXT_SETTINGS, sections=[
    ("Options", ["topic", "key_separator", "no_key", "input_format", "skip_bad_lines", "timeout", "help", "version"]),
    ("Message contents", ["key", "partition", "delimiter", "headers", "empty_value_null", "null_value",
                          "keep_partition", "keep_timestamp"]),
    ("Schema Registry (Avro, JSON Schema, Protobuf)", [
        "value_format", "value_schema", "value_schema_id", "value_subject", "value_references", "value_message",
        "key_format", "key_schema", "key_schema_id", "key_subject", "key_references", "key_message",
        "subject_name_strategy", "register"]),
    ("Config and status", ["bootstrap", "properties", "verbose", "quiet"]),
], extra_argument_hint="to write to a topic, use -t {}", epilog="""\b
Examples:
  printf '1:message 1\\n2:message 2\\n' | ./producer.py config.ini
  ./producer.py config.ini -t orders -K '|' < orders.txt
  ./producer.py config.ini --no-key -H source=import < lines.txt
  ./producer.py config.ini -X compression.type=zstd --skip-bad-lines < big.txt

\b
Tombstones, and copying a topic (keys, values, headers, partitions, timestamps):
  ./producer.py config.ini -t users --null-value NULL < changes.txt
  ./consumer.py a.ini -t src -e -f json | ./producer.py b.ini -t dst -f json

\b
A schema registered under a subject of its own (for others to reference), nothing read:
  ./producer.py config.ini --register --value-subject addresses --value-format avro --value-schema address.avsc

Exit codes: 0 every line delivered (--register: every schema registered); 1 a line failed, was not confirmed, or had
no separator, or the broker could not be used (see stderr); 2 usage or config
error; 128+N stopped by signal N (130 Ctrl-C) after every line read was
delivered (a signal with anything undelivered exits 1).
""")
@common_options
@version_option("producer.py")
@schema_write_options
@click.option("-t", "--topic", metavar="NAME", default=DEFAULT_TOPIC, envvar="KAFKA_TOPIC", show_default=True,
              help="Topic to write to (env KAFKA_TOPIC).")
@click.option("-K", "--key-separator", metavar="SEP", default=":", show_default=True, type=Escaped(),
              help="Splits each line into key and value at its first occurrence. Escapes: \\t (tab), \\n, \\xHH (any byte), as kcat's; "
                   "and ours: \\r, \\0 (NUL), \\\\ (backslash); e.g. -K '\\t'.")
@click.option("--no-key", is_flag=True, help="Send each whole line as the value, with no key.")
@click.option("-k", "--key", metavar="KEY", callback=lambda ctx, param, key: None if key is None else os.fsencode(key),
              help="One key for every line (kcat's -k): each whole line is the value, as with --no-key.")
@click.option("-p", "--partition", type=click.IntRange(0, INT32_MAX), metavar="N",
              help="Write every line to partition N (kcat's -p), checked against the topic before the first line.")
@click.option("-D", "--delimiter", metavar="DELIM", type=Escaped(),
              help="What ends a message instead of a newline (kcat's -D), with the -K escapes: e.g. -D '\\0', or "
                   "-D '---\\n' for values that hold newlines. Nothing else is trimmed.")
@click.option("--skip-bad-lines", is_flag=True,
              help="Report a line without the separator and go on (default: stop reading there).")
@click.option("-H", "--header", "headers", multiple=True, metavar="NAME=VALUE",
              help="A header on every message. Repeatable.")
@click.option("-Z", "--empty-value-null", is_flag=True,
              help="Send an empty value (a line 'KEY:') as null, a tombstone, as kcat's -Z does. (An empty key "
                   "is always sent as null.)")
@click.option("--null-value", metavar="MARKER",
              help="Send a value equal to MARKER (taken literally, e.g. NULL) as null, a tombstone.")
@click.option("-f", "--format", "input_format", type=click.Choice(["text", "json"]), default="text",
              show_default=True,
              help="text: KEY<sep>VALUE lines. json: the objects consumer.py -f json writes, one per line, with "
                   "keys, values and header values as text, {\"base64\": ...} or null.")
@click.option("--keep-partition/--no-keep-partition", default=True,
              help="-f json: write each record to its \"partition\" (default), or let its key choose one.")
@click.option("--keep-timestamp/--no-keep-timestamp", default=True,
              help="-f json: keep each record's \"timestamp\" (default), or stamp it with the time of writing.")
@click.option("--timeout", metavar="SECONDS", default=30.0, show_default=True, type=Seconds(),
              help="More than 0. Seconds to wait for the broker at start, and for outstanding deliveries at the "
                   "end: then what never left this machine has failed, and what is in flight is 'not confirmed'.")
def main(config_file, bootstrap, properties, quiet, verbose, topic, key_separator, no_key, key, partition, delimiter,
         skip_bad_lines, headers, empty_value_null, null_value, input_format, keep_partition, keep_timestamp, timeout,
         schema_choices):
    """Read KEY:VALUE lines (or -f json records) from stdin and write them to a Kafka topic.

    CONFIG_FILE is an INI file: [default] holds bootstrap.servers and the
    credentials, [producer] what only the producer uses (see config.ini.example).
    Keys are librdkafka property names. For a quick look at a plaintext cluster,
    -b HOST:PORT takes its place.

    Every line read ends up in one bucket of the summary on stderr: delivered
    (acknowledged by the broker), failed (refused, with the reason), or not
    confirmed (still in flight when the wait ended, or timed out after it was
    sent: the broker may have it). Exit 1 if anything failed or is not
    confirmed. Empty lines are skipped; a line ending in \\r\\n loses both
    characters; nothing else is trimmed.
    """
    ctx = click.get_current_context()
    config_file = config_source(ctx)
    redactor = Redactor()
    with redactor.guard():
        log, client_log = setup_logging("producer.py", verbose, quiet, redactor)
        if schema_choices.register:
            check_register_options(ctx, topic)
            status = register(load_config(config_file, "producer", properties, redactor), topic, schema_choices)
            ctx.exit(status)
        if sys.stdin is None:  # started with fd 0 closed (<&-): Python found no stdin, and a socket may get fd 0
            raise click.UsageError("stdin is closed, so there are no lines to read: give them on stdin "
                                   "(a pipe, < FILE, or type them)")
        check_option_values(ctx, topic, key_separator, no_key)
        config = load_config(config_file, "producer", properties, redactor)
        cli_headers = parse_headers(headers) or None
        if input_format == "json":
            records = json_records(keep_partition, keep_timestamp, cli_headers)
        else:
            nulls = frozenset(([b""] if empty_value_null else [])
                              + ([os.fsencode(null_value)] if null_value is not None else []))
            records = LineParser(key_separator, no_key, nulls, cli_headers).framed(
                key, -1 if partition is None else partition, delimiter or b"\n")
        stop = StopSignals()
        stop.install()  # from here a signal is ours: before any line is read it ends the run with 128+N
        records = settle_schemas(records, config, (topic, schema_choices), stop)
        options = ProducerOptions(topic=topic, records=records, skip_bad_lines=skip_bad_lines, timeout=timeout,
                                  progress=Progress(progress_wanted(sys.stdin, quiet), "lines"),
                                  stdin=sys.stdin, stop=stop, partition=partition)
        status = run(config, options, log, client_log, verbose)
    # as an exception click understands, so CliRunner sees it too; exit_status.run_command ends the process
    ctx.exit(status)


def settle_schemas(records, config, where, stop):
    """The record reader with the schema step (kafka_cli/schema/records.py), its schemas settled with the
    registry. That can block for many seconds (a registry that does not answer: 10 s a call, retried), so a
    signal meanwhile ends the run at once, quietly, with 128+N: nothing has been read."""
    stop.at_once = True
    try:
        return encode_schemas(records, config, *where)
    except StopNow:
        raise Interrupted(stop.signum) from None
    finally:
        stop.at_once = False


def register(config, topic, choices):
    """--register: the schema files registered, one line each on stdout as it is done (a key registered before
    the value's refusal is still told); a signal while the registry is asked ends the run at once with 128+N."""
    stop = StopSignals()
    stop.install()
    stop.at_once = True
    try:
        for subject, version, schema_id, already in register_schemas(config, topic, choices):
            said = f"subject {subject} version {version} id {schema_id}" + (" (already registered)" if already else "")
            click.echo(for_terminal(said.encode("utf-8", "surrogateescape")))
    except StopNow:
        raise Interrupted(stop.signum) from None
    finally:
        stop.at_once = False
    return ExitStatus.OK


# what --register leaves unused: options about the messages it does not write
NOT_WITH_REGISTER = {"key_separator": "-K", "no_key": "--no-key", "key": "-k", "partition": "-p", "delimiter": "-D",
                     "skip_bad_lines": "--skip-bad-lines", "headers": "-H", "empty_value_null": "-Z",
                     "null_value": "--null-value", "input_format": "-f", "keep_partition": "--[no-]keep-partition",
                     "keep_timestamp": "--[no-]keep-timestamp", "timeout": "--timeout"}


def check_register_options(ctx, topic):
    """--register reads no line and writes no message: the options about them are refused, not ignored."""
    given = [flag for name, flag in NOT_WITH_REGISTER.items()
             if ctx.get_parameter_source(name) not in (click.core.ParameterSource.DEFAULT, None)]
    if given:
        raise click.UsageError(f"{', '.join(given)}: not with --register, which only registers schemas (no line is "
                               "read, no message written)")
    problem = topic_problem(topic)
    if problem is not None:  # the topic may name a subject (TOPIC-value)
        raise click.BadParameter(f"the topic name {problem}", param_hint="'-t' / '--topic'")


def check_option_values(ctx, topic, key_separator, no_key):
    """What click's types cannot say about the options, before anything is read or connected."""
    if not key_separator and not no_key:
        raise click.BadParameter("must not be empty", param_hint="'-K' / '--key-separator'")
    check_format_options(ctx, ctx.params["input_format"])
    check_framing(ctx)
    problem = topic_problem(topic)
    if problem is not None:  # (a name that is not UTF-8 would crash confluent-kafka's C code)
        raise click.BadParameter(f"the topic name {problem}", param_hint="'-t' / '--topic'")


def check_framing(ctx):
    """-k, -p and -D beside the options they could contradict."""
    p = ctx.params
    if p["key"] is not None:
        if not p["key"]:
            raise click.BadParameter("must not be empty (--no-key sends lines without a key)",
                                     param_hint="'-k' / '--key'")
        if p["no_key"]:
            raise click.UsageError("-k and --no-key: give one of them (-k KEY: every line with that key)")
        if ctx.get_parameter_source("key_separator") is click.core.ParameterSource.COMMANDLINE:
            raise click.UsageError("-k and -K: with -k each whole line is the value, so no line is split")
    delimiter = p["delimiter"]
    if delimiter is not None:
        if not delimiter:
            raise click.BadParameter("must not be empty", param_hint="'-D' / '--delimiter'")
        if delimiter == p["key_separator"] and not p["no_key"] and p["key"] is None:
            raise click.UsageError("-D and -K are the same: no message would hold a key separator")


def json_records(keep_partition, keep_timestamp, headers):
    """-f json's record reader; kafka_cli.produce.json_input (and the json package) is imported only for -f json,
    so that a run of text lines does not pay for it at start-up."""
    from kafka_cli.produce.json_input import JsonRecords

    return JsonRecords(keep_partition, keep_timestamp, headers)


def check_format_options(ctx, input_format):
    """Options that mean something for one input format only are refused with the other, not ignored."""
    given = {name for name in ("key_separator", "no_key", "empty_value_null", "null_value", "keep_partition",
                               "keep_timestamp", "key", "partition", "delimiter")
             if ctx.get_parameter_source(name) not in (click.core.ParameterSource.DEFAULT, None)}
    text_only = {"key_separator": "-K", "no_key": "--no-key", "empty_value_null": "-Z", "null_value": "--null-value",
                 "key": "-k", "partition": "-p", "delimiter": "-D"}
    json_only = {"keep_partition": "--[no-]keep-partition", "keep_timestamp": "--[no-]keep-timestamp"}
    wrong = [flag for name, flag in (text_only if input_format == "json" else json_only).items() if name in given]
    if wrong:
        raise click.UsageError(f"{', '.join(wrong)}: only with -f {'text' if input_format == 'json' else 'json'}"
                               + (" (a JSON record says its key and partition, and null is null)"
                                  if input_format == "json" else ""))


@dataclass(frozen=True)
class ProducerOptions:
    """What the command line asks of a run, built once in main()."""

    topic: str
    records: object  # how each line becomes a message: lines.LineParser (text) or json_input.JsonRecords
    skip_bad_lines: bool
    timeout: float
    progress: object  # terminal.Progress: the self-updating count of lines read, where a person watches
    stdin: object = None  # what to read: sys.stdin (read through its descriptor, in large blocks)
    stop: object = None  # delivery.StopSignals, installed by main() before the schemas are settled (or by run())
    partition: int = None  # -p: every line's partition, checked against the topic before the first line


# Unless the config says otherwise: no loss and no duplicates (acks=all, idempotence); a key lands on the
# partition a Java client would pick (murmur2); larger batches; and a delivery report only for a failure, so a
# delivered message costs no Python call. debug=msg: a produce request refused for too few in-sync replicas is
# retried in silence and logged only in that context; terminal.py turns the first such line into one sentence
# (measured: a few hundred lines per 500,000 messages, no cost seen). enable.sparse.connections=false: connect
# to every broker as soon as it is known, not when first needed (see topic_ready.ask_again_for_producer_id).
PRODUCER_DEFAULTS = (("acks", "all"), ("enable.idempotence", "true"), ("partitioner", "murmur2_random"),
                     ("linger.ms", "20"), ("batch.num.messages", "10000"), ("delivery.report.only.error", "true"),
                     ("debug", "msg"), ("enable.sparse.connections", "false"))


def run(config, options, log, client_log, verbose):
    """Connect, check the topic, read and produce, wait for the deliveries, report; returns the exit status."""
    for warning in file_warnings(config):
        log.warning("%s", warning)
    debug_for_verbosity(config, verbose, log)
    for name, value in PRODUCER_DEFAULTS:
        config.set_default(name, value)

    from confluent_kafka import Producer

    stop = options.stop
    if stop is None:
        stop = StopSignals()
        stop.install()
    errors = ClusterErrors(config, log)
    delivery = Delivery(errors, librdkafka_int(config.get("message.max.bytes", "1000000")), stop)
    # read only when the broker refuses a timestamp: which of the topic's limits it broke
    delivery.timestamps.limits = partial(topic_timestamp_limits, config, options.topic, min(10.0, options.timeout))
    producer = build_client(Producer, config, error_cb=errors, logger=client_log, on_delivery=delivery.on_delivery)
    check_partition(check_topic(producer, options.topic, options.timeout, delivery, config), options.topic,
                    options.partition)
    started = time.monotonic()
    sent, bad_line, skipped = read_and_produce(producer, options, delivery, log)
    finish(producer, delivery, options.timeout)
    return report(log, options.topic, delivery, Reading(sent, bad_line, skipped, options.records.bad),
                  time.monotonic() - started)


def run_as_script():
    run_command(main)
