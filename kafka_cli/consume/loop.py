"""consumer.py's loop: join the group (or assign the partitions of -p/-o/--until), poll, render a batch into
lines, write them to stdout, and only then store their offsets (at-least-once); what the broker says on the way
(a missing topic, no broker, a refused group) as the reasons a run ends. It runs on the command's frozen options
value (kafka_cli/cli/consumer.py builds it) and reports through the `log` it is handed and its exceptions."""

import collections
import errno
import gc
import logging
import os
import signal
import sys
import time
import uuid

from kafka_cli.client.build import build_client
from kafka_cli.client.kafka_errors import ClusterErrors, describe_kafka_error
from kafka_cli.client.watched import Watched
from kafka_cli.config.ini import file_warnings
from kafka_cli.core.errors import CliError, ConfigError
from kafka_cli.core.exit_status import Interrupted
from kafka_cli.core.words import cannot_write_stdout, may_not, no_broker_answered

BATCH = 2000
EXIT_AT_END_WAIT = 30  # seconds -e waits for a broker that does not answer, when --timeout does not say


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
        self.announce = None  # (assigned) -> None: says once what is read, at the first assignment; then None

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


def configure(config, options, log):
    """The consumer's settings on top of the user's config."""
    for warning in file_warnings(config):
        log.warning("%s", warning)
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


def run(config, options, log, client_log):
    """One run of the consumer on `options`: returns how many messages were printed; CliError for a reason
    the run could not go on."""
    configure(config, options, log)

    from confluent_kafka import Consumer

    state = State()
    state.exit_at_end = options.exit_at_end
    state.cooperative = ("cooperative" in config.get("partition.assignment.strategy", "")
                         or config.get("group.protocol", "classic") == "consumer")
    state.errors = ClusterErrors(config, log)
    if options.announce and not options.direct:  # (the direct path says it in assign_directly)
        state.announce = lambda assigned: log.warning("%s", reading_as_group(assigned, options, config))
    consumer = build_client(Consumer, config, error_cb=state.errors, logger=client_log)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal or SSH session went away
        signal.signal(sig, state.on_signal)
    printed = 0
    try:
        if options.direct:
            try:
                assign_directly(consumer, state, options, log, config)
            except Interrupted:  # Ctrl-C while the cluster is asked first: a stop like the group's wait (exit 0)
                pass
        else:
            subscribe(consumer, state, options)
        if state.assigned or not options.direct:  # directly: every partition may already be past --until
            printed = consume(consumer, state, options, log, config)
    finally:
        close(consumer, log, commit=state.stopped_by is None and not options.direct)
    if state.stopped_by:
        raise CliError(state.stopped_by)
    if not options.quiet:
        log.info("%s message%s printed", f"{printed:,}", "" if printed == 1 else "s")


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


def assign_directly(consumer, state, options, log, config):
    """-p/-o/--until: the partitions asked for, each from its -o position, like kcat's simple consumer."""
    from kafka_cli.consume.positions import WAIT, Position, Until, end_offsets, partitions_to_read, start_offsets

    wait = options.idle_timeout or WAIT  # --timeout ends a run whose broker never answers here too
    # the first question to the cluster: through Watched, a refused login or a broker nobody answers on is said
    # within 2 s, as the group's poll loop says it, not when `wait` runs out
    asking = Watched(consumer, state.errors, "still trying until --timeout", lambda: state.stop_signal)
    chosen = partitions_to_read(asking, options.topics, options.partitions, wait, config)
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
    log.log(logging.WARNING if options.announce else logging.INFO,
            "reading %s directly from %s: no consumer group is joined and nothing is committed; %s",
            ", ".join(f"{tp.topic} [{tp.partition}]" for tp in assignment) or "no partition",
            f"-o {start.text}" if options.start
            else committed_else(config, options.group and f"group {options.group}'s"), how_it_ends(options))


def reading_as_group(assigned, options, config):
    """The line that says, once the group gave this member its partitions, what it reads and from where."""
    counts = collections.Counter(topic for topic, _ in assigned)
    topics = ", ".join(f"{topic} ({n} partition{'' if n == 1 else 's'})" for topic, n in sorted(counts.items()))
    start = ("the start of each partition (--from-beginning)" if options.from_beginning
             else committed_else(config, "the group's"))
    return f"reading {topics} as group {config.get('group.id')} from {start}; {how_it_ends(options)}"


def committed_else(config, whose):
    """Where a partition starts without -o: `whose` ("the group's") committed offset, else where
    auto.offset.reset says; `whose` None: no group has one (a direct read's made-up group.id)."""
    reset = config.get("auto.offset.reset")
    where = f"{RESET_WORDS.get(reset.strip().lower(), 'what auto.offset.reset says')} (auto.offset.reset={reset})"
    return f"{whose} committed offsets, else {where}" if whose else where


RESET_WORDS = {"earliest": "the start", "smallest": "the start", "beginning": "the start", "latest": "the end",
               "largest": "the end", "end": "the end", "error": "an error"}


def how_it_ends(options):
    """-e, -n and --timeout in words, for the line that says what is read."""
    ends = []
    if options.exit_at_end:
        ends.append("at the end of every partition (-e)")
    if options.max_messages is not None:
        ends.append(f"after {options.max_messages:,} message{'' if options.max_messages == 1 else 's'}")
    if options.idle_timeout is not None:
        ends.append(f"after {options.idle_timeout:g} s without a message (--timeout)")
    return f"ends {' or '.join(ends)}, or Ctrl-C" if ends else "Ctrl-C to stop"


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
    if state.announce is not None and state.assigned:  # (an empty share of a group: nothing to say yet)
        state.announce(state.assigned)
        state.announce = None


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
    progress = options.progress
    gc.disable()  # no cycles are made here; collections would only cost time
    printed = 0
    last_activity = time.monotonic()
    reader_gone = pipe_reader_gone(fd)
    while state.stop_signal is None and state.stopped_by is None:
        first = consumer.poll(0.5)
        if first is None:
            if reader_gone is not None and reader_gone():  # `| head -1` on a quiet topic: a quiet end, as EPIPE
                break
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
                raise CliError(cannot_write_stdout(failure.strerror) + f"; what was written so far ({printed:,} "
                               f"message{'' if printed == 1 else 's'}) is committed, the rest will be read again by "
                               "the next run in this group")
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


def pipe_reader_gone(fd):
    """For stdout a pipe or FIFO: a check, for the idle loop, that its reader closed it. A consumer that prints
    nothing would notice only at its next write, which on a quiet topic never comes (`| head -1` waited for ever).
    A pipe's write end polls POLLERR once no reader is left (Linux, the BSDs; POLLHUP on some systems): asked
    for no event, poll() reports only those. None when stdout is anything else."""
    import select
    import stat

    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return None
    except OSError:
        return None
    watcher = select.poll()
    watcher.register(fd, 0)
    return lambda: bool(watcher.poll(0))


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
        return "-e: " + no_broker_answered(f"for {bound:g} s ({trouble[0]})", config)
    return None


def nothing_to_read(state, idle_timeout, config):
    """Why a run ended by --timeout before it got any partition, or None if it simply had nothing to read."""
    if state.errors.trouble:
        return no_broker_answered(f"within --timeout {idle_timeout:g} s", config)
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
        state.fatal = may_not(config.get("sasl.username"), f"read topic '{msg.topic()}'")
    elif err.code() == KafkaError.GROUP_AUTHORIZATION_FAILED:
        state.fatal = may_not(config.get("sasl.username"), f"use group '{config.get('group.id')}'")
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
