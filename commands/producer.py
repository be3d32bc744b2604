"""producer.py: write key:value lines from stdin to a Kafka topic.

The command itself; producer.py at the top of the project only starts it (see commands/__init__.py)."""

import gc
import os
import select
import signal
import sys
import time
from collections import deque
from dataclasses import dataclass
from functools import partial
from itertools import repeat
from operator import length_hint

import click

from kafka_cli.boundary import librdkafka_int, topic_problem
from kafka_cli.client import build_client
from kafka_cli.config import DEFAULT_TOPIC, file_warnings, load_config
from kafka_cli.errors import CliError
from kafka_cli.exit_status import ExitStatus, Interrupted, run_command
from kafka_cli.kafka_errors import ClusterErrors
from kafka_cli.lines import InputLines, LineParser, split_chunk, split_lines
from kafka_cli.options import (CONTEXT_SETTINGS, common_options, debug_for_verbosity, parse_headers, unescape,
                               version_option)
from kafka_cli.secrets import Redactor
from kafka_cli.terminal import Progress, progress_wanted, setup_logging

READ_BLOCK = 1024 * 1024


# The broker refuses a whole batch for one bad record in it; the usual bad record is one without a key.
INVALID_RECORD_HINT = (" (a compacted topic refuses a message without a key, and with it the batch it was sent in; "
                       "give every line a key)")


