"""librdkafka's runtime errors turned into sentences a person can act on, each naming the config key
to look at; and ClusterErrors, the error callback that decides which of them end a run.

A produce request refused for too few in-sync replicas (NOT_ENOUGH_REPLICAS, or NOT_ENOUGH_REPLICAS_AFTER_APPEND)
reaches neither the error callback nor librdkafka's log at its default level: librdkafka retries it quietly
and says so only in its "msg" debug context ("... encountered error: Broker: Not enough in-sync replicas
(actions Retry,MsgNotPersisted)"). So producer.py switches that context on, unless the config chooses its own
`debug`, and terminal.py turns the first such line into one sentence (not_enough_replicas);
likewise the first failure to get an idempotent producer id (no_producer_id)."""

import functools
import math
import re
import time
from typing import NamedTuple

from kafka_cli.config.launcher import stale_hint


def describe_kafka_error(err, config):
    """A sentence for a broker-side error, naming the config key to look at; None if not fatal."""
    from confluent_kafka import KafkaError

    code, text = err.code(), err.str()
    path = config.path
    if code == KafkaError._AUTHENTICATION and is_oauth(config):
        return describe_oauth_error(text, config)
    if code == KafkaError.CLUSTER_AUTHORIZATION_FAILED:  # an idempotent producer's id refused (a client without rights)
        from kafka_cli.core.words import may_not

        return (may_not(config.get("sasl.username"), "write to this cluster idempotently",
                        "IdempotentWrite on the cluster") + f"; enable.idempotence=false in {path} writes without it")
    if code == KafkaError._AUTHENTICATION:
        if "mechanism" in text.lower():
            return (f"SASL mechanism refused by the broker ({text}): check sasl.mechanisms "
                    f"({config.get('sasl.mechanisms')!s}) in {path}")
        said = (f"authentication failed for user '{config.get('sasl.username', '')}': check sasl.username "
                f"and sasl.password in {path}")
        # the local Kafka makes new passwords at every start: a config copied from an earlier one is refused
        local = launcher_hint(config, "which makes new passwords at every start")
        return said + (f"; {local}" if local else " (on Confluent Cloud: the API key and its secret)")
    if code == KafkaError._SSL:
        if "hostname" in text.lower() or "match" in text.lower():
            return (f"TLS: the broker's certificate does not match the host name in bootstrap.servers "
                    f"({config.get('bootstrap.servers')}) in {path}")
        if "wrong version number" in text.lower() or "record layer" in text.lower():
            return (f"TLS handshake failed ({text}): is bootstrap.servers in {path} the SASL_SSL endpoint, "
                    "not a PLAINTEXT one?")
        return (f"TLS: the broker's certificate could not be verified ({_ssl_reason(text)}): "
                f"check ssl.ca.location in {path} (the CA that signed the broker's certificate)")
    if code in (KafkaError._INVALID_ARG, KafkaError._UNSUPPORTED_FEATURE) or err.fatal():
        return f"{text} (config: {path})"
    return None


# -- OAuth (sasl.mechanisms=OAUTHBEARER, sasl.oauthbearer.method=oidc): librdkafka fetches the token itself -----
TOKEN_FAILED = "Failed to acquire SASL OAUTHBEARER token: "


def is_oauth(config):
    return (config.get("sasl.mechanisms") or config.get("sasl.mechanism") or "").strip().upper() == "OAUTHBEARER"


