"""Topics on the running local Kafka, for the shell face: check a name as Kafka would, place its replicas (a
replication factor, the nodes they go on), create one (waiting until every partition has a leader, so the next
producer finds it), delete one, list them."""

import re
import time

from .errors import LauncherError
from .process import _SILENT

MAX_NAME = 249  # Kafka's limit: a partition's directory name must fit in 255 bytes


class TopicError(LauncherError):
    """Kafka refused the request; `usage` marks a refusal of what the person typed (exit 2, not 1)."""

    def __init__(self, message, usage=False):
        super().__init__(message)
        self.usage = usage


def check_name(name):
    """Refuse a name Kafka would refuse, with the rule it breaks."""
    if name in ("", ".", ".."):
        raise TopicError(f"topic name {name!r} is not allowed: Kafka refuses '', '.' and '..'", usage=True)
    if len(name) > MAX_NAME:
        raise TopicError(f"topic name is {len(name)} characters long; Kafka allows at most {MAX_NAME}", usage=True)
    bad = sorted(set(re.sub(r"[A-Za-z0-9._-]", "", name)))
    if bad:
        raise TopicError(f"topic name {name!r} has characters Kafka does not allow ({''.join(bad)!r}); "
                         "use letters, digits, '.', '_' and '-'", usage=True)


def parse_configs(pairs):
    """KEY=VALUE strings -> a dict; refuses one without '=' or with an empty key."""
    configs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise TopicError(f"--config {pair!r}: expected KEY=VALUE, e.g. --config retention.ms=3600000", usage=True)
        configs[key.strip()] = value
    return configs


def admin_for(state):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": state["plaintext_bootstrap"], "logger": _SILENT})


def _result(future, name, timeout):
    """Wait for one admin operation; Kafka's refusal becomes a TopicError (usage=True if the input was wrong)."""
    from confluent_kafka import KafkaError, KafkaException

    try:
        future.result(timeout)
    except KafkaException as e:
        error = e.args[0]
        code = error.code()
        if code == KafkaError.TOPIC_ALREADY_EXISTS:
            raise TopicError(f"topic {name} already exists") from None
        if code == KafkaError.UNKNOWN_TOPIC_OR_PART:
            raise TopicError(f"there is no topic {name}") from None
        usage = code in (KafkaError.INVALID_CONFIG, KafkaError.INVALID_PARTITIONS, KafkaError.TOPIC_EXCEPTION,
                         KafkaError.INVALID_REPLICATION_FACTOR, KafkaError.POLICY_VIOLATION)
        raise TopicError(f"Kafka refused {name}: {error.str()}", usage=usage) from None


def _wait(admin, name, ready, timeout):
    """Until the cluster's metadata about `name` satisfies `ready(topic metadata or None)`."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            # all topics, not list_topics(name): a request naming a topic may make an auto-creating broker create it
            if ready(admin.list_topics(timeout=5).topics.get(name)):
                return
        except Exception:  # metadata from a node still catching up: ask again
            pass
        if time.monotonic() > deadline:
            raise TopicError(f"topic {name}: Kafka accepted the request, but its metadata did not follow within "
                             f"{timeout} s")
        time.sleep(0.1)


def has_leaders(found):
    return found is not None and found.error is None and bool(found.partitions) and \
        all(p.leader >= 0 for p in found.partitions.values())


def is_gone(found):
    return found is None or found.error is not None


def placement(state, partitions, replication_factor=None, on_nodes=()):
    """(what create() takes as `partitions`, the replication factor). With neither a replication factor nor nodes:
    the count, and Kafka places min(3, nodes) replicas of each partition itself. With either: one list of node
    ids per partition, its replicas on the nodes given (all, if none are), the first (the preferred leader)
    turning round from one partition to the next. Refuses a node that is not there, or too few nodes."""
    nodes = [node["node_id"] for node in state["nodes"]]
    for node_id in on_nodes:
        if node_id not in nodes:
            raise TopicError(f"--on-node {node_id}: this local Kafka has no node {node_id}; its nodes are "
                             f"{', '.join(map(str, nodes))}", usage=True)
        if on_nodes.count(node_id) > 1:
            raise TopicError(f"--on-node {node_id} is given twice: a partition has at most one replica on a node",
                             usage=True)
    pool = list(on_nodes) or nodes
    factor = replication_factor or min(3, len(pool))
    if factor > len(pool):
        have = (f"--on-node names {len(pool)}" if on_nodes else
                f"this local Kafka has {len(pool)} (start it with --brokers {factor} for more)")
        raise TopicError(f"replication factor {factor} needs {factor} nodes, one replica on each; {have}", usage=True)
    if replication_factor is None and not on_nodes:
        return partitions, factor
    return [[pool[(p + i) % len(pool)] for i in range(factor)] for p in range(partitions)], factor


def fitted_configs(state, configs, factor):
    """(`configs`, True) with min.insync.replicas lowered to the replication factor where the cluster's default
    (min(2, nodes)) would exceed it, which would refuse every write with acks=all; else (`configs`, False)."""
    if factor < min(2, len(state["nodes"])) and "min.insync.replicas" not in configs:
        return {**configs, "min.insync.replicas": str(factor)}, True
    return configs, False


def create(state, name, partitions, configs, timeout=30):
    """Create `name`: `partitions` is a count (replicated min(3, nodes) times, placed by Kafka) or one list of
    node ids per partition (placement() makes either); returns the replication factor."""
    from confluent_kafka.admin import NewTopic

    if isinstance(partitions, int):
        replicas = min(3, len(state["nodes"]))
        new = NewTopic(name, num_partitions=partitions, replication_factor=replicas, config=configs)
    else:
        replicas = len(partitions[0])
        new = NewTopic(name, num_partitions=len(partitions), replica_assignment=partitions, config=configs)
    admin = admin_for(state)
    try:
        futures = admin.create_topics([new], operation_timeout=timeout)
    except Exception as e:  # the client refused the request before sending it
        raise TopicError(f"cannot ask Kafka to create {name}: {e}") from None
    _result(futures[name], name, timeout + 5)
    _wait(admin, name, has_leaders, timeout)
    return replicas


def delete(state, name, timeout=30):
    admin = admin_for(state)
    _result(admin.delete_topics([name], operation_timeout=timeout)[name], name, timeout + 5)
    _wait(admin, name, is_gone, timeout)


def listing(state, timeout=10):
    """[(name, partitions)] of the topics clients see (internal ones, named __*, left out), by name."""
    try:
        topics = admin_for(state).list_topics(timeout=timeout).topics
    except Exception as e:
        raise TopicError(f"the local Kafka at {state['plaintext_bootstrap']} did not answer: {e}") from None
    return sorted((name, len(t.partitions)) for name, t in topics.items() if not name.startswith("__"))