# A message that ends in one of these errors may have been written: it timed out, or its connection broke,
# after it was sent (librdkafka keeps a per-message "possibly persisted" status that confluent-kafka does not
# expose, so the error decides). Counting it failed would invite the user to send it again, a duplicate if the
# broker had it (seen: 5 "failed" under a paused broker, 3 of them stored after it resumed). So it is 'not
# confirmed'; only an error that proves the broker refused it, or that it never left this machine, is 'failed'.
MAYBE_STORED = ("_MSG_TIMED_OUT", "_TIMED_OUT", "REQUEST_TIMED_OUT", "_TRANSPORT", "NETWORK_EXCEPTION",
                "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "_PURGE_INFLIGHT")


class Delivery:
    """Counts what the broker refused. delivery.report.only.error means success costs no Python call, so what
    was delivered is what was sent less what failed and what was still unconfirmed when the run ended."""

    def __init__(self):
        self.failed = 0
        self.not_confirmed = 0  # still in flight when the final wait ended: the broker may have it
        self.first_reason = None
        self.purged_code = None  # KafkaError._PURGE_QUEUE: a message purged before it left this machine
        self.purge_reason = None  # why finish() purged
        self.invalid_record_code = None  # KafkaError.INVALID_RECORD
        self.unconfirmed_reason = None
        self.maybe_stored_codes = ()  # errors after which the broker may have the message (see MAYBE_STORED)
        self.timed_out = 0  # messages that ended in one of those errors: not confirmed, never failed
        self.timed_out_reason = None
        self.closed = False  # counting is over: reports served after that must not change the counts
        self.fatal = None  # our own reason to stop: no progress within --timeout
        self.errors = None  # ClusterErrors: the client's fatal errors
        self.max_bytes = 1_000_000  # message.max.bytes, for the error about a line over it

    @property
    def stopped_by(self):
        return self.fatal or self.errors.fatal

    def on_delivery(self, err, msg):
        if err is not None and not self.closed:
            code = err.code()
            if code in self.maybe_stored_codes:
                self.timed_out += 1
                self.timed_out_reason = self.timed_out_reason or err.str()
                return
            self.fail(1, self.purge_reason if code == self.purged_code else
                      err.str() + INVALID_RECORD_HINT if code == self.invalid_record_code else err.str())

    def fail(self, count, reason):
        self.failed += count
        if self.first_reason is None:
            self.first_reason = reason


class Stop:
    """Set by SIGINT/SIGTERM: stop reading, deliver what was read, exit 128+signal (1 if anything was not
    delivered). A second signal ends the final wait at once."""

    signum = None  # the first signal
    count = 0

    @classmethod
    def handler(cls, signum, frame):
        cls.count += 1
        cls.signum = cls.signum or signum

    @classmethod
    def name(cls):
        return signal.Signals(cls.signum).name


@click.command(context_settings=CONTEXT_SETTINGS, epilog="""\b
Examples:
  printf '1:message 1\\n2:message 2\\n' | ./producer.py config.ini
  ./producer.py config.ini -t orders -K '|' < orders.txt
  ./producer.py config.ini --no-key -H source=import < lines.txt
  ./producer.py config.ini -X compression.type=zstd --skip-bad-lines < big.txt

\b
Tombstones, and copying a topic (keys, values, headers, partitions, timestamps):
  ./producer.py config.ini -t users --null-value NULL < changes.txt
  ./consumer.py a.ini -t src -e -f json | ./producer.py b.ini -t dst -f json

Exit codes: 0 every line delivered; 1 a line failed, was not confirmed, or had
no separator, or the broker could not be used (see stderr); 2 usage or config
error; 128+N stopped by signal N (130 Ctrl-C) after every line read was
delivered (a signal with anything undelivered exits 1).
""")
@common_options
@version_option("producer.py")
@click.option("-t", "--topic", metavar="NAME", default=DEFAULT_TOPIC, envvar="KAFKA_TOPIC", show_default=True,
              help="Topic to write to (env KAFKA_TOPIC).")
@click.option("-K", "--key-separator", metavar="SEP", default=":", show_default=True,
              help="Splits each line into key and value at its first occurrence. Takes kcat's escapes: "
                   "\\t (tab), \\n, \\r, \\0 (NUL), \\xHH (any byte), \\\\ (backslash); e.g. -K '\\t'.")
@click.option("--no-key", is_flag=True, help="Send each whole line as the value, with no key.")
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
@click.option("--timeout", metavar="SECONDS", default=30.0, show_default=True, type=click.FloatRange(min=0),
              help="More than 0. Seconds to wait for the broker at start, and for outstanding deliveries at the "
                   "end: then what never left this machine has failed, and what is in flight is 'not confirmed'.")
def main(config_file, properties, quiet, verbose, topic, key_separator, no_key, skip_bad_lines, headers,
         empty_value_null, null_value, input_format, keep_partition, keep_timestamp, timeout):
    """Read KEY:VALUE lines (or -f json records) from stdin and write them to a Kafka topic.

    CONFIG_FILE is an INI file: [default] holds bootstrap.servers and the
    credentials, [producer] what only the producer uses (see config.ini.example).
    Keys are librdkafka property names.

    Every line read ends up in one bucket of the summary on stderr: delivered
    (acknowledged by the broker), failed (refused, with the reason), or not
    confirmed (still in flight when the wait ended: the broker may have it).
    Exit 1 if anything failed or is not confirmed. Empty lines are skipped; a
    line ending in \\r\\n loses both characters; nothing else is trimmed.
    """
    redactor = Redactor()
    with redactor.guard():
        log, client_log = setup_logging("producer.py", verbose, quiet, redactor)
        if sys.stdin is None:  # started with fd 0 closed (<&-): Python found no stdin, and a socket may get fd 0
            raise click.UsageError("stdin is closed, so there are no lines to read: give them on stdin "
                                   "(a pipe, < FILE, or type them)")
        if not key_separator and not no_key:
            raise click.BadParameter("must not be empty", param_hint="'-K' / '--key-separator'")
        if not timeout > 0:  # (also refuses nan)
            raise click.BadParameter("must be more than 0 seconds (it bounds the wait for the broker at start and "
                                     "for deliveries at the end)", param_hint="'--timeout'")
        check_format_options(click.get_current_context(), input_format)
        problem = topic_problem(topic)
        if problem is not None:  # (a name that is not UTF-8 would crash confluent-kafka's C code)
            raise click.BadParameter(f"the topic name {problem}", param_hint="'-t' / '--topic'")
        config = load_config(config_file, "producer", properties, redactor)
        nulls = frozenset(([b""] if empty_value_null else []) + ([os.fsencode(null_value)] if null_value is not None else []))
        options = ProducerOptions(topic=topic, parser=LineParser(unescape(key_separator), no_key, nulls),
                                  headers=parse_headers(headers) or None, skip_bad_lines=skip_bad_lines,
                                  timeout=timeout, quiet=quiet, show_progress=progress_wanted(sys.stdin, quiet),
                                  records=json_records(keep_partition, keep_timestamp)
                                  if input_format == "json" else None)
        status = run(config, options, log, client_log, verbose)
    # as an exception click understands, so CliRunner sees it too; exit_status.run_command ends the process
    click.get_current_context().exit(status)


def json_records(keep_partition, keep_timestamp):
    """-f json's record reader; kafka_cli.json_input (and the json package) is imported only for -f json,
    so that a run of text lines does not pay for it at start-up."""
    from kafka_cli.json_input import JsonRecords

    return JsonRecords(keep_partition, keep_timestamp)


def check_format_options(ctx, input_format):
    """Options that mean something for one input format only are refused with the other, not ignored."""
    given = {name for name in ("key_separator", "no_key", "empty_value_null", "null_value", "keep_partition",
                               "keep_timestamp")
             if ctx.get_parameter_source(name) not in (click.core.ParameterSource.DEFAULT, None)}
    text_only = {"key_separator": "-K", "no_key": "--no-key", "empty_value_null": "-Z", "null_value": "--null-value"}
    json_only = {"keep_partition": "--[no-]keep-partition", "keep_timestamp": "--[no-]keep-timestamp"}
    wrong = [flag for name, flag in (text_only if input_format == "json" else json_only).items() if name in given]
    if wrong:
        raise click.UsageError(f"{', '.join(wrong)}: only with -f {'text' if input_format == 'json' else 'json'}"
                               + (" (a JSON record says its key, and null is null)" if input_format == "json"
                                  else ""))


@dataclass(frozen=True)
class ProducerOptions:
    """What the command line asks of a run, built once in main()."""

    topic: str
    parser: LineParser
    headers: list  # [(name, value bytes)] on every message, or None
    skip_bad_lines: bool
    timeout: float
    quiet: bool
    show_progress: bool
    records: object = None  # kafka_cli.json_input.JsonRecords for -f json: how to read each line; None: text lines, split by `parser`


def run(config, options, log, client_log, verbose):
    for warning in file_warnings(config):
        log.warning("%s", warning)
    debug_for_verbosity(config, verbose)
    # Unless the config says otherwise: no loss and no duplicates (acks=all, idempotence); a key lands on
    # the partition a Java client would pick (murmur2); larger batches; and a delivery report only for a
    # failure, so a delivered message costs no Python call. debug=msg: a produce request refused for too few
    # in-sync replicas is retried in silence and logged only in that context; terminal.py turns the first such
    # line into one sentence (measured: a few hundred lines per 500,000 messages, no cost seen).
    for name, value in (("acks", "all"), ("enable.idempotence", "true"), ("partitioner", "murmur2_random"),
                        ("linger.ms", "20"), ("batch.num.messages", "10000"),
                        ("delivery.report.only.error", "true"), ("debug", "msg"),
                        # connect to every broker as soon as it is known, not when first needed: see ask_again_for_producer_id
                        ("enable.sparse.connections", "false")):
        config.set_default(name, value)

    from confluent_kafka import KafkaError, Producer

    delivery = Delivery()
    delivery.purged_code, delivery.invalid_record_code = KafkaError._PURGE_QUEUE, KafkaError.INVALID_RECORD
    delivery.maybe_stored_codes = frozenset(getattr(KafkaError, name) for name in MAYBE_STORED)
    errors = ClusterErrors(config, log)
    producer = build_client(Producer, config, error_cb=errors, logger=client_log, on_delivery=delivery.on_delivery)
    delivery.errors = errors
    delivery.max_bytes = librdkafka_int(config.get("message.max.bytes", str(delivery.max_bytes)))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, Stop.handler)
    check_topic(producer, options.topic, options.timeout, delivery, config)
    started = time.monotonic()
    skipped = []
    loop = read_and_produce if options.records is None else read_and_produce_json
    sent, bad_line = loop(producer, options, delivery, skipped, log)
    finish(producer, delivery, options.timeout)
    report(log, options, delivery, Reading(sent, bad_line, skipped), time.monotonic() - started)
    if delivery.failed or delivery.not_confirmed or delivery.timed_out or bad_line or delivery.stopped_by:
        return ExitStatus.FAILURE  # also after a signal: 128+N would hide that something was not delivered
    if Stop.signum:
        return ExitStatus.SIGNAL_BASE + Stop.signum
    return ExitStatus.OK


