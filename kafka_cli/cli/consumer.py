"""consumer.py: print the messages of Kafka topics on stdout.

The command itself; consumer.py at the top of the project only starts it (see commands/__init__.py)."""

import errno
import gc
import os
import re
import signal
import sys
import time
import uuid
import warnings
from dataclasses import dataclass

import click

from kafka_cli.core.boundary import INT32_MAX, c_string_problem, topic_problem
from kafka_cli.client.build import build_client
from kafka_cli.config.ini import DEFAULT_TOPIC, file_warnings, load_config
from kafka_cli.core.errors import CliError, ConfigError
from kafka_cli.consume.format_string import TOKENS, format_string
from kafka_cli.consume.formats import FORMATS, Style, one_by_one
from kafka_cli.client.kafka_errors import ClusterErrors, describe_kafka_error
from kafka_cli.core.exit_status import run_command
from kafka_cli.cli.options import (CONTEXT_SETTINGS, Escaped, common_options, debug_for_verbosity,
                               version_option)
from kafka_cli.core.option_kinds import MessageOption
from kafka_cli.schema.hooks import ReadFormats, decode_schemas, schema_format_options
from kafka_cli.core.secrets import Redactor
from kafka_cli.cli.terminal import Progress, progress_wanted, setup_logging

BATCH = 2000
EXIT_AT_END_WAIT = 30  # seconds -e waits for a broker that does not answer, when --timeout does not say


# -- option values, checked before anything reaches confluent-kafka -------------------------------------
# librdkafka takes topic names, patterns and the group id as C strings: a byte that is not UTF-8 (kept by
# Python as U+DC80-U+DCFF) or a NUL makes its C layer crash (SIGSEGV for a topic, SIGABRT for a group id).
# Each check raises click's BadParameter: one line naming the option and the fault, exit 2. The value itself
# is not repeated: it may hold the very characters a terminal must not receive.
def check_topics(ctx, param, topics):
    for number, name in enumerate(topics, 1):
        problem = pattern_problem(name) if name.startswith("^") else topic_problem(name)
        if problem:
            which = f"the {ordinal(number)} topic" if len(topics) > 1 else "the topic"
            raise click.BadParameter(f"{which} {'pattern ' if name.startswith('^') else ''}{problem}")
    return topics


def pattern_problem(pattern):
    """A ^pattern subscribes to every matching topic: any characters may be in it, but it must be a C string
    and a regular expression."""
    problem = c_string_problem(pattern)
    if problem:
        return problem
    try:
        with warnings.catch_warnings():  # "[[:alpha:]]" is a POSIX class to librdkafka, a FutureWarning to re
            warnings.simplefilter("ignore")
            re.compile(pattern)
    except re.error as e:
        return f"is not a regular expression: {e.msg}" + (f" at position {e.pos}" if e.pos is not None else "")
    except RecursionError:
        return "is not a regular expression Python can read: its groups are nested too deeply"
    except OverflowError:
        return "is not a regular expression Python can read: a repeat count is too large"
    return None


def ordinal(number):
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(number, f"{number}th")


def check_group(ctx, param, group):
    problem = None if group is None else c_string_problem(group)
    if problem:
        raise click.BadParameter(f"the group id {problem}")
    return group


def check_seconds(ctx, param, seconds):
    """click's FloatRange lets nan through (no comparison with it is true), and a wait of nan seconds never ends."""
    if seconds is not None and seconds != seconds:
        raise click.BadParameter("must be a number of seconds, not nan")
    return seconds



# -- writing stdout without ever storing an offset for an unwritten message ------------------
def write_all(fd, lines):
    """Write a batch's Lines; on failure return how many were written whole, and the error."""
    data = memoryview(lines.data)  # a short write is followed by the rest, not by a copy of it
    written = 0
    try:
        while written < len(data):
            written += os.write(fd, data[written:])
    except OSError as e:
        return lines.whole_in(written), e
    return lines.count, None


