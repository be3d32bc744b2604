"""consumer.py: print the messages of Kafka topics on stdout.

The command: its click options (each value checked before confluent-kafka sees it), the frozen ConsumerOptions
they become, and the hand-over to the loop (kafka_cli/consume/loop.py) or to the views (kafka_cli/cli/views.py).
consumer.py at the top of the project (or the kafka-consumer console script) only starts it."""

import sys
from dataclasses import dataclass

import click

from kafka_cli.core.boundary import INT32_MAX, group_problem, topic_selector_problem
from kafka_cli.config.ini import DEFAULT_TOPIC, load_config
from kafka_cli.core.errors import CliError, ConfigError
from kafka_cli.consume.format_string import TOKENS, format_string
from kafka_cli.consume.formats import FORMATS, Style, one_by_one
from kafka_cli.core.exit_status import run_command
from kafka_cli.cli.options import (CONTEXT_SETTINGS, Escaped, SectionedCommand, Seconds, common_options,
                                   config_source, debug_for_verbosity, version_option)
from kafka_cli.consume.loop import EXIT_AT_END_WAIT, run
from kafka_cli.core.option_kinds import MessageOption
from kafka_cli.schema.hooks import ReadFormats, decode_schemas, schema_format_options
from kafka_cli.core.secrets import Redactor
from kafka_cli.core.words import stdout_closed
from kafka_cli.cli.terminal import Progress, progress_wanted, setup_logging


# -- option values, checked before anything reaches confluent-kafka -------------------------------------
# librdkafka takes topic names, patterns and the group id as C strings: a byte that is not UTF-8 (kept by
# Python as U+DC80-U+DCFF) or a NUL makes its C layer crash (SIGSEGV for a topic, SIGABRT for a group id).
# Each check raises click's BadParameter: one line naming the option and the fault, exit 2. The value itself
# is not repeated: it may hold the very characters a terminal must not receive.
def check_topics(ctx, param, topics):
    for number, name in enumerate(topics, 1):
        problem = topic_selector_problem(name)
        if problem:
            which = f"the {ordinal(number)} topic" if len(topics) > 1 else "the topic"
            raise click.BadParameter(f"{which} {problem}")
    return topics



def ordinal(number):
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(number, f"{number}th")


def check_group(ctx, param, group):
    problem = None if group is None else group_problem(group)
    if problem:
        raise click.BadParameter(f"the group id {problem}")
    return group


@click.command(cls=SectionedCommand, context_settings=CONTEXT_SETTINGS, sections=[
    ("Options", ["topics", "group", "start", "exit_at_end", "max_messages", "output_format", "count", "json_output",
                 "from_beginning", "timeout", "help", "version"]),
    ("Output", ["key_separator", "null_marker", "format_string_text"]),
    ("Partitions and positions", ["partitions", "until", "query"]),
    ("Schema Registry (Avro, JSON Schema, Protobuf)", ["value_format", "key_format"]),
    ("Cluster views, instead of messages", ["list_cluster", "show_all", "lag", "watch"]),
    ("Config and status", ["bootstrap", "properties", "verbose", "quiet"]),
], extra_argument_hint="to read a topic, use -t {}", epilog="""\b
Examples:
  ./consumer.py config.ini                        # topic_0, until Ctrl-C
  ./consumer.py config.ini --from-beginning -e > all.txt
  ./consumer.py config.ini -t orders -g billing -n 100
  ./consumer.py config.ini -f json | jq .value
  ./consumer.py config.ini -f verbose             # partition, offset, time

Exit codes: 0 success (also Ctrl-C while reading messages, and a closed
output pipe); 1 runtime failure (see stderr), or -L found a partition without
a leader or below min.insync.replicas; 2 usage or config error; 130 -L or
--lag (with or without --watch) ended by Ctrl-C.
""")
@common_options
@version_option("consumer.py")
@schema_format_options
@click.option("-t", "--topic", "topics", multiple=True, envvar="KAFKA_TOPIC", metavar="NAME", callback=check_topics,
              help=f"Topic to read (default {DEFAULT_TOPIC}, env KAFKA_TOPIC). Repeatable; "
                   "a name starting with ^ is a regular expression.")
@click.option("-g", "--group", metavar="ID", callback=check_group, help="Consumer group id; overrides group.id in the config file.")
@click.option("--from-beginning", "--reset", "from_beginning", is_flag=True,
              cls=MessageOption, help="Read every assigned partition from its start, ignoring the group's stored position.")
@click.option("-n", "--max-messages", metavar="N", type=click.IntRange(min=1), cls=MessageOption, help="Exit after printing N messages.")
@click.option("-c", "count", metavar="N", type=click.IntRange(min=1), cls=MessageOption,
              help="The same as -n N (kcat's -c).")
@click.option("-e", "--exit-at-end", is_flag=True, cls=MessageOption, help="Exit when every assigned partition is at its end. Exit 1 when no broker answers for "
                   f"--timeout seconds ({EXIT_AT_END_WAIT} without it), assigned partitions or not.")
