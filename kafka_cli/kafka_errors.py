"""librdkafka's runtime errors turned into sentences a person can act on, each naming the config key
to look at; and ClusterErrors, the error callback that decides which of them end a run.

A produce request refused for too few in-sync replicas (NOT_ENOUGH_REPLICAS, or NOT_ENOUGH_REPLICAS_AFTER_APPEND)
reaches neither the error callback nor librdkafka's log at its default level: librdkafka retries it quietly
and says so only in its "msg" debug context ("... encountered error: Broker: Not enough in-sync replicas
(actions Retry,MsgNotPersisted)"). So producer.py switches that context on, unless the config chooses its own
`debug`, and terminal.py turns the first such line into one sentence (not_enough_replicas);
likewise the first failure to get an idempotent producer id (no_producer_id)."""

import functools
import time


def describe_kafka_error(err, config):
    """A sentence for a broker-side error, naming the config key to look at; None if not fatal."""
    from confluent_kafka import KafkaError

    code, text = err.code(), err.str()
    path = config.path
    if code == KafkaError._AUTHENTICATION:
        if "mechanism" in text.lower():
            return (f"SASL mechanism refused by the broker ({text}): check sasl.mechanisms "
                    f"({config.get('sasl.mechanisms')!s}) in {path}")
        return (f"authentication failed for user '{config.get('sasl.username', '')}': check sasl.username "
                f"and sasl.password in {path} (on Confluent Cloud: the API key and its secret)")
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
        self.said = False

    @property
    def fatal(self):
        if self._unverified:  # once, from the main loop: never inside librdkafka's callback (it can stall there)
            self._unverified = False
            from .tls_probe import X509_V_ERR_HOSTNAME_MISMATCH, tls_verify_failure  # ssl is slow to import

            code, detail = tls_verify_failure(self.config)
            if code == X509_V_ERR_HOSTNAME_MISMATCH:
                self._fatal = (f"TLS: the broker's certificate does not match the host name in bootstrap.servers "
                               f"({self.config.get('bootstrap.servers')}) in {self.config.path}: "
                               f"{detail.rstrip('.')}; use a name the certificate lists")
        return self._fatal

    def __call__(self, err):
        message = describe_kafka_error(err, self.config)
        if message:
            if self._fatal is None and "certificate verify failed" in err.str():
                self._unverified = True
            self._fatal = self._fatal or message
        elif is_connectivity_error(err) and self.trouble is None:
            self.trouble = (err.str(), time.monotonic())

    def check(self, client, doing):
        """From the main loop: say 'waiting' once if the trouble is real (a metadata probe fails)."""
        if self.trouble is None or self.said or self.fatal or time.monotonic() - self.trouble[1] < self.SAY_AFTER:
            return
        from confluent_kafka import KafkaException

        try:
            client.list_topics(timeout=0.5)
            self.trouble = None  # it was a passing disconnect
            return
        except KafkaException:
            pass
        self.said = True
        self.log.warning("cannot reach the broker (%s): %s; check bootstrap.servers=%s (%s)",
                         self.trouble[0], doing, self.config.get("bootstrap.servers"),
                         self.config.origin("bootstrap.servers"))

    def recovered(self):
        if self.said:
            self.log.warning("the broker answers again")
        self.trouble, self.said = None, False
