"""A client's metadata question asked in short slices, with its error callback served in between, so that a wait
for the cluster's first answer says within two seconds what the callback learnt: a refused login or an
unverified certificate ends it at once; a broker nobody answers on is said once and asked again until the
caller's timeout.

One metadata request waited out for the whole --timeout said nothing of either until the end (measured: -L with a
wrong password, 30 s of silence, then the login error that the consumer gives in 0.6 s)."""

import time

from kafka_cli.core.errors import CliError
from kafka_cli.core.exit_status import Interrupted

# seconds: the error callback is served between slices, and ClusterErrors.check says "cannot reach" once the
# trouble it saw lasted SAY_AFTER (1.5 s): short slices say it soon after
FIRST_SLICE = 0.25
# A cluster that is reached but slow to answer (a large metadata) would never answer within one short slice,
# since each slice asks anew: the slice doubles while no connection trouble is seen, up to this.
LONGEST_SLICE = 8.0


class Watched:
    """A confluent-kafka client whose list_topics asks in slices (the module's docstring says why): the views'
    AdminClient and the direct consumer's metadata questions go through it. Every other attribute is the
    client's own, so the code that asks (kafka_cli/views, consume/positions.py) takes it in place of the client
    and need not know."""

    def __init__(self, client, errors, doing, stopped=lambda: None):
        self.client = client
        self.errors = errors  # the client's ClusterErrors
        self.doing = doing  # what "cannot reach" says it does meanwhile: "still trying until --timeout"
        self.stopped = stopped  # () -> the signal that asks the run to stop, or None

    def list_topics(self, topic=None, timeout=-1):
        """`client.list_topics(topic)` within `timeout` seconds (-1, confluent-kafka's "no limit": 30 s, the views'
        default --timeout; a first contact must not hang), asked again in slices. CliError with the error
        callback's sentence as soon as it has one; between slices the callback's check says once that no broker
        answers; Interrupted when `stopped` says so; the last slice's KafkaException when `timeout` passes
        without an answer."""
        from confluent_kafka import KafkaException

        errors = self.errors
        deadline = time.monotonic() + (30.0 if timeout is None or timeout < 0 else timeout)
        slice_ = FIRST_SLICE
        while True:
            try:
                metadata = self.client.list_topics(topic, timeout=max(0.05, min(slice_, deadline - time.monotonic())))
                errors.recovered()  # ("the broker answers again", if "cannot reach" was said)
                return metadata
            except KafkaException as e:
                last = e
            self.client.poll(0)  # confluent-kafka hands the error callback what it saw only when polled
            if errors.fatal:
                raise CliError(errors.fatal)
            signum = self.stopped()
            if signum is not None:
                raise Interrupted(signum)
            errors.check(self.client, self.doing, probed=True)
            if time.monotonic() >= deadline:
                raise last
            if errors.trouble is None:
                slice_ = min(2 * slice_, LONGEST_SLICE)

    def __getattr__(self, name):
        return getattr(self.client, name)
