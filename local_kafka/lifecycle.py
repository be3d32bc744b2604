"""What one node and a cluster share: the working directory, TLS, users, client configs and the life cycle
(prepare, spawn, wait until every node answers on both listeners, create topic_0, stop)."""

import secrets
import tempfile
import time
from pathlib import Path

from .errors import LauncherError
from .files import make_private_dir, remove_own_dir
from .jars import check_java, classpath
from .jars import kafka_version as resolve_version
from . import oauth
from .keycloak import Keycloak
from .node_config import (ALL_LISTENER_NAMES, LISTENER_NAMES, java_command, new_cluster_id, pick_ports, write_client_config,
                          write_logging_config, write_properties)
from .process import _SILENT, KafkaNode, controller_majority, format_storage, stop_processes
from .registry import SchemaRegistry
from .tls import make_certificates

DEFAULT_TOPIC = "topic_0"
DEFAULT_TOPIC_PARTITIONS = 6  # Confluent Cloud's default for a new topic
USERS = ("alice", "bob")  # SASL/PLAIN accounts; passwords are generated per start
HEAP = "-Xmx768m"  # one node
CLUSTER_HEAP = "-Xmx512m"  # each node of a cluster: three share a small machine


def create_topic(admin, name, partitions=1, timeout=30, replication_factor=1):
    from confluent_kafka.admin import NewTopic

    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=replication_factor)],
                                  operation_timeout=timeout)
    futures[name].result(timeout)


