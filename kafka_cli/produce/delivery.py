"""The producer's accounting: every line read ends in exactly one bucket (delivered, failed, not confirmed, or
skipped as a bad line), and the summary and exit status say which.

With delivery.report.only.error a delivered message costs no Python call, so what was delivered is what was
sent less what failed and what was not confirmed when the run ended; only failures reach `on_delivery`.
"""

import signal
import time
from dataclasses import dataclass

from kafka_cli.core.exit_status import ExitStatus, signal_status
from kafka_cli.client.kafka_errors import TimestampRefusals

# The broker refuses a whole batch for one bad record in it; the usual bad record is one without a key.
INVALID_RECORD_HINT = (" (a compacted topic refuses a message without a key, and with it the batch it was sent in; "
                       "give every line a key)")

# A message that ends in one of these errors may have been written: it timed out, or its connection broke,
# after it was sent (librdkafka keeps a per-message "possibly persisted" status that confluent-kafka does not
# expose, so the error decides). Counting it failed would invite the user to send it again, a duplicate if the
# broker had it (seen: 5 "failed" under a paused broker, all 5 stored after it resumed). So it is 'not
# confirmed'; only an error that proves the broker refused it, or that it never left this machine, is 'failed'.
MAYBE_STORED = ("_MSG_TIMED_OUT", "_TIMED_OUT", "REQUEST_TIMED_OUT", "_TRANSPORT", "NETWORK_EXCEPTION",
                "NOT_ENOUGH_REPLICAS_AFTER_APPEND", "_PURGE_INFLIGHT")


# SIGHUP is what a closed SSH session or terminal sends: a producer fed from a pipe behind it must deliver what
# it read as for SIGTERM, not die with lines still queued (seen: 5,000 lines read, 4,000 stored, no summary).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopNow(BaseException):
    """Raised by the handler while StopSignals.at_once is set. A BaseException, so that no library's `except
    Exception` around a blocking call (an HTTP client's retry, a registry client's error wrapping) takes it for
    a failure of its own and goes on."""


class StopSignals:
    """SIGINT/SIGTERM/SIGHUP: the first stops reading (what was read is still delivered, then exit 128+N, or 1 if
    anything was not delivered); a second ends the final wait at once.

    While `at_once` is set (nothing read yet, and a call may block for long: the Schema Registry, whose calls
    time out after 10 s each, retried once) the first signal raises StopNow instead, once, so the caller can
    end at once with 128+N (exit_status.Interrupted)."""

    def __init__(self):
        self.signum = None  # the first signal
        self.count = 0
        self.at_once = False

    def install(self):
        for sig in STOP_SIGNALS:
            signal.signal(sig, self.handler)

    def handler(self, signum, frame):
        self.count += 1
        self.signum = self.signum or signum
        if self.at_once:
            self.at_once = False  # a second signal while the first unwinds is only counted
            raise StopNow(signum)

    def name(self):
        return signal.Signals(self.signum).name


class Delivery:
    """What the broker refused or may not have: the failed and not confirmed buckets, and why."""

    def __init__(self, errors, max_bytes, stop):
        self.errors = errors  # kafka_errors.ClusterErrors: the client's fatal errors
        self.max_bytes = max_bytes  # message.max.bytes, for the error about a line over it
        self.stop = stop  # StopSignals
        self.failed = 0
        self.first_reason = None
        self.not_confirmed = 0  # still in flight when the final wait ended: the broker may have it
        self.timed_out = 0  # ended in a MAYBE_STORED error: not confirmed, never failed
        self.timed_out_reason = None
        self.unconfirmed_reason = None
        self.purge_reason = None  # why finish() purged
        self.closed = False  # counting is over: reports served after that must not change the counts
        self.fatal = None  # our own reason to stop: no progress within --timeout
        self.timestamps = TimestampRefusals()  # its `limits` set by the caller: how to read the topic's
        from confluent_kafka import KafkaError  # (the client is imported by then anyway)

        self._purged, self._invalid_record = KafkaError._PURGE_QUEUE, KafkaError.INVALID_RECORD
        self._invalid_timestamp = KafkaError.INVALID_TIMESTAMP
        self._different_record = KafkaError._INVALID_DIFFERENT_RECORD
        self.batch_mate_reason = None  # failed for another record of their batch: the first such text
        self._maybe_stored = frozenset(getattr(KafkaError, name) for name in MAYBE_STORED)

    @property
    def stopped_by(self):
        return self.fatal or self.errors.fatal

    def on_delivery(self, err, msg):
        if err is not None and not self.closed:
            self._refused(err, None, None)

    def on_stamped(self, lineno, timestamp, err, msg):
        """on_delivery of a line with its own timestamp (-f json), so that a refused timestamp is judged with its
        line (a refused message's msg.timestamp() is not available: produce() hands both over)."""
        if err is not None and not self.closed:
            self._refused(err, lineno, timestamp)

    def _refused(self, err, lineno, timestamp):
        """One message that did not make it: counted in its bucket, with its reason. A timestamp out of the topic's
        range fails the whole batch: alone in it, every message of the batch reports INVALID_TIMESTAMP; with other
        bad records, those report INVALID_RECORD and the rest _INVALID_DIFFERENT_RECORD, whose own text says
        nothing of why, so the reason that counts is the one of the record that caused it."""
        code = err.code()
        if code in self._maybe_stored:
            self.timed_out += 1
            self.timed_out_reason = self.timed_out_reason or err.str()
        elif code == self._invalid_timestamp or (code == self._invalid_record and timestamp is not None
                                                  and self.timestamps.out_of_range(timestamp, time.time() * 1000)):
            self.timestamps.refused(lineno, timestamp, time.time() * 1000)
            self.fail(1, self.timestamps)  # its str(), in the summary, says which limit and which line
        elif code == self._different_record:
            self.timestamps.went_down()
            self.failed += 1
            self.batch_mate_reason = self.batch_mate_reason or err.str()  # the reason if no other comes
        else:
            self.fail(1, self.purge_reason if code == self._purged else
                      err.str() + INVALID_RECORD_HINT if code == self._invalid_record else err.str())

    def fail(self, count, reason):
        self.failed += count
        if self.first_reason is None:
            self.first_reason = reason