def describe_oauth_error(text, config):
    """An OAuth login that failed, in one line naming the property to fix (never the secret): the token endpoint
    refused the client or could not be reached (librdkafka's "Failed to acquire ... token"), or the broker
    refused the token (its SASL answer {"status":"invalid_token"}, which does not say which claim)."""
    import json

    path, client = config.path, config.get("sasl.oauthbearer.client.id", "")
    endpoint = config.get("sasl.oauthbearer.token.endpoint.url", "(not set)")
    if TOKEN_FAILED not in text:
        status = re.search(r'"status"\s*:\s*"([^"]*)"', text)
        return (f"the broker refused the OAuth token of client '{client}' ({status.group(1) if status else text}): "
                "its issuer (iss), audience (aud) or signing key is not what the cluster expects, and the broker "
                f"does not say which; check sasl.oauthbearer.token.endpoint.url ({endpoint}) and "
                f"sasl.oauthbearer.client.id in {path} (on Confluent Cloud: the identity provider's issuer and the "
                "identity pool's filter)")
    detail = text.split(TOKEN_FAILED, 1)[1].strip()
    try:
        answer = json.loads(detail)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and "error" in answer:
        said = f"{answer.get('error')}: {answer.get('error_description', '')}".rstrip(": ")
        return (f"the identity provider refused client '{client}' ({said}): check sasl.oauthbearer.client.id and "
                f"sasl.oauthbearer.client.secret in {path} (an unknown client id and a wrong secret look alike)")
    if re.search(r"trust anchors|CA cert|certificate", detail, re.I):
        return (f"the token endpoint {endpoint} could not be checked over https ({detail}): set https.ca.location "
                f"in {path} to your CA bundle (e.g. /etc/ssl/certs/ca-certificates.crt) or to probe")
    if "wrong version number" in detail:
        return (f"the token endpoint {endpoint} does not answer in TLS ({detail}): check the scheme (http:// or "
                f"https://) of sasl.oauthbearer.token.endpoint.url in {path}")
    if re.search(r"connect|resolve|timed? ?out|timeout", detail, re.I):
        return (f"cannot reach the token endpoint ({detail}): check sasl.oauthbearer.token.endpoint.url in {path}")
    return (f"the token endpoint {endpoint} gave no token ({detail}): check sasl.oauthbearer.token.endpoint.url "
            f"in {path}")


def launcher_hint(config, why):
    """For a config the local Kafka wrote (config/launcher.py): that it did, `why` it may no longer fit, and how
    to copy it again; None for any other config."""
    directory = getattr(config, "launcher", None)
    if directory is None:
        return None
    return stale_hint(directory, config.as_dict(), config.path, why)


def _ssl_reason(text):
    if "certificate verify failed" in text:
        return "certificate verify failed"
    return text


@functools.lru_cache(maxsize=1)
def _not_enough_replicas_texts():
    """{librdkafka's text for the error (as its debug lines quote it): the error's name}, from librdkafka itself."""
    from confluent_kafka import KafkaError

    return {KafkaError(code).str(): name for code, name in (
        (KafkaError.NOT_ENOUGH_REPLICAS, "NOT_ENOUGH_REPLICAS"),
        (KafkaError.NOT_ENOUGH_REPLICAS_AFTER_APPEND, "NOT_ENOUGH_REPLICAS_AFTER_APPEND"))}


def not_enough_replicas(log_line):
    """The sentence for a librdkafka log line that reports a produce request refused for too few in-sync
    replicas (it will be retried); None for any other line."""
    code = next((name for text, name in _not_enough_replicas_texts().items() if text in log_line), None)
    if code is None:
        return None
    return (f"the cluster has fewer in-sync replicas than the topic's min.insync.replicas ({code}: brokers are down "
            f"or lagging), so it refuses writes with acks=all; retrying until --timeout, nothing counted delivered "
            f"until a broker confirms it")


def no_producer_id(log_line):
    """The sentence for librdkafka's line that it cannot get an idempotent producer id (it retries), which the
    default log filter would drop as a "retrying" line; None for any other line. A cluster hands out producer
    ids through its controllers, so this is what a producer started while most of them are down meets. Right
    after a broker starts it also fails once or twice and passes: say it only when it lasts (NO_PRODUCER_ID_AFTER)."""
    if "Failed to acquire idempotence PID" not in log_line:
        return None
    reason = log_line.rsplit(": ", 2)[-2] if log_line.count(": ") >= 2 else log_line
    return (f"the cluster has not given this producer an id for idempotent writes ({reason}); it hands them out "
            f"only while a majority of its controllers runs; nothing is sent before: retrying until --timeout")


NO_PRODUCER_ID_AFTER = 3.0  # seconds of failing before it is said (measured: a fresh broker fails it once)


def is_connectivity_error(err):
    from confluent_kafka import KafkaError

    return err.code() in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._RESOLVE,
                          KafkaError._TIMED_OUT)


# librdkafka's words for a connection refused: "127.0.0.1:9092/bootstrap: Connect to ipv4#127.0.0.1:9092 failed:
# Connection refused (after 0ms in state CONNECT)", "sasl_ssl://localhost:9093/1: Connect to ..."
_REFUSED = re.compile(r"(?:\w+://)?([^/\s]+)/\S*: Connect to .* failed: Connection refused")


