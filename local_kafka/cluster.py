"""KafkaCluster: several local Kafka nodes in one static quorum, with the per-node faults the tests inject
(kill, pause, controlled stop, restart) and questions about who leads what."""

import time

from .errors import LauncherError
from .lifecycle import CLUSTER_HEAP, KafkaBase


class KafkaCluster(KafkaBase):
    """Several Kafka nodes (three by default), each broker and controller, in one static quorum.

    Internal topics and topic_0 have replication factor 3 and min.insync.replicas 2, so one node may be
    killed, paused or restarted (methods taking a node id, 1..n) while clients carry on."""

    heap = CLUSTER_HEAP

    def __init__(self, brokers=3, **options):
        """`options`: KafkaBase's (workdir, keep_workdir, auto_create_topics, kafka_version, schema_registry)."""
        if brokers < 1:
            raise LauncherError(f"a cluster needs at least one broker, not {brokers}")
        super().__init__(**options)
        self.brokers = brokers

    def node(self, node_id):
        try:
            return self.nodes[node_id]
        except KeyError:
            raise LauncherError(f"no node {node_id}: the nodes are {sorted(self.nodes)}") from None

    def kill(self, node_id):
        """SIGKILL one node's JVM; its data and ports stay for restart()."""
        self.node(node_id).kill()

    def pause(self, node_id):
        self.node(node_id).pause()

    def resume(self, node_id):
        self.node(node_id).resume()

    def stop_node(self, node_id, timeout=30):
        """Controlled shutdown of one node; its data and ports stay for restart()."""
        self.node(node_id).stop(timeout)

    def restart(self, node_id, timeout=120):
        """Start one node again on its own data and ports (killing it first if it still runs); returns once it
        answers on both listeners and sees every broker. Its replicas may still be catching up: wait_full_isr()."""
        node = self.node(node_id)
        node.kill()
        node.spawn(die_with_owner=not self.keep_workdir)
        self._wait_answers(node, time.monotonic() + timeout)

    def leader_of(self, topic, partition, timeout=10):
        """The node id leading `partition` of `topic` (-1 while it has no leader).

        Asks again while the answering node does not know the partition yet: a new topic reaches each
        node's metadata at its own moment, so right after creation one node may still say "unknown topic"."""
        admin = self.admin()
        deadline = time.monotonic() + timeout
        while True:
            found = admin.list_topics(topic, timeout=timeout).topics.get(topic)
            if found is not None and found.error is None and partition in found.partitions:
                return found.partitions[partition].leader
            if time.monotonic() > deadline:
                raise LauncherError(f"{topic}: no metadata for partition {partition} within {timeout} s "
                                    f"({found.error if found is not None else 'topic not listed'})")
            time.sleep(0.2)

    def coordinator_of(self, group, timeout=60):
        """The node id of the group coordinator for `group`.

        Retries while there is none: the first group ever makes the cluster create __consumer_offsets."""
        admin = self.admin()  # kept referenced: a destroyed client never completes its futures
        deadline = time.monotonic() + timeout
        while True:
            try:
                # a long request timeout: librdkafka 2.x can abort the process when a FindCoordinator request
                # times out inside describe_consumer_groups (librdkafka issue 4605; seen here with 10 s)
                return admin.describe_consumer_groups([group], request_timeout=60)[group].result(90).coordinator.id
            except Exception as e:
                if time.monotonic() > deadline:
                    raise LauncherError(f"no coordinator for group {group} within {timeout} s: {e}") from None
                time.sleep(0.5)

    def node_of_port(self, port):
        """The node listening on `port` (any of its three listeners)."""
        for node in self.nodes.values():
            if port in node.ports.values():
                return node
        return None