class KafkaBase:
    """What one node and a cluster share: the working directory, TLS, users, client configs, life cycle."""

    # An ACL authorizer (StandardAuthorizer) that lets everyone do everything until an ACL says otherwise, and
    # PLAINTEXT's ANONYMOUS (the tests' admin, the brokers among themselves) anything always: a subclass sets
    # it (tests of what a user without rights is told); the launcher's own Kafka runs without one.
    acls = False

    brokers = 1
    heap = HEAP

    def __init__(self, workdir=None, keep_workdir=False, auto_create_topics=False, kafka_version=None, **services):
        """`services`: schema_registry=True (Apicurio beside it), oauth=True (Keycloak, and the OAUTH listener)."""
        unknown = set(services) - {"schema_registry", "oauth"}
        if unknown:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
        self.kafka_version = resolve_version(kafka_version)  # refused before anything is made on disk
        if workdir:
            self.workdir = Path(workdir)
            self._workdir_taken = False  # checked and marked at start(); until then nothing to clean up
        else:
            self.workdir = make_private_dir(tempfile.mkdtemp(prefix="local-kafka-"))
            self._workdir_taken = True
        self.keep_workdir = keep_workdir
        self.auto_create_topics = auto_create_topics
        self.with_registry = services.get("schema_registry", False)
        self.registry = None  # a SchemaRegistry once started
        self.with_oauth = services.get("oauth", False)
        self.keycloak = None  # a Keycloak once started
        self.acls = self.acls or self.with_oauth  # the client without rights is denied by ACLs
        # {node id: {listener: port}} to use again where free (the shell face's last start), and what was not
        self.wanted_ports = {}
        self.moved_ports = []  # [(node id, listener, wanted port, the port it got instead)]
        self.nodes = {}
        self.passwords = {}
        self.startup_seconds = None

    # -- what clients need -------------------------------------------------
    @property
    def replication_factor(self):
        return min(3, self.brokers)

    @property
    def min_insync_replicas(self):
        return min(2, self.brokers)

    @property
    def plaintext_bootstrap(self):
        return ",".join(node.plaintext_bootstrap for node in self.nodes.values())

    @property
    def sasl_ssl_bootstrap(self):
        return ",".join(node.sasl_ssl_bootstrap for node in self.nodes.values())

    @property
    def ca_location(self):
        return str(self.workdir / "tls" / "ca.pem")

    @property
    def plaintext_config(self):
        return self.workdir / "client-plaintext.ini"

    @property
    def sasl_ssl_config(self):
        return self.workdir / "client-sasl-ssl.ini"

    @property
    def oauth_config(self):
        return self.workdir / "client-oauth.ini"

    @property
    def oauth_bootstrap(self):
        """The OAUTH listeners (start --oauth), None without them."""
        return ",".join(node.oauth_bootstrap for node in self.nodes.values()) if self.keycloak else None

    def oauth_settings(self, client_id=oauth.CLIENT, secret=None):
        """librdkafka properties for the OAUTH listener as Keycloak's `client_id` (a wrong secret if given)."""
        return oauth.client_settings(self.keycloak, self.ca_location, client_id, secret)

    def extra_properties(self):
        """server.properties lines beyond the listeners' own: the OAUTH listener's, with --oauth."""
        return oauth.listener_properties(self.keycloak) if self.keycloak else {}

    @property
    def log_file(self):
        return self.workdir / "node-1" / "broker.log"

    def sasl_settings(self, user="alice", password=None):
        """librdkafka properties for the SASL_SSL listener as `user` (a wrong password if given)."""
        return {"security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN", "sasl.username": user,
                "sasl.password": self.passwords[user] if password is None else password,
                "ssl.ca.location": self.ca_location}

    def client_settings(self, listener):
        """librdkafka settings for `listener` ("plaintext" or "sasl_ssl") as alice."""
        if listener == "plaintext":
            return {"bootstrap.servers": self.plaintext_bootstrap}
        return {"bootstrap.servers": self.sasl_ssl_bootstrap, **self.sasl_settings()}

    def admin(self):
        from confluent_kafka.admin import AdminClient

        return AdminClient({"bootstrap.servers": self.plaintext_bootstrap, "logger": _SILENT})

    # -- life cycle --------------------------------------------------------
    def start(self, timeout=120):
        began = time.monotonic()
        if not self._workdir_taken:
            make_private_dir(self.workdir)
            self._workdir_taken = True
        try:
            self._begin_keycloak()
            self._prepare()
            deadline = time.monotonic() + timeout
            if self.keycloak:  # before the brokers: they fetch its JWKS as they start
                self.keycloak.wait_ready(max(60.0, deadline - time.monotonic()))
            for node in self.nodes.values():
                node.spawn(die_with_owner=not self.keep_workdir)
            for node in self.nodes.values():
                self._wait_answers(node, deadline)
            create_topic(self.admin(), DEFAULT_TOPIC, DEFAULT_TOPIC_PARTITIONS, replication_factor=self.replication_factor)
            self.wait_full_isr(DEFAULT_TOPIC, max(1.0, deadline - time.monotonic()))
            if self.keycloak:
                oauth.grant_rights(self.admin())
            registry = self._start_registry(deadline)
            write_client_config(self.plaintext_config, self.plaintext_bootstrap, {}, registry=registry)
            write_client_config(self.sasl_ssl_config, self.sasl_ssl_bootstrap, self.sasl_settings(), registry=registry)
            self._write_oauth_config()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _begin_keycloak(self):
        """With --oauth: Keycloak's start begun (it answers some 10-40 s later; the brokers are prepared meanwhile)."""
        if self.with_oauth and self.keycloak is None:
            self.keycloak = Keycloak(self.workdir / "keycloak")
            self.keycloak.begin(die_with_owner=not self.keep_workdir)

    def _write_oauth_config(self):
        if self.keycloak:
            registry = oauth.registry_settings(self.keycloak, self.registry.url) if self.registry else None
            oauth.write_oauth_config(self.oauth_config, self.oauth_bootstrap, self.oauth_settings(), registry)

    def _start_registry(self, deadline):
        """The Schema Registry, if asked for: its client settings for the configs, else None."""
        if not self.with_registry:
            return None
        self.registry = SchemaRegistry(self.workdir / "schema-registry", self.keycloak)
        self.registry.start(max(30.0, deadline - time.monotonic()), die_with_owner=not self.keep_workdir)
        return self.registry.client_settings()

    def _prepare(self):
        """Certificates, passwords, ports, properties and formatted storage for every node."""
        java = check_java(self.kafka_version)
        cp = classpath(self.kafka_version)
        make_certificates(make_private_dir(self.workdir / "tls"))
        self.passwords = {user: secrets.token_urlsafe(12) for user in (*USERS, "admin")}
        ports, self.moved_ports = pick_ports(ALL_LISTENER_NAMES if self.keycloak else LISTENER_NAMES, self.brokers,
                                             self.wanted_ports)
        log_flag = write_logging_config(self.workdir, self.kafka_version)
        flags = oauth.java_flags(self.keycloak) if self.keycloak else []
        for node_id, node_ports in ports.items():
            node = KafkaNode(node_id, make_private_dir(self.workdir / f"node-{node_id}"), node_ports)
            node.java_cmd = java_command(java, self.heap, [log_flag, *flags], node.log_file, cp)
            self.nodes[node.node_id] = node
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.ports['CONTROLLER']}" for n in self.nodes.values())
        for node in self.nodes.values():
            write_properties(node, self, voters)
        format_storage(self.nodes.values(), new_cluster_id())

    def _name(self, node):
        return "Kafka" if self.brokers == 1 else f"Kafka node {node.node_id}"

    def _wait_answers(self, node, deadline):
        """Until `node` answers a metadata request on both listeners, naming every broker whose JVM runs."""
        from confluent_kafka.admin import AdminClient

        probes = [AdminClient({"bootstrap.servers": node.plaintext_bootstrap, "logger": _SILENT}),
                  AdminClient({"bootstrap.servers": node.sasl_ssl_bootstrap, "logger": _SILENT,
                               **self.sasl_settings("admin", self.passwords["admin"])})]
        for probe in probes:
            while True:
                if not node.running():
                    raise LauncherError(f"{self._name(node)} exited with code {node.proc.returncode} during start-up; "
                                        f"last lines of its log:\n{node.tail_log()}")
                try:
                    running = sum(1 for n in self.nodes.values() if n.running())
                    if len(probe.list_topics(timeout=1).brokers) >= running:
                        break
                except Exception:
                    pass
                if time.monotonic() > deadline:
                    raise LauncherError(f"{self._name(node)} did not answer a metadata request in time; "
                                        f"last lines of its log:\n{node.tail_log()}")
                time.sleep(0.2)

    def wait_full_isr(self, topic=DEFAULT_TOPIC, timeout=120):
        """Until every partition of `topic` has a leader and all its replicas in sync."""
        deadline = time.monotonic() + timeout
        admin = self.admin()
        lagging = "no metadata yet"
        while True:
            try:
                found = admin.list_topics(topic, timeout=5).topics.get(topic)
                if found is not None and found.error is None and found.partitions:
                    lagging = {p.id: (p.leader, sorted(p.isrs), sorted(p.replicas)) for p in found.partitions.values()
                               if p.leader < 0 or sorted(p.isrs) != sorted(p.replicas)}
                    if not lagging:
                        return
            except Exception as e:
                lagging = str(e)
            if time.monotonic() > deadline:
                raise LauncherError(f"{topic}: not every partition has a full in-sync replica set after {timeout:.0f} s "
                                    f"(partition: (leader, in sync, replicas)): {lagging}")
            time.sleep(0.25)

    def tail_log(self, lines=20):
        return "\n".join(node.tail_log(lines) for node in self.nodes.values())

    def running(self):
        return bool(self.nodes) and all(node.running() for node in self.nodes.values())

    def stop(self, timeout=30):
        """Controlled shutdown of every node at once, SIGKILL for any that hangs, then remove the working directory.

        All at once: a broker shutting down after the other nodes have gone would wait in vain for a quorum."""
        if self.registry is not None:
            self.registry.stop()
        if self.keycloak is not None:
            self.keycloak.stop()
        stop_processes([node.proc for node in self.nodes.values() if node.proc is not None], timeout,
                       quorum=controller_majority(len(self.nodes)))
        if not self.keep_workdir and self._workdir_taken:
            remove_own_dir(self.workdir)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def describe(self):
        state = {"brokers": self.brokers, "auto_create_topics": self.auto_create_topics,
                 "workdir": str(self.workdir), "kafka_version": self.kafka_version,
                 "plaintext_bootstrap": self.plaintext_bootstrap, "sasl_ssl_bootstrap": self.sasl_ssl_bootstrap,
                 "plaintext_config": str(self.plaintext_config), "sasl_ssl_config": str(self.sasl_ssl_config),
                 "ca_location": self.ca_location, "log": str(self.log_file), "users": list(USERS),
                 "startup_seconds": round(self.startup_seconds or 0, 1),
                 "nodes": [{"node_id": n.node_id, "pid": n.pid, "plaintext_bootstrap": n.plaintext_bootstrap,
                            "sasl_ssl_bootstrap": n.sasl_ssl_bootstrap, "properties": str(n.properties),
                            "log": str(n.log_file)} for n in self.nodes.values()]}
        if self.brokers == 1:
            state["pid"] = self.pid
        if self.keycloak is not None:
            state["oauth"] = {"bootstrap": self.oauth_bootstrap, "config": str(self.oauth_config),
                              "issuer": self.keycloak.issuer, "token_url": self.keycloak.token_url,
                              "pid": self.keycloak.proc.pid, "dir": str(self.keycloak.dir),
                              "log": str(self.keycloak.log_file)}
        if self.registry is not None:
            state["schema_registry"] = {"url": self.registry.url, "pid": self.registry.proc.pid,
                                        "dir": str(self.registry.dir), "log": str(self.registry.log_file)}
        return state