def finish(producer, delivery, timeout):
    """Wait up to `timeout` for deliveries (not at all after a fatal error; a second signal ends the wait).

    Then only what never left this machine is purged, and so failed. What is in flight stays: purging it
    would not take it back from the broker, which may have it or may store it later; it is 'not confirmed'.
    After this the counts are final: reports served later (e.g. while the client closes) change nothing."""
    stop = delivery.stop
    deadline = time.monotonic() + (0 if delivery.stopped_by else timeout)
    while producer.flush(min(0.2, max(0.0, deadline - time.monotonic()))):
        if time.monotonic() >= deadline or stop.count > 1:
            break
        delivery.errors.check(producer, "waiting for the last deliveries")
    if len(producer):
        delivery.purge_reason = (f"not sent: a second {stop.name()} ended the wait" if stop.count > 1 else
                                 delivery.stopped_by or f"not sent within --timeout {timeout:g} s")
        producer.purge(in_queue=True, in_flight=False)  # blocking: the purged messages' reports are queued
    producer.poll(0)  # serve them, and any report that came during the last wait
    delivery.closed = True
    # len(): messages not yet finished; after poll(0) that is what is in flight (or acknowledged a moment ago)
    delivery.not_confirmed = len(producer)
    if delivery.not_confirmed:
        delivery.unconfirmed_reason = ("a second " + stop.name() + " ended the wait" if stop.count > 1 else
                                       "the run stopped (above) before they were acknowledged" if delivery.stopped_by
                                       else f"no acknowledgement within --timeout {timeout:g} s")
    elif delivery.timed_out:
        delivery.unconfirmed_reason = f"{delivery.timed_out_reason} after they were sent"


@dataclass(frozen=True)
class Reading:
    """How reading stdin went: lines read and sent (or counted failed), the bad line that stopped it, those
    skipped, and what a bad line is for this input ("no key separator", "not a JSON record")."""

    sent: int
    bad_line: int  # or None
    skipped: list
    bad: str


def outcome(delivery, reading):
    """(delivered, not confirmed): a report can come after len() looked, in the instant before counting closed,
    so a line is never counted twice."""
    not_confirmed = min(delivery.not_confirmed + delivery.timed_out, reading.sent - delivery.failed)
    return reading.sent - delivery.failed - not_confirmed, not_confirmed


def report(log, topic, delivery, reading, seconds):
    """The summary on stderr (every line read is in exactly one bucket, then why anything went wrong), and the
    exit status it means. `log` at WARNING shows the summary; -q raises it to ERROR, so only trouble shows."""
    delivered, not_confirmed = outcome(delivery, reading)
    if delivery.stopped_by:
        log.error("%s", delivery.stopped_by)
    trouble = delivery.failed or not_confirmed
    summary = f"{delivered:,} delivered to {topic}, {delivery.failed:,} failed"
    if not_confirmed:
        summary += f", {not_confirmed:,} not confirmed"
    if delivery.failed:
        summary += f"; first failure: {delivery.first_reason or delivery.batch_mate_reason}"
    if delivery.timestamps and delivery.first_reason is not delivery.timestamps:
        summary += f"; also {delivery.timestamps}"
    if not_confirmed:
        summary += (f"; not confirmed: {delivery.unconfirmed_reason}, the broker may have "
                    f"{'it' if not_confirmed == 1 else 'them'}")
    if delivery.stop.signum:
        summary += f"; stopped by {delivery.stop.name()}"
    if reading.bad_line:
        summary += f"; stopped reading at line {reading.bad_line} ({reading.bad})"
    if reading.skipped:
        skipped = len(reading.skipped)
        summary += (f"; {skipped:,} line{'s' if skipped != 1 else ''} skipped ({reading.bad}; "
                    f"first: line {reading.skipped[0]})")
    log.log(40 if trouble else 30, "%s (%.1f s)", summary, seconds)
    if trouble or reading.bad_line or delivery.stopped_by:
        return ExitStatus.FAILURE  # also after a signal: 128+N would hide that something was not delivered
    if delivery.stop.signum:
        return signal_status(delivery.stop.signum)
    return ExitStatus.OK
