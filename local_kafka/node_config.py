"""What a node is told: its server.properties, its logging config and JVM command line, its ports and cluster
id; and the client configs (INI, the shape of config.ini.example) written beside them for the scripts."""

import base64
import os
import socket
import uuid

from .files import write_private
from .jars import uses_log4j2

LOG4J2_PROPERTIES = """status = error
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:local.kafka.log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
"""

# Kafka 3.x logs through log4j 1 (reload4j) and, without a config, writes nothing at all.
LOG4J1_PROPERTIES = """log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=${local.kafka.log}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=WARN
"""


def write_logging_config(workdir, version):
    """The logging config file for `version`, and the JVM flag that points Kafka at it."""
    if uses_log4j2(version):
        path = workdir / "log4j2.properties"
        write_private(path, LOG4J2_PROPERTIES)
        return f"-Dlog4j2.configurationFile=file:{path}"
    path = workdir / "log4j.properties"
    write_private(path, LOG4J1_PROPERTIES)
    return f"-Dlog4j.configuration=file:{path}"


def java_command(java, heap, flags, log_file, classpath):
    """The JVM command line of one node, up to (not including) the main class; `flags`: the logging config's (a
    string) or a list of it and more (start --oauth's allowed URLs). LOCAL_KAFKA_JAVA_OPTIONS (flags
    separated by spaces) come last, so they win: the test suite sets -XX:TieredStopAtLevel=1, which halves the
    CPU a node's start costs (2.8 s against 4.7 here) at the price of a slower broker once it is warm."""
    extra = os.environ.get("LOCAL_KAFKA_JAVA_OPTIONS", "").split()
    flags = [flags] if isinstance(flags, str) else list(flags)
    return [java, heap, "-Xms128m", "-XX:+UseG1GC", "-Djava.awt.headless=true", f"-Dlocal.kafka.log={log_file}",
            *flags, *extra, "-cp", classpath]


LISTENER_NAMES = ("PLAINTEXT", "SASL_SSL", "CONTROLLER")  # a node's listeners, each on a port of its own
ALL_LISTENER_NAMES = (*LISTENER_NAMES, "OAUTH")  # and the one `start --oauth` adds (SASL_SSL with OAUTHBEARER)


def free_ports(count):
    """Ports the kernel hands out now; the sockets stay bound until all are picked so they differ."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _bound(port):
    """A socket bound to 127.0.0.1:`port` (0: any free one), or None if that port is taken now. SO_REUSEADDR for a
    given port, as the JVM sets it on a listening socket: connections of the last run in TIME_WAIT take nothing."""
    sock = socket.socket()
    try:
        if port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        return sock
    except OSError:
        sock.close()
        if not port:
            raise
        return None


def pick_ports(names, brokers, wanted=None):
    """Ports for nodes 1..`brokers`, one per listener in `names`: {node id: {name: port}}, and the ports of `wanted`
    (the same shape: the last start's) that are taken now, as [(node id, name, old port, new port)]. A wanted port
    that is free is kept; every other is one the kernel hands out. All stay bound until all are picked."""
    wanted = wanted or {}
    held, chosen, taken = [], {}, []
    try:
        for node_id in range(1, brokers + 1):
            for name in names:
                old = wanted.get(node_id, {}).get(name)
                sock = _bound(old) if old else None
                sock = sock or _bound(0)
                held.append(sock)
                chosen.setdefault(node_id, {})[name] = port = sock.getsockname()[1]
                if old and old != port:
                    taken.append((node_id, name, old, port))
        return chosen, taken
    finally:
        for sock in held:
            sock.close()


def new_cluster_id():
    """What `kafka-storage random-uuid` prints: a random UUID in URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


def jaas_config(passwords):
    """The SASL/PLAIN login module line: the broker's own login as admin, and one user_NAME entry per account."""
    return ('org.apache.kafka.common.security.plain.PlainLoginModule required '
            f'username="admin" password="{passwords["admin"]}" '
            + " ".join(f'user_{u}="{pw}"' for u, pw in passwords.items()) + ";")


def listener_properties(ports, voters):
    """The listeners of a node on `ports` (PLAINTEXT, SASL_SSL, CONTROLLER, and OAUTH if it has a port for it),
    in a quorum of `voters`."""
    p = ports
    oauth = "OAUTH" in p
    return {
        "process.roles": "broker,controller",
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://127.0.0.1:{p['PLAINTEXT']},SASL_SSL://127.0.0.1:{p['SASL_SSL']},"
                     f"CONTROLLER://127.0.0.1:{p['CONTROLLER']}" + (f",OAUTH://127.0.0.1:{p['OAUTH']}" if oauth else ""),
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{p['PLAINTEXT']},SASL_SSL://localhost:{p['SASL_SSL']}"
                                + (f",OAUTH://localhost:{p['OAUTH']}" if oauth else ""),
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT"
                                          + (",OAUTH:SASL_SSL" if oauth else ""),
    }


def topic_properties(brokers, auto_create_topics):
    """Replication and topic defaults: everything replicated min(3, brokers) times, min.insync.replicas up to 2."""
    rf, min_isr = min(3, brokers), min(2, brokers)
    return {
        # Off by default, like Confluent Cloud: topics are created on purpose, not by a typo. On request
        # it is Apache's own default, for trying clients that rely on it.
        "auto.create.topics.enable": "true" if auto_create_topics else "false",
        "num.partitions": "3" if auto_create_topics else "1",
        "default.replication.factor": rf,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": rf,
        "offsets.topic.num.partitions": "5",
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": min_isr,
        "group.initial.rebalance.delay.ms": "0",
        "log.segment.bytes": str(64 * 1024 * 1024),
    }


ACL_PROPERTIES = {"authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                  "super.users": "User:ANONYMOUS", "allow.everyone.if.no.acl.found": "true"}


def write_properties(node, cluster, voters):
    """Write `node`'s server.properties, for a node of `cluster` (its size, passwords, keystore, topic policy)."""
    props = {"node.id": node.node_id, **listener_properties(node.ports, voters),
             "sasl.enabled.mechanisms": "PLAIN",
             "listener.name.sasl_ssl.plain.sasl.jaas.config": jaas_config(cluster.passwords),
             "ssl.keystore.type": "PEM",
             "ssl.keystore.location": str(cluster.workdir / "tls" / "server-keystore.pem"),
             "log.dirs": str(node.dir / "data"),
             **topic_properties(cluster.brokers, cluster.auto_create_topics),
             **(ACL_PROPERTIES if cluster.acls else {}),
             **cluster.extra_properties()}
    write_private(node.properties, "".join(f"{k}={v}\n" for k, v in props.items()))


def write_client_config(path, bootstrap, extra_default, group="local-demo", registry=None):
    """A client INI for `bootstrap`; `registry` (SchemaRegistryClient's settings) becomes a [schema_registry] section."""
    lines = ["# Written by local_kafka for the broker it started; removed when that broker stops.",
             "[default]", f"bootstrap.servers={bootstrap}"]
    lines += [f"{k}={v}" for k, v in extra_default.items()]
    lines += ["", "[consumer]", f"group.id={group}", "auto.offset.reset=earliest", "", "[producer]", ""]
    if registry:
        lines += ["[schema_registry]", *(f"{k}={v}" for k, v in registry.items()), ""]
    write_private(path, "\n".join(lines))
