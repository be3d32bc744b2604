"""consumer.py -L: what the cluster says about its brokers, topics and partitions, gathered with the
AdminClient (one metadata request, one DescribeConfigs request for min.insync.replicas) and judged for
health: under-replicated partitions, partitions below their topic's min.insync.replicas, partitions
without a leader. Gathering only; rendering is in render.py, the command in kafka_cli/cli/views.py.

Nothing here joins a group, fetches or commits: it reads metadata and topic configs only.
"""

from dataclasses import dataclass

from kafka_cli.core.boundary import compile_pattern, topic_selector_problem
from kafka_cli.core.errors import CliError, ConfigError
from kafka_cli.core.words import does_not_exist, no_broker_answered
from kafka_cli.client.kafka_errors import describe_kafka_error, is_connectivity_error

# Kafka's own topics (__consumer_offsets, __transaction_state, __share_group_state) start with two
# underscores; the metadata librdkafka hands back has no "internal" flag, so the name is what tells.
INTERNAL_PREFIX = "__"


@dataclass(frozen=True)
class TopicSelector:
    """-t values for a view: exact names and ^patterns (matched like the consumer's: from the start)."""

    names: frozenset
    patterns: tuple  # compiled regular expressions

    @property
    def everything(self):
        return not self.names and not self.patterns

    def wants(self, name):
        return self.everything or name in self.names or any(p.search(name) for p in self.patterns)


def topic_selector(topics):
    """A TopicSelector from -t values, each checked as consumer.py's -t is (boundary.topic_selector_problem)
    before anything reaches the C client; the value itself is not repeated (it may hold what a terminal obeys)."""
    names, patterns = set(), []
    for value in topics:
        problem = topic_selector_problem(value)
        if problem is not None:
            raise ConfigError(f"-t: the topic {problem}")
        if value.startswith("^"):
            patterns.append(compile_pattern(value))
        else:
            names.add(value)
    return TopicSelector(frozenset(names), tuple(patterns))


@dataclass(frozen=True)
class PartitionState:
    partition: int
    leader: int  # -1: none
    replicas: tuple
    isr: tuple
    error: str  # the broker's error for this partition, or None

    def under_replicated(self):
        return len(self.isr) < len(self.replicas)

    def below_min_isr(self, min_isr):
        return min_isr is not None and len(self.isr) < min_isr

    def leaderless(self):
        return self.leader < 0


@dataclass(frozen=True)
class TopicState:
    name: str
    internal: bool
    partitions: tuple  # PartitionState, by partition number
    min_isr: int  # the topic's min.insync.replicas, or None when its config could not be read
    error: str  # the broker's error for the whole topic, or None

    @property
    def replication_factor(self):
        return max((len(p.replicas) for p in self.partitions), default=0)


@dataclass(frozen=True)
class Health:
    topics: int
    partitions: int
    under_replicated: tuple  # (topic, partition), in listing order
    below_min_isr: tuple
    leaderless: tuple

    @property
    def failing(self):
        """A health check fails when a partition cannot be written with acks=all: no leader, or too few in sync."""
        return bool(self.leaderless or self.below_min_isr)


@dataclass(frozen=True)
class Listing:
    cluster_id: str
    controller_id: int
    answered_by: str  # the broker whose metadata this is, as librdkafka names it ("host:port/id", ".../bootstrap")
    brokers: tuple  # Broker, by id
    topics: tuple  # TopicState, by name
    missing: tuple = ()  # the names -t gave that the cluster does not have, sorted
    answered_by_id: int = None  # the id of the broker that answered, when it is among `brokers`

    def answering(self):
        """The broker whose metadata this is: the Broker, or librdkafka's name for it when it is not listed (reached
        through a bootstrap address no broker advertises, such as a load balancer's)."""
        return next((b for b in self.brokers if b.id == self.answered_by_id), self.answered_by)

    def health(self):
        under, below, leaderless = [], [], []
        for topic in self.topics:
            for p in topic.partitions:
                where = (topic.name, p.partition)
                if p.under_replicated():
                    under.append(where)
                if p.below_min_isr(topic.min_isr):
                    below.append(where)
                if p.leaderless():
                    leaderless.append(where)
        return Health(len(self.topics), sum(len(t.partitions) for t in self.topics),
                      tuple(under), tuple(below), tuple(leaderless))


@dataclass(frozen=True)
class Broker:
    id: int
    host: str
    port: int