# How long a broker may keep saying it does not know the topic: one that creates topics on first use
# (auto.create.topics.enable) says so in its first answer while it creates it, and knows it ~0.1 s later.
UNKNOWN_TOPIC_GRACE = 3.0
# what a metadata answer says about a topic that is being created or is between leaders: ask again
TOPIC_NOT_READY = {"UNKNOWN_TOPIC_OR_PART", "_UNKNOWN_TOPIC", "LEADER_NOT_AVAILABLE", "NOT_LEADER_FOR_PARTITION",
                   "REQUEST_TIMED_OUT", "_TIMED_OUT"}


def check_topic(producer, topic, timeout, delivery, config):
    """Fail before reading any input if the topic is missing or the cluster refuses us.

    A topic being created (auto-created by the metadata request itself, or just created by someone) first
    looks unknown or leaderless: ask again, up to --timeout, but never more than UNKNOWN_TOPIC_GRACE seconds
    while the broker keeps saying it does not know the topic, so a typo is named quickly."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        try:
            metadata = ask_for_metadata(producer, topic, deadline, delivery)
        except _NoAnswer:
            raise CliError(f"no broker answered within {timeout:g} s: check bootstrap.servers "
                           f"({config.get('bootstrap.servers')}) in {config.path}; nothing was read or sent")
        found = metadata.topics.get(topic)
        error = found.error if found is not None else None
        if found is not None and error is None and found.partitions:
            ask_again_for_producer_id(producer, topic)
            return
        name = error.name() if error is not None else "UNKNOWN_TOPIC_OR_PART"
        if "AUTHORIZATION" in name:
            raise CliError(f"user '{config.get('sasl.username', '')}' may not write to topic '{topic}' "
                           f"(the broker's ACLs); see {config.path}")
        if "UNKNOWN_TOPIC" in name and time.monotonic() - started >= min(timeout, UNKNOWN_TOPIC_GRACE):
            raise CliError(f"topic '{topic}' does not exist on {config.get('bootstrap.servers')}; "
                           "create it first, or pick another with -t")
        if name not in TOPIC_NOT_READY:
            raise CliError(f"topic '{topic}': {error.str()}; nothing was read or sent")
        if time.monotonic() >= deadline:
            raise CliError(f"topic '{topic}' is not ready after {timeout:g} s ({name}); nothing was read or sent")
        time.sleep(0.05)


def ask_again_for_producer_id(producer, topic):
    """One more metadata request, so that the idempotent producer gets its producer id now, not in 500 ms.

    librdkafka asks for the id when a metadata answer arrives, or on a 500 ms timer if no broker was up.
    The first answer comes over the bootstrap connection, which librdkafka drops as soon as it learns the
    broker's id, so at that moment often no broker is up: one line then took 0.6 s instead of 0.15 s (in 2
    of 8 runs). With every known broker connected at once (enable.sparse.connections=false), this second
    answer comes from a connected broker within a millisecond or two, and the id request goes out with it."""
    from confluent_kafka import KafkaException

    try:
        producer.list_topics(topic, timeout=1.0)
    except KafkaException:
        pass  # the timer asks anyway


class _NoAnswer(Exception):
    pass


def ask_for_metadata(producer, topic, deadline, delivery):
    """The cluster's answer about `topic`, asking until a broker answers or the deadline passes."""
    from confluent_kafka import KafkaException

    while True:
        try:
            metadata = producer.list_topics(topic, timeout=max(0.1, min(1.0, deadline - time.monotonic())))
        except KafkaException:
            metadata = None
        producer.poll(0)
        if Stop.signum:
            # Ctrl-C before anything was read: end like any Unix tool interrupted at that point, quietly
            raise Interrupted(Stop.signum)
        if delivery.stopped_by:
            raise CliError(delivery.stopped_by)
        delivery.errors.check(producer, "retrying up to --timeout before reading any input")
        if metadata is not None and metadata.brokers:
            return metadata
        if time.monotonic() >= deadline:
            raise _NoAnswer()