@click.option("--timeout", metavar="SECONDS", type=Seconds(), help="Exit when nothing arrives for SECONDS.")
@click.option("-f", "--format", "output_format", type=click.Choice(list(FORMATS)), default="text",
              show_default=True, help="text: KEY<sep>VALUE; json: one object per message; verbose: for people.")
@click.option("-J", "json_output", is_flag=True, help="The same as -f json (kcat's -J; the objects are ours).")
@click.option("-K", "--key-separator", metavar="SEP", default=":", show_default=True, type=Escaped(),
              cls=MessageOption, help=r"Between key and value in text format. Escapes: \t tab, \n newline, \xHH any byte (kcat's), "
                   r"and ours: \r, \0 NUL, \\ a backslash (-K '\t' is a tab).")
@click.option("--null-marker", metavar="STR", default="", type=Escaped(),
              cls=MessageOption, help="Shown for a null key or value in text format and -F (default: nothing, as for an empty one). "
                   "Takes the -K escapes.")
@click.option("-p", "--partition", "partitions", multiple=True, type=click.IntRange(0, INT32_MAX), metavar="N",
              cls=MessageOption, help="Read only partition N (repeatable). With -p, -o or --until the consumer assigns the "
                   "partitions itself: it joins no group and commits nothing.")
@click.option("-o", "--offset", "start", metavar="POS",
              cls=MessageOption, help="Where to start in each partition: beginning, end, stored (the group's), N (that offset), "
                   "-N (the last N messages), a time: @EPOCH_MS, ISO 8601 (2026-11-24T14:00:00Z; local time "
                   "without a zone) or a duration back from now (30s, 15m, 2h, 1d). E.g. -o -10 -e: the last 10 "
                   "of each partition; -p 0 -o 1200: partition 0 from offset 1200.")
@click.option("--until", metavar="POS",
              cls=MessageOption, help="Stop each partition before this offset N, or at the first message at or after this time "
                   "(the -o time forms); exit when every partition got there. E.g. -o 2026-11-24T14:00Z "
                   "--until 2026-11-24T15:00Z -e: that hour.")
@click.option("-F", "--format-string", "format_string_text", metavar="FMT", type=Escaped(as_bytes=False),
              cls=MessageOption, help="Print each message with kcat's tokens instead of -f: " + ", ".join(
                  f"%{t} {what}" for t, what in TOKENS.items()) + r"; \n \t and the other -K escapes. "
                  r"No newline is added: e.g. -F '%t [%p] @%o: %k=%s\n'.")
@click.option("-Q", "--query", is_flag=True, cls=MessageOption,
              help="Instead of messages, as kcat -Q: per partition of the -t topics (-p: those only), the offset of "
                   "the first message at or after the -o time, as 'TOPIC [PARTITION] offset N' lines (-1: none "
                   "that late yet). Joins no group, reads no message.")
# The metadata views (kafka_cli/cli/views.py): they read metadata and offsets only, and build no consumer.
@click.option("-L", "--list", "list_cluster", is_flag=True,
              help="List the brokers (controller marked), topics and partitions (leader, replicas, in-sync "
                   "replicas), then how many partitions are under-replicated, below min.insync.replicas or "
                   "without a leader; exit 1 for the last two. -t limits it; -f json for scripts.")
@click.option("--all", "show_all", is_flag=True, help="With -L: the internal topics (__consumer_offsets...) too.")
@click.option("--lag", is_flag=True,
              help="The group's (-g, else group.id) committed offset, log-end offset, lag and owner per "
                   "partition, totals per topic and for the group, and its state. -t limits it.")
@click.option("--watch", metavar="SECONDS", type=click.FloatRange(min=0, min_open=True),
              help="With --lag: look again every SECONDS (drawn in place on a terminal), adding the rate at "
                   "which each lag moves and the time to catch up; Ctrl-C ends it (exit 130).")
