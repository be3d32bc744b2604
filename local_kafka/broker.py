"""A real Apache Kafka (KRaft) on loopback, assembled from Maven Central: one node, or a cluster of several.

Every node is one JVM acting as broker and controller. It listens on three free loopback ports:
PLAINTEXT, SASL_SSL (SASL/PLAIN users, certificate from a throwaway CA) and CONTROLLER. Client
configs in the INI shape of config.ini.example are written beside the data, so
`./consumer.py <that file>` works as it is.

The working directory holds passwords and a private key, so it is private (0700) and every
file in it is created 0600; the launcher deletes only directories it made itself (they carry
a marker file).
"""

import base64
import ctypes
import json
import os
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

KAFKA_VERSION = "4.3.1"
LOG4J_VERSION = "2.25.4"
DEFAULT_TOPIC = "topic_0"
DEFAULT_TOPIC_PARTITIONS = 6  # Confluent Cloud's default for a new topic
USERS = ("alice", "bob")  # SASL/PLAIN accounts; passwords are generated per start
HEAP = "-Xmx768m"  # one node
CLUSTER_HEAP = "-Xmx512m"  # each node of a cluster: three share a small machine
MARKER = ".made-by-local-kafka"

CACHE_DIR = Path(os.environ.get("LOCAL_KAFKA_CACHE", Path.home() / ".cache" / "kafka-cli-local"))
STATE_DIR = Path(os.environ.get("LOCAL_KAFKA_STATE", Path(tempfile.gettempdir()) / f"local-kafka-{os.getuid()}"))

POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>local-kafka-jars</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>{kafka}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>{log4j}</version></dependency>
  </dependencies>
</project>
"""

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


class LauncherError(Exception):
    """Something the person running the launcher can fix; the message says what."""


def _run(cmd, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, **kwargs)


def check_java():
    java = shutil.which("java")
    if not java:
        raise LauncherError("java was not found on PATH. Install a Java 17+ JDK (Debian: apt-get install openjdk-17-jdk-headless).")
    out = _run([java, "-version"]).stderr
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(match.group(1)) if match else 0
    if major == 1 and match.group(2):  # "1.8" style
        major = int(match.group(2))
    if major < 17:
        raise LauncherError(f"Kafka {KAFKA_VERSION} needs Java 17 or newer; `java -version` says: {out.strip().splitlines()[0]}. Install openjdk-17-jdk-headless.")
    return java


def jar_dir():
    """The Kafka broker and tools jars, downloaded once into the cache with Maven."""
    lib = CACHE_DIR / f"kafka-{KAFKA_VERSION}" / "lib"
    marker = lib / ".complete"
    if marker.exists():
        return lib
    mvn = shutil.which("mvn")
    if not mvn:
        raise LauncherError("mvn (Apache Maven) was not found on PATH; it downloads Kafka's jars from Maven Central. Install it (Debian: apt-get install maven).")
    build = lib.parent / "build"
    build.mkdir(parents=True, exist_ok=True)
    (build / "pom.xml").write_text(POM.format(kafka=KAFKA_VERSION, log4j=LOG4J_VERSION))
    tmp_lib = lib.parent / "lib.partial"
    shutil.rmtree(tmp_lib, ignore_errors=True)
    print(f"local-kafka: downloading Apache Kafka {KAFKA_VERSION} jars from Maven Central into {lib.parent} (once)...", file=sys.stderr)
    proc = _run([mvn, "-B", "-q", "-f", str(build / "pom.xml"), "dependency:copy-dependencies",
                 "-DincludeScope=runtime", f"-DoutputDirectory={tmp_lib}"])
    if proc.returncode != 0:
        log = build / "mvn.log"
        log.write_text(proc.stdout + proc.stderr)
        hint = ""
        if re.search(r"(UnknownHost|Connection refused|connect timed out|Could not transfer|Network is unreachable)", proc.stdout + proc.stderr):
            hint = " Maven Central could not be reached: check the network, or a proxy/mirror in ~/.m2/settings.xml."
        raise LauncherError(f"mvn could not fetch Kafka {KAFKA_VERSION} from Maven Central (exit {proc.returncode}; full log: {log}).{hint}")
    shutil.rmtree(lib, ignore_errors=True)
    tmp_lib.rename(lib)
    marker.touch()
    return lib


def classpath():
    return os.pathsep.join(str(p) for p in sorted(jar_dir().glob("*.jar")))


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



# -- private files and directories -------------------------------------------------------------
# Every process the launcher starts (openssl, the JVMs) runs with this umask, so keys, data and logs
# are born private rather than tightened afterwards.
PRIVATE_UMASK = 0o077
OWN_FILES_HINT = "point LOCAL_KAFKA_STATE (or workdir=) at a new or empty directory of your own"


def write_private(path, text):
    """Create `path` readable by its owner only from the first byte on. An existing file, or a link
    planted in its place, is refused rather than written through."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise LauncherError(f"{path} already exists; local_kafka writes only new files ({OWN_FILES_HINT})") from None
    with os.fdopen(fd, "w") as f:
        f.write(text)


