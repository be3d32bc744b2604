"""A real single-node Apache Kafka (KRaft) on loopback, assembled from Maven Central.

One JVM acts as broker and controller. It listens on three free loopback ports:
PLAINTEXT, SASL_SSL (SASL/PLAIN users, certificate from a throwaway CA) and
CONTROLLER. Client configs in the INI shape of config.ini.example are written
beside its data, so `./consumer.py <that file>` works as it is.
"""

import ctypes
import json
import os
import re
import secrets
import shutil
import signal
import socket
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
HEAP = "-Xmx768m"

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
appender.file.fileName = {log}
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


def make_certificates(directory):
    """A throwaway CA and a server certificate for localhost / 127.0.0.1, key in PKCS#8 PEM."""
    openssl = shutil.which("openssl")
    if not openssl:
        raise LauncherError("openssl was not found on PATH; it makes the broker's test certificates. Install it (Debian: apt-get install openssl).")
    d = Path(directory)

    def ssl(*args):
        proc = _run([openssl, *args], cwd=d)
        if proc.returncode != 0:
            raise LauncherError(f"openssl {args[0]} failed: {proc.stderr.strip()}")

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=local-kafka throwaway CA",
        "-keyout", "ca-key.pem", "-out", "ca.pem")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server-key.rsa", "-out", "server.csr")
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
        "-days", "2", "-extfile", "san.ext", "-out", "server.pem")
    ssl("pkcs8", "-topk8", "-nocrypt", "-in", "server-key.rsa", "-out", "server-key.pem")
    keystore = d / "server-keystore.pem"
    keystore.write_text((d / "server-key.pem").read_text() + (d / "server.pem").read_text() + (d / "ca.pem").read_text())
    return d / "ca.pem", keystore