class ClusterErrors:
    """The client's error callback. A fatal error ends the run; trouble reaching the broker is said
    once, and only if it lasts: a refused login, for one, first looks like "all brokers down"."""

    SAY_AFTER = 1.5

    def __init__(self, config, log):
        self.config = config
        self.log = log
        self._fatal = None
        self._unverified = False  # a certificate verify failure, not yet looked into
        self.trouble = None  # (first error text, since when)
        self.refused = None  # the first "host:port" that refused the connection: nothing listens there
        self.said = False
        self.reached = False  # the cluster answered this run: a refused connection then is an outage, not a stale copy
        self.made = time.monotonic()  # OAuth: a token refused this long after is a refresh's (see token_refresh_failed)
        self.token_trouble = False  # OAuth: a refresh failed and was said

    @property
    def fatal(self):
        if self._unverified:  # once, from the main loop: never inside librdkafka's callback (it can stall there)
            self._unverified = False
            from kafka_cli.client.tls_probe import X509_V_ERR_HOSTNAME_MISMATCH, tls_verify_failure  # ssl is slow to import

            code, detail = tls_verify_failure(self.config)
            if code == X509_V_ERR_HOSTNAME_MISMATCH:
                self._fatal = (f"TLS: the broker's certificate does not match the host name in bootstrap.servers "
                               f"({self.config.get('bootstrap.servers')}) in {self.config.path}: "
                               f"{detail.rstrip('.')}; use a name the certificate lists")
        return self._fatal

    def __call__(self, err):
        message = describe_kafka_error(err, self.config)
        if message and self.token_refresh_failed(err):
            return
        if message and self.token_trouble and TOKEN_FAILED not in err.str():
            message = (f"the OAuth token expired while the identity provider gave no new one, so the broker ended the "
                       f"session ({err.str()}); check that the identity provider at "
                       f"sasl.oauthbearer.token.endpoint.url ({self.config.get('sasl.oauthbearer.token.endpoint.url')}) "
                       "answers")
        if message:
            if self._fatal is None and "certificate verify failed" in err.str():
                self._unverified = True
            self._fatal = self._fatal or message
        elif is_connectivity_error(err):
            if self.trouble is None:
                self.trouble = (err.str(), time.monotonic())
            match = self.refused is None and _REFUSED.match(err.str())
            if match:
                self.refused = match.group(1)

    # A client fetches its first token as it is made, and a config or identity provider that gives none fails it
    # then; librdkafka fetches the next at 80 % of the token's lifetime (48 s of Keycloak's 60, 48 min of an hour),
    # and asks again every 10 s while that fails. A failure this long after the client was made is a refresh's.
    REFRESH_AFTER = 10.0

    def token_refresh_failed(self, err):
        """OAuth: a token refresh that failed (the identity provider down) ends nothing: the current token lasts until
        it expires, and librdkafka asks again. Said once, as a warning; True when `err` was that."""
        if TOKEN_FAILED not in err.str() or time.monotonic() - self.made < self.REFRESH_AFTER:
            return False
        if not self.token_trouble:
            self.token_trouble = True
            self.log.warning("the identity provider gave no new OAuth token (%s); going on with the current token "
                             "while it lasts, asking again every 10 s", err.str().split(TOKEN_FAILED, 1)[1].strip())
        return True

    def check(self, client, doing, probed=False):
        """From the main loop: say 'waiting' once if the trouble is real (a metadata probe fails; `probed`: the
        caller's own metadata question just failed, which is that probe)."""
        if self.trouble is None or self.said or self.fatal or time.monotonic() - self.trouble[1] < self.SAY_AFTER:
            return
        from confluent_kafka import KafkaException

        if not probed:
            try:
                client.list_topics(timeout=0.5)
                self.trouble = self.refused = None  # it was a passing disconnect
                return
            except KafkaException:
                pass
        self.said = True
        stale = (self.refused and not self.reached
                 and launcher_hint(self.config, "which is stopped or was restarted on other ports"))
        if stale:
            self.log.warning("nothing listens on %s (bootstrap.servers, %s): %s; %s", self.refused,
                             self.config.origin("bootstrap.servers"), doing, stale)
            return
        self.log.warning("cannot reach the broker (%s): %s; check bootstrap.servers=%s (%s)",
                         self.trouble[0], doing, self.config.get("bootstrap.servers"),
                         self.config.origin("bootstrap.servers"))

    def recovered(self):
        """The cluster answered (a metadata answer, an assignment): the trouble is over."""
        if self.said:
            self.log.warning("the broker answers again")
        self.trouble, self.refused, self.said, self.reached = None, None, False, True