def check_private_dir(path):
    """Refuse a directory that another user owns or could read: it would hold passwords and keys."""
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise LauncherError(f"{path} is a symbolic link; local_kafka keeps passwords and keys only in a real "
                            f"directory of its own ({OWN_FILES_HINT}).")
    if not stat.S_ISDIR(st.st_mode):
        raise LauncherError(f"{path} exists and is not a directory ({OWN_FILES_HINT}).")
    if st.st_uid != os.getuid():
        raise LauncherError(f"{path} belongs to uid {st.st_uid}, not to you (uid {os.getuid()}); local_kafka keeps "
                            f"passwords and keys there, so it uses only a directory you own ({OWN_FILES_HINT}).")
    if st.st_mode & 0o077:
        raise LauncherError(f"{path} is open to other users (mode {stat.S_IMODE(st.st_mode):04o}); local_kafka keeps "
                            f"passwords and keys there. Make it private (chmod 700 {path}) or {OWN_FILES_HINT}.")


def make_private_dir(path):
    """A directory for the launcher's files, marked as made by it, so that it may later delete it whole.

    A new one is created 0700. An existing one is taken only if it is ours, private and empty: then
    nothing of anybody else's is in it, and marking it is safe."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        check_private_dir(path)
        if any(entry.name != MARKER for entry in os.scandir(path)):
            raise LauncherError(f"{path} is not empty, and local_kafka did not make it; it deletes its directory "
                                f"when Kafka stops, so it will not share one ({OWN_FILES_HINT}).")
    if not (path / MARKER).exists():
        write_private(path / MARKER, "Made by local_kafka, which deletes this directory when its Kafka stops.\n")
    return path


def made_by_launcher(path):
    """True if `path` is a real directory of ours holding the launcher's marker."""
    try:
        st = os.lstat(path)
        marker = os.lstat(os.path.join(path, MARKER))
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and stat.S_ISREG(marker.st_mode)


def remove_own_dir(path):
    """Delete `path` if the launcher made it; anything else is left alone. True if it is gone."""
    if not os.path.lexists(path):
        return True
    if not made_by_launcher(path):
        return False
    shutil.rmtree(path, ignore_errors=True)
    return not os.path.lexists(path)


def make_certificates(directory):
    """A throwaway CA and a server certificate for localhost / 127.0.0.1, key in PKCS#8 PEM."""
    openssl = shutil.which("openssl")
    if not openssl:
        raise LauncherError("openssl was not found on PATH; it makes the broker's test certificates. Install it (Debian: apt-get install openssl).")
    d = Path(directory)

    def ssl(*args):
        proc = _run([openssl, *args], cwd=d, umask=PRIVATE_UMASK)
        if proc.returncode != 0:
            raise LauncherError(f"openssl {args[0]} failed: {proc.stderr.strip()}")

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=local-kafka throwaway CA",
        "-keyout", "ca-key.pem", "-out", "ca.pem")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server-key.rsa", "-out", "server.csr")
    write_private(d / "san.ext", "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
        "-days", "2", "-extfile", "san.ext", "-out", "server.pem")
    ssl("pkcs8", "-topk8", "-nocrypt", "-in", "server-key.rsa", "-out", "server-key.pem")
    keystore = d / "server-keystore.pem"
    write_private(keystore, (d / "server-key.pem").read_text() + (d / "server.pem").read_text() + (d / "ca.pem").read_text())
    return d / "ca.pem", keystore


