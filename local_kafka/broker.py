"""A real Apache Kafka (KRaft) on loopback, assembled from Maven Central: one node (LocalKafka), or a cluster of
several (KafkaCluster, in cluster.py).

Every node is one JVM acting as broker and controller. It listens on three free loopback ports:
PLAINTEXT, SASL_SSL (SASL/PLAIN users, certificate from a throwaway CA) and CONTROLLER. Client
configs in the INI shape of config.ini.example are written beside the data, so
`./consumer.py <that file>` works as it is.

The working directory holds passwords and a private key, so it is private (0700) and every
file in it is created 0600; the launcher deletes only directories it made itself (they carry
a marker file).

This module is the public face; the rooms behind it: jars.py (version, Java, Maven), tls.py, node_config.py
(properties, logging, client configs), process.py (the JVMs), files.py (private files), lifecycle.py (what one
node and a cluster share), state.py (the shell face's state file and lock).
"""

import time

from .cluster import KafkaCluster
from .errors import LauncherError
from .files import (MARKER, OWN_FILES_HINT, PRIVATE_UMASK, check_private_dir, made_by_launcher, make_private_dir,
                    remove_own_dir, write_private)
from .jars import CACHE_DIR, KAFKA_VERSION, LOG4J_VERSION, check_java, classpath, jar_dir, kafka_version
from .lifecycle import (CLUSTER_HEAP, DEFAULT_TOPIC, DEFAULT_TOPIC_PARTITIONS, HEAP, USERS, KafkaBase,
                        create_topic)
from .node_config import LOG4J2_PROPERTIES, free_ports, new_cluster_id, write_client_config
from .process import (_SILENT, KafkaNode, SilentLogger, controller_majority, is_broker_process, stop_process,
                      stop_processes)
from .state import STATE_DIR, read_state, state_file, write_state
from .tls import make_certificates

_LocalKafkaBase = KafkaBase

__all__ = ["CACHE_DIR", "CLUSTER_HEAP", "DEFAULT_TOPIC", "DEFAULT_TOPIC_PARTITIONS", "HEAP", "KAFKA_VERSION",
           "LOG4J2_PROPERTIES", "LOG4J_VERSION", "MARKER", "OWN_FILES_HINT", "PRIVATE_UMASK", "STATE_DIR", "USERS",
           "_SILENT", "KafkaCluster", "KafkaNode", "LauncherError", "LocalKafka", "SilentLogger", "check_java",
           "check_private_dir", "classpath", "controller_majority", "create_topic", "free_ports", "is_broker_process",
           "jar_dir", "kafka_version", "made_by_launcher", "make_certificates", "make_private_dir", "new_cluster_id",
           "read_state", "remove_own_dir", "state_file", "stop_process", "stop_processes", "write_client_config",
           "write_private", "write_state"]


class LocalKafka(KafkaBase):
    """One Kafka node. start() returns once a metadata request succeeds; stop() leaves nothing behind."""

    @property
    def _node(self):
        return self.nodes.get(1)

    @property
    def pid(self):
        return self._node.pid if self._node else None

    @property
    def proc(self):
        return self._node.proc if self._node else None

    @property
    def ports(self):
        return self._node.ports if self._node else {}

    def kill(self):
        """SIGKILL the JVM, keeping data directory and ports (for fault tests)."""
        if self._node:
            self._node.kill()

    def pause(self):
        if self._node:
            self._node.pause()

    def resume(self):
        if self._node:
            self._node.resume()

    def restart(self, timeout=90):
        """Start the JVM again on the same data directory and ports."""
        self._node.kill()
        self._node.spawn(die_with_owner=not self.keep_workdir)
        self._wait_answers(self._node, time.monotonic() + timeout)