def wait_readable(fd, producer, delivery):
    """Block until stdin has data, serving callbacks and noticing signals every 0.2 s."""
    while not Stop.signum:
        try:
            ready, _, _ = select.select([fd], [], [], 0.2)
        except (OSError, ValueError):
            return True  # not selectable (e.g. some special files): just read
        if ready:
            return True
        producer.poll(0)
        delivery.errors.check(producer, "messages wait in the queue")
    return False


def read_and_produce(producer, options, delivery, skipped, log):
    """Read stdin in large blocks and produce each line; returns (lines produced, the bad line that stopped it).

    Two paths per chunk of whole lines. The fast one (split_chunk + produce_all) takes a chunk whose every
    line is KEY<sep>VALUE and nothing else (the usual input): it splits the whole chunk with bytes methods
    and calls produce() from C, so no Python bytecode runs per line. Any other chunk (an empty line, \r\n,
    a bad line, an empty key, a null marker, --skip-bad-lines's work) goes line by line below: one function
    on purpose, with LineParser.parse and produce() inlined and everything it touches a local variable.

    Design note (issue 14; callgrind, 200,000 bench lines, all threads): the fast path cut producer.py from
    ~8,900 to ~7,900 instructions a line; kcat needs ~4,500. Of ours, ~6,000 are confluent-kafka's produce()
    and delivery-report work alone (argument parsing, a topic handle and a per-message state per call, the
    GIL taken back for each report in poll()), the same with or without on_delivery (2.16.1 allocates that
    state either way), with linger.ms 5 or 20, and worse through produce_batch(). So no Python loop over
    this client reaches kcat, honest or not; the counts stay exact: one default on_delivery for failures,
    delivery.report.only.error for successes."""
    from confluent_kafka import KafkaException

    parser, topic, headers, timeout = options.parser, options.topic, options.headers, options.timeout
    skip_bad_lines = options.skip_bad_lines
    fd = sys.stdin.fileno()
    interactive = os.isatty(fd)
    if interactive:
        log.warning("type key%svalue lines; Ctrl-D to finish, Ctrl-C to stop",
                    parser.separator.decode(errors="replace") if not parser.no_key else "")
    progress = Progress(options.show_progress, "lines")
    produce = producer.produce
    separator, no_key, null_values = parser.separator, parser.no_key, parser.null_values
    gc.disable()  # the loop makes a tuple per line and no cycles; collections would cost ~7% of the time
    lineno = sent = 0
    reader = InputLines(delivery.max_bytes, None if no_key else separator)
    while not Stop.signum and not delivery.stopped_by:
        if not wait_readable(fd, producer, delivery):
            break
        try:
            block = os.read(fd, READ_BLOCK)
        except OSError as e:
            raise CliError(f"cannot read stdin: {e.strerror}")
        chunk, too_long = reader.feed_chunk(block) if block else reader.end_chunk()
        if too_long is not None:
            lineno += 1
            sent += 1  # read, and counted as failed
            refuse_too_long(lineno, too_long, delivery, log)
        first_lineno = lineno + 1
        plain = split_chunk(chunk, separator, no_key, null_values)
        if plain is not None:  # the fast path: every line of the chunk is KEY<sep>VALUE and nothing else
            lineno += len(plain[1])
            sent += produce_all(producer, options, delivery, (first_lineno, *plain), log)
            lines = ()
        else:
            lines = split_lines(chunk)[0]
            lineno += len(lines)
        for index, line in enumerate(lines):
            if not line:
                continue
            # LineParser.parse, inlined: this loop runs once per input line
            if no_key:
                key, value = None, line
            else:
                key, found, value = line.partition(separator)
                if not found:
                    bad = first_lineno + index
                    log.error("line %d: no key separator %r in %r%s", bad, separator.decode(errors="replace"),
                              _preview(line), "; skipped" if skip_bad_lines else
                              " (use --no-key to send whole lines, --skip-bad-lines to go on)")
                    if skip_bad_lines:
                        skipped.append(bad)
                        continue
                    return sent, bad
                key = key or None
            if null_values and value in null_values:
                value = None
            try:
                if headers is None:
                    produce(topic, value, key)
                else:
                    produce(topic, value, key, headers=headers)
            except BufferError:
                try:
                    produce_when_room(producer, options, delivery, {"value": value, "key": key, "headers": headers})
                except _Abort as abort:
                    unsent = sum(1 for later in lines[index:] if later)
                    delivery.fail(unsent, str(abort))
                    sent += unsent  # read and counted as failed
                    break
                except KafkaException as e:  # refused once there was room: the same as refused at once
                    refuse_line(e, len(value or b""), first_lineno + index, delivery, log)
            except KafkaException as e:
                refuse_line(e, len(value or b""), first_lineno + index, delivery, log)
            sent += 1
        producer.poll(0)  # serve delivery reports and errors without waiting
        delivery.errors.check(producer, "messages wait in the queue")
        progress.update(lineno)
        if not block:
            break
    progress.clear()
    return sent + stopped_mid_line(reader, lineno + 1, delivery, log), None