def _die_with_parent():
    """Runs in the child before exec: the kernel sends SIGTERM to the JVM if its parent dies.

    Strictly, when the *thread* that forked it ends: start and restart nodes from a long-lived thread."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def write_client_config(path, bootstrap, extra_default, group="local-demo"):
    lines = ["# Written by local_kafka for the broker it started; removed when that broker stops.",
             "[default]", f"bootstrap.servers={bootstrap}"]
    lines += [f"{k}={v}" for k, v in extra_default.items()]
    lines += ["", "[consumer]", f"group.id={group}", "auto.offset.reset=earliest", "", "[producer]", ""]
    write_private(path, "\n".join(lines))


def new_cluster_id():
    """What `kafka-storage random-uuid` prints: a random UUID in URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


class KafkaNode:
    """One JVM acting as broker and controller, on its own node id, ports and data directory.

    It can be killed, paused, stopped and started again on the same data and ports."""

    def __init__(self, node_id, directory, ports):
        self.node_id = node_id
        self.dir = Path(directory)
        self.ports = ports  # PLAINTEXT, SASL_SSL, CONTROLLER
        self.java_cmd = None
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def properties(self):
        return self.dir / "server.properties"

    @property
    def log_file(self):
        return self.dir / "broker.log"

    @property
    def plaintext_bootstrap(self):
        return f"127.0.0.1:{self.ports['PLAINTEXT']}"

    @property
    def sasl_ssl_bootstrap(self):
        return f"localhost:{self.ports['SASL_SSL']}"

    def spawn(self, die_with_owner):
        out = os.open(self.dir / "broker.out", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.proc = subprocess.Popen(self.java_cmd + ["kafka.Kafka", str(self.properties)], cwd=self.dir,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         umask=PRIVATE_UMASK, preexec_fn=_die_with_parent if die_with_owner else None,
                                         start_new_session=True)
        finally:
            os.close(out)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.running():
            self.proc.kill()
            self.proc.wait()

    def pause(self):
        if self.running():
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        if self.running():
            self.proc.send_signal(signal.SIGCONT)

    def stop(self, timeout=30):
        """SIGTERM (a controlled shutdown), wait, SIGKILL if it hangs."""
        if self.proc is not None:
            stop_processes([self.proc], timeout)

    def tail_log(self, lines=20):
        text = ""
        for name in ("broker.out", "broker.log"):
            f = self.dir / name
            if f.exists():
                text += f.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])