def main(config_file, bootstrap, properties, quiet, verbose, topics, group, from_beginning, max_messages, count,
         exit_at_end, timeout, output_format, json_output, key_separator, null_marker, partitions, start, until,
         format_string_text, query, list_cluster, show_all, lag, watch, schema_formats):
    """Print the messages of a Kafka topic on stdout, one per line.

    CONFIG_FILE is an INI file: [default] holds bootstrap.servers and the
    credentials, [consumer] group.id and auto.offset.reset (see
    config.ini.example). Keys are librdkafka property names. For a quick look
    at a plaintext cluster, -b HOST:PORT takes its place.

    Text format prints KEY<sep>VALUE, so the output can be piped back into
    producer.py; a null key or value prints as nothing. JSON prints topic,
    partition, offset, timestamp (ms), key, value and headers; a key or value
    that is not UTF-8 appears as {"base64": "..."}, a null one as null.

    An offset is stored only after its message was written to stdout, and
    committed on the way out (Ctrl-C is the normal way to stop): a second
    run in the same group goes on where this one stopped.
    """
    ctx = click.get_current_context()
    config_file = config_source(ctx)
    output_format, max_messages = kcat_synonyms(ctx)
    if list_cluster or lag or show_all or watch is not None or query:
        return instead_of_messages(ctx, config_file)
    redactor = Redactor()
    with redactor.guard():
        require_stdout()
        log, client_log = setup_logging("consumer.py", verbose, quiet, redactor)
        config = load_config(config_file, "consumer", properties, redactor)
        # Decided once: on a terminal every format escapes what the terminal would obey (ESC, C1, bidi...).
        topics = tuple(topics) or (DEFAULT_TOPIC,)
        style = Style(separator=key_separator, null_marker=null_marker,
                      terminal=sys.stdout.isatty(), warn=lambda text: log.warning("%s", text),
                      only_topic=only_topic(topics))
        start_at, until_at = positions(start, until)
        direct = bool(partitions) or start_at is not None or until_at is not None
        check_combinations(topics, direct, from_beginning, start_at)
        options = ConsumerOptions(
            topics=topics, group=group, from_beginning=from_beginning,
            max_messages=max_messages, exit_at_end=exit_at_end, idle_timeout=timeout,
            render_batch=one_by_one(format_string(format_string_text)(style)) if format_string_text
            else FORMATS[output_format](style),
            terminal=style.terminal, quiet=quiet, progress=Progress(progress_wanted(sys.stdout, quiet), "messages"),
            direct=direct, partitions=tuple(sorted(set(partitions))), start=start_at, until=until_at,
            schema_formats=schema_formats, announce=bool(verbose) or sys.stderr.isatty())
        options = decode_schemas(options, config, output_format, style)
        debug_for_verbosity(config, verbose, log)
        run(config, options, log, client_log)


def instead_of_messages(ctx, config_file):
    """-L and --lag, or -Q: no messages are read (kafka_cli/cli/views.py)."""
    p = ctx.params
    if p["list_cluster"] or p["lag"] or p["show_all"] or p["watch"] is not None:
        from kafka_cli.cli.views import run_view

        return run_view(ctx)
    from kafka_cli.cli.views import run_query

    return run_query(ctx, config_file)


def kcat_synonyms(ctx):
    """-J (-f json) and -c (-n) folded into the options they stand for, in ctx.params too (the views read -f
    there); (output format, max messages)."""
    p = ctx.params
    if p["json_output"]:
        if ctx.get_parameter_source("output_format") is click.core.ParameterSource.COMMANDLINE \
                and p["output_format"] != "json":
            raise click.UsageError(f"-J is -f json: not with -f {p['output_format']}")
        p["output_format"] = "json"
    if p["count"] is not None:
        if p["max_messages"] is not None and p["max_messages"] != p["count"]:
            raise click.UsageError("-c and -n both say how many messages to print: give one of them")
        p["max_messages"] = p["count"]
    return p["output_format"], p["max_messages"]


def only_topic(topics):
    """The topic every message of the run comes from, when there is exactly one (not a ^pattern), else None."""
    return topics[0] if len(set(topics)) == 1 and not topics[0].startswith("^") else None


def positions(start, until):
    """-o and --until as positions.Position values (None when not given). kafka_cli.consume.positions (and datetime)
    is imported only when one is given: a run without them does not pay for it at start-up."""
    if start is None and until is None:
        return None, None
    from kafka_cli.consume.positions import parse_position

    return (parse_position(start) if start is not None else None,
            parse_position(until, "--until") if until is not None else None)


def check_combinations(topics, direct, from_beginning, start_at):
    if direct and any(t.startswith("^") for t in topics):
        raise ConfigError("-p, -o and --until need topic names, not a ^pattern")
    if from_beginning and start_at is not None:
        raise ConfigError("--from-beginning and -o both say where to start: use -o beginning")


def require_stdout():
    """`consumer.py >&-`: Python starts with sys.stdout None, and the next file or socket opened takes fd 1;
    writing messages there would send them to a broker connection. Refuse before anything is opened."""
    if sys.stdout is None:
        raise CliError(stdout_closed("the messages"))


@dataclass(frozen=True)
class ConsumerOptions:
    """What the command line asks of a run, built once in main()."""

    topics: tuple
    group: str  # -g, or None
    from_beginning: bool
    max_messages: int  # or None
    exit_at_end: bool
    idle_timeout: float  # --timeout, or None
    render_batch: object  # batch of messages -> their formats.Lines (a kafka_cli.consume.formats.FORMATS renderer, or -F's)
    terminal: bool  # stdout is a terminal (output escaped by render)
    quiet: bool
    progress: object  # terminal.Progress: the self-updating count, where a person watches a file fill
    direct: bool  # -p/-o/--until: assign partitions ourselves, no group, no commits
    partitions: tuple  # -p numbers; empty: all
    start: object  # positions.Position from -o, or None
    until: object  # positions.Position from --until, or None
    schema_formats: ReadFormats = ReadFormats()  # --key-format, --value-format
    # say once what is read and how, when it starts: where a person watches stderr (a terminal) or asks (-v); a
    # pipe or a test's stderr stays as quiet as before
    announce: bool = False


def run_as_script():
    run_command(main)