# -f json: base64 makes 4 bytes of 3 and JSON escapes a control byte as 6: no record of a message within
# message.max.bytes is longer than this many times the limit (plus room for the other fields)
JSON_EXPANSION = 6


def read_and_produce_json(producer, options, delivery, skipped, log):
    """-f json: read_and_produce for JSON records, one per line. Not inlined: json.loads costs more than a call."""
    from kafka_cli.json_input import BadRecord  # only -f json imports it (start-up)

    fd = sys.stdin.fileno()
    if os.isatty(fd):
        log.warning("type one JSON record per line; Ctrl-D to finish, Ctrl-C to stop")
    progress = Progress(options.show_progress, "lines")
    lineno = sent = 0
    reader = InputLines(JSON_EXPANSION * delivery.max_bytes + 65536, None)
    while not Stop.signum and not delivery.stopped_by:
        if not wait_readable(fd, producer, delivery):
            break
        block = read_block(fd)
        lines, too_long = reader.feed(block) if block else reader.end()
        if too_long is not None:
            lineno, sent = lineno + 1, sent + 1  # read, and counted as failed
            refuse_too_long(lineno, too_long, delivery, log, "JSON record")
        first, lineno = lineno + 1, lineno + len(lines)
        for index, line in enumerate(lines):
            if not line:
                continue
            try:
                message = options.records.parse(line)
            except BadRecord as bad:
                log.error("line %d: %s: %r%s", first + index, bad, _preview(line), "; skipped"
                          if options.skip_bad_lines else " (--skip-bad-lines to go on)")
                if not options.skip_bad_lines:
                    return sent, first + index
                skipped.append(first + index)
                continue
            try:
                refused = produce_record(producer, options, delivery, message, first + index)
                if refused:
                    log.error("line %d: %s", first + index, refused)
            except _Abort as abort:
                unsent = sum(1 for later in lines[index:] if later)
                delivery.fail(unsent, str(abort))
                sent += unsent  # read and counted as failed
                break
            sent += 1
        producer.poll(0)  # serve delivery reports and errors without waiting
        delivery.errors.check(producer, "messages wait in the queue")
        progress.update(lineno)
        if not block:
            break
    progress.clear()
    return sent + stopped_mid_line(reader, lineno + 1, delivery, log, "JSON record"), None