# -- timestamps the topic refuses -----------------------------------------------------------------------------
# Kafka 4's defaults for a topic's message.timestamp.after.max.ms / before.max.ms (a timestamp more than 1 h
# ahead of the broker's clock is refused; one in the past never is), assumed when the topic's cannot be read.
DEFAULT_AFTER_MS, DEFAULT_BEFORE_MS = 3_600_000, None
NO_LIMIT = 2**63 - 1  # Long.MAX_VALUE: how the broker says "no limit"
# A line's timestamp is judged against the limits when it is produced, but the broker judges it when it arrives,
# by its own clock: up to librdkafka's default message.timeout.ms (5 min) later. A line this close to a limit is
# treated as if beyond it.
MARGIN_MS = 300_000


class Limits(NamedTuple):
    after: int  # ms, or None: no limit
    before: int
    how: str  # how they are known, for the message
    guessed: bool = False  # Kafka's defaults, the topic's could not be read


def topic_timestamp_limits(config, topic, timeout):
    """The Limits of `topic`, asked of the cluster with an AdminClient built from the same config. When they cannot
    be read (no DescribeConfigs right, no answer within `timeout`), Kafka 4's defaults, and why. Kafka before 3.6
    has one message.timestamp.difference.max.ms for both."""
    import logging

    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

    quiet = logging.getLogger("kafka_cli.timestamp_limits")  # its own: the producer's warnings are not its
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    # the producer's settings that no AdminClient takes (a Python-level one, and its debug contexts)
    settings = {k: v for k, v in config.as_dict().items() if k not in ("delivery.report.only.error", "debug")}
    try:
        admin = AdminClient({**settings, "logger": quiet, "error_cb": lambda err: None})
        resource = ConfigResource(ResourceType.TOPIC, topic)
        entries = admin.describe_configs([resource], request_timeout=timeout)[resource].result(timeout)
    except Exception as e:  # refused (no right to describe), timed out, the config refused: only a guess is lost
        reason = e.args[0].str() if isinstance(e, KafkaException) and e.args else str(e) or type(e).__name__
        return Limits(DEFAULT_AFTER_MS, DEFAULT_BEFORE_MS, f"the topic's limits could not be read ({reason}): "
                                                           "Kafka's defaults assumed", guessed=True)

    def limit(name):
        entry = entries.get(f"message.timestamp.{name}.max.ms") or entries.get("message.timestamp.difference.max.ms")
        try:
            value = int(entry.value)
        except (AttributeError, TypeError, ValueError):  # not there (an older broker), or not a number
            return {"after": DEFAULT_AFTER_MS, "before": DEFAULT_BEFORE_MS}[name]
        return None if value >= NO_LIMIT else value

    return Limits(limit("after"), limit("before"), "the topic's setting")