def _die_with_parent():
    """Runs in the child before exec: the kernel sends SIGTERM to the JVM if its parent dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def write_client_config(path, bootstrap, extra_default, group="local-demo"):
    lines = ["# Written by local_kafka for the broker it started; removed when that broker stops.",
             "[default]", f"bootstrap.servers={bootstrap}"]
    lines += [f"{k}={v}" for k, v in extra_default.items()]
    lines += ["", "[consumer]", f"group.id={group}", "auto.offset.reset=earliest", "", "[producer]", ""]
    Path(path).write_text("\n".join(lines))
    os.chmod(path, 0o600)


class LocalKafka:
    """One Kafka node. start() returns once a metadata request succeeds; stop() leaves nothing behind."""

    def __init__(self, workdir=None, keep_workdir=False):
        self.workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="local-kafka-"))
        self.keep_workdir = keep_workdir
        self.proc = None
        self.pid = None
        self.ports = {}
        self.passwords = {}
        self.startup_seconds = None

    # -- what clients need -------------------------------------------------
    @property
    def plaintext_bootstrap(self):
        return f"127.0.0.1:{self.ports['PLAINTEXT']}"

    @property
    def sasl_ssl_bootstrap(self):
        return f"localhost:{self.ports['SASL_SSL']}"

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
        return self.workdir / "broker.log"

    def sasl_settings(self, user="alice", password=None):
        """librdkafka properties for the SASL_SSL listener as `user` (a wrong password if given)."""
        return {"security.protocol": "SASL_SSL", "sasl.mechanisms": "PLAIN", "sasl.username": user,
                "sasl.password": self.passwords[user] if password is None else password,
                "ssl.ca.location": self.ca_location}

    # -- life cycle --------------------------------------------------------
    def start(self, timeout=90):
        began = time.monotonic()
        java = check_java()
        cp = classpath()
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "tls").mkdir(exist_ok=True)
        make_certificates(self.workdir / "tls")
        self.passwords = {user: secrets.token_urlsafe(12) for user in USERS}
        self.passwords["admin"] = secrets.token_urlsafe(12)
        names = ("PLAINTEXT", "SASL_SSL", "CONTROLLER")
        self.ports = dict(zip(names, free_ports(len(names))))
        self._write_server_properties()
        (self.workdir / "log4j2.properties").write_text(LOG4J2_PROPERTIES.format(log=self.log_file))
        self.java_cmd = [java, HEAP, "-Xms256m", "-XX:+UseG1GC", "-Djava.awt.headless=true",
                         f"-Dlog4j2.configurationFile=file:{self.workdir / 'log4j2.properties'}", "-cp", cp]
        fmt = _run(self.java_cmd + ["kafka.tools.StorageTool", "format", "-t", str(uuid.uuid4()).replace("-", "")[:22],
                                    "-c", str(self.workdir / "server.properties")])
        if fmt.returncode != 0:
            raise LauncherError(f"formatting Kafka's storage failed: {(fmt.stdout + fmt.stderr).strip()[-2000:]}")
        self._spawn()
        try:
            self._wait_ready(timeout)
            self._create_topic(DEFAULT_TOPIC, DEFAULT_TOPIC_PARTITIONS)
        except BaseException:
            self.stop()
            raise
        write_client_config(self.plaintext_config, self.plaintext_bootstrap, {})
        write_client_config(self.sasl_ssl_config, self.sasl_ssl_bootstrap, self.sasl_settings())
        self.startup_seconds = time.monotonic() - began
        return self

    def _write_server_properties(self):
        p = self.ports
        jaas = ('org.apache.kafka.common.security.plain.PlainLoginModule required '
                f'username="admin" password="{self.passwords["admin"]}" '
                + " ".join(f'user_{u}="{pw}"' for u, pw in self.passwords.items()) + ";")
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{p['CONTROLLER']}",
            "listeners": f"PLAINTEXT://127.0.0.1:{p['PLAINTEXT']},SASL_SSL://127.0.0.1:{p['SASL_SSL']},CONTROLLER://127.0.0.1:{p['CONTROLLER']}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{p['PLAINTEXT']},SASL_SSL://localhost:{p['SASL_SSL']}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms": "PLAIN",
            "listener.name.sasl_ssl.plain.sasl.jaas.config": jaas,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.workdir / "tls" / "server-keystore.pem"),
            "log.dirs": str(self.workdir / "data"),
            # Like Confluent Cloud: topics are created on purpose, not by a typo.
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "5",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "log.segment.bytes": str(64 * 1024 * 1024),
        }
        (self.workdir / "server.properties").write_text("".join(f"{k}={v}\n" for k, v in props.items()))

    def _spawn(self):
        """Start the JVM on the existing data directory and ports (also used to restart after kill())."""
        stdout = open(self.workdir / "broker.out", "ab")
        self.proc = subprocess.Popen(self.java_cmd + ["kafka.Kafka", str(self.workdir / "server.properties")],
                                     stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.STDOUT,
                                     preexec_fn=None if self.keep_workdir else _die_with_parent,
                                     start_new_session=True)
        stdout.close()
        self.pid = self.proc.pid

    def _wait_ready(self, timeout):
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout
        probes = [AdminClient({"bootstrap.servers": self.plaintext_bootstrap, "logger": _SILENT}),
                  AdminClient({"bootstrap.servers": self.sasl_ssl_bootstrap, "logger": _SILENT,
                               **self.sasl_settings("admin", self.passwords["admin"])})]
        for probe in probes:
            while True:
                if self.proc.poll() is not None:
                    raise LauncherError(f"Kafka exited with code {self.proc.returncode} during start-up; "
                                        f"last lines of its log:\n{self.tail_log()}")
                try:
                    probe.list_topics(timeout=1)
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise LauncherError(f"Kafka did not answer a metadata request within {timeout} s; "
                                            f"last lines of its log:\n{self.tail_log()}")
                    time.sleep(0.2)

    def tail_log(self, lines=20):
        text = ""
        for name in ("broker.out", "broker.log"):
            f = self.workdir / name
            if f.exists():
                text += f.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def admin(self):
        from confluent_kafka.admin import AdminClient

        return AdminClient({"bootstrap.servers": self.plaintext_bootstrap, "logger": _SILENT})

    def _create_topic(self, name, partitions):
        create_topic(self.admin(), name, partitions)

    def kill(self):
        """SIGKILL the JVM, keeping data directory and ports (for fault tests)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def pause(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)

    def restart(self, timeout=90):
        """Start the JVM again on the same data directory and ports."""
        self.kill()
        self._spawn()
        self._wait_ready(timeout)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=30):
        """SIGTERM (a controlled shutdown), wait, SIGKILL if it hangs, then remove the temporary data."""
        if self.proc is not None:
            stop_process(self.proc.pid, timeout, popen=self.proc)
        if not self.keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def describe(self):
        return {"pid": self.pid, "workdir": str(self.workdir), "kafka_version": KAFKA_VERSION,
                "plaintext_bootstrap": self.plaintext_bootstrap, "sasl_ssl_bootstrap": self.sasl_ssl_bootstrap,
                "plaintext_config": str(self.plaintext_config), "sasl_ssl_config": str(self.sasl_ssl_config),
                "ca_location": self.ca_location, "log": str(self.log_file), "users": list(USERS),
                "startup_seconds": round(self.startup_seconds or 0, 1)}


def create_topic(admin, name, partitions=1, timeout=30):
    from confluent_kafka.admin import NewTopic

    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)],
                                  operation_timeout=timeout)
    futures[name].result(timeout)


def stop_process(pid, timeout=30, popen=None):
    """SIGTERM, wait up to `timeout`, then SIGKILL. Works for a child or a pid from a state file."""
    def alive():
        return popen.poll() is None if popen is not None else is_broker_process(pid)

    if not alive():
        return
    try:
        os.kill(pid, signal.SIGCONT)  # a paused JVM cannot handle SIGTERM
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if popen is not None:
        popen.wait()


def is_broker_process(pid):
    """True if `pid` runs a Kafka broker; a zombie or a reused pid does not count."""
    try:
        os.kill(pid, 0)
        return "kafka.Kafka" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except (OSError, TypeError):
        return False


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
    try:
        state = json.loads(state_file().read_text())
    except (OSError, ValueError):
        return None
    state["alive"] = is_broker_process(state.get("pid"))
    return state