def stopped_mid_line(reader, lineno, delivery, log, what="message"):
    """Reading stopped (a signal, a fatal error) before line `lineno` ended: a line already too long to send
    is counted as failed (returns 1); the start of any other is not a line yet, and is said to be dropped."""
    if reader.skipping is not None:
        refuse_too_long(lineno, reader.skipping, delivery, log, what)
        return 1
    if reader.rest:
        log.warning("line %d: its first %s bytes came without a newline before the stop: not sent, not counted",
                    lineno, f"{len(reader.rest):,}")
    return 0


def read_block(fd):
    try:
        return os.read(fd, READ_BLOCK)
    except OSError as e:
        raise CliError(f"cannot read stdin: {e.strerror}")


def produce_record(producer, options, delivery, record, lineno):
    """One parsed JSON record to produce(); a refusal is counted as failed with its line number, and returned."""
    from confluent_kafka import KafkaException

    key, value, headers, partition, timestamp = record
    if options.headers:
        headers = (headers or []) + options.headers
    message = {"value": value, "key": key, "headers": headers, "partition": partition, "timestamp": timestamp}
    try:
        try:
            producer.produce(options.topic, **message)
        except BufferError:
            produce_when_room(producer, options, delivery, message)
    except KafkaException as e:  # refused at once, or once there was room
        reason = describe_produce_error(e, len(value or b""), delivery.max_bytes)
        if e.args[0].name() == "_UNKNOWN_PARTITION":
            reason = (f"partition {partition} does not exist in topic '{options.topic}' "
                      "(--no-keep-partition lets the key choose one)")
        delivery.fail(1, f"line {lineno}: {reason}")
        return reason
    return None