def fetch_metadata(admin, timeout, config):
    """The whole cluster's metadata: every topic, never one by name (a request naming a topic that does not
    exist makes a broker with auto.create.topics.enable create it: a listing must not create a typo)."""
    from confluent_kafka import KafkaException

    try:
        return admin.list_topics(timeout=timeout)
    except KafkaException as e:
        raise CliError(no_answer(e.args[0], timeout, config))


def timed_out(timeout, config):
    return no_broker_answered(f"within --timeout {timeout:g} s", config)


def no_answer(err, timeout, config):
    """The line for a request the cluster did not answer, or refused as a whole."""
    if is_connectivity_error(err):
        return timed_out(timeout, config)
    return describe_kafka_error(err, config) or f"the cluster refused the request: {err.str()}"


def gather_listing(admin, selector, include_internal, timeout, config):
    """The Listing for the topics `selector` picks (internal ones only with `include_internal`); a name it gives
    that the cluster does not have is in `missing`, and the others are listed all the same."""
    metadata = fetch_metadata(admin, timeout, config)
    missing = tuple(sorted(name for name in selector.names if name not in metadata.topics))
    chosen = sorted(name for name in metadata.topics if selector.wants(name)
                    and (include_internal or name in selector.names or not name.startswith(INTERNAL_PREFIX)))
    answered = answering_broker(metadata)
    min_isrs = min_insync_replicas(admin, chosen, (answered, timeout), config)
    topics = tuple(topic_state(metadata.topics[name], min_isrs.get(name)) for name in chosen)
    brokers = tuple(Broker(b.id, b.host, b.port) for _, b in sorted(metadata.brokers.items()))
    return Listing(metadata.cluster_id, metadata.controller_id, metadata.orig_broker_name, brokers, topics, missing,
                   answered if answered in metadata.brokers else None)


def missing_topics(names, bootstrap):
    """The line for the topics -t named (sorted) that the cluster at `bootstrap` does not have; -L and --lag say
    it alike, after what they could show of the others."""
    if len(names) == 1:
        return does_not_exist(f"topic '{names[0]}'", bootstrap)
    quoted = [f"'{name}'" for name in names]
    return f"topics {', '.join(quoted[:-1])} and {quoted[-1]} do not exist on {bootstrap}"


def answering_broker(metadata):
    """The id of the broker that answered the metadata request, or None. librdkafka names it -1 when it was
    reached through its bootstrap address ("127.0.0.1:9092/bootstrap", "sasl_ssl://localhost:9093/bootstrap"): then it is found by host and port."""
    if metadata.orig_broker_id is not None and metadata.orig_broker_id >= 0:
        return metadata.orig_broker_id
    address = (metadata.orig_broker_name or "").rsplit("/", 1)[0].split("://")[-1]  # "sasl_ssl://host:port/id"
    return next((b.id for b in metadata.brokers.values() if f"{b.host}:{b.port}" == address), None)


def topic_state(found, min_isr):
    partitions = tuple(PartitionState(p.id, p.leader, tuple(p.replicas), tuple(p.isrs),
                                      p.error.str() if p.error is not None else None)
                       for _, p in sorted(found.partitions.items()))
    return TopicState(found.topic, found.topic.startswith(INTERNAL_PREFIX), partitions, min_isr,
                      found.error.str() if found.error is not None else None)


def min_insync_replicas(admin, names, via, config):
    """{topic: its min.insync.replicas} from one DescribeConfigs request; a topic whose config cannot be read
    is left out (its partitions are then judged by replication alone, and the listing says "unknown").

    `via` is (the id of the broker that just answered the metadata request, --timeout). librdkafka sends a
    DescribeConfigs request for topics to the controller named in its metadata, which in KRaft is any broker,
    and for seconds after a broker dies that may be the dead one (measured: the request then waited out the
    whole timeout). A request that also names one broker's own configs goes to that broker: so it names the
    one that just answered, which is alive."""
    if not names:
        return {}
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import ConfigResource, ResourceType

    broker_id, timeout = via
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in names]
    if broker_id is not None and broker_id >= 0:
        resources.append(ConfigResource(ResourceType.BROKER, str(broker_id)))
    futures = admin.describe_configs(resources, request_timeout=timeout)
    found = {}
    for resource, future in futures.items():
        try:
            entry = future.result(timeout).get("min.insync.replicas")
        except KafkaException as e:
            if is_connectivity_error(e.args[0]):  # the cluster's trouble, not this topic's
                raise CliError(no_answer(e.args[0], timeout, config))
            continue
        except TimeoutError:
            raise CliError(timed_out(timeout, config))
        if resource.restype == ResourceType.TOPIC and entry is not None and (entry.value or "").isdigit():
            found[resource.name] = int(entry.value)
    return found