class _LocalKafkaBase:
    """What one node and a cluster share: the working directory, TLS, users, client configs, life cycle."""

    brokers = 1
    heap = HEAP

    def __init__(self, workdir=None, keep_workdir=False, auto_create_topics=False):
        if workdir:
            self.workdir = Path(workdir)
            self._workdir_taken = False  # checked and marked at start(); until then nothing to clean up
        else:
            self.workdir = make_private_dir(tempfile.mkdtemp(prefix="local-kafka-"))
            self._workdir_taken = True
        self.keep_workdir = keep_workdir
        self.auto_create_topics = auto_create_topics
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
            self._prepare()
            for node in self.nodes.values():
                node.spawn(die_with_owner=not self.keep_workdir)
            deadline = time.monotonic() + timeout
            for node in self.nodes.values():
                self._wait_answers(node, deadline)
            create_topic(self.admin(), DEFAULT_TOPIC, DEFAULT_TOPIC_PARTITIONS, replication_factor=self.replication_factor)
            self.wait_full_isr(DEFAULT_TOPIC, max(1.0, deadline - time.monotonic()))
            write_client_config(self.plaintext_config, self.plaintext_bootstrap, {})
            write_client_config(self.sasl_ssl_config, self.sasl_ssl_bootstrap, self.sasl_settings())
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _prepare(self):
        """Certificates, passwords, ports, properties and formatted storage for every node."""
        java = check_java()
        cp = classpath()
        make_certificates(make_private_dir(self.workdir / "tls"))
        self.passwords = {user: secrets.token_urlsafe(12) for user in (*USERS, "admin")}
        names = ("PLAINTEXT", "SASL_SSL", "CONTROLLER")
        ports = free_ports(len(names) * self.brokers)
        log4j = self.workdir / "log4j2.properties"
        write_private(log4j, LOG4J2_PROPERTIES)
        for i in range(self.brokers):
            node = KafkaNode(i + 1, make_private_dir(self.workdir / f"node-{i + 1}"),
                             dict(zip(names, ports[i * len(names):(i + 1) * len(names)])))
            node.java_cmd = [java, self.heap, "-Xms128m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
                             f"-Dlocal.kafka.log={node.log_file}", f"-Dlog4j2.configurationFile=file:{log4j}",
                             "-cp", cp]
            self.nodes[node.node_id] = node
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.ports['CONTROLLER']}" for n in self.nodes.values())
        for node in self.nodes.values():
            write_private(node.properties, "".join(f"{k}={v}\n" for k, v in self._properties(node, voters).items()))
        self._format(new_cluster_id())

    def _properties(self, node, voters):
        p = node.ports
        jaas = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
                f'username="admin" password="{self.passwords["admin"]}" '
                + " ".join(f'user_{u}="{pw}"' for u, pw in self.passwords.items()) + ";")
        rf, min_isr = self.replication_factor, self.min_insync_replicas
        return {
            "process.roles": "broker,controller",
            "node.id": node.node_id,
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{p['PLAINTEXT']},SASL_SSL://127.0.0.1:{p['SASL_SSL']},CONTROLLER://127.0.0.1:{p['CONTROLLER']}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{p['PLAINTEXT']},SASL_SSL://localhost:{p['SASL_SSL']}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms": "PLAIN",
            "listener.name.sasl_ssl.plain.sasl.jaas.config": jaas,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.workdir / "tls" / "server-keystore.pem"),
            "log.dirs": str(node.dir / "data"),
            # Off by default, like Confluent Cloud: topics are created on purpose, not by a typo. On request
            # it is Apache's own default, for trying clients that rely on it.
            "auto.create.topics.enable": "true" if self.auto_create_topics else "false",
            "num.partitions": "3" if self.auto_create_topics else "1",
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

    def _format(self, cluster_id):
        # in parallel: each format is a JVM start of a few seconds
        # "--cluster-id=": an id may begin with "-", which argparse would take for an option
        procs = [(node, subprocess.Popen(node.java_cmd + ["kafka.tools.StorageTool", "format", f"--cluster-id={cluster_id}",
                                                          "-c", str(node.properties)],
                                         cwd=node.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                         umask=PRIVATE_UMASK))
                 for node in self.nodes.values()]
        failed = []
        for node, proc in procs:
            out, _ = proc.communicate()
            if proc.returncode != 0:
                failed.append(f"node {node.node_id}: {out.strip()[-2000:]}")
        if failed:
            raise LauncherError("formatting Kafka's storage failed: " + "\n".join(failed))

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
                 "workdir": str(self.workdir), "kafka_version": KAFKA_VERSION,
                 "plaintext_bootstrap": self.plaintext_bootstrap, "sasl_ssl_bootstrap": self.sasl_ssl_bootstrap,
                 "plaintext_config": str(self.plaintext_config), "sasl_ssl_config": str(self.sasl_ssl_config),
                 "ca_location": self.ca_location, "log": str(self.log_file), "users": list(USERS),
                 "startup_seconds": round(self.startup_seconds or 0, 1),
                 "nodes": [{"node_id": n.node_id, "pid": n.pid, "plaintext_bootstrap": n.plaintext_bootstrap,
                            "sasl_ssl_bootstrap": n.sasl_ssl_bootstrap, "properties": str(n.properties),
                            "log": str(n.log_file)} for n in self.nodes.values()]}
        if self.brokers == 1:
            state["pid"] = self.pid
        return state