def refuse_too_long(lineno, line, delivery, log, what="message"):
    """A line InputLines skipped because it can never be sent: failed, with its line number and size."""
    reason = (f"line {lineno}: {what} of {line.value_size:,} bytes is larger than the limit of "
              f"{delivery.max_bytes:,} bytes (message.max.bytes){' allows for a message' if what != 'message' else ''}"
              "; skipped, never held in memory")
    delivery.fail(1, reason)
    log.error("%s", reason)


def produce_when_room(producer, options, delivery, message):
    """The local queue is full: wait for deliveries to make room, never drop the line (`message`: produce()'s
    keyword arguments)."""
    topic, timeout = options.topic, options.timeout
    queued = len(producer)
    stalled_since = time.monotonic()
    while True:
        # With delivery.report.only.error there is usually no event to wake poll(): keep the wait short.
        producer.poll(0.002)
        delivery.errors.check(producer, "the local queue is full, so reading stdin pauses")
        try:
            producer.produce(topic, **message)
            return
        except BufferError:
            pass
        if delivery.stopped_by:
            raise _Abort(delivery.stopped_by)
        if Stop.count > 1:
            raise _Abort(f"not sent: a second {Stop.name()} ended the wait for room in the local queue")
        if len(producer) < queued:
            queued, stalled_since = len(producer), time.monotonic()
        elif time.monotonic() - stalled_since > timeout:
            delivery.fatal = delivery.fatal or f"no delivery progress for {timeout:g} s (is the broker reachable?)"
            raise _Abort(delivery.fatal)


class _Abort(Exception):
    pass


def produce_all(producer, options, delivery, plain, log):
    """The fast path of read_and_produce: produce() each line of a chunk split_chunk() found plain, in order;
    returns how many lines that was (each is now sent, or counted as failed). `plain`: (the first line's
    number, keys or None, values).

    The calls run from C: map() calls produce() and deque(maxlen=0) drives it, so no Python bytecode runs
    per line. Nothing else changes: the same produce() arguments, the same default on_delivery, so every
    line still ends in exactly one bucket. A produce() that raises stops the map there; which line it was
    is read off the values iterator (a list iterator knows exactly how many items it has left), that line
    is handled as in the line-by-line path (wait for room / count it failed with its reason), and the same
    map goes on with the next line."""
    from confluent_kafka import KafkaException

    first_lineno, keys, values = plain
    produce = producer.produce if options.headers is None else partial(producer.produce, headers=options.headers)
    pending = iter(values)
    calls = map(produce, repeat(options.topic), pending, *([] if keys is None else [keys]))
    while True:
        try:
            deque(calls, 0)
            return len(values)
        except (BufferError, KafkaException) as e:
            index, error = len(values) - length_hint(pending) - 1, e
        if isinstance(error, BufferError):
            message = {"value": values[index], "key": None if keys is None else keys[index],
                       "headers": options.headers}
            try:
                produce_when_room(producer, options, delivery, message)
                continue
            except _Abort as abort:
                delivery.fail(len(values) - index, str(abort))  # this line and the rest: read, counted failed
                return len(values)
            except KafkaException as e:  # refused once there was room (e.g. a fatal error came meanwhile)
                error = e
        refuse_line(error, len(values[index]), first_lineno + index, delivery, log)


