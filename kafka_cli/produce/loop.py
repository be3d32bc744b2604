"""The producer's read loop: stdin in large blocks, each line to produce(), every line counted in one bucket.

One loop for every input kind. What differs is the record reader in `options.records` (lines.LineParser for
text, json_input.JsonRecords for -f json): its parse() turns a line into produce()'s arguments or raises
BadLine, and its plain() may claim a whole chunk for the fast path (text lines that are all KEY<sep>VALUE,
produced from C by produce_all). Everything else is shared: waiting for stdin while serving callbacks,
signals, a full local queue, a line too long to send, a line the client refuses, progress.
"""

import gc
import os
import select
import time
from collections import deque
from functools import partial
from itertools import repeat
from operator import length_hint

from kafka_cli.core.errors import CliError
from kafka_cli.produce.lines import BadLine

READ_BLOCK = 1024 * 1024


class Abort(Exception):
    """The wait for room in the local queue ended (a fatal error, a second signal, no progress): the line
    being produced and the rest of its chunk are counted failed with this reason."""


def read_and_produce(producer, options, delivery, log):
    """Read options.stdin to its end (or a signal, or a fatal error) and produce each line; returns
    (lines produced or counted failed, the bad line that stopped reading or None, the lines skipped).

    Per chunk of whole lines, the fast path (records.plain + produce_all) takes a chunk whose every line is
    plain KEY<sep>VALUE (the usual text input): the whole chunk is split by bytes methods and produce() is
    called from C, so no Python bytecode runs per line. Any other chunk goes line by line below.

    Design note (callgrind, 200,000 bench lines, all threads): the fast path cut producer.py from ~8,900 to
    ~7,900 instructions a line; kcat needs ~4,500. Of ours, ~6,000 are confluent-kafka's produce() and
    delivery-report work alone, so no Python loop over this client reaches kcat; the counts stay exact: one
    default on_delivery for failures, delivery.report.only.error for successes."""
    from confluent_kafka import KafkaException

    records, topic, stop = options.records, options.topic, delivery.stop
    produce, on_stamped, stamps = producer.produce, delivery.on_stamped, delivery.timestamps
    fd = options.stdin.fileno()
    if os.isatty(fd):
        log.warning("%s; Ctrl-D to finish, Ctrl-C to stop", records.prompt)
    progress = options.progress
    reader = records.reader(delivery.max_bytes)
    lineno = sent = 0
    skipped = []
    gc.disable()  # the loop makes tuples per line and no cycles; collections would cost ~7% of the time
    try:
        while not stop.signum and not delivery.stopped_by:
            if not wait_readable(fd, producer, delivery):
                break
            block = read_block(fd)
            chunk, too_long = reader.feed_chunk(block) if block else reader.end_chunk()
            if too_long is not None:
                lineno, sent = lineno + 1, sent + 1  # read, and counted as failed
                refuse_too_long(lineno, too_long, delivery, log, records.what)
            first = lineno + 1
            plain = records.plain(chunk)
            if plain is not None:  # the fast path: every line of the chunk is KEY<sep>VALUE and nothing else
                lineno += len(plain[1])
                sent += produce_all(producer, options, delivery, (first, *plain), log)
                lines = ()
            else:
                lines = reader.lines(chunk)
                lineno += len(lines)
                now = time.time() * 1000
                low, high = stamps.edges(now)  # a line's own timestamp between them is surely in range
            for index, line in enumerate(lines):
                if not line:
                    continue
                try:
                    key, value, headers, partition, timestamp = records.parse(line)
                except BadLine as bad:
                    log.error("line %d: %s%s", first + index, bad,
                              "; skipped" if options.skip_bad_lines else f" ({records.hint})")
                    if not options.skip_bad_lines:
                        return sent, first + index, skipped
                    skipped.append(first + index)
                    continue
                message = {"value": value, "key": key, "headers": headers, "partition": partition,
                           "timestamp": timestamp}
                if timestamp and not low <= timestamp <= high and stamps.suspect(timestamp, now):
                    # its own timestamp (-f json) may be refused: the report of it names the line
                    message["on_delivery"] = partial(on_stamped, first + index, timestamp)
                    low, high = stamps.edges(now)  # (the first line older than a few minutes read the limits)
                try:
                    try:
                        produce(topic, **message)
                    except BufferError:
                        produce_when_room(producer, options, delivery, message)
                except Abort as abort:
                    unsent = sum(1 for later in lines[index:] if later)
                    delivery.fail(unsent, str(abort))
                    sent += unsent  # read and counted as failed
                    break
                except KafkaException as e:  # refused at once, or once there was room
                    refuse_line(e, message, first + index, (delivery, options), log)
                sent += 1
            producer.poll(0)  # serve delivery reports and errors without waiting
            delivery.errors.check(producer, "messages wait in the queue")
            progress.update(lineno)
            if not block:
                break
    finally:
        gc.enable()
    progress.clear()
    return sent + stopped_mid_line(reader, lineno + 1, delivery, log, records.what), None, skipped


