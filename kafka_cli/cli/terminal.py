"""What a person sees on stderr: the scripts' log lines (every one passed through the Redactor), the filter
that keeps librdkafka's repeated connection noise down, and the self-updating progress line.

Only the scripts import this module: the rest of the package reports through return values and exceptions.
"""

import logging
import re
import sys
import time

from kafka_cli.core.escaping import shown
from kafka_cli.client.kafka_errors import NO_PRODUCER_ID_AFTER, no_producer_id, not_enough_replicas


class _Redact(logging.Filter):
    """Every line: secrets out, then whatever a broker, a registry or message data put into it escaped, so a
    name holding ESC or BEL shows as \\x1b, never as a terminal command."""

    def __init__(self, redactor):
        super().__init__()
        self.redactor = redactor

    def filter(self, record):
        record.msg = shown(self.redactor(record.getMessage()))
        record.args = ()
        return True


class _Once(logging.Filter):
    """librdkafka repeats a failing connection's log line every second; show each kind once."""

    def __init__(self):
        super().__init__()
        self.seen = set()

    def filter(self, record):
        key = re.sub(r"\d+", "#", record.getMessage())
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


class _WhyWaiting(logging.Filter):
    """Two reasons for a producer to wait say nothing at the default log level: too few in-sync replicas
    (librdkafka tells it only in a debug line, producer.py sets debug=msg for it) and no producer id (a line
    ending in "retrying", which _ClientLogFilter drops). Say each once, in our words, through the script's
    log, the second only once it has lasted; pass on only the lines at or above `level` (the client log's
    level), so the debug lines stay hidden."""

    REASONS = ((not_enough_replicas, 0.0), (no_producer_id, NO_PRODUCER_ID_AFTER))

    def __init__(self, log, level):
        super().__init__()
        self.log = log
        self.level = level
        self.first_seen = {}
        self.said = set()

    def filter(self, record):
        if len(self.said) < len(self.REASONS):
            for reason, after in self.REASONS:
                sentence = reason not in self.said and reason(record.getMessage())
                if sentence:
                    first = self.first_seen.setdefault(reason, record.created)
                    if record.created - first >= after:
                        self.said.add(reason)
                        self.log.warning("%s", sentence)
        return record.levelno >= self.level


class _ClientLogFilter(logging.Filter):
    """At default verbosity, drop the connection-failure lines our error callback already explains (an OAuth
    token not fetched, "OIDC ...", too), and the transient ones librdkafka recovers from by itself (they end in
    "retrying")."""

    def filter(self, record):
        message = record.getMessage()
        return not (message.startswith(("FAIL ", "ERROR ", "OIDC ")) or message.rstrip().endswith("retrying"))


def setup_logging(prog, verbosity, quiet, redactor):
    """The script's logger (status on stderr) and the one librdkafka's lines are routed through."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(f"{prog}: %(message)s"))
    handler.addFilter(_Redact(redactor))
    log = logging.getLogger(prog)
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.ERROR if quiet else logging.INFO if verbosity else logging.WARNING)
    client_log = logging.getLogger(f"{prog}.librdkafka")
    level = logging.DEBUG if verbosity >= 2 else logging.INFO if verbosity else logging.WARNING
    # every line reaches the filters (debug lines too); _WhyWaiting drops those below `level`
    client_log.setLevel(logging.DEBUG)
    client_log.filters[:] = [_WhyWaiting(log, level)]
    if verbosity == 0:
        client_log.addFilter(_ClientLogFilter())
        client_log.addFilter(_Once())
    return log, client_log


# -- progress -----------------------------------------------------------------------
class Progress:
    """A single self-updating stderr line, only where a person watches a non-terminal data stream."""

    def __init__(self, enabled, noun):
        self.enabled = enabled
        self.noun = noun
        self.start = self.last = time.monotonic()
        self.shown = False

    def update(self, count):
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < 0.5:
            return
        self.last = now
        rate = count / max(now - self.start, 1e-9)
        sys.stderr.write(f"\r{count:,} {self.noun}  {rate:,.0f}/s ")
        sys.stderr.flush()
        self.shown = True

    def clear(self):
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()
            self.shown = False


def progress_wanted(data_stream, quiet):
    return not quiet and sys.stderr.isatty() and not data_stream.isatty()