def refuse_line(e, size, lineno, delivery, log):
    """A line the client refused in produce(): failed, with its number and the reason."""
    reason = describe_produce_error(e, size, delivery.max_bytes)
    delivery.fail(1, f"line {lineno}: {reason}")
    log.error("line %d: %s", lineno, reason)


def describe_produce_error(e, size, limit):
    err = e.args[0]
    if err.name() == "MSG_SIZE_TOO_LARGE":
        return f"message of {size:,} bytes is larger than the limit of {limit:,} bytes (message.max.bytes)"
    return err.str()


def _preview(line, limit=40):
    return line[:limit].decode(errors="replace") + ("..." if len(line) > limit else "")


def finish(producer, delivery, timeout):
    """Wait up to `timeout` for deliveries (not at all after a fatal error; a second signal ends the wait).

    Then only what never left this machine is purged, and so failed. What is in flight stays: purging it
    would not take it back from the broker, which may have it or may store it later; it is 'not confirmed'.
    After this the counts are final: reports served later (e.g. while the client closes) change nothing."""
    deadline = time.monotonic() + (0 if delivery.stopped_by else timeout)
    while producer.flush(min(0.2, max(0.0, deadline - time.monotonic()))):
        if time.monotonic() >= deadline or Stop.count > 1:
            break
        delivery.errors.check(producer, "waiting for the last deliveries")
    if len(producer):
        delivery.purge_reason = (f"not sent: a second {Stop.name()} ended the wait" if Stop.count > 1 else
                                 delivery.stopped_by or f"not sent within --timeout {timeout:g} s")
        producer.purge(in_queue=True, in_flight=False)  # blocking: the purged messages' reports are queued
    producer.poll(0)  # serve them, and any report that came during the last wait
    delivery.closed = True
    # len(): messages not yet finished; after poll(0) that is what is in flight (or acknowledged a moment ago)
    delivery.not_confirmed = len(producer)
    if delivery.timed_out and not delivery.not_confirmed:
        delivery.unconfirmed_reason = f"{delivery.timed_out_reason} after they were sent"
    elif delivery.not_confirmed:
        delivery.unconfirmed_reason = ("a second " + Stop.name() + " ended the wait" if Stop.count > 1 else
                                       "the run stopped (above) before they were acknowledged" if delivery.stopped_by
                                       else f"no acknowledgement within --timeout {timeout:g} s")


@dataclass(frozen=True)
class Reading:
    """How reading stdin went: lines read and sent (or counted failed), the bad line that stopped it, those skipped."""

    sent: int
    bad_line: int  # or None
    skipped: list


def report(log, options, delivery, reading, seconds):
    """The summary on stderr: every line read is in exactly one bucket, then why anything went wrong."""
    sent, bad_line, skipped = reading.sent, reading.bad_line, reading.skipped
    # (a report can come after len() looked, in the instant before counting closed: never count a line twice)
    not_confirmed = min(delivery.not_confirmed + delivery.timed_out, sent - delivery.failed)
    delivered = sent - delivery.failed - not_confirmed
    if delivery.stopped_by:
        log.error("%s", delivery.stopped_by)
    trouble = delivery.failed or not_confirmed
    if not options.quiet or trouble:
        summary = f"{delivered:,} delivered to {options.topic}, {delivery.failed:,} failed"
        if not_confirmed:
            summary += f", {not_confirmed:,} not confirmed"
        if delivery.failed:
            summary += f"; first failure: {delivery.first_reason}"
        if not_confirmed:
            summary += (f"; not confirmed: {delivery.unconfirmed_reason}, the broker may have "
                        f"{'it' if not_confirmed == 1 else 'them'}")
        if Stop.signum:
            summary += f"; stopped by {Stop.name()}"
        bad = "no key separator" if options.records is None else "not a JSON record"
        if bad_line:
            summary += f"; stopped reading at line {bad_line} ({bad})"
        if skipped:
            summary += f"; {len(skipped):,} lines skipped ({bad}; first: line {skipped[0]})"
        log.log(40 if trouble else 30, "%s (%.1f s)", summary, seconds)


def run_as_script():
    run_command(main)