def stopped_mid_line(reader, lineno, delivery, log, what):
    """Reading stopped (a signal, a fatal error) before line `lineno` ended: a line already too long to send
    is counted as failed (returns 1); the start of any other is not a line yet, and is said to be dropped."""
    if reader.skipping is not None:
        refuse_too_long(lineno, reader.skipping, delivery, log, what)
        return 1
    if reader.rest:
        log.warning("line %d: its first %s bytes came without a newline before the stop: not sent, not counted",
                    lineno, f"{len(reader.rest):,}")
    return 0


def wait_readable(fd, producer, delivery):
    """Block until stdin has data, serving callbacks and noticing signals every 0.2 s."""
    while not delivery.stop.signum:
        try:
            ready, _, _ = select.select([fd], [], [], 0.2)
        except (OSError, ValueError):
            return True  # not selectable (e.g. some special files): just read
        if ready:
            return True
        producer.poll(0)
        delivery.errors.check(producer, "messages wait in the queue")
    return False


def read_block(fd):
    try:
        return os.read(fd, READ_BLOCK)
    except OSError as e:
        raise CliError(f"cannot read stdin: {e.strerror}")


def over_the_limit(what, size, limit):
    """A message (or what a line holds: a JSON record) of `size` bytes that the client's message.max.bytes
    (`limit`) refuses, as both the skipped line and the refused produce() say it."""
    return f"{what} of {size:,} bytes is larger than the limit of {limit:,} bytes (message.max.bytes)"


def refuse_too_long(lineno, line, delivery, log, what):
    """A line InputLines skipped because it can never be sent: failed, with its line number and size."""
    reason = (f"line {lineno}: {over_the_limit(what, line.value_size, delivery.max_bytes)}"
              f"{' allows for a message' if what != 'message' else ''}; skipped, never held in memory")
    delivery.fail(1, reason)
    log.error("%s", reason)


def produce_when_room(producer, options, delivery, message):
    """The local queue is full: wait for deliveries to make room, never drop the line (`message`: produce()'s
    keyword arguments)."""
    topic, timeout, stop = options.topic, options.timeout, delivery.stop
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
            raise Abort(delivery.stopped_by)
        if stop.count > 1:
            raise Abort(f"not sent: a second {stop.name()} ended the wait for room in the local queue")
        if len(producer) < queued:
            queued, stalled_since = len(producer), time.monotonic()
        elif time.monotonic() - stalled_since > timeout:
            delivery.fatal = delivery.fatal or f"no delivery progress for {timeout:g} s (is the broker reachable?)"
            raise Abort(delivery.fatal)


def produce_all(producer, options, delivery, plain, log):
    """The fast path: produce() each line of a chunk records.plain() found plain, in order; returns how many
    lines that was (each is now sent, or counted as failed). `plain`: (the first line's number, keys or None,
    values).

    The calls run from C: map() calls produce() and deque(maxlen=0) drives it, so no Python bytecode runs
    per line. Nothing else changes: the same produce() arguments, the same default on_delivery, so every
    line still ends in exactly one bucket. A produce() that raises stops the map there; which line it was
    is read off the values iterator (a list iterator knows exactly how many items it has left), that line
    is handled as in the line-by-line path (wait for room / count it failed with its reason), and the same
    map goes on with the next line."""
    from confluent_kafka import KafkaException

    first_lineno, keys, values = plain
    headers, partition = options.records.headers, options.records.partition
    produce = producer.produce if headers is None else partial(producer.produce, headers=headers)
    pending = iter(values)
    # produce(topic, value, key, partition): -p's partition is the fourth argument, so a key (or None) comes first
    more = ([] if keys is None else [keys]) if partition == -1 else [repeat(None) if keys is None else keys,
                                                                      repeat(partition)]
    calls = map(produce, repeat(options.topic), pending, *more)
    while True:
        try:
            deque(calls, 0)
            return len(values)
        except (BufferError, KafkaException) as e:
            index, error = len(values) - length_hint(pending) - 1, e
        message = {"value": values[index], "key": None if keys is None else keys[index], "headers": headers,
                   "partition": partition}
        if isinstance(error, BufferError):
            try:
                produce_when_room(producer, options, delivery, message)
                continue
            except Abort as abort:
                delivery.fail(len(values) - index, str(abort))  # this line and the rest: read, counted failed
                return len(values)
            except KafkaException as e:  # refused once there was room (e.g. a fatal error came meanwhile)
                error = e
        refuse_line(error, message, first_lineno + index, (delivery, options), log)


def refuse_line(e, message, lineno, run, log):
    """A line the client refused in produce(): failed, with its number and the reason. `run`: (delivery, options)."""
    delivery, options = run
    err = e.args[0]
    if err.name() == "MSG_SIZE_TOO_LARGE":
        reason = over_the_limit("message", len(message["value"] or b""), delivery.max_bytes)
    elif err.name() == "_UNKNOWN_PARTITION":
        reason = (f"partition {message.get('partition')} does not exist in topic '{options.topic}' "
                  "(-f json: --no-keep-partition lets the key choose one; text: check -p)")
    else:
        reason = err.str()
    delivery.fail(1, f"line {lineno}: {reason}")
    log.error("line %d: %s", lineno, reason)