class State:
    """What the callbacks tell the main loop."""

    def __init__(self):
        self.stop_signal = None
        self.fatal = None  # a reason to stop found in the messages
        self.errors = None  # ClusterErrors: the client's fatal errors
        self.assigned = set()
        self.at_end = set()
        self.rewound = set()
        self.ever_assigned = False
        self.cooperative = False
        self.exit_at_end = False
        self.missing = set()  # subscribed names (or ^patterns) the broker said do not exist (yet)
        self.until = None  # positions.Until with --until
        self.rendering = False  # a signal now raises StopRendering

    @property
    def stopped_by(self):
        return self.fatal or self.errors.fatal

    def on_signal(self, signum, frame):
        self.stop_signal = signum
        if self.rendering:  # decoding a batch can take long (a slow registry, bounded patterns): stop it now
            self.rendering = False
            raise StopRendering()


class StopRendering(BaseException):
    """A signal came while a batch was being made into lines: the batch is dropped unwritten (so none of its
    offsets is stored and the next run reads it again). A BaseException, so no `except Exception` on the way
    (the registry client, the codecs) can swallow it."""


@click.command(context_settings=CONTEXT_SETTINGS, epilog="""\b
Examples:
  ./consumer.py config.ini                        # topic_0, until Ctrl-C
  ./consumer.py config.ini --from-beginning -e > all.txt
  ./consumer.py config.ini -t orders -g billing -n 100
  ./consumer.py config.ini -f json | jq .value
  ./consumer.py config.ini -f verbose             # partition, offset, time

Exit codes: 0 success, 1 runtime failure (see stderr), 2 usage or config error.
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
@click.option("-e", "--exit-at-end", is_flag=True, cls=MessageOption, help="Exit when every assigned partition is at its end. Exit 1 when no broker answers for "
                   f"--timeout seconds ({EXIT_AT_END_WAIT} without it), assigned partitions or not.")
@click.option("--timeout", metavar="SECONDS", type=click.FloatRange(min=0), callback=check_seconds, help="Exit when nothing arrives for SECONDS.")
@click.option("-f", "--format", "output_format", type=click.Choice(list(FORMATS)), default="text",
              show_default=True, help="text: KEY<sep>VALUE; json: one object per message; verbose: for people.")
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
def main(config_file, properties, quiet, verbose, topics, group, from_beginning, max_messages, exit_at_end,
         timeout, output_format, key_separator, null_marker, partitions, start, until, format_string_text,
         list_cluster, show_all, lag, watch, schema_formats):
    """Print the messages of a Kafka topic on stdout, one per line.

    CONFIG_FILE is an INI file: [default] holds bootstrap.servers and the
    credentials, [consumer] group.id and auto.offset.reset (see
    config.ini.example). Keys are librdkafka property names.

    Text format prints KEY<sep>VALUE, so the output can be piped back into
    producer.py; a null key or value prints as nothing. JSON prints topic,
    partition, offset, timestamp (ms), key, value and headers; a key or value
    that is not UTF-8 appears as {"base64": "..."}, a null one as null.

    An offset is stored only after its message was written to stdout, and
    committed on the way out (Ctrl-C is the normal way to stop): a second
    run in the same group goes on where this one stopped.
    """
    if list_cluster or lag or show_all or watch is not None:  # -L, --lag: no consumer, see kafka_cli/cli/views.py
        from kafka_cli.cli.views import run_view

        return run_view(click.get_current_context())
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
            terminal=style.terminal, quiet=quiet, show_progress=progress_wanted(sys.stdout, quiet),
            direct=direct, partitions=tuple(sorted(set(partitions))), start=start_at, until=until_at,
            schema_formats=schema_formats)
        options = decode_schemas(options, config, output_format, style)
        run(config, options, log, client_log, verbose)


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
        raise CliError("stdout is closed: there is nowhere to print the messages (use > FILE or > /dev/null)")


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
    show_progress: bool
    direct: bool  # -p/-o/--until: assign partitions ourselves, no group, no commits
    partitions: tuple  # -p numbers; empty: all
    start: object  # positions.Position from -o, or None
    until: object  # positions.Position from --until, or None
    schema_formats: ReadFormats = ReadFormats()  # --key-format, --value-format


def configure(config, options, log, verbose):
    """The consumer's settings on top of the user's config."""
    for warning in file_warnings(config):
        log.warning("%s", warning)
    debug_for_verbosity(config, verbose)
    if options.group:
        config.set("group.id", options.group, "--group")
    if options.direct:
        # librdkafka wants a group.id even when the partitions are assigned by hand; without subscribe() and
        # commits it never joins or creates that group (it only reads its offsets for -o stored).
        config.set_default("group.id", f"consumer.py-direct-{uuid.uuid4().hex[:12]}")
        config.set("enable.auto.commit", "false", "-p/-o/--until: no group, nothing committed")
    elif not config.get("group.id"):
        generated = f"consumer.py-{uuid.uuid4().hex[:12]}"
        config.set("group.id", generated, "generated")
        log.warning("no group.id in %s: using the new group %s (use -g to keep your position across runs)",
                    config.path, generated)
    config.set_default("auto.offset.reset", "earliest")
    config.set("enable.auto.offset.store", "false", "consumer.py: at-least-once")
    config.set_default("enable.auto.commit", "true")  # commits only what we stored: printed messages
    # librdkafka waits 1 s before fetching again once its local queue is full; reading a topic to its
    # end then stalls every second. 10 ms keeps the queue topped up (measured: 2.5x faster to the end).
    config.set_default("fetch.queue.backoff.ms", "10")
    # A new topic matching a ^pattern is only seen at the next full metadata refresh: with librdkafka's default
    # of 5 minutes a waiting consumer stayed blind (measured: nothing after 100 s; with 3 s, printed 3.1 s after
    # the topic was created). A missing named topic is re-checked by librdkafka anyway (2.0 s either way).
    # One metadata request every 3 s costs the broker next to nothing.
    config.set_default("topic.metadata.refresh.interval.ms", "3000")
    if options.exit_at_end:
        config.set("enable.partition.eof", "true", "--exit-at-end")


def run(config, options, log, client_log, verbose):
    configure(config, options, log, verbose)

    from confluent_kafka import Consumer

    state = State()
    state.exit_at_end = options.exit_at_end
    state.cooperative = ("cooperative" in config.get("partition.assignment.strategy", "")
                         or config.get("group.protocol", "classic") == "consumer")
    state.errors = ClusterErrors(config, log)
    consumer = build_client(Consumer, config, error_cb=state.errors, logger=client_log)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal or SSH session went away
        signal.signal(sig, state.on_signal)
    printed = 0
    try:
        if options.direct:
            assign_directly(consumer, state, options, log)
        else:
            subscribe(consumer, state, options)
        if state.assigned or not options.direct:  # directly: every partition may already be past --until
            printed = consume(consumer, state, options, log, config)
    finally:
        close(consumer, log, commit=state.stopped_by is None and not options.direct)
    if state.stopped_by:
        raise CliError(state.stopped_by)
    if not options.quiet:
        log.info("%s messages printed", f"{printed:,}")


def subscribe(consumer, state, options):
    """Join the group for the topics. librdkafka's regular expressions are not Python's: a ^pattern that
    compiled in check_topics may still be refused here (a look-ahead, a named group)."""
    from confluent_kafka import KafkaException

    try:
        consumer.subscribe(list(options.topics),
                           on_assign=lambda c, parts: on_assign(c, parts, state, options.from_beginning),
                           on_revoke=lambda c, parts: on_revoke(parts, state),
                           on_lost=lambda c, parts: on_revoke(parts, state))
    except KafkaException as e:
        patterns = [name for name in options.topics if name.startswith("^")]
        what = "the topic pattern" if patterns else "the topics"
        raise ConfigError(f"-t: librdkafka refuses {what} ({e.args[0].str()}); its regular expressions have no "
                          "look-around and no named groups") from None


def assign_directly(consumer, state, options, log):
    """-p/-o/--until: the partitions asked for, each from its -o position, like kcat's simple consumer."""
    from kafka_cli.consume.positions import WAIT, Position, Until, end_offsets, partitions_to_read, start_offsets

    wait = options.idle_timeout or WAIT  # --timeout ends a run whose broker never answers here too
    chosen = partitions_to_read(consumer, options.topics, options.partitions, wait)
    start = options.start or Position("stored", 0, "stored")  # the group's position, else auto.offset.reset
    assignment = start_offsets(consumer, chosen, start, wait)
    if options.until is not None:
        state.until = Until(end_offsets(consumer, chosen, options.until, wait),
                            options.until.value if options.until.kind == "time" else None)
        state.until.finish_early(assignment)
        assignment = [tp for tp in assignment if (tp.topic, tp.partition) not in state.until.done]
    consumer.incremental_assign(assignment)
    state.assigned.update((tp.topic, tp.partition) for tp in assignment)
    state.ever_assigned = True
    log.info("reading %s directly from %s: no consumer group is joined and nothing is committed",
             ", ".join(f"{tp.topic} [{tp.partition}]" for tp in assignment) or "no partition", start.text)


def retire_finished(consumer, state):
    """--until: stop fetching the partitions that reached their end; True when none is left."""
    from confluent_kafka import TopicPartition

    finished = [where for where in state.until.done if where in state.assigned]
    if finished:
        consumer.incremental_unassign([TopicPartition(t, p) for t, p in finished])
        state.assigned.difference_update(finished)
        state.at_end.difference_update(finished)
    return not state.assigned


def on_assign(consumer, partitions, state, from_beginning):
    from confluent_kafka import OFFSET_BEGINNING

    # Without an explicit assign here, confluent-kafka assigns the partitions itself after this callback.
    if from_beginning:
        for p in partitions:
            if (p.topic, p.partition) not in state.rewound:  # only once: a rebalance must not replay
                state.rewound.add((p.topic, p.partition))
                p.offset = OFFSET_BEGINNING
        if state.cooperative:
            consumer.incremental_assign(partitions)
        else:
            consumer.assign(partitions)
    state.assigned.update((p.topic, p.partition) for p in partitions)
    state.ever_assigned = True
    state.errors.recovered()


def on_revoke(partitions, state):
    for p in partitions:
        state.assigned.discard((p.topic, p.partition))
        state.at_end.discard((p.topic, p.partition))


def consume(consumer, state, options, log, config):
    """The loop: wait for one message, take whatever else is ready, write them, then store their offsets.

    One function on purpose: it runs once per batch of up to BATCH messages, and everything it touches is a
    local variable; the lines of a batch are made by the format's renderer (kafka_cli.consume.formats) in one call."""
    from confluent_kafka import KafkaError

    render_batch, until = options.render_batch, state.until
    max_messages, exit_at_end, idle_timeout = options.max_messages, options.exit_at_end, options.idle_timeout
    fd = sys.stdout.fileno()
    progress = Progress(options.show_progress, "messages")
    gc.disable()  # no cycles are made here; collections would only cost time
    printed = 0
    last_activity = time.monotonic()
    while state.stop_signal is None and state.stopped_by is None:
        first = consumer.poll(0.5)
        if first is None:
            state.errors.check(consumer, "waiting for it")
            if exit_at_end:
                state.fatal = cannot_finish(state, idle_timeout, config)
                if state.fatal:
                    break
            if idle_timeout is not None and time.monotonic() - last_activity >= idle_timeout:
                if not state.ever_assigned:
                    state.fatal = nothing_to_read(state, idle_timeout, config)
                break
            continue
        if state.errors.said:
            state.errors.recovered()
        want = BATCH if max_messages is None else min(BATCH, max_messages - printed)
        batch = [first] + (consumer.consume(want - 1, 0) if want > 1 else [])
        last_activity = time.monotonic()
        if until is not None:
            batch = until.take(batch)
        try:
            state.rendering = True
            lines = render_batch(batch)  # one line per message without error()
        except StopRendering:
            break
        finally:
            state.rendering = False
        if lines.count < len(batch):
            for msg in batch:
                err = msg.error()
                if err is None:
                    continue
                if err.code() == KafkaError._PARTITION_EOF:
                    state.at_end.add((msg.topic(), msg.partition()))
                else:
                    handle_message_error(err, msg, state, log, config)
        if lines.count:
            complete, failure = write_all(fd, lines)
            # Offsets are stored only for messages whose bytes reached stdout: at-least-once.
            if failure is None:
                # every message consumed so far is written, so each partition's position is the offset to store
                store_positions(consumer)
            else:
                store_written(consumer, batch, complete)
                printed += complete
                if failure.errno == errno.EPIPE:
                    break
                raise CliError(f"cannot write to stdout: {failure.strerror}; the {printed:,} messages written "
                               "so far are committed, the rest will be read again by the next run in this group")
            printed += lines.count
            progress.update(printed)
        if max_messages is not None and printed >= max_messages:
            break
        if until is not None and until.done and retire_finished(consumer, state):
            break
        if exit_at_end and state.assigned and state.assigned <= state.at_end and all_at_end(consumer, state):
            break
    progress.clear()
    return printed


def store_positions(consumer):
    positions = [tp for tp in consumer.position(consumer.assignment()) if tp.offset >= 0]
    if positions:
        consumer.store_offsets(offsets=positions)


def all_at_end(consumer, state):
    """Every assigned partition reported its end; drop those that got new messages since."""
    for tp in consumer.position(consumer.assignment()):
        if tp.offset >= 0:
            _, high = consumer.get_watermark_offsets(tp, cached=True)
            if high > tp.offset:
                state.at_end.discard((tp.topic, tp.partition))
    return state.assigned <= state.at_end


def store_written(consumer, batch, complete):
    from confluent_kafka import TopicPartition

    last = {}
    for msg in [m for m in batch if m.error() is None][:complete]:
        last[msg.topic(), msg.partition()] = msg.offset() + 1
    if last:
        consumer.store_offsets(offsets=[TopicPartition(t, p, o) for (t, p), o in last.items()])


def cannot_finish(state, idle_timeout, config):
    """-e promises an end: why the run cannot get there, once no broker has answered for --timeout seconds
    (EXIT_AT_END_WAIT without it), whether or not a partition was ever assigned; else None. Without -e the
    consumer waits for the broker as long as it is asked to (librdkafka reconnects by itself). A reachable
    cluster that is slow to hand out partitions is waited for: a group's rebalance can take as long as a
    crashed member's session.timeout.ms (45 s by default)."""
    bound = EXIT_AT_END_WAIT if idle_timeout is None else idle_timeout
    trouble = state.errors.trouble
    if trouble is not None and time.monotonic() - trouble[1] >= bound:
        return (f"-e: no broker answered for {bound:g} s ({trouble[0]}): check bootstrap.servers "
                f"({config.get('bootstrap.servers')}) in {config.path}")
    return None


def nothing_to_read(state, idle_timeout, config):
    """Why a run ended by --timeout before it got any partition, or None if it simply had nothing to read."""
    if state.errors.trouble:
        return (f"no broker answered within --timeout {idle_timeout:g} s: check bootstrap.servers "
                f"({config.get('bootstrap.servers')}) in {config.path}")
    if state.missing:
        return "; ".join(absent(name) for name in sorted(state.missing)) + f" (waited --timeout {idle_timeout:g} s)"
    return None


def absent(name):
    if name.startswith("^"):
        return f"no topic matching '{name}' exists"
    return f"topic '{name}' does not exist"


def topic_missing(name, state, log, config):
    """A subscribed topic (or any topic matching a ^pattern) is not there. With -e that ends the run; else the
    consumer says so once and waits: the subscription stays, and the next metadata refresh (see
    topic.metadata.refresh.interval.ms in configure) finds the topic once it is created."""
    where = config.get("bootstrap.servers")
    if state.exit_at_end:
        state.fatal = f"{absent(name)} on {where} (check -t, or create it first)"
    elif name not in state.missing:
        state.missing.add(name)
        log.warning("%s yet on %s: waiting for it to be created (Ctrl-C or --timeout end the wait)",
                    absent(name), where)


def handle_message_error(err, msg, state, log, config):
    from confluent_kafka import KafkaError

    if err.code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._UNKNOWN_TOPIC):
        topic_missing(msg.topic(), state, log, config)
    elif err.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED:
        state.fatal = f"user '{config.get('sasl.username', '')}' may not read topic '{msg.topic()}' (the broker's ACLs)"
    elif err.code() == KafkaError.GROUP_AUTHORIZATION_FAILED:
        state.fatal = f"user '{config.get('sasl.username', '')}' may not use group '{config.get('group.id')}'"
    else:
        message = describe_kafka_error(err, config)
        if message:
            state.fatal = message
        else:
            log.warning("%s", err.str())


def close(consumer, log, commit):
    """Commit what was printed and leave the group, so the next run starts right after it."""
    from confluent_kafka import KafkaError, KafkaException

    try:
        if commit:
            consumer.commit(asynchronous=False)
    except KafkaException as e:
        if e.args[0].code() != KafkaError._NO_OFFSET:
            log.warning("final commit failed: %s", e.args[0].str())
    except RuntimeError:
        pass
    consumer.close()


def run_as_script():
    run_command(main)