class LocalKafka(_LocalKafkaBase):
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


class KafkaCluster(_LocalKafkaBase):
    """Several Kafka nodes (three by default), each broker and controller, in one static quorum.

    Internal topics and topic_0 have replication factor 3 and min.insync.replicas 2, so one node may be
    killed, paused or restarted (methods taking a node id, 1..n) while clients carry on."""

    heap = CLUSTER_HEAP

    def __init__(self, brokers=3, workdir=None, keep_workdir=False, auto_create_topics=False):
        if brokers < 1:
            raise LauncherError(f"a cluster needs at least one broker, not {brokers}")
        super().__init__(workdir, keep_workdir, auto_create_topics)
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


def create_topic(admin, name, partitions=1, timeout=30, replication_factor=1):
    from confluent_kafka.admin import NewTopic

    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=replication_factor)],
                                  operation_timeout=timeout)
    futures[name].result(timeout)


def stop_processes(procs, timeout=30, quorum=0):
    """SIGTERM all (Popen objects, or pids of brokers from a state file), wait up to `timeout`, SIGKILL the rest.

    With `quorum` (the controller majority of a cluster), nodes left running once fewer than that remain are
    killed at once: their controlled shutdown needs an active controller, and there can be none."""
    def alive(p):
        return p.poll() is None if isinstance(p, subprocess.Popen) else is_broker_process(p)

    def pid(p):
        return p.pid if isinstance(p, subprocess.Popen) else p

    procs = [p for p in procs if alive(p)]
    for p in procs:
        try:
            os.kill(pid(p), signal.SIGCONT)  # a paused JVM cannot handle SIGTERM
            os.kill(pid(p), signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = sum(1 for p in procs if alive(p))
        if running == 0 or running < quorum:
            break
        time.sleep(0.1)
    for p in procs:
        if alive(p):
            try:
                os.kill(pid(p), signal.SIGKILL)
            except ProcessLookupError:
                pass
        if isinstance(p, subprocess.Popen):
            p.wait()


def controller_majority(voters):
    return voters // 2 + 1 if voters > 1 else 0


def stop_process(pid, timeout=30, popen=None):
    """SIGTERM, wait up to `timeout`, then SIGKILL. Works for a child or a pid from a state file."""
    stop_processes([popen if popen is not None else pid], timeout)


def is_broker_process(pid, properties=None):
    """True if `pid` runs a Kafka broker (on `properties`, if given); a zombie or a reused pid does not count."""
    try:
        os.kill(pid, 0)
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except (OSError, TypeError):
        return False
    return "kafka.Kafka" in argv and (properties is None or str(properties) in argv)


class SilentLogger:
    """A `logger` for confluent-kafka clients whose librdkafka log lines nobody should see
    (the readiness probes: connection refused while the broker starts)."""

    def log(self, *args, **kwargs):
        pass


_SILENT = SilentLogger()


# -- the shell face: start / stop / status with a state file ---------------
def state_file():
    return STATE_DIR / "state.json"


def read_state():
    """The state file of the launcher's background Kafka, with each node's liveness; None if there is none."""
    try:
        state = json.loads(state_file().read_text())
        nodes = state["nodes"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    for node in nodes:
        node["alive"] = is_broker_process(node.get("pid"), node.get("properties"))
    state["alive"] = all(node["alive"] for node in nodes)  # every node serves
    state["running"] = any(node["alive"] for node in nodes)  # something to stop
    return state


def write_state(broker):
    write_private(state_file(), json.dumps(broker.describe(), indent=2))