class TimestampRefusals:
    """Lines the broker refused for their timestamp, and the good lines that failed with them. A timestamp more
    than the topic's message.timestamp.after.max.ms ahead of the broker's clock, or before.max.ms behind it, is
    refused, and the broker refuses the whole batch it came in.

    A refused message's report does not carry its timestamp, so the read loop hands a line's number and timestamp
    to its report (Delivery.on_stamped), but only for a line that may be refused (suspect(): a Python object per
    line cost 13 % of a -f json run); any other refused line is a good one that went down with its batch. The
    topic's limits are read once (`limits()`): at the first refusal, or the first line older than MARGIN_MS (a
    copy of older data). str() says which limit, the first line out of range, and how many good lines failed."""

    def __init__(self, limits=None):
        self.limits = limits  # () -> Limits; None: no line is named, refusals are judged by Kafka's defaults
        self.known = None  # the Limits, once read
        self.count = 0  # refused for a timestamp, or in a batch refused for one
        self.beyond = 0  # lines out of range
        self.good = 0  # in range, failed with a batch mate out of range
        self.first = None  # (line, timestamp, "after"/"before", ms ahead of the clock) of the lowest line
        self.furthest = None  # (line, timestamp, ms ahead of the clock): said when no line is out of range

    def __bool__(self):
        return self.count > 0

    def _limits(self):
        if self.known is None:
            self.known = (self.limits() if self.limits is not None else
                          Limits(DEFAULT_AFTER_MS, DEFAULT_BEFORE_MS, "Kafka's defaults", guessed=True))
        return self.known

    def edges(self, now_ms):
        """(low, high): a timestamp between them is surely in range (by the limits as known, MARGIN_MS to spare);
        one outside them is for suspect() to judge. Until the limits are read (or when they are guessed), any
        line more than MARGIN_MS old and any line from the future is."""
        if self.limits is None:  # no topic to read them from (a Delivery made without one): no line is named
            return -math.inf, math.inf
        if self.known is None or self.known.guessed:
            return now_ms - MARGIN_MS, now_ms
        after, before = self.known.after, self.known.before
        return (now_ms - before + MARGIN_MS if before is not None else -math.inf,
                now_ms + after - MARGIN_MS if after is not None else math.inf)

    def suspect(self, timestamp, now_ms):
        """Whether a line with `timestamp` may be refused for it, so its report must name it. The first line older
        than MARGIN_MS reads the limits (once)."""
        if self.known is None and timestamp < now_ms - MARGIN_MS:
            self._limits()
        low, high = self.edges(now_ms)
        return not low <= timestamp <= high

    def out_of_range(self, timestamp, now_ms):
        """"after" or "before": the limit `timestamp` breaks at `now_ms`; None when it is in range."""
        after, before = self._limits()[:2]
        ahead = timestamp - now_ms
        return ("after" if after is not None and ahead > after else
                "before" if before is not None and -ahead > before else None)

    def refused(self, lineno, timestamp, now_ms):
        """One refused message: `lineno` and `timestamp` of a suspect line, or None for any other (in range)."""
        self.count += 1
        side = self.out_of_range(timestamp, now_ms) if timestamp is not None else None
        if side is None:
            self.good += 1
        else:
            self.beyond += 1
            if self.first is None or lineno < self.first[0]:
                self.first = (lineno, timestamp, side, timestamp - now_ms)
        if timestamp is not None and (self.furthest is None or abs(timestamp - now_ms) > abs(self.furthest[2])):
            self.furthest = (lineno, timestamp, timestamp - now_ms)

    def went_down(self):
        """A message failed because another record of its batch was refused (_INVALID_DIFFERENT_RECORD)."""
        self.good += 1

    def __str__(self):
        if self.first is None:
            return self._none_out_of_range()
        lineno, timestamp, side, ahead = self.first
        limits = self._limits()
        limit = limits.after if side == "after" else limits.before
        out, good = self.beyond, self.good
        return (f"Broker: Invalid timestamp: line {lineno:,} has timestamp {timestamp} ({_when(timestamp)}), "
                f"{_span(abs(ahead))} {'ahead of' if side == 'after' else 'behind'} the clock, beyond "
                f"message.timestamp.{side}.max.ms={limit} ({_span(limit)}; {limits.how}); the broker refuses the "
                f"whole batch such a line is in: {out:,} line{'s' if out != 1 else ''} out of range, {good:,} "
                f"line{'s' if good != 1 else ''} with good timestamps failed with {'it' if out == 1 else 'them'}")

    def _none_out_of_range(self):
        after, before, how, _ = self._limits()
        said = (f"Broker: Invalid timestamp: the topic refuses a timestamp more than message.timestamp.after.max.ms "
                f"ahead of the broker's clock or before.max.ms behind it, and the whole batch with it; "
                f"{self.count:,} line{'s' if self.count != 1 else ''} refused, none beyond the limits "
                f"({how}: after {after}, before {before if before is not None else 'none'}) by this machine's clock")
        if self.furthest is not None:
            lineno, timestamp, ahead = self.furthest
            said += (f"; the furthest from it: line {lineno:,}, timestamp {timestamp} ({_when(timestamp)}, "
                     f"{_span(abs(ahead))} {'ahead' if ahead > 0 else 'behind'})")
        return said


def _when(timestamp_ms):
    """A timestamp in ms as UTC time, to the second (or 'out of the calendar's range')."""
    import datetime

    try:
        moment = datetime.datetime.fromtimestamp(timestamp_ms / 1000, datetime.timezone.utc)
    except (OverflowError, ValueError, OSError):
        return "out of the calendar's range"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(ms):
    """A duration in ms, roughly: 74 years, 3 days, 2 h, 5 min, 12 s."""
    seconds = ms / 1000
    for size, unit in ((365.25 * 86400, " years"), (86400, " days"), (3600, " h"), (60, " min")):
        if seconds >= 2 * size:
            return f"{seconds / size:,.0f}{unit}"
    return f"{seconds:,.0f} s" if seconds >= 1 else f"{ms:,.0f} ms"
